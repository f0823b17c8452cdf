import type { Db } from './connection.js';

export type SpaceRole = 'manager' | 'member';

export interface SpaceRow {
  id: string;
  name: string;
  name_generation: number;
  generation: number;
  created_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface SpaceMemberRow {
  space_id: string;
  user_id: string;
  role: SpaceRole;
  added_by: string | null;
  added_at: number;
}

export interface SpaceKeyRow {
  space_id: string;
  member_id: string;
  generation: number;
  sealed: string;
  sig: string;
  signer_id: string;
  created_at: number;
}

/** A member as the space's page shows them: with their username. */
export type MemberWithName = SpaceMemberRow & { username: string };

export const spaces = {
  insert: (db: Db, row: SpaceRow) => db<SpaceRow>('spaces').insert(row),
  byId: (db: Db, id: string) => db<SpaceRow>('spaces').where({ id }).first(),
  /** The spaces a person is a member of, oldest first. */
  ofMember: (db: Db, userId: string) =>
    db<SpaceRow>('spaces')
      .join('space_members', 'space_members.space_id', 'spaces.id')
      .where({ 'space_members.user_id': userId })
      .select('spaces.*')
      .orderBy([{ column: 'spaces.created_at' }, { column: 'spaces.id' }]) as Promise<SpaceRow[]>,
  setName: (db: Db, id: string, name: string, nameGeneration: number, now: number) =>
    db('spaces').where({ id }).update({ name, name_generation: nameGeneration, updated_at: now }),
  /** Moves to a new generation only from the one the caller read: two rotations cannot both win. */
  rotate: async (db: Db, id: string, from: number, name: string, now: number): Promise<boolean> =>
    (await db('spaces').where({ id, generation: from }).update({ generation: from + 1, name, name_generation: from + 1, updated_at: now })) === 1,
  touch: (db: Db, id: string, now: number) => db('spaces').where({ id }).update({ updated_at: now }),

  member: (db: Db, spaceId: string, userId: string) => db<SpaceMemberRow>('space_members').where({ space_id: spaceId, user_id: userId }).first(),
  /** The members of some spaces, by username within each space. */
  membersOf: async (db: Db, spaceIds: string[]): Promise<MemberWithName[]> =>
    spaceIds.length === 0
      ? []
      : ((await db('space_members')
          .join('users', 'users.id', 'space_members.user_id')
          .whereIn('space_members.space_id', spaceIds)
          .select('space_members.*', 'users.username')
          .orderBy([{ column: 'space_members.space_id' }, { column: 'users.username' }])) as MemberWithName[]),
  addMember: (db: Db, row: SpaceMemberRow) => db<SpaceMemberRow>('space_members').insert(row),
  setRole: (db: Db, spaceId: string, userId: string, role: SpaceRole) =>
    db('space_members').where({ space_id: spaceId, user_id: userId }).update({ role }),
  managers: async (db: Db, spaceId: string) =>
    Number(((await db('space_members').where({ space_id: spaceId, role: 'manager' }).count({ n: '*' }).first()) as { n: number | string }).n),
  /** Removes a member and every sealed copy of the space key they had. */
  removeMember: async (db: Db, spaceId: string, userId: string) => {
    await db('space_keys').where({ space_id: spaceId, member_id: userId }).delete();
    return db('space_members').where({ space_id: spaceId, user_id: userId }).delete();
  },

  insertKeys: async (db: Db, rows: SpaceKeyRow[]) => {
    // 500 rows of 7 values stay under SQLite's limit of bound values in one statement
    for (let i = 0; i < rows.length; i += 500) await db<SpaceKeyRow>('space_keys').insert(rows.slice(i, i + 500));
  },
  /** One person's sealed keys of some spaces, every generation they hold, oldest first. */
  keysOf: async (db: Db, spaceIds: string[], memberId: string): Promise<SpaceKeyRow[]> =>
    spaceIds.length === 0
      ? []
      : db<SpaceKeyRow>('space_keys')
          .whereIn('space_id', spaceIds)
          .andWhere({ member_id: memberId })
          .orderBy([{ column: 'space_id' }, { column: 'generation' }]),
};
