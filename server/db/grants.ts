import type { Db } from './connection.js';
import type { UserRow } from './users.js';

/** One document shared with one person: its key sealed to them, signed by the sharer (crypto.md). */
export interface GrantRow {
  document_id: string;
  recipient_id: string;
  sharer_id: string;
  sealed: string;
  sig: string;
  created_at: number;
  /** the recipient's own wrap of the document key, stored once their browser accepted the grant */
  recipient_wrap: string | null;
}

export const grants = {
  /**
   * Adds grants; one that exists for the same document and person is replaced (a new seal, a new time, and
   * no accepted wrap: the recipient's browser checks the new grant before it wraps the key again).
   */
  upsert: async (db: Db, rows: GrantRow[]) => {
    // 500 rows of 7 values stay under SQLite's limit of bound values in one statement
    for (let i = 0; i < rows.length; i += 500) {
      await db<GrantRow>('grants')
        .insert(rows.slice(i, i + 500))
        .onConflict(['document_id', 'recipient_id'])
        .merge(['sharer_id', 'sealed', 'sig', 'created_at', 'recipient_wrap']);
    }
  },
  /** Who a document is shared with, by username. */
  ofDocument: async (db: Db, documentId: string) =>
    (await db('grants')
      .join('users', 'users.id', 'grants.recipient_id')
      .where({ 'grants.document_id': documentId })
      .select('grants.recipient_id', 'users.username', 'grants.created_at')
      .orderBy('users.username')) as { recipient_id: string; username: string; created_at: number }[],
  /**
   * Stores the recipient's own wraps of grants made to them; returns how many grants matched (the caller
   * refuses the whole request when that is fewer than asked, inside its transaction).
   */
  accept: async (db: Db, recipientId: string, wraps: { documentId: string; keyWrap: string }[]): Promise<number> => {
    let n = 0;
    for (const w of wraps) {
      n += await db('grants').where({ document_id: w.documentId, recipient_id: recipientId }).update({ recipient_wrap: w.keyWrap });
    }
    return n;
  },
  one: (db: Db, documentId: string, recipientId: string) =>
    db<GrantRow>('grants').where({ document_id: documentId, recipient_id: recipientId }).first(),
  remove: (db: Db, documentId: string, recipientId: string) =>
    db('grants').where({ document_id: documentId, recipient_id: recipientId }).delete(),
  /** The accounts of the people a request shares with (those that exist). */
  recipients: (db: Db, ids: string[]) =>
    db<UserRow>('users').whereIn('id', ids).select('id', 'username', 'disabled_at') as Promise<Pick<UserRow, 'id' | 'username' | 'disabled_at'>[]>,
};
