import type { Db } from './connection.js';

export interface DocumentRow {
  id: string;
  owner_id: string;
  size: number;
  meta: string;
  key_wrap: string;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}

export interface UploadRow {
  id: string;
  owner_id: string;
  length: number;
  meta: string;
  key_wrap: string;
  created_at: number;
}

const sumOf = async (q: Promise<unknown>) => Number(((await q) as { n: number | string | null } | undefined)?.n ?? 0);

export const documents = {
  insert: (db: Db, row: DocumentRow) => db<DocumentRow>('documents').insert(row),
  owned: (db: Db, ownerId: string, id: string) => db<DocumentRow>('documents').where({ id, owner_id: ownerId }).first(),
  byId: (db: Db, id: string) => db<DocumentRow>('documents').where({ id }).first(),
  /**
   * A person's documents (or their trash) as the JSON text of docs/api.md `DocumentView[]`, newest first,
   * made by SQLite in one statement and handed over as bytes: 10,000 documents are 6 MB of base64, and
   * building that from row objects in JavaScript was most of the list page's time. The rows come in the
   * order of the subquery (SQLite never merges an ordered subquery into an aggregate), which the index
   * (owner_id, deleted_at, created_at, size) gives without sorting.
   */
  listJson: async (db: Db, ownerId: string, trashed: boolean): Promise<Buffer> => {
    const q = db('documents')
      .select('id', 'size', 'meta', 'key_wrap', 'created_at', 'updated_at', 'deleted_at')
      .where({ owner_id: ownerId });
    const rows = (trashed ? q.whereNotNull('deleted_at') : q.whereNull('deleted_at')).orderBy('created_at', 'desc');
    const row = (await db
      .first(
        db.raw(`cast(json_group_array(json_object(
          'id', id, 'size', size, 'meta', meta, 'keyWrap', key_wrap,
          'createdAt', created_at, 'updatedAt', updated_at, 'deletedAt', deleted_at
        )) as blob) as json`),
      )
      .from(rows.as('rows'))) as { json: Buffer } | undefined;
    return row?.json ?? Buffer.from('[]');
  },
  setMeta: (db: Db, ownerId: string, id: string, meta: string, now: number) =>
    db('documents').where({ id, owner_id: ownerId }).whereNull('deleted_at').update({ meta, updated_at: now }),
  setDeleted: (db: Db, ownerId: string, id: string, deletedAt: number | null) => {
    const q = db('documents').where({ id, owner_id: ownerId });
    return (deletedAt === null ? q.whereNotNull('deleted_at') : q.whereNull('deleted_at')).update({ deleted_at: deletedAt });
  },
  remove: (db: Db, id: string) => db('documents').where({ id }).delete(),
  trashedBefore: (db: Db, cutoff: number) => db<DocumentRow>('documents').where('deleted_at', '<', cutoff).select('id'),
  trashed: (db: Db, ownerId: string) => db<DocumentRow>('documents').where({ owner_id: ownerId }).whereNotNull('deleted_at').select('id'),
  allIds: async (db: Db) => (await db<DocumentRow>('documents').select('id')).map((r) => r.id),
  usedBytes: (db: Db, ownerId: string) => sumOf(db('documents').where({ owner_id: ownerId }).sum({ n: 'size' }).first()),
  count: (db: Db, ownerId: string) => sumOf(db('documents').where({ owner_id: ownerId }).whereNull('deleted_at').count({ n: '*' }).first()),
  idsOfOwner: async (db: Db, ownerId: string) => (await db<DocumentRow>('documents').where({ owner_id: ownerId }).select('id')).map((r) => r.id),
  /** ID and blob size of every document, for verify and backups. */
  sizes: async (db: Db) =>
    (await db<DocumentRow>('documents').select('id', 'size').orderBy('id')).map((r) => ({ id: r.id, size: Number(r.size) })),
  /** Per owner: bytes stored (trash included) and documents outside the trash. */
  usageByOwner: async (db: Db) =>
    (
      (await db('documents')
        .select('owner_id')
        .sum({ bytes: 'size' })
        .select(db.raw('sum(case when deleted_at is null then 1 else 0 end) as n'))
        .groupBy('owner_id')) as { owner_id: string; bytes: number | string | null; n: number | string | null }[]
    ).map((r) => ({ ownerId: r.owner_id, bytes: Number(r.bytes ?? 0), documents: Number(r.n ?? 0) })),
  totals: async (db: Db) => {
    const r = (await db('documents')
      .count({ n: '*' })
      .sum({ bytes: 'size' })
      .select(db.raw('sum(case when deleted_at is null then 0 else 1 end) as trashed'))
      .first()) as { n: number | string; bytes: number | string | null; trashed: number | string | null };
    return { count: Number(r.n), bytes: Number(r.bytes ?? 0), trashed: Number(r.trashed ?? 0) };
  },
};

/** What a new upload's quota check reads, in one statement (db/documents.ts `space`). */
export interface SpaceRow {
  /** the owner's own quota in bytes; null for the default (or no such user) */
  quotaBytes: number | null;
  /** bytes of the owner's documents, the trash's included */
  stored: number;
  /** bytes reserved by the owner's uploads in flight that have a row */
  reserved: number;
  /** whether a document with the new upload's ID exists, anyone's */
  taken: boolean;
}

/**
 * The quota check of a new upload runs for every small file, so its four reads are one statement: each
 * query costs more in preparing it than in running it.
 */
export async function space(db: Db, ownerId: string, id: string): Promise<SpaceRow> {
  const r = (await db
    .select(
      db('users').select('quota_bytes').where({ id: ownerId }).as('quota'),
      db('documents').sum('size').where({ owner_id: ownerId }).as('stored'),
      db('uploads').sum('length').where({ owner_id: ownerId }).as('reserved'),
      db('documents').count({ n: '*' }).where({ id }).as('taken'),
    )
    .first()) as { quota: number | null; stored: number | string | null; reserved: number | string | null; taken: number | string };
  return {
    quotaBytes: r.quota === null ? null : Number(r.quota),
    stored: Number(r.stored ?? 0),
    reserved: Number(r.reserved ?? 0),
    taken: Number(r.taken) > 0,
  };
}

export const uploads = {
  insert: (db: Db, row: UploadRow) => db<UploadRow>('uploads').insert(row),
  byId: (db: Db, id: string) => db<UploadRow>('uploads').where({ id }).first(),
  remove: (db: Db, id: string) => db('uploads').where({ id }).delete(),
  reservedBytes: (db: Db, ownerId: string) => sumOf(db('uploads').where({ owner_id: ownerId }).sum({ n: 'length' }).first()),
  olderThan: (db: Db, cutoff: number) => db<UploadRow>('uploads').where('created_at', '<', cutoff),
  all: (db: Db) => db<UploadRow>('uploads'),
  idsOfOwner: async (db: Db, ownerId: string) => (await db<UploadRow>('uploads').where({ owner_id: ownerId }).select('id')).map((r) => r.id),
  reservedByOwner: async (db: Db) =>
    ((await db('uploads').select('owner_id').sum({ bytes: 'length' }).groupBy('owner_id')) as { owner_id: string; bytes: number | string | null }[]).map(
      (r) => ({ ownerId: r.owner_id, bytes: Number(r.bytes ?? 0) }),
    ),
  totals: async (db: Db) => {
    const r = (await db('uploads').count({ n: '*' }).sum({ bytes: 'length' }).first()) as { n: number | string; bytes: number | string | null };
    return { count: Number(r.n), bytes: Number(r.bytes ?? 0) };
  },
  removeAll: (db: Db) => db('uploads').delete(),
};
