import type { Db } from './connection.js';

export interface AuditRow {
  id?: number;
  user_id: string | null;
  event: string;
  ip: string | null;
  user_agent: string | null;
  detail: string | null;
  created_at: number;
}

export const audit = {
  insert: (db: Db, row: AuditRow) => db<AuditRow>('audit_events').insert(row),
  forUser: (db: Db, userId: string, limit: number) =>
    db<AuditRow>('audit_events').where({ user_id: userId }).orderBy('id', 'desc').limit(limit),
};
