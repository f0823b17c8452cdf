import type { Db } from './connection.js';

export interface SessionRow {
  sid: string;
  user_id: string | null;
  data: string;
  expires_at: number;
  created_at: number;
  last_seen_at: number;
  ip: string | null;
  user_agent: string | null;
}

export const sessions = {
  get: (db: Db, sid: string, now: number) =>
    db<SessionRow>('sessions').where({ sid }).andWhere('expires_at', '>', now).first(),
  /** A session's first save. */
  insert: (db: Db, row: SessionRow) => db<SessionRow>('sessions').insert(row),
  /**
   * Later saves change the row only if it is still there: a session ended meanwhile stays ended.
   * Resolves with the number of rows changed (0 or 1).
   */
  update: (db: Db, sid: string, fields: Pick<SessionRow, 'user_id' | 'data' | 'expires_at' | 'last_seen_at' | 'ip' | 'user_agent'>) =>
    db('sessions').where({ sid }).update(fields),
  touch: (db: Db, sid: string, expiresAt: number, now: number) =>
    db('sessions').where({ sid }).update({ expires_at: expiresAt, last_seen_at: now }),
  destroy: (db: Db, sid: string) => db('sessions').where({ sid }).delete(),
  forUser: (db: Db, userId: string, now: number) =>
    db<SessionRow>('sessions').where({ user_id: userId }).andWhere('expires_at', '>', now).orderBy('last_seen_at', 'desc'),
  destroyForUser: (db: Db, userId: string, exceptSid?: string) => {
    const q = db('sessions').where({ user_id: userId });
    if (exceptSid) q.andWhereNot({ sid: exceptSid });
    return q.delete();
  },
  sweep: (db: Db, now: number) => db('sessions').where('expires_at', '<=', now).delete(),
};
