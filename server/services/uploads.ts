import type { Logger } from 'pino';
import type { Db } from '../db/connection.js';
import { documents, quotaCheck, uploads, type UploadRow } from '../db/documents.js';
import { Conflict, NotFound, PayloadTooLarge, Validation } from '../errors.js';
import type { BlobStore } from '../storage/blobs.js';
import { isUuid } from '../../client/crypto/index.js';
import { checkKeyWrap, checkMetaEnvelope, documentId, documentView, type DocumentService, type DocumentView } from './documents.js';
import { checkSpaceWrite, spaceId as checkSpaceId } from './spaces.js';

/** "HLB" then format version 1 (crypto.md "Documents"). */
const BLOB_MAGIC = Buffer.from([0x48, 0x4c, 0x42, 0x01]);
/** header (magic, version, chunk size, secretstream header) + one empty final chunk */
const SMALLEST_BLOB = 32 + 17;
/**
 * Whether `length` bytes can be a blob with this chunk size: a 32-byte header, then full chunks of
 * chunkSize + 17 bytes and a last one of 18 to chunkSize + 17 bytes (or one empty final chunk of 17).
 * The server cannot decrypt; this catches a client that sent something else, or too little.
 */
export function plausibleBlobLength(length: number, chunkSize: number): boolean {
  if (chunkSize < 1 || chunkSize > 64 * 1024 * 1024) return false;
  const body = length - 32;
  if (body === 17) return true;
  const last = body % (chunkSize + 17);
  return body >= 18 && (last === 0 || last >= 18);
}

/** Uploads untouched for this long are abandoned: their reservation and bytes are dropped. */
export const STALE_UPLOAD_MS = 24 * 3600_000;

/** An upload still receiving bytes, or one whose document exists. */
export type UploadState = 'in_flight' | 'finished';

export interface NewUpload {
  id: unknown;
  length: number;
  meta: unknown;
  keyWrap: unknown;
  /** Upload-Metadata values (text) that put the new document in a space: all three or none */
  spaceId?: unknown;
  spaceGeneration?: unknown;
  spaceKeyWrap?: unknown;
}

type SpacePart = Pick<UploadRow, 'space_id' | 'space_generation' | 'space_key_wrap'>;
const NO_SPACE: SpacePart = { space_id: null, space_generation: null, space_key_wrap: null };

/**
 * The space a new upload goes into, checked: the uploader is a member and wraps the document key under the
 * space key's current generation. The uploader's own keyWrap is still required: the document stays theirs.
 */
async function spacePart(db: Db, userId: string, input: NewUpload): Promise<SpacePart> {
  const given = [input.spaceId, input.spaceGeneration, input.spaceKeyWrap].filter((v) => v !== undefined && v !== '');
  if (given.length === 0) return NO_SPACE;
  if (given.length !== 3 || typeof input.spaceGeneration !== 'string' || typeof input.spaceKeyWrap !== 'string') {
    throw new Validation('An upload into a space carries spaceId, spaceGeneration and spaceKeyWrap together.', 'bad_metadata');
  }
  const id = checkSpaceId(input.spaceId);
  if (!/^[1-9][0-9]{0,8}$/.test(input.spaceGeneration)) {
    throw new Validation('spaceGeneration must be a whole number from 1.', 'bad_metadata');
  }
  const g = Number(input.spaceGeneration);
  await checkSpaceWrite(db, userId, id, g);
  checkKeyWrap(input.spaceKeyWrap, 'The document’s key for the space');
  return { space_id: id, space_generation: g, space_key_wrap: input.spaceKeyWrap };
}

