import { z } from 'zod';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { documents, uploads, type DocumentRow } from '../db/documents.js';
import { users } from '../db/users.js';
import { NotFound, Validation } from '../errors.js';
import type { BlobStore } from '../storage/blobs.js';
import { AEAD_OVERHEAD, AEAD_VERSION, DOC_KEY_BYTES, isUuid } from '../../client/crypto/index.js';
import { b64Field } from './fields.js';

/** Documents stay in the trash this long, then are purged by themselves (flows.md "Documents"). */
export const TRASH_DAYS = 30;
const DAY = 86_400_000;

/** A document as the owner's client receives it: everything but the blob, still encrypted. */
export interface DocumentView {
  id: string;
  size: number;
  meta: string;
  keyWrap: string;
  createdAt: number;
  updatedAt: number;
  deletedAt: number | null;
}

export interface Usage {
  used: number;
  quota: number;
  documents: number;
}

export const metaSchema = z.object({ meta: z.string().min(1).max(8000) });

/** Checks that an ID is a document ID before it is used anywhere (404 for anything else, like a miss). */
export function documentId(raw: unknown): string {
  if (!isUuid(raw)) throw new NotFound('There is no such document.', 'document_not_found');
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

/** The owner's wrap of the document key: AEAD of 32 bytes. */
export function checkKeyWrap(b64: string): void {
  const bytes = b64Field(b64, 'The document’s key', 'bad_key');
  if (bytes[0] !== AEAD_VERSION || bytes.length !== AEAD_OVERHEAD + DOC_KEY_BYTES) {
    throw new Validation('The document’s key is not in the expected encrypted format.', 'bad_key');
  }
}

/** A document row as its owner's client receives it. */
export function documentView(r: DocumentRow): DocumentView {
  return {
    id: r.id,
    size: Number(r.size),
    meta: r.meta,
    keyWrap: r.key_wrap,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    deletedAt: r.deleted_at === null ? null : Number(r.deleted_at),
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

  async get(userId: string, rawId: unknown): Promise<DocumentView> {
    const row = await documents.owned(this.db, userId, documentId(rawId));
    if (!row) throw new NotFound('There is no such document.', 'document_not_found');
    return documentView(row);
  }

  /** The file to stream for a document the user can read. */
  async blobPath(userId: string, rawId: unknown): Promise<{ path: string; size: number }> {
    const doc = await this.get(userId, rawId);
    const size = await this.blobs.size(doc.id);
    if (size === null) throw new NotFound('The encrypted file of this document is missing on the server.', 'blob_missing');
    return { path: this.blobs.pathOf(doc.id), size };
  }

  /** Rename or retag: the client re-encrypts the metadata; the server swaps the envelope. */
  async updateMeta(userId: string, rawId: unknown, meta: string): Promise<DocumentView> {
    const id = documentId(rawId);
    checkMetaEnvelope(meta);
    if ((await documents.setMeta(this.db, userId, id, meta, Date.now())) !== 1) {
      throw new NotFound('There is no such document (or it is in the trash).', 'document_not_found');
    }
    return this.get(userId, id);
  }

  async trash(userId: string, rawId: unknown): Promise<void> {
    const id = documentId(rawId);
    if ((await documents.setDeleted(this.db, userId, id, Date.now())) !== 1) await this.get(userId, id);
  }

  async restore(userId: string, rawId: unknown): Promise<void> {
    const id = documentId(rawId);
    if ((await documents.setDeleted(this.db, userId, id, null)) !== 1) await this.get(userId, id);
  }

  /** Deletes for good: the row first, then the blob (a crash in between leaves only an orphan blob). */
  async deleteForever(userId: string, rawId: unknown): Promise<void> {
    const doc = await this.get(userId, rawId);
    if (doc.deletedAt === null) {
      throw new Validation('Move the document to the trash first.', 'not_in_trash');
    }
    await documents.remove(this.db, doc.id);
    await this.blobs.remove(doc.id);
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
