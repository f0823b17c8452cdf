import { z } from 'zod';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { documents, uploads, type AccessRow, type DocumentRow, type SpaceFields } from '../db/documents.js';
import { users } from '../db/users.js';
import { Forbidden, NotFound, Validation } from '../errors.js';
import type { BlobStore } from '../storage/blobs.js';
import { AEAD_OVERHEAD, AEAD_VERSION, DOC_KEY_BYTES, isUuid } from '../../client/crypto/index.js';
import { b64Field } from './fields.js';
import { checkSpaceWrite, spaceId as checkSpaceId } from './spaces.js';

/** Documents stay in the trash this long, then are purged by themselves (flows.md "Documents"). */
export const TRASH_DAYS = 30;
const DAY = 86_400_000;

/** The grant through which a person reads a document someone shared with them (crypto.md). */
export interface GrantView {
  sharerId: string;
  sealed: string;
  sig: string;
  createdAt: number;
}

/**
 * A document as one reader's client receives it: everything but the blob, still encrypted. Its owner gets
 * `keyWrap`; a member of its space gets the space fields; someone it was shared with gets `grant`.
 */
export interface DocumentView {
  id: string;
  ownerId: string;
  size: number;
  meta: string;
  keyWrap: string | null;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
  spaceId: string | null;
  spaceGeneration: number | null;
  spaceKeyWrap: string | null;
  grant: GrantView | null;
}

export interface Usage {
  used: number;
  quota: number;
  documents: number;
}

export const metaSchema = z.object({ meta: z.string().min(1).max(8000) });

/** PUT /api/documents/:id/space: into a space (its current generation, the document key wrapped under it), or out. */
export const moveSchema = z.union([
  z.object({ spaceId: z.null() }).strict(),
  z.object({ spaceId: z.string().max(64), generation: z.number().int().min(1), keyWrap: z.string().min(1).max(200) }).strict(),
]);
export type MoveInput = z.infer<typeof moveSchema>;

const NOT_OWNER = 'Only the person who added this document can change it.';
const missing = () => new NotFound('There is no such document.', 'document_not_found');

/** Checks that an ID is a document ID before it is used anywhere (404 for anything else, like a miss). */
export function documentId(raw: unknown): string {
  if (!isUuid(raw)) throw missing();
  return raw;
}

/** Encrypted metadata: an AEAD envelope around JSON padded to a multiple of 256 bytes (crypto.md). */
export function checkMetaEnvelope(b64: string): void {
  const bytes = b64Field(b64, 'The document’s metadata', 'bad_meta');
  const body = bytes.length - AEAD_OVERHEAD;
  if (bytes[0] !== AEAD_VERSION || body < 256 || body % 256 !== 0 || body > 4096) {
    throw new Validation('The document’s metadata is not in the expected encrypted format.', 'bad_meta');
  }
}

/** A wrap of the document key (the owner's, or under a space key): AEAD of 32 bytes. */
export function checkKeyWrap(b64: string, what = 'The document’s key'): void {
  const bytes = b64Field(b64, what, 'bad_key');
  if (bytes[0] !== AEAD_VERSION || bytes.length !== AEAD_OVERHEAD + DOC_KEY_BYTES) {
    throw new Validation(`${what} is not in the expected encrypted format.`, 'bad_key');
  }
}

const num = (v: number | null | undefined) => (v === null || v === undefined ? null : Number(v));

/** A document row as its owner's client receives it. */
export function documentView(r: DocumentRow): DocumentView {
  return {
    id: r.id,
    ownerId: r.owner_id,
    size: Number(r.size),
    meta: r.meta,
    keyWrap: r.key_wrap,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    deletedAt: num(r.deleted_at),
    spaceId: r.space_id ?? null,
    spaceGeneration: num(r.space_generation),
    spaceKeyWrap: r.space_key_wrap ?? null,
    grant: null,
  };
}

/**
 * What this person may see of a document, or null when they may not read it: the owner sees everything,
 * a member of its space the space's wrap of its key, someone it was shared with their grant. Others'
 * documents in the trash are nobody's business but their owner's.
 */
function viewFor(userId: string, r: AccessRow): DocumentView | null {
  if (r.owner_id === userId) return documentView(r);
  if (r.deleted_at !== null) return null;
  const base = { ...documentView(r), keyWrap: null };
  if (r.member) return base;
  if (r.grant_sharer === null || r.grant_sealed === null || r.grant_sig === null) return null;
  return {
    ...base,
    spaceId: null,
    spaceGeneration: null,
    spaceKeyWrap: null,
    grant: { sharerId: r.grant_sharer, sealed: r.grant_sealed, sig: r.grant_sig, createdAt: Number(r.grant_at) },
  };
}

/**
 * The rules of a person's documents: who may see what, quotas, the trash. Another user's document is
 * "not found", never "forbidden", so IDs reveal nothing.
 */
