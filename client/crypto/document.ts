/**
 * Documents (crypto.md "Documents"; byte layout in docs/format.md "Documents"): the content blob, the
 * metadata envelope and the owner's wrap of the document key. Pure libsodium, no DOM and no Node imports:
 * this runs in the page's worker, in Node tests and in the rescue CLI alike.
 */
import { CryptoError } from './errors.js';
import { concatBytes, expectLength, fromUtf8, utf8 } from './encoding.js';
import { StreamChunks } from './secretstream.js';
import { ad, aeadOpen, aeadSeal, kdf } from './primitives.js';
import { getSodium, type Sodium } from './sodium.js';

/** "HLB": the first three bytes of every content blob. */
export const BLOB_MAGIC: Uint8Array = Uint8Array.of(0x48, 0x4c, 0x42);
export const BLOB_VERSION = 1;
/** Plaintext bytes per chunk unless the blob says otherwise (4 MiB). */
export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;
/** A decoder refuses a larger chunk size field, so a damaged header cannot make it buffer gigabytes. */
export const MAX_CHUNK_SIZE = 64 * 1024 * 1024;
const SECRETSTREAM_HEADER_BYTES = 24;
/** magic(3) + version(1) + u32be chunkSize(4) + secretstream header(24). */
export const BLOB_HEADER_BYTES = 3 + 1 + 4 + SECRETSTREAM_HEADER_BYTES;
/** crypto_secretstream_xchacha20poly1305_ABYTES: one tag byte + 16-byte MAC per chunk. */
export const CHUNK_OVERHEAD = 17;
export const DOC_KEY_BYTES = 32;

/** The metadata key is KDF(docKey, META_KDF_ID, META_CTX); the JSON is padded to META_PAD_BLOCK bytes. */
export const META_CTX = 'HLDOCKEY';
export const META_KDF_ID = 1;
export const META_PAD_BLOCK = 256;

const TAMPERED = 'This document has been tampered with or damaged.';
const INCOMPLETE = 'This document is incomplete: it has been damaged or tampered with.';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A lowercase canonical UUID (8-4-4-4-12 hex digits), the form of every user and document ID. */
export function isUuid(s: unknown): s is string {
  return typeof s === 'string' && UUID_RE.test(s);
}

function expectUuid(s: unknown, what: string): string {
  if (!isUuid(s)) throw new CryptoError('params', `The ${what} must be a lowercase UUID.`);
  return s;
}

function expectChunkSize(chunkSize: number): void {
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new CryptoError('params', `The chunk size must be a whole number from 1 to ${MAX_CHUNK_SIZE}.`);
  }
}

/** A fresh random document key (crypto_secretstream_xchacha20poly1305_keygen). */
export function newDocKey(): Uint8Array {
  return getSodium().crypto_secretstream_xchacha20poly1305_keygen();
}

/**
 * Number of chunks of a plaintext: every chunk but the last holds exactly chunkSize bytes, the last holds
 * 1..chunkSize bytes; an empty file is a single empty chunk. So ceil(size / chunkSize), at least 1.
 */
export function chunkCount(plaintextSize: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  if (!Number.isSafeInteger(plaintextSize) || plaintextSize < 0) {
    throw new CryptoError('params', 'The size of a document must be a whole number of bytes.');
  }
  expectChunkSize(chunkSize);
  return plaintextSize === 0 ? 1 : Math.ceil(plaintextSize / chunkSize);
}

/** Exact length of the blob of a plaintext: 32 + plaintextSize + 17 × chunkCount. */
export function blobSize(plaintextSize: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  return BLOB_HEADER_BYTES + plaintextSize + CHUNK_OVERHEAD * chunkCount(plaintextSize, chunkSize);
}

/**
 * Encrypts one document as it is read, one chunk at a time. Call header() first, then pushChunk() with
 * chunks of exactly chunkSize bytes, the last one with what is left (nothing, for an empty file). The
 * encryptor knows from plaintextSize which chunk is the last and tags it FINAL.
 */