function formatSize(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/**
 * Resumable uploads of encrypted blobs (tus). An upload reserves its length against the quota when it is
 * created; when its last byte arrives the blob is moved into place durably, then its row is written, so a
 * document exists whole or not at all.
 *
 * Two kinds of reservation. An upload whose creation request carries every byte (tus creation-with-upload,
 * what a client sends for a small file) cannot be resumed: if that request fails, it leaves nothing and the
 * client starts again. Its reservation is held in memory for the length of the request, and the finish
 * writes the document's row in one commit. Any other upload must survive a restart to be resumed, so its
 * reservation is a row in `uploads`. The quota check counts both, one reservation at a time.
 */
export class UploadService {
  /** Reservations of uploads that arrive whole in their creation request, by ID. */
  private readonly held = new Map<string, UploadRow>();
  /** Reservations are made one after another, so two cannot both pass the same quota check. */
  private reserving: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly blobs: BlobStore,
    private readonly docs: DocumentService,
    private readonly logger: Logger,
  ) {}

  /** Whether an upload's reservation is held in memory (it arrives whole in its creation request). */
  holds(id: string): boolean {
    return this.held.has(id);
  }

  private heldBytes(userId: string): number {
    let n = 0;
    for (const r of this.held.values()) if (r.owner_id === userId) n += Number(r.length);
    return n;
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.reserving.then(fn, fn);
    this.reserving = run.catch(() => undefined);
    return run;
  }

  /**
   * Checks a new upload and reserves its space, atomically with the quota check. `inOneRequest`: the
   * creation request carries every byte, so the reservation is held in memory (see the class comment).
   */
  async reserve(userId: string, input: NewUpload, opts: { inOneRequest?: boolean } = {}): Promise<string> {
    if (!isUuid(input.id)) throw new Validation('The document ID must be a lowercase UUID.', 'bad_document_id');
    const id = input.id;
    if (!Number.isSafeInteger(input.length) || input.length < SMALLEST_BLOB) {
      throw new Validation('The upload length is not valid for an encrypted document.', 'bad_length');
    }
    if (typeof input.meta !== 'string' || typeof input.keyWrap !== 'string') {
      throw new Validation('The upload lacks the document’s encrypted metadata or key.', 'bad_meta');
    }
    checkMetaEnvelope(input.meta);
    checkKeyWrap(input.keyWrap);
    const meta = input.meta;
    const keyWrap = input.keyWrap;
    const inSpace = await spacePart(this.db, userId, input);
    const row: UploadRow = { id, owner_id: userId, length: input.length, meta, key_wrap: keyWrap, created_at: Date.now(), ...inSpace };
    const check = async (trx: Db) => {
      const heldBefore = this.held.get(id);
      const pending = heldBefore ?? (await uploads.byId(trx, id));
      // The same creation sent again by the same person (its answer was lost, or its connection dropped
      // while it carried bytes) starts that upload over instead of failing: the client cannot know the
      // first one arrived. tus then empties the upload's file.
      const again =
        pending?.owner_id === userId &&
        Number(pending.length) === input.length &&
        pending.meta === meta &&
        pending.key_wrap === keyWrap &&
        (pending.space_id ?? null) === inSpace.space_id &&
        (pending.space_key_wrap ?? null) === inSpace.space_key_wrap;
      if (again && heldBefore) this.held.delete(id);
      else if (again) await uploads.remove(trx, id);
      const room = await quotaCheck(trx, userId, id);
      if ((pending && !again) || room.taken) {
        throw new Conflict('A document with this ID already exists.', 'document_exists');
      }
      const quota = this.docs.quotaFrom(room.quotaBytes);
      const used = room.stored + room.reserved + this.heldBytes(userId);
      if (used + input.length > quota) {
        throw new PayloadTooLarge(
          `This file does not fit: it needs ${formatSize(input.length)} and you have ${formatSize(Math.max(0, quota - used))} left of ${formatSize(quota)}. Empty the trash or ask your family’s admin for more space.`,
          'quota_exceeded',
        );
      }
      if (!opts.inOneRequest) return uploads.insert(trx, row);
      // tus's description file of the same upload started before: a held upload has none to replace it
      if (again && !heldBefore) await this.blobs.removeUpload(`${id}.json`);
      this.held.set(id, row);
    };
    // A held reservation writes nothing, so it needs no transaction: taking them one at a time is enough.
    await this.serially(() => (opts.inOneRequest ? check(this.db) : this.db.transaction(check)));
    return id;
  }

  /**
   * Only the person who started an upload may continue, inspect or cancel it. A finished upload is its
   * document: the owner may still ask about it ("inspect", tus HEAD), so a client that lost the last answer
   * learns that everything arrived; there is nothing left to send or cancel ("change": 409).
   */
  async authorize(userId: string, rawId: unknown, action: 'inspect' | 'change'): Promise<UploadState> {
    const missing = new NotFound('There is no such upload.', 'upload_not_found');
    if (!isUuid(rawId)) throw missing;
    const row = await uploads.byId(this.db, rawId);
    if (row) {
      if (row.owner_id !== userId) throw missing;
      return 'in_flight';
    }
    const doc = await documents.byId(this.db, rawId);
    if (!doc || doc.owner_id !== userId) throw missing;
    if (action === 'change') {
      throw new Conflict('This upload is already finished: the document exists. Ask with HEAD to confirm.', 'upload_finished');
    }
    return 'finished';
  }

  /**
   * The length of a finished upload, which is now a document; undefined while it is in flight or unknown.
   * tus asks for an upload's state after the finish hook has already moved its bytes into blobs/.
   */
  async finishedLength(rawId: unknown): Promise<number | undefined> {
    if (!isUuid(rawId) || (await uploads.byId(this.db, rawId))) return undefined;
    const doc = await documents.byId(this.db, rawId);
    return doc ? Number(doc.size) : undefined;
  }

  /** The last byte arrived: check the blob, move it into place, then write the document row. */
  async finish(rawId: unknown): Promise<DocumentView> {
    const id = documentId(rawId);
    const held = this.held.get(id);
    const row = held ?? (await uploads.byId(this.db, id));
    if (!row) throw new NotFound('There is no such upload.', 'upload_not_found');
    const { size, head } = await this.blobs.inspectUpload(id);
    if (size !== Number(row.length) || !head.subarray(0, 4).equals(BLOB_MAGIC) || !plausibleBlobLength(size, head.readUInt32BE(4))) {
      await this.abandon(id);
      throw new Validation('The uploaded file is not an encrypted Heirloom document. Nothing was saved.', 'bad_blob');
    }
    const inSpace = await this.stillInSpace(row);
    await this.blobs.commit(id, this.blobs.uploadPathOf(id));
    const now = Date.now();
    const doc = { id, owner_id: row.owner_id, size, meta: row.meta, key_wrap: row.key_wrap, created_at: now, updated_at: now, deleted_at: null, ...inSpace };
    try {
      // one commit either way: a held reservation has no row to remove
      if (held) await documents.insert(this.db, doc);
      else {
        await this.db.transaction(async (trx) => {
          await uploads.remove(trx, id);
          await documents.insert(trx, doc);
        });
      }
    } catch (err) {
      await this.blobs.remove(id);
      throw err;
    }
    // only now: until the row is committed the reservation must still count against the quota
    if (held) this.held.delete(id);
    else await this.blobs.removeUpload(`${id}.json`);
    return documentView(doc);
  }

  /**
   * An upload into a space may take hours; by its end the uploader may have left the space, or the space's
   * key may have moved on (a member was removed). Then the document is kept as the uploader's own, outside
   * the space, rather than thrown away or wrapped under a key a removed member holds; the answer's
   * DocumentView says so (spaceId null), and the uploader can move it in again.
   */
  private async stillInSpace(row: UploadRow): Promise<SpacePart> {
    if (!row.space_id) return NO_SPACE;
    try {
      await checkSpaceWrite(this.db, row.owner_id, row.space_id, Number(row.space_generation));
    } catch (err) {
      if (!(err instanceof NotFound || err instanceof Conflict)) throw err;
      this.logger.info({ documentId: row.id }, 'upload finished outside its space: the space changed meanwhile');
      return NO_SPACE;
    }
    return { space_id: row.space_id, space_generation: Number(row.space_generation), space_key_wrap: row.space_key_wrap ?? null };
  }

  /** Drops an upload: its reservation and its bytes. */
  async abandon(id: string): Promise<void> {
    this.held.delete(id);
    await uploads.remove(this.db, id);
    await this.blobs.removeUpload(id);
    await this.blobs.removeUpload(`${id}.json`);
  }

  /**
   * Start-up and hourly clean-up: uploads abandoned for a day, files in uploads/ without a reservation,
   * and blobs without a document row (what a crash between the blob's rename and its row can leave).
   * `graceMs` spares files touched that recently: while the server runs, an upload may be between steps.
   * At start-up nothing is in flight and the grace is 0.
   */
  async sweep(opts: { now?: number; graceMs?: number } = {}): Promise<{ staleUploads: number; strayFiles: number; orphanBlobs: number }> {
    const now = opts.now ?? Date.now();
    const grace = opts.graceMs ?? 0;
    const settled = async (file: string) => grace === 0 || now - (await this.blobs.mtime(file)) > grace;
    let staleUploads = 0;
    for (const row of await uploads.olderThan(this.db, now - STALE_UPLOAD_MS)) {
      await this.abandon(row.id);
      staleUploads++;
    }
    const live = new Set([...(await uploads.all(this.db)).map((r) => r.id), ...this.held.keys()]);
    let strayFiles = 0;
    for (const name of await this.blobs.listUploads()) {
      if (!live.has(name.replace(/\.json$/, '')) && (await settled(this.blobs.uploadsPath(name)))) {
        await this.blobs.removeUpload(name);
        strayFiles++;
      }
    }
    const known = new Set(await documents.allIds(this.db));
    let orphanBlobs = 0;
    for (const id of await this.blobs.list()) {
      if (!known.has(id) && (await settled(this.blobs.pathOf(id)))) {
        await this.blobs.remove(id);
        orphanBlobs++;
      }
    }
    if (staleUploads + strayFiles + orphanBlobs > 0) {
      this.logger.info({ staleUploads, strayFiles, orphanBlobs }, 'swept unfinished uploads and orphan blobs');
    }
    return { staleUploads, strayFiles, orphanBlobs };
  }
}
