import type { Db } from '../db/connection.js';
import { sessions } from '../db/sessions.js';
import { sessionHandle } from '../auth/sessionStore.js';
import { NotFound } from '../errors.js';
import type { AuditService, Origin } from './audit.js';

export interface SessionView {
  id: string;
  current: boolean;
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

  async list(userId: string, currentSid: string): Promise<SessionView[]> {
    const rows = await sessions.forUser(this.db, userId, Date.now());
    return rows.map((r) => ({
      id: sessionHandle(r.sid),
      current: r.sid === currentSid,
      createdAt: new Date(Number(r.created_at)).toISOString(),
      lastSeenAt: new Date(Number(r.last_seen_at)).toISOString(),
      ip: r.ip,
      userAgent: r.user_agent,
    }));
  }

  /** Ends one of the user's own sessions by its public handle; someone else's is simply not found. */
  async end(userId: string, handle: string, origin: Origin): Promise<void> {
    const rows = await sessions.forUser(this.db, userId, Date.now());
    const row = rows.find((r) => sessionHandle(r.sid) === handle);
    if (!row) throw new NotFound('That session has already ended.', 'session_not_found');
    await sessions.destroy(this.db, row.sid);
    await this.audit.record('session_ended', userId, origin, { session: handle });
  }

  async sweep(): Promise<number> {
    return sessions.sweep(this.db, Date.now());
  }
}
