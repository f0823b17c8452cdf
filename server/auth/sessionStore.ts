import { createHash } from 'node:crypto';
import session from 'express-session';
import type { Db } from '../db/connection.js';
import { sessions } from '../db/sessions.js';

type Callback = (err?: unknown) => void;

/** The public name of a session shown in settings: never the cookie value itself. */
export function sessionHandle(sid: string): string {
  return createHash('sha256').update(`heirloom-session/${sid}`).digest('hex').slice(0, 24);
}

function userOf(data: session.SessionData): string | null {
  const user = (data as { passport?: { user?: unknown } }).passport?.user;
  return typeof user === 'string' ? user : null;
}

/**
 * express-session store on our own database, so sessions survive a restart, can be listed per user and
 * ended from settings or when the password changes.
 */
export class KnexSessionStore extends session.Store {
  constructor(
    private readonly db: Db,
    private readonly idleMs: number,
  ) {
    super();
  }

  private expiry(data: session.SessionData, now: number): number {
    const exp = data.cookie?.expires ? new Date(data.cookie.expires).getTime() : NaN;
    return Number.isFinite(exp) ? exp : now + this.idleMs;
  }

  override get(sid: string, cb: (err: unknown, data?: session.SessionData | null) => void): void {
    sessions
      .get(this.db, sid, Date.now())
      .then((row) => cb(null, row ? (JSON.parse(row.data) as session.SessionData) : null))
      .catch((err) => cb(err));
  }

  override set(sid: string, data: session.SessionData, cb?: Callback): void {
    const now = Date.now();
    const meta = data as { meta?: { ip?: string; userAgent?: string; createdAt?: number } };
    sessions
      .upsert(this.db, {
        sid,
        user_id: userOf(data),
        data: JSON.stringify(data),
        expires_at: this.expiry(data, now),
        created_at: meta.meta?.createdAt ?? now,
        last_seen_at: now,
        ip: meta.meta?.ip?.slice(0, 64) ?? null,
        user_agent: meta.meta?.userAgent?.slice(0, 256) ?? null,
      })
      .then(() => cb?.())
      .catch((err) => cb?.(err));
  }

  override touch(sid: string, data: session.SessionData, cb?: Callback): void {
    const now = Date.now();
    sessions
      .touch(this.db, sid, this.expiry(data, now), now)
      .then(() => cb?.())
      .catch((err) => cb?.(err));
  }

  override destroy(sid: string, cb?: Callback): void {
    sessions
      .destroy(this.db, sid)
      .then(() => cb?.())
      .catch((err) => cb?.(err));
  }
}