export class DocumentService {
  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly config: Config,
  ) {}

  /**
   * The documents (or the trash) as UTF-8 JSON, `DocumentView[]` newest first, safe to put inside a
   * <script> element as it is. Bytes rather than objects: the list page sends it on untouched.
   */
  async listJson(userId: string, trashed = false): Promise<Buffer> {
    const json = await documents.listJson(this.db, userId, trashed);
    // IDs, numbers and checked base64 hold no "<"; were one ever stored, it could close the <script>
    return json.includes(0x3c) ? Buffer.from(json.toString('utf8').replace(/</g, '\\u003c')) : json;
  }

  /** A document this person may read (owner, grant, space member); anything else is a 404. */
  async readable(userId: string, rawId: unknown): Promise<DocumentView> {
    const row = await documents.access(this.db, userId, documentId(rawId));
    const view = row ? viewFor(userId, row) : null;
    if (!view) throw missing();
    return view;
  }

  /**
   * A document this person may change: their own. Someone who can read it but not change it learns why
   * (403 not_owner); for anyone else it does not exist.
   */
  async owned(userId: string, rawId: unknown): Promise<DocumentRow> {
    const row = await documents.access(this.db, userId, documentId(rawId));
    if (row?.owner_id === userId) return row;
    if (row && viewFor(userId, row)) throw new Forbidden(NOT_OWNER, 'not_owner');
    throw missing();
  }

  get(userId: string, rawId: unknown): Promise<DocumentView> {
    return this.readable(userId, rawId);
  }

  /** The file to stream for a document the user can read. */
  async blobPath(userId: string, rawId: unknown): Promise<{ path: string; size: number }> {
    const doc = await this.readable(userId, rawId);
    const size = await this.blobs.size(doc.id);
    if (size === null) throw new NotFound('The encrypted file of this document is missing on the server.', 'blob_missing');
    return { path: this.blobs.pathOf(doc.id), size };
  }

  /** Rename or retag: the client re-encrypts the metadata; the server swaps the envelope. */
  async updateMeta(userId: string, rawId: unknown, meta: string): Promise<DocumentView> {
    const id = documentId(rawId);
    checkMetaEnvelope(meta);
    if ((await documents.setMeta(this.db, userId, id, meta, Date.now())) !== 1) {
      await this.owned(userId, id);
      throw new NotFound('There is no such document (or it is in the trash).', 'document_not_found');
    }
    return documentView(await this.owned(userId, id));
  }

  async trash(userId: string, rawId: unknown): Promise<void> {
    const id = documentId(rawId);
    if ((await documents.setDeleted(this.db, userId, id, Date.now())) !== 1) await this.owned(userId, id);
  }

  async restore(userId: string, rawId: unknown): Promise<void> {
    const id = documentId(rawId);
    if ((await documents.setDeleted(this.db, userId, id, null)) !== 1) await this.owned(userId, id);
  }

  /** Deletes for good: the row first, then the blob (a crash in between leaves only an orphan blob). */
  async deleteForever(userId: string, rawId: unknown): Promise<void> {
    const doc = await this.owned(userId, rawId);
    if (doc.deleted_at === null) {
      throw new Validation('Move the document to the trash first.', 'not_in_trash');
    }
    await documents.remove(this.db, doc.id);
    await this.blobs.remove(doc.id);
  }

  /**
   * Moves one of the person's own documents into a space they are a member of, with its key wrapped under
   * the space's current key, or takes it out of its space. Who else can read it changes at once.
   */
  async moveToSpace(userId: string, rawId: unknown, input: MoveInput): Promise<DocumentView> {
    const doc = await this.owned(userId, rawId);
    let fields: SpaceFields = { space_id: null, space_generation: null, space_key_wrap: null };
    if (input.spaceId !== null) {
      const id = checkSpaceId(input.spaceId);
      await checkSpaceWrite(this.db, userId, id, input.generation);
      checkKeyWrap(input.keyWrap, 'The document’s key for the space');
      fields = { space_id: id, space_generation: input.generation, space_key_wrap: input.keyWrap };
    }
    if (!(await documents.setSpace(this.db, userId, doc.id, fields, Date.now()))) {
      throw new NotFound('There is no such document (or it is in the trash).', 'document_not_found');
    }
    return documentView(await this.owned(userId, doc.id));
  }

  async emptyTrash(userId: string): Promise<number> {
    const rows = await documents.trashed(this.db, userId);
    for (const r of rows) {
      await documents.remove(this.db, r.id);
      await this.blobs.remove(r.id);
    }
    return rows.length;
  }

  /** Purges what has been in the trash for TRASH_DAYS. Runs at start and every hour. */
  async purgeExpired(now = Date.now()): Promise<number> {
    const rows = await documents.trashedBefore(this.db, now - TRASH_DAYS * DAY);
    for (const r of rows) {
      await documents.remove(this.db, r.id);
      await this.blobs.remove(r.id);
    }
    return rows.length;
  }

  async quotaOf(userId: string): Promise<number> {
    return this.quotaFrom((await users.byId(this.db, userId))?.quota_bytes);
  }

  /** A person's quota in bytes from their own setting (null or undefined: the default). */
  quotaFrom(quotaBytes: number | null | undefined): number {
    return quotaBytes === null || quotaBytes === undefined ? this.config.defaultQuotaMiB * 1024 * 1024 : Number(quotaBytes);
  }

  /** Bytes used (documents, the trash, and uploads in flight) against the quota. */
  async usage(userId: string): Promise<Usage> {
    const [stored, reserved, count, quota] = await Promise.all([
      documents.usedBytes(this.db, userId),
      uploads.reservedBytes(this.db, userId),
      documents.count(this.db, userId),
      this.quotaOf(userId),
    ]);
    return { used: stored + reserved, quota, documents: count };
  }
}
