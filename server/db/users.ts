import type { Db } from './connection.js';

export interface UserRow {
  id: string;
  username: string;
  is_admin: number | boolean;
  disabled_at: number | null;
  kdf_alg: string;
  kdf_ops: number;
  kdf_mem: number;
  kdf_salt: string;
  auth_hash: string;
  account_key_wrapped: string;
  enc_private_keys: string;
  box_pk: string;
  sign_pk: string;
  recovery_wrapped_account_key: string;
  recovery_auth_pk: string;
  self_signature: string;
  totp_secret: string | null;
  totp_last_step: number;
  created_at: number;
  password_changed_at: number;
  quota_bytes?: number | null;
}

export const users = {
  byId: (db: Db, id: string) => db<UserRow>('users').where({ id }).first(),
  byUsername: (db: Db, username: string) => db<UserRow>('users').where({ username }).first(),
  count: async (db: Db) => Number(((await db('users').count({ n: '*' }).first()) as { n: number | string }).n),
  insert: (db: Db, row: UserRow) => db<UserRow>('users').insert(row),
  list: (db: Db) => db<UserRow>('users').orderBy('username'),
  /** The KDF costs accounts (enabled or not) use, with how many use each: what made-up answers copy. */
  kdfCosts: async (db: Db): Promise<{ ops: number; mem: number; n: number }[]> =>
    ((await db('users').select('kdf_ops', 'kdf_mem').count({ n: '*' }).groupBy('kdf_ops', 'kdf_mem').orderBy(['kdf_ops', 'kdf_mem'])) as {
      kdf_ops: number;
      kdf_mem: number;
      n: number | string;
    }[]).map((r) => ({ ops: Number(r.kdf_ops), mem: Number(r.kdf_mem), n: Number(r.n) })),
  /** Records a used TOTP step only if it is newer than the last one: the atomic replay guard. */
  claimTotpStep: async (db: Db, id: string, step: number): Promise<boolean> =>
    (await db('users').where({ id }).andWhere('totp_last_step', '<', step).update({ totp_last_step: step })) === 1,
  setQuota: (db: Db, id: string, quotaBytes: number | null) => db('users').where({ id }).update({ quota_bytes: quotaBytes }),
  setDisabled: (db: Db, id: string, disabledAt: number | null) => db('users').where({ id }).update({ disabled_at: disabledAt }),
  /** Documents, sessions, uploads and the security log go with the row (ON DELETE CASCADE). */
  remove: (db: Db, id: string) => db('users').where({ id }).delete(),
  clearTotp: (db: Db, id: string) => db('users').where({ id }).update({ totp_secret: null }),
  /**
   * Stores a newly enrolled TOTP secret and the step of the code that proved it, only if the account still
   * has no secret and the step is new: two enrolments racing cannot both win, and a code works once.
   */
  enrollTotp: async (db: Db, id: string, wrappedSecret: string, step: number): Promise<boolean> =>
    (await db('users')
      .where({ id })
      .whereNull('totp_secret')
      .andWhere('totp_last_step', '<', step)
      .update({ totp_secret: wrappedSecret, totp_last_step: step })) === 1,
  updatePassword: (
    db: Db,
    id: string,
    fields: Pick<UserRow, 'kdf_ops' | 'kdf_mem' | 'kdf_salt' | 'auth_hash' | 'account_key_wrapped' | 'password_changed_at'>,
  ) => db('users').where({ id }).update(fields),
};
