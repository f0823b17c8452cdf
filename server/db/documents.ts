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
  /** the space it is in, the generation of the space key that wraps its key, and that wrap (all or none) */
  space_id?: string | null;
  space_generation?: number | null;
  space_key_wrap?: string | null;
}

/** The three fields that put a document in a space, all set or all null. */
export interface SpaceFields {
  space_id: string | null;
  space_generation: number | null;
  space_key_wrap: string | null;
}

/** A document with what one reader may hold of it: their grant, and whether they are in its space. */
export interface AccessRow extends DocumentRow {
  grant_sharer: string | null;
  grant_sealed: string | null;
  grant_sig: string | null;
  grant_at: number | null;
  /** 1 when the reader is a member of the document's space */
  member: number;
}

export interface UploadRow {
  id: string;
  owner_id: string;
  length: number;
  meta: string;
  key_wrap: string;
  created_at: number;
  space_id?: string | null;
  space_generation?: number | null;
  space_key_wrap?: string | null;
}

/**
 * DocumentView (docs/api.md) of one row of the list's subquery, as SQLite JSON. The reader's grant is four
 * plain columns made into an object here: a JSON object made inside the subquery would arrive as text.
 */
const VIEW_JSON = `json_object(
  'id', id, 'ownerId', owner_id, 'size', size, 'meta', meta, 'keyWrap', key_wrap,
  'createdAt', created_at, 'updatedAt', updated_at, 'deletedAt', deleted_at,
  'spaceId', space_id, 'spaceGeneration', space_generation, 'spaceKeyWrap', space_key_wrap,
  'grant', case when grant_sharer is null then null
    else json_object('sharerId', grant_sharer, 'sealed', grant_sealed, 'sig', grant_sig, 'createdAt', grant_at) end
)`;

/** Whether anything but a person's own documents can be in their list: a space, or a grant to them. */
async function sharesAnything(db: Db, userId: string): Promise<boolean> {
  const r = (await db.raw(
    'select exists(select 1 from space_members where user_id = ?) or exists(select 1 from grants where recipient_id = ?) as yes',
    [userId, userId],
  )) as { yes: number }[];
  return Boolean(r[0]?.yes);
}

/** The same for a list of the caller's own documents only: no grant to look at (a little quicker). */
const OWN_VIEW_JSON = `json_object(
  'id', id, 'ownerId', owner_id, 'size', size, 'meta', meta, 'keyWrap', key_wrap,
  'createdAt', created_at, 'updatedAt', updated_at, 'deletedAt', deleted_at,
  'spaceId', space_id, 'spaceGeneration', space_generation, 'spaceKeyWrap', space_key_wrap, 'grant', null
)`;

const OWN_COLUMNS = `id, owner_id, size, meta, key_wrap, created_at, updated_at, deleted_at, space_id, space_generation, space_key_wrap,
  null as grant_sharer, null as grant_sealed, null as grant_sig, null as grant_at`;

const sumOf = async (q: Promise<unknown>) => Number(((await q) as { n: number | string | null } | undefined)?.n ?? 0);