export class BlobEncryptor {
  readonly chunkSize: number;
  readonly plaintextSize: number;
  /** How many times pushChunk() must be called. */
  readonly chunkCount: number;
  readonly #key: Uint8Array;
  readonly #ad: Uint8Array;
  #state: ReturnType<Sodium['crypto_secretstream_xchacha20poly1305_init_push']>['state'] | undefined;
  #pushed = 0;
  #chunks: StreamChunks;

  constructor(docKey: Uint8Array, docId: string, plaintextSize: number, chunkSize = DEFAULT_CHUNK_SIZE) {
    expectLength(docKey, DOC_KEY_BYTES, 'document key');
    this.#ad = utf8(expectUuid(docId, 'document ID'));
    this.chunkCount = chunkCount(plaintextSize, chunkSize);
    this.chunkSize = chunkSize;
    this.plaintextSize = plaintextSize;
    this.#key = docKey.slice();
    this.#chunks = new StreamChunks(this.#ad);
  }

  /** The 32-byte blob header: "HLB" ‖ 0x01 ‖ u32be(chunkSize) ‖ secretstream header (random). Once, first. */
  header(): Uint8Array {
    if (this.#state !== undefined) throw new CryptoError('params', 'The blob header was already written.');
    const s = getSodium();
    const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(this.#key);
    s.memzero(this.#key);
    this.#state = state;
    const out = new Uint8Array(BLOB_HEADER_BYTES);
    out.set(BLOB_MAGIC, 0);
    out[3] = BLOB_VERSION;
    new DataView(out.buffer).setUint32(4, this.chunkSize, false);
    out.set(header, 8);
    return out;
  }

  /** Plaintext length pushChunk() expects next (0 for the one chunk of an empty file). */
  get nextChunkLength(): number {
    if (this.done) return 0;
    return this.#pushed < this.chunkCount - 1
      ? this.chunkSize
      : this.plaintextSize - (this.chunkCount - 1) * this.chunkSize;
  }

  /** Encrypts the next chunk; its ciphertext is 17 bytes longer. */
  pushChunk(plaintext: Uint8Array): Uint8Array {
    if (this.#state === undefined) throw new CryptoError('params', 'Write the blob header before the first chunk.');
    if (this.done) throw new CryptoError('params', 'Every chunk of this document has already been encrypted.');
    if (!(plaintext instanceof Uint8Array) || plaintext.length !== this.nextChunkLength) {
      throw new CryptoError(
        'params',
        `Chunk ${this.#pushed + 1} of ${this.chunkCount} must be ${this.nextChunkLength} bytes long.`,
      );
    }
    const s = getSodium();
    const last = this.#pushed === this.chunkCount - 1;
    const tag = last
      ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL
      : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    const out = this.#chunks.push(this.#state, plaintext, tag);
    this.#pushed++;
    if (last) this.#chunks.dispose();
    return out;
  }

  /** True once the FINAL chunk has been produced. */
  get done(): boolean {
    return this.#pushed === this.chunkCount;
  }
}

type Phase = 'header' | 'chunks' | 'done' | 'failed';

/**
 * Decrypts a blob as it arrives, in slices of any size. Holds at most one ciphertext chunk.
 *
 * Each plaintext chunk handed out has been authenticated, but only finish() tells that the document is
 * complete: a caller that writes chunks out as they come must treat them as provisional (a temporary file,
 * no preview) until finish() returns. After any error the decryptor refuses all further input.
 */
export class BlobDecryptor {
  readonly #ad: Uint8Array;
  #key: Uint8Array;
  #state: ReturnType<Sodium['crypto_secretstream_xchacha20poly1305_init_pull']> | undefined;
  #phase: Phase = 'header';
  #chunkSize = 0;
  #chunksSeen = 0;
  /**
   * The current (incomplete) header or chunk, copied (the caller may reuse its buffers) into one buffer
   * that is reused for every chunk: a fresh 4 MiB array per chunk cost more than decrypting it.
   */
  #unit = new Uint8Array(BLOB_HEADER_BYTES);
  #buffered = 0;
  #chunks: StreamChunks;

  constructor(docKey: Uint8Array, docId: string) {
    expectLength(docKey, DOC_KEY_BYTES, 'document key');
    this.#ad = utf8(expectUuid(docId, 'document ID'));
    this.#key = docKey.slice();
    this.#chunks = new StreamChunks(this.#ad);
  }

  /** The chunk size from the header, once the header has been read (0 before). */
  get chunkSize(): number {
    return this.#chunkSize;
  }

  /**
   * Feeds the next bytes of the blob; returns the plaintext chunks that became complete (maybe none).
   *
   * With `use`, each chunk is handed to it instead, as a view of the decryptor's own buffer that is valid
   * only during that call (copy it, or put it in a Blob, before returning), and push returns nothing. That
   * spares a new 4 MiB array per chunk, which costs more than decrypting it.
   */
  push(bytes: Uint8Array, use?: (plain: Uint8Array) => void): Uint8Array[] {
    this.#usable();
    if (!(bytes instanceof Uint8Array)) throw new CryptoError('params', 'Expected the bytes of a document.');
    const out: Uint8Array[] = [];
    let offset = 0;
    try {
      while (offset < bytes.length) {
        if (this.#phase === 'done') throw new CryptoError('auth', TAMPERED); // bytes after the final chunk
        const need = this.#phase === 'header' ? BLOB_HEADER_BYTES : this.#chunkSize + CHUNK_OVERHEAD;
        const take = Math.min(need - this.#buffered, bytes.length - offset);
        let unit: Uint8Array | undefined;
        if (this.#buffered === 0 && take === need) {
          unit = bytes.subarray(offset, offset + need); // whole unit in this slice: no copy
        } else {
          this.#unit.set(bytes.subarray(offset, offset + take), this.#buffered);
          this.#buffered += take;
          if (this.#buffered === need) unit = this.#takeBuffered();
        }
        offset += take;
        if (unit === undefined) break;
        if (this.#phase === 'header') this.#readHeader(unit);
        else {
          const plain = this.#openChunk(unit, false, use !== undefined);
          if (use) use(plain);
          else out.push(plain);
        }
      }
      if (this.#phase === 'done') this.#chunks.dispose();
    } catch (e) {
      this.#fail();
      throw e;
    }
    return out;
  }

  /**
   * Ends the blob: decrypts the last, shorter chunk still buffered (if any) and returns its plaintext.
   * Throws CryptoError('auth') unless the FINAL chunk has been seen. (Returns the last plaintext because a
   * short last chunk can only be recognised once the input has ended.) `use` works as for push().
   */
  finish(use?: (plain: Uint8Array) => void): Uint8Array[] {
    this.#usable();
    try {
      if (this.#phase === 'done') return [];
      if (this.#phase === 'header') {
        const got = this.#takeBuffered();
        const prefix = concatBytes(BLOB_MAGIC, Uint8Array.of(BLOB_VERSION));
        if (got.some((b, i) => i < prefix.length && b !== prefix[i])) throw versionError();
        throw new CryptoError('auth', INCOMPLETE);
      }
      if (this.#buffered < CHUNK_OVERHEAD) throw new CryptoError('auth', INCOMPLETE);
      const last = this.#openChunk(this.#takeBuffered(), true, use !== undefined);
      if (use) use(last);
      this.#chunks.dispose();
      return use ? [] : [last];
    } catch (e) {
      this.#fail();
      throw e;
    }
  }

  #usable(): void {
    if (this.#phase === 'failed') {
      throw new CryptoError('auth', 'This document could not be decrypted; start again from its first byte.');
    }
  }

  #fail(): void {
    this.#phase = 'failed';
    this.#unit = new Uint8Array(0);
    this.#buffered = 0;
    this.#chunks.dispose();
    getSodium().memzero(this.#key);
  }

  /** The buffered unit, as a view of the reused buffer: valid until more bytes are pushed. */
  #takeBuffered(): Uint8Array {
    const unit = this.#unit.subarray(0, this.#buffered);
    this.#buffered = 0;
    return unit;
  }

  #readHeader(h: Uint8Array): void {
    if (h[0] !== BLOB_MAGIC[0] || h[1] !== BLOB_MAGIC[1] || h[2] !== BLOB_MAGIC[2] || h[3] !== BLOB_VERSION) {
      throw versionError();
    }
    const chunkSize = new DataView(h.buffer, h.byteOffset, h.byteLength).getUint32(4, false);
    if (chunkSize === 0 || chunkSize > MAX_CHUNK_SIZE) {
      throw new CryptoError('params', `This document's chunk size (${chunkSize} bytes) is not allowed: ${TAMPERED}`);
    }
    const s = getSodium();
    try {
      this.#state = s.crypto_secretstream_xchacha20poly1305_init_pull(h.subarray(8, BLOB_HEADER_BYTES), this.#key);
    } catch {
      throw new CryptoError('auth', TAMPERED);
    }
    s.memzero(this.#key);
    this.#chunkSize = chunkSize;
    this.#unit = new Uint8Array(chunkSize + CHUNK_OVERHEAD);
    this.#phase = 'chunks';
  }

  /**
   * Authenticates and decrypts one chunk; `atEnd` says the input has ended (a short last chunk). With
   * `view`, the plaintext is a view of the heap buffer, valid until the next chunk or dispose().
   */
  #openChunk(c: Uint8Array, atEnd: boolean, view: boolean): Uint8Array {
    const s = getSodium();
    if (this.#state === undefined) throw new CryptoError('auth', TAMPERED);
    const r = this.#chunks.pull(this.#state, c, view);
    if (r === false) throw new CryptoError('auth', TAMPERED);
    this.#chunksSeen++;
    if (r.tag === s.crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
      // The only encoding of a file of k × chunkSize bytes is k full chunks, the last FINAL: an empty FINAL
      // chunk after others is refused, so every plaintext has exactly one blob size (blobSize()).
      if (r.message.length === 0 && this.#chunksSeen > 1) throw new CryptoError('auth', TAMPERED);
      this.#phase = 'done';
      return r.message;
    }
    if (r.tag !== s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) throw new CryptoError('auth', TAMPERED);
    if (atEnd) throw new CryptoError('auth', INCOMPLETE); // a shorter chunk must be the FINAL one
    return r.message;
  }
}

function versionError(): CryptoError {
  return new CryptoError('version', 'This is not a Heirloom document, or it uses a format this version cannot open.');
}

/** Whole-blob encryption, for small data and tests. Real uploads stream through BlobEncryptor. */
export function encryptBlob(
  docKey: Uint8Array,
  docId: string,
  plaintext: Uint8Array,
  chunkSize = DEFAULT_CHUNK_SIZE,
): Uint8Array {
  const enc = new BlobEncryptor(docKey, docId, plaintext.length, chunkSize);
  const out = new Uint8Array(blobSize(plaintext.length, chunkSize));
  let o = 0;
  const put = (b: Uint8Array): void => {
    out.set(b, o);
    o += b.length;
  };
  put(enc.header());
  for (let p = 0; !enc.done; p += chunkSize) put(enc.pushChunk(plaintext.subarray(p, p + enc.nextChunkLength)));
  return out;
}

/** Whole-blob decryption, for small data and tests. */
export function decryptBlob(docKey: Uint8Array, docId: string, blob: Uint8Array): Uint8Array {
  const dec = new BlobDecryptor(docKey, docId);
  const chunks = dec.push(blob);
  chunks.push(...dec.finish());
  return concatBytes(...chunks);
}

// Metadata -----------------------------------------------------------------------------------------------

export interface DocMeta {
  name: string;
  /** Media type, e.g. "application/pdf"; may be empty when unknown. */
  type: string;
  /** Plaintext size in bytes. */
  size: number;
  /** Last modified, milliseconds since 1970-01-01 UTC. */
  modified: number;
  tags?: string[];
  note?: string;
}

const META_KEYS = ['name', 'type', 'size', 'modified', 'tags', 'note'];

/** The metadata key: KDF(docKey, 1, "HLDOCKEY"). Never the docKey itself, which is the secretstream's. */
function metaKey(docKey: Uint8Array): Uint8Array {
  expectLength(docKey, DOC_KEY_BYTES, 'document key');
  return kdf(docKey, META_KDF_ID, META_CTX);
}

/** Returns why `m` is not a DocMeta, or undefined when it is one. */
function metaProblem(m: unknown): string | undefined {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'is not an object';
  const r = m as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!META_KEYS.includes(k)) return `has an unknown field "${k}"`;
  if (typeof r.name !== 'string' || r.name.length === 0) return 'has no name';
  if (typeof r.type !== 'string') return 'has no type';
  if (!Number.isSafeInteger(r.size) || (r.size as number) < 0) return 'has no valid size';
  if (!Number.isSafeInteger(r.modified) || (r.modified as number) < 0) return 'has no valid modification time';
  if (r.tags !== undefined && !(Array.isArray(r.tags) && r.tags.every((t) => typeof t === 'string'))) {
    return 'has tags that are not a list of text';
  }
  if (r.note !== undefined && typeof r.note !== 'string') return 'has a note that is not text';
  return undefined;
}

/** The JSON text, keys always in the order name, type, size, modified, tags, note; absent ones left out. */
function metaJson(m: DocMeta): string {
  const ordered: DocMeta = { name: m.name, type: m.type, size: m.size, modified: m.modified };
  if (m.tags !== undefined) ordered.tags = [...m.tags];
  if (m.note !== undefined) ordered.note = m.note;
  return JSON.stringify(ordered);
}

/**
 * AEAD(KDF(docKey,1,"HLDOCKEY"), sodium_pad(UTF-8(JSON), 256), AD("doc-meta",docId)). The padding makes
 * names of 1 and 200 characters the same size to the server.
 */
export function sealDocMeta(docKey: Uint8Array, docId: string, meta: DocMeta, nonce?: Uint8Array): Uint8Array {
  expectUuid(docId, 'document ID');
  const problem = metaProblem(meta);
  if (problem !== undefined) throw new CryptoError('params', `This document's details ${problem}.`);
  const padded = getSodium().pad(utf8(metaJson(meta)), META_PAD_BLOCK);
  return aeadSeal(metaKey(docKey), padded, ad('doc-meta', docId), nonce);
}

/** Opens and checks document metadata; CryptoError 'auth' if tampered, 'encoding' if the content is wrong. */
export function openDocMeta(docKey: Uint8Array, docId: string, envelope: Uint8Array): DocMeta {
  expectUuid(docId, 'document ID');
  const padded = aeadOpen(metaKey(docKey), envelope, ad('doc-meta', docId));
  let json: string;
  try {
    json = fromUtf8(getSodium().unpad(padded, META_PAD_BLOCK));
  } catch {
    throw unreadableMeta();
  }
  return docMetaFromJson(json);
}

function unreadableMeta(): CryptoError {
  return new CryptoError('encoding', "This document's details are not in a format Heirloom can read.");
}

/**
 * The checks openDocMeta makes on the opened, unpadded JSON text; shared with openOwnDocMetas
 * (document-batch.ts), which opens many envelopes at once and must accept exactly the same metadata.
 */
export function docMetaFromJson(json: string): DocMeta {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw unreadableMeta();
  }
  const problem = metaProblem(parsed);
  if (problem !== undefined) throw new CryptoError('encoding', `This document's details ${problem}.`);
  const m = parsed as DocMeta;
  const out: DocMeta = { name: m.name, type: m.type, size: m.size, modified: m.modified };
  if (m.tags !== undefined) out.tags = m.tags;
  if (m.note !== undefined) out.note = m.note;
  return out;
}

// Owner's key --------------------------------------------------------------------------------------------

/** AEAD(accountKey, docKey, AD("doc-key",docId,userId)): how the owner keeps a document's key. */
export function wrapDocKeyForOwner(
  accountKey: Uint8Array,
  docKey: Uint8Array,
  docId: string,
  userId: string,
  nonce?: Uint8Array,
): Uint8Array {
  expectLength(docKey, DOC_KEY_BYTES, 'document key');
  return aeadSeal(accountKey, docKey, ownerAd(docId, userId), nonce);
}

export function unwrapDocKeyForOwner(
  accountKey: Uint8Array,
  envelope: Uint8Array,
  docId: string,
  userId: string,
): Uint8Array {
  const docKey = aeadOpen(accountKey, envelope, ownerAd(docId, userId));
  if (docKey.length !== DOC_KEY_BYTES) throw new CryptoError('encoding', 'This document key has the wrong length.');
  return docKey;
}

function ownerAd(docId: string, userId: string): Uint8Array {
  return ad('doc-key', expectUuid(docId, 'document ID'), expectUuid(userId, 'user ID'));
}
