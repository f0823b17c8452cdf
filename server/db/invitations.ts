import type { Db } from './connection.js';

export interface InvitationRow {
  id: string;
  token_hash: string;
  is_admin: number | boolean;
  user_id: string;
  kdf_ops: number;
  kdf_mem: number;
  kdf_salt: string;
  totp_secret: string | null;
  created_by: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export const invitations = {
  insert: (db: Db, row: InvitationRow) => db<InvitationRow>('invitations').insert(row),
  byTokenHash: (db: Db, tokenHash: string) => db<InvitationRow>('invitations').where({ token_hash: tokenHash }).first(),
  /** Marks the invitation used only if nobody else did first; false when it was already taken. */
  claim: async (db: Db, id: string, now: number): Promise<boolean> =>
    (await db('invitations').where({ id }).whereNull('used_at').andWhere('expires_at', '>', now).update({ used_at: now })) === 1,
  list: (db: Db) => db<InvitationRow>('invitations').orderBy('created_at', 'desc'),
};