export const documents = {
  insert: (db: Db, row: DocumentRow) => db<DocumentRow>('documents').insert(row),
  owned: (db: Db, ownerId: string, id: string) => db<DocumentRow>('documents').where({ id, owner_id: ownerId }).first(),
  byId: (db: Db, id: string) => db<DocumentRow>('documents').where({ id }).first(),
  /** A document with the given person's grant of it and their membership of its space, in one read. */
  access: (db: Db, userId: string, id: string) =>
    db('documents as d')
      .leftJoin('grants as g', (j) => j.on('g.document_id', 'd.id').andOnVal('g.recipient_id', userId))
      .leftJoin('space_members as m', (j) => j.on('m.space_id', 'd.space_id').andOnVal('m.user_id', userId))
      .where('d.id', id)
      .select(
        'd.*',
        'g.sharer_id as grant_sharer',
        'g.sealed as grant_sealed',
        'g.sig as grant_sig',
        'g.created_at as grant_at',
        db.raw('case when m.user_id is null then 0 else 1 end as member'),
      )
      .first() as Promise<AccessRow | undefined>,
  /**
   * A person's list (or their trash) as the JSON text of docs/api.md `DocumentView[]`, newest first, made by
   * SQLite in one statement and handed over as bytes: 10,000 documents are 6 MB of base64, and building that
   * from row objects in JavaScript was most of the list page's time. The rows come in the order of the
   * subquery (SQLite never merges an ordered subquery into an aggregate).
   *
   * The list is three parts: the person's own documents, the documents of their spaces that others added,
   * and the documents shared with them one by one that are not in one of their spaces already. SQLite runs
   * a UNION ALL with an ORDER BY as a merge of its parts, each in created_at order: the own part walks the
   * index (owner_id, deleted_at, created_at, size) without sorting; only the (smaller) shared parts are
   * sorted. A grant the reader has accepted carries their own wrap of its key as `keyWrap` (null before),
   * so their browser opens it like one of their own. Someone in no space and with nothing shared with them gets the own part alone: the merge costs
   * about 15% of the list's time even when the other parts are empty. The trash holds own documents only.
   */
  listJson: async (db: Db, userId: string, trashed: boolean): Promise<Buffer> => {
    if (trashed || !(await sharesAnything(db, userId))) {
      const own = `select id, owner_id, size, meta, key_wrap, created_at, updated_at, deleted_at, space_id, space_generation, space_key_wrap
        from documents where owner_id = ? and deleted_at is ${trashed ? 'not null' : 'null'} order by created_at desc`;
      const result = (await db.raw(`select cast(json_group_array(${OWN_VIEW_JSON}) as blob) as json from (${own}) as rows`, [userId])) as { json: Buffer }[];
      return result[0]?.json ?? Buffer.from('[]');
    }
    const rows = `select ${OWN_COLUMNS} from documents where owner_id = ? and deleted_at is null
       union all
       select d.id, d.owner_id, d.size, d.meta, null, d.created_at, d.updated_at, d.deleted_at,
              d.space_id, d.space_generation, d.space_key_wrap, null, null, null, null
         from space_members m join documents d on d.space_id = m.space_id
        where m.user_id = ? and d.deleted_at is null and d.owner_id <> ?
       union all
       select d.id, d.owner_id, d.size, d.meta, g.recipient_wrap, d.created_at, d.updated_at, d.deleted_at,
              null, null, null, g.sharer_id, g.sealed, g.sig, g.created_at
         from grants g join documents d on d.id = g.document_id
        where g.recipient_id = ? and d.deleted_at is null and d.owner_id <> ?
          and not exists (select 1 from space_members s where s.space_id = d.space_id and s.user_id = ?)
       order by created_at desc`;
    const result = (await db.raw(`select cast(json_group_array(${VIEW_JSON}) as blob) as json from (${rows}) as rows`, [
      userId,
      userId,
      userId,
      userId,
      userId,
      userId,
    ])) as { json: Buffer }[];
    const row = result[0];
    return row?.json ?? Buffer.from('[]');
  },
  /** Which of these IDs are the owner's documents outside the trash. */
  liveOwnedIds: async (db: Db, ownerId: string, ids: string[]): Promise<string[]> => {
    const out: string[] = [];
    // in slices: SQLite limits the values bound in one statement
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await db<DocumentRow>('documents').where({ owner_id: ownerId }).whereNull('deleted_at').whereIn('id', ids.slice(i, i + 500)).select('id');
      out.push(...rows.map((r) => r.id));
    }
    return out;
  },
  /** Puts one of the owner's documents (outside the trash) into a space, or takes it out (all three null). */
  setSpace: async (db: Db, ownerId: string, id: string, fields: SpaceFields, now: number): Promise<boolean> =>
    (await db('documents').where({ id, owner_id: ownerId }).whereNull('deleted_at').update({ ...fields, updated_at: now })) === 1,
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

/** What a new upload's quota check reads, in one statement (db/documents.ts `quotaCheck`). */
export interface QuotaCheckRow {
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
export async function quotaCheck(db: Db, ownerId: string, id: string): Promise<QuotaCheckRow> {
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
