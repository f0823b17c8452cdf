import type { Db } from './connection.js';

/** The public half of an account, as every member's browser checks it (crypto.md "Keys of a user"). */
export interface PublicKeysRow {
  id: string;
  username: string;
  box_pk: string;
  sign_pk: string;
  recovery_auth_pk: string;
  self_signature: string;
  disabled_at: number | null;
}

const COLUMNS = ['id', 'username', 'box_pk', 'sign_pk', 'recovery_auth_pk', 'self_signature', 'disabled_at'] as const;

export const keys = {
  /** Every account of the instance, enabled or not, by username. */
  all: (db: Db): Promise<PublicKeysRow[]> => db<PublicKeysRow>('users').select(...COLUMNS).orderBy('username'),
  byUserId: (db: Db, id: string): Promise<PublicKeysRow | undefined> =>
    db<PublicKeysRow>('users').select(...COLUMNS).where({ id }).first(),
};
