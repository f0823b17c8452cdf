import type { Db } from './connection.js';

export interface PinsRow {
  user_id: string;
  envelope: string;
  version: number;
  updated_at: number | null;
}

export const pins = {
  get: (db: Db, userId: string): Promise<PinsRow | undefined> => db<PinsRow>('pins').where({ user_id: userId }).first(),
  insert: (db: Db, row: PinsRow) => db<PinsRow>('pins').insert(row),
  /** Replaces the envelope only if the stored version is still `expected`; true when it did. */
  replaceIf: async (db: Db, userId: string, expected: number, envelope: string, updatedAt: number): Promise<boolean> =>
    (await db<PinsRow>('pins')
      .where({ user_id: userId, version: expected })
      .update({ envelope, version: expected + 1, updated_at: updatedAt })) === 1,
};
