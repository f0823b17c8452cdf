import { createHash } from 'node:crypto';
import session from 'express-session';
import type { Db } from '../db/connection.js';
import { sessions } from '../db/sessions.js';
import type { Clock } from '../clock.js';

type Callback = (err?: unknown) => void;

/**
 * Written by this store into every session it saves, so a session read back from the database carries it.
 * Its presence means "this session has a row": later saves may only update that row, never create it again.
 */
const STORED = '_stored';

/**
 * When the session's row was last written, copied into the session as it is read. It lets a touch see that
 * the row is still fresh without another query. Never saved in the row's data: the column holds it.
 */
const WRITTEN_AT = '_writtenAt';

/**
 * The idle timeout is written to the row at most this often. express-session touches the session at the end
 * of every request (rolling cookies); writing each one is a disk commit per request, for a deadline that
 * only needs to be right to within a minute.
 */
export const TOUCH_INTERVAL_MS = 60_000;

/** The public name of a session shown in settings: never the cookie value itself. */
export function sessionHandle(sid: string): string {
  return createHash('sha256').update(`heirloom-session/${sid}`).digest('hex').slice(0, 24);
}

/** The user a session belongs to: logged in, or half-way (password step passed, code step pending). */
function userOf(data: session.SessionData): string | null {
  const user = (data as { passport?: { user?: unknown } }).passport?.user;
  if (typeof user === 'string') return user;
  const pending = data.pending?.userId;
  return typeof pending === 'string' ? pending : null;
}

/** When the password step of a half-done login passed, read from a stored session; null for any other session. */
export function pendingSince(storedData: string): number | null {
  try {
    const data = JSON.parse(storedData) as session.SessionData;
    if ((data as { passport?: { user?: unknown } }).passport?.user !== undefined) return null;
    const startedAt = data.pending?.startedAt;
    return typeof startedAt === 'number' ? startedAt : null;
  } catch {
    return null;
  }
}

/** Whether a session was read from (or already written to) the database, rather than made by this request. */
export function isStored(data: session.SessionData): boolean {
  return (data as unknown as Record<string, unknown>)[STORED] === true;
}

/**
 * express-session store on our own database, so sessions survive a restart, can be listed per user and
 * ended from settings or when the password changes.
 *
 * A session is inserted on its first save only. express-session saves a session again at the end of every
 * request that changed it, also when the request began before the session was ended (a long upload on a
 * stolen cookie); an upsert there would bring the ended session back to life. So a save of a session that
 * was already stored is an UPDATE, and finding no row means it was ended: nothing is written, no error.
 */
export class KnexSessionStore extends session.Store {
  constructor(
    private readonly db: Db,
    private readonly idleMs: number,
    private readonly clock: Clock,
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
      .then((row) => cb(null, row ? ({ ...JSON.parse(row.data), [WRITTEN_AT]: Number(row.last_seen_at) } as session.SessionData) : null))
      .catch((err) => cb(err));
  }

  override set(sid: string, data: session.SessionData, cb?: Callback): void {
    const now = this.clock.now();
    const meta = data.meta;
    const { [WRITTEN_AT]: _written, ...kept } = data as session.SessionData & { [WRITTEN_AT]?: number };
    const fields = {
      user_id: userOf(data),
      data: JSON.stringify({ ...kept, [STORED]: true }),
      expires_at: this.expiry(data, Date.now()),
      last_seen_at: now,
      ip: meta?.ip?.slice(0, 64) ?? null,
      user_agent: meta?.userAgent?.slice(0, 256) ?? null,
    };
    const write = isStored(data)
      ? sessions.update(this.db, sid, fields)
      : sessions.insert(this.db, { sid, ...fields, created_at: meta?.createdAt ?? now }).then(() => {
          // later saves in this same request update; not enumerable, so express-session's "modified?" hash
          // of the session does not change because of it
          Object.defineProperty(data, STORED, { value: true, enumerable: false, configurable: true });
        });
    write.then(() => cb?.()).catch((err) => cb?.(err));
  }

  /**
   * Moves the idle deadline on, unless the row was written less than TOUCH_INTERVAL_MS ago: the deadline
   * is then at most that much earlier than the cookie's (security.md "Sessions").
   */
  override touch(sid: string, data: session.SessionData, cb?: Callback): void {
    const now = this.clock.now();
    const writtenAt = (data as unknown as Record<string, unknown>)[WRITTEN_AT];
    if (typeof writtenAt === 'number' && now - writtenAt >= 0 && now - writtenAt < TOUCH_INTERVAL_MS) {
      cb?.();
      return;
    }
    sessions
      .touch(this.db, sid, this.expiry(data, Date.now()), now)
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
