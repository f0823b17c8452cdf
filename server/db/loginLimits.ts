import type { Db } from './connection.js';

export interface LimitRow {
  key: string;
  count: number;
  reset_at: number;
  blocked_until: number;
}

export interface Increment {
  key: string;
  /** when a counter that starts now (or starts again) resets */
  resetAt: number;
}

const TABLE = 'login_limits';

export const loginLimits = {
  /**
   * Counts one attempt against every key in one statement and returns the counters after it. A counter whose
   * window has passed starts again at 1. Being a single INSERT ... ON CONFLICT DO UPDATE ... RETURNING, two
   * parallel attempts can never both read the same count, on SQLite or PostgreSQL alike.
   */
  increment: async (db: Db, now: number, keys: Increment[]): Promise<LimitRow[]> => {
    const rows: LimitRow[] = await db(TABLE)
      .insert(keys.map((k) => ({ key: k.key, count: 1, reset_at: k.resetAt, blocked_until: 0 })))
      .onConflict('key')
      .merge({
        count: db.raw(`CASE WHEN ${TABLE}.reset_at <= ? THEN 1 ELSE ${TABLE}.count + 1 END`, [now]),
        reset_at: db.raw(`CASE WHEN ${TABLE}.reset_at <= ? THEN excluded.reset_at ELSE ${TABLE}.reset_at END`, [now]),
      })
      .returning(['key', 'count', 'reset_at', 'blocked_until']);
    return rows.map((r) => ({ key: r.key, count: Number(r.count), reset_at: Number(r.reset_at), blocked_until: Number(r.blocked_until) }));
  },

  /** Gives back one attempt (it succeeded, or it was refused without being checked). */
  refund: (db: Db, keys: string[]) => db(TABLE).whereIn('key', keys).andWhere('count', '>', 0).decrement('count', 1),

  /**
   * Claims the next back-off slot of a key: only one of several parallel callers gets true, because the
   * update only matches while the key is not blocked.
   */
  claim: async (db: Db, key: string, now: number, blockedUntil: number): Promise<boolean> =>
    (await db(TABLE).where({ key }).andWhere('blocked_until', '<=', now).update({ blocked_until: blockedUntil })) === 1,

  unblock: (db: Db, key: string) => db(TABLE).where({ key }).update({ blocked_until: 0 }),

  /** A marker that lives until `until` (a client known to an account). */
  mark: (db: Db, key: string, until: number) =>
    db(TABLE).insert({ key, count: 0, reset_at: until, blocked_until: 0 }).onConflict('key').merge({ reset_at: until }),

  isMarked: async (db: Db, key: string, now: number): Promise<boolean> =>
    (await db(TABLE).where({ key }).andWhere('reset_at', '>', now).first('key')) !== undefined,

  get: async (db: Db, key: string): Promise<LimitRow | undefined> => db<LimitRow>(TABLE).where({ key }).first(),

  /** Counters and markers whose time is over carry nothing; they go. */
  sweep: (db: Db, now: number) => db(TABLE).where('reset_at', '<=', now).andWhere('blocked_until', '<=', now).delete(),
};
