import type { Db } from '../db/connection.js';
import { sessions } from '../db/sessions.js';
import { users } from '../db/users.js';
import { pendingSince, sessionHandle } from '../auth/sessionStore.js';
import { NotFound } from '../errors.js';
import type { AuditService, Origin } from './audit.js';
import { publicUser, type PublicUser } from './registration.js';

/** A login whose password step passed but whose code step did not follow in time is dropped. */
export const PENDING_LOGIN_MS = 5 * 60_000;

export interface SessionView {
  id: string;
  current: boolean;
  /** the password step passed here and the code step has not (yet) */
  pending: boolean;
  createdAt: string;
  lastSeenAt: string;
  ip: string | null;
  userAgent: string | null;
}

/** A user's active sessions as settings shows them, and ending them (ASVS 7.4). */
export class SessionService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditService,
  ) {}

  /** Logged-in sessions and half-done logins (which a stranger with the password would leave behind). */
  async list(userId: string, currentSid: string): Promise<SessionView[]> {
    const now = Date.now();
    const rows = await sessions.forUser(this.db, userId, now);
    return rows.flatMap((r) => {
      const startedAt = pendingSince(r.data);
      if (startedAt !== null && now - startedAt > PENDING_LOGIN_MS) return [];
      return [
        {
          id: sessionHandle(r.sid),
          current: r.sid === currentSid,
          pending: startedAt !== null,
          createdAt: new Date(Number(r.created_at)).toISOString(),
          lastSeenAt: new Date(Number(r.last_seen_at)).toISOString(),
          ip: r.ip,
          userAgent: r.user_agent,
        },
      ];
    });
  }

  /** Ends one of the user's own sessions by its public handle; someone else's is simply not found. */
  async end(userId: string, handle: string, origin: Origin): Promise<void> {
    const rows = await sessions.forUser(this.db, userId, Date.now());
    const row = rows.find((r) => sessionHandle(r.sid) === handle);
    if (!row) throw new NotFound('That session has already ended.', 'session_not_found');
    await sessions.destroy(this.db, row.sid);
    await this.audit.record('session_ended', userId, origin, { session: handle });
  }

  /**
   * The user a logged-in session stands for, or null when the session no longer counts: the account is gone
   * or disabled, or its password changed after this login's password was checked (`authAt`, in ms).
   */
  async loggedInUser(userId: string, authAt: number | undefined): Promise<PublicUser | null> {
    const row = await users.byId(this.db, userId);
    if (!row || row.disabled_at) return null;
    if (typeof authAt !== 'number' || authAt < Number(row.password_changed_at)) return null;
    return publicUser(row);
  }

  /** Whether a half-done login may still take its code: not too old, and no password change since it began. */
  async pendingLoginValid(pending: { userId: string; startedAt: number }): Promise<boolean> {
    if (Date.now() - pending.startedAt > PENDING_LOGIN_MS) return false;
    const row = await users.byId(this.db, pending.userId);
    return Boolean(row && !row.disabled_at && pending.startedAt >= Number(row.password_changed_at));
  }

  async sweep(): Promise<number> {
    return sessions.sweep(this.db, Date.now());
  }
}
