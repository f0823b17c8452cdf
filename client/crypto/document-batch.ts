/**
 * Opening the metadata of many documents at once, for the documents list (10,000 names in well under half
 * a second). For every document the result is exactly that of
 * `openDocMeta(unwrapDocKeyForOwner(accountKey, fromB64(keyWrap), id, userId), id, fromB64(meta))`: the
 * same envelopes, keys, associated data and checks, in libsodium, with nothing changed in the format
 * (docs/format.md "Documents").
 *
 * Why a second path: every libsodium.js wrapper call allocates and copies each argument on the WebAssembly
 * heap and copies its result out again, and a document needs seven such calls (two base64 decodes, two
 * AEAD opens, a KDF, an unpad and a memzero). That overhead, not the cryptography, made the list slow. Here
 * the base64 text is decoded straight into one scratch area of the heap, allocated once for the list, and
 * the same C functions are called directly on it.
 *
 * Only success is decided here. Whenever anything about a document is not exactly as the sealing side makes
 * it (a malformed ID or base64 text, an envelope of an unexpected length, a failed tag, bad padding,
 * unreadable JSON), that document goes through the single-document functions, which give the error (kind and
 * sentence) callers already know. So this path cannot accept what those refuse, nor refuse differently.
 */
import { CryptoError } from './errors.js';
import { fromB64, utf8 } from './encoding.js';
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, AEAD_OVERHEAD, AEAD_TAG_BYTES, AEAD_VERSION, ad } from './primitives.js';
import {
  DOC_KEY_BYTES,
  META_CTX,
  META_KDF_ID,
  META_PAD_BLOCK,
  docMetaFromJson,
  isUuid,
  openDocMeta,
  unwrapDocKeyForOwner,
  type DocMeta,
} from './document.js';
import { unwrapDocKeyForSpace } from './sharing.js';
import { getSodium } from './sodium.js';
import { sodiumModule, type WasmHeap } from './wasm.js';

/** A document's two envelopes as stored for its owner, in URL-safe base64 as the server sends them. */
export interface OwnerDocEnvelopes {
  id: string;
  keyWrap: string;
  meta: string;
}

/** The functions of libsodium's own module used here (see wasm.ts). */
interface SodiumModule extends WasmHeap {
  _crypto_aead_xchacha20poly1305_ietf_decrypt(
    m: number,
    mlenP: number,
    nsec: number,
    c: number,
    clenLo: number,
    clenHi: number,
    ad: number,
    adlenLo: number,
    adlenHi: number,
    npub: number,
    k: number,
  ): number;
  _crypto_kdf_derive_from_key(subkey: number, subkeyLen: number, idLo: number, idHi: number, ctx: number, key: number): number;
  _sodium_unpad(unpaddedLenP: number, buf: number, paddedLen: number, blockSize: number): number;
}

const NEEDED = ['_crypto_aead_xchacha20poly1305_ietf_decrypt', '_crypto_kdf_derive_from_key', '_sodium_unpad'] as const;

const KEY_WRAP_BYTES = AEAD_OVERHEAD + DOC_KEY_BYTES;
/** Any UUID: the associated data is made once around it, then each document's ID is written over it. */
const SOME_UUID = '00000000-0000-4000-8000-000000000000';
const UUID_LENGTH = SOME_UUID.length;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Value of each character of URL-safe base64 (crypto.md Notation: `b64`), -1 for any other character. */
const B64_VALUE = new Int8Array(128).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries()) B64_VALUE[c.charCodeAt(0)] = i;

/**
 * Decodes URL-safe base64 without padding into `heap` at `at`; returns the number of bytes, or -1 for
 * anything fromB64 refuses (another alphabet, padding, a length that cannot be, unused bits that are not
 * zero). The text is ciphertext, public, so this need not run in constant time like libsodium's decoder;
 * it writes straight into the scratch area instead of making a string and an array per envelope.
 */
function decodeB64Into(text: string, heap: Uint8Array, at: number, max: number): number {
  const n = text.length;
  const rest = n % 4;
  const bytes = ((n - rest) / 4) * 3 + (rest === 0 ? 0 : rest - 1);
  if (rest === 1 || bytes > max) return -1;
  let o = at;
  let i = 0;
  for (const whole = n - rest; i < whole; i += 4) {
    const a = B64_VALUE[text.charCodeAt(i)] ?? -1;
    const b = B64_VALUE[text.charCodeAt(i + 1)] ?? -1;
    const c = B64_VALUE[text.charCodeAt(i + 2)] ?? -1;
    const d = B64_VALUE[text.charCodeAt(i + 3)] ?? -1;
    if ((a | b | c | d) < 0) return -1;
    heap[o++] = (a << 2) | (b >> 4);
    heap[o++] = ((b & 15) << 4) | (c >> 2);
    heap[o++] = ((c & 3) << 6) | d;
  }
  if (rest > 0) {
    const a = B64_VALUE[text.charCodeAt(i)] ?? -1;
    const b = B64_VALUE[text.charCodeAt(i + 1)] ?? -1;
    const c = rest === 3 ? (B64_VALUE[text.charCodeAt(i + 2)] ?? -1) : 0;
    // the bits after the last whole byte must be zero: otherwise two texts would give the same bytes
    if ((a | b | c) < 0 || (rest === 2 ? b & 15 : c & 3) !== 0) return -1;
    heap[o++] = (a << 2) | (b >> 4);
    if (rest === 3) heap[o++] = ((b & 15) << 4) | (c >> 2);
  }
  return bytes;
}

/** What the single-document functions say about one document: its metadata or their CryptoError. */
function openOne(accountKey: Uint8Array, userId: string, doc: OwnerDocEnvelopes): DocMeta | CryptoError {
  try {
    const docKey = unwrapDocKeyForOwner(accountKey, fromB64(doc.keyWrap), doc.id, userId);
    try {
      return openDocMeta(docKey, doc.id, fromB64(doc.meta));
    } finally {
      getSodium().memzero(docKey);
    }
  } catch (e) {
    if (e instanceof CryptoError) return e;
    throw e;
  }
}

/**
 * Opens the metadata of documents owned by `userId`: for each, AEAD(accountKey) opens the document key
 * (AD "doc-key", id, userId), KDF derives the metadata key and AEAD opens the padded JSON (AD "doc-meta",
 * id). Returns, in the same order, each document's metadata or the CryptoError the single-document
 * functions give for it; one bad document never stops the others.
 *
 * The same holds for a document shared with `userId` whose grant they accepted: its wrap has exactly this
 * form, with `userId` the reader's ID (docs/format.md "Accepted grants").
 */
export function openOwnDocMetas(
  accountKey: Uint8Array,
  userId: string,
  docs: readonly OwnerDocEnvelopes[],
): (DocMeta | CryptoError)[] {
  const single = (i: number) => openOne(accountKey, userId, docs[i] as OwnerDocEnvelopes);
  if (!(accountKey instanceof Uint8Array) || accountKey.length !== AEAD_KEY_BYTES || !isUuid(userId)) {
    return docs.map((_, i) => single(i));
  }
  // one key and one associated data for all: the scratch area gets them once
  const wrapKey = { key: accountKey, keyAd: ad('doc-key', SOME_UUID, userId) };
  return openBatch(docs, (d) => (typeof d.keyWrap === 'string' ? { ...wrapKey, wrap: d.keyWrap } : null), single);
}

/** A document of a space as its members receive it, in URL-safe base64 as the server sends it. */
export interface SpaceDocEnvelopes {
  id: string;
  spaceId: string;
  spaceGeneration: number;
  spaceKeyWrap: string;
  meta: string;
}

/**
 * Opens the metadata of documents in spaces: for each, the space key of its generation (from `spaceKey`,
 * null when not held) opens the document key (AD "doc-key", id, "space", spaceId, g), then the metadata as
 * for own documents. Each result is exactly that of
 * `openDocMeta(unwrapDocKeyForSpace(spaceKey, fromB64(spaceKeyWrap), id, spaceId, g), id, fromB64(meta))`,
 * or its CryptoError; a document whose space key is not held gets a CryptoError of kind `params`.
 */
export function openSpaceDocMetas(
  spaceKey: (spaceId: string, g: number) => Uint8Array | null,
  docs: readonly SpaceDocEnvelopes[],
): (DocMeta | CryptoError)[] {
  const keys = new Map<string, { key: Uint8Array; keyAd: Uint8Array } | null>();
  const keyOf = (d: SpaceDocEnvelopes) => {
    const name = `${d.spaceId}/${d.spaceGeneration}`;
    let k = keys.get(name);
    if (k === undefined) {
      const key = isUuid(d.spaceId) && Number.isSafeInteger(d.spaceGeneration) && d.spaceGeneration >= 1 ? spaceKey(d.spaceId, d.spaceGeneration) : null;
      k = key && key.length === AEAD_KEY_BYTES ? { key, keyAd: ad('doc-key', SOME_UUID, 'space', d.spaceId, String(d.spaceGeneration)) } : null;
      keys.set(name, k);
    }
    return k;
  };
  const single = (i: number): DocMeta | CryptoError => {
    const d = docs[i] as SpaceDocEnvelopes;
    try {
      const key = spaceKey(d.spaceId, d.spaceGeneration);
      if (!key) return new CryptoError('params', 'You do not hold the key this document of the space was added with.');
      const docKey = unwrapDocKeyForSpace(key, fromB64(d.spaceKeyWrap), d.id, d.spaceId, d.spaceGeneration);
      try {
        return openDocMeta(docKey, d.id, fromB64(d.meta));
      } finally {
        getSodium().memzero(docKey);
      }
    } catch (e) {
      if (e instanceof CryptoError) return e;
      throw e;
    }
  };
  return openBatch(
    docs,
    (d) => {
      const k = typeof d.spaceKeyWrap === 'string' ? keyOf(d) : null;
      return k ? { ...k, wrap: d.spaceKeyWrap } : null;
    },
    single,
  );
}

/** How one document's key is wrapped: the key that opens the wrap, and the wrap's associated data around SOME_UUID. */
interface WrapOf {
  key: Uint8Array;
  keyAd: Uint8Array;
  wrap: string;
}

/**
 * The batch itself: for each document, its wrap (or null: the single path answers) opens its key under
 * `wrapOf(doc).key`, then its metadata opens. Anything that does not open exactly goes to `single(i)`.
 */
function openBatch<D extends { id: string; meta: string }>(
  docs: readonly D[],
  wrapOf: (doc: D) => WrapOf | null,
  single: (i: number) => DocMeta | CryptoError,
): (DocMeta | CryptoError)[] {
  const out = new Array<DocMeta | CryptoError>(docs.length);
  const lib = sodiumModule<SodiumModule>(NEEDED);
  let maxMetaText = 0;
  for (const d of docs) if (typeof d.meta === 'string' && d.meta.length > maxMetaText) maxMetaText = d.meta.length;
  if (lib === null || maxMetaText === 0) {
    for (let i = 0; i < docs.length; i++) out[i] = single(i);
    return out;
  }

  // the document ID comes first in every key wrap's associated data: heirloom/v1/doc-key/<docId>/...
  const keyAdIdAt = ad('doc-key').length + 1;
  const maxKeyAd = ad('doc-key', SOME_UUID, 'space', SOME_UUID, String(Number.MAX_SAFE_INTEGER)).length;
  const metaAd = ad('doc-meta', SOME_UUID);
  const metaAdIdAt = metaAd.length - UUID_LENGTH;
  const ctx = utf8(`${META_CTX}\0`);
  const keyWrapText = Math.ceil((KEY_WRAP_BYTES * 4) / 3);
  const maxMeta = Math.ceil((maxMetaText * 3) / 4);

  // One scratch area, wiped before it is freed. Offsets from its start:
  const wrapKeyAt = 0;
  const docKeyAt = wrapKeyAt + AEAD_KEY_BYTES;
  const metaKeyAt = docKeyAt + DOC_KEY_BYTES;
  const lengthAt = metaKeyAt + AEAD_KEY_BYTES; // a size_t written by libsodium
  const ctxAt = lengthAt + 8;
  const keyAdAt = ctxAt + ctx.length;
  const metaAdAt = keyAdAt + maxKeyAd;
  const wrapAt = metaAdAt + metaAd.length;
  const metaAt = wrapAt + KEY_WRAP_BYTES;
  const plainAt = metaAt + maxMeta;
  const size = plainAt + maxMeta;

  const base = lib._malloc(size);
  if (base === 0) throw new Error('There is not enough memory to open the documents’ details.');
  try {
    let heap = lib.HEAPU8;
    heap.set(ctx, base + ctxAt);
    heap.set(metaAd, base + metaAdAt);
    // the key and associated data now in the scratch area: copied again only when a document needs others
    let keyNow: Uint8Array | null = null;
    let keyAdNow: Uint8Array | null = null;
    for (let i = 0; i < docs.length; i++) {
      const doc = docs[i] as D;
      const { id, meta } = doc;
      // the view is replaced if the module's memory grows; nothing here allocates, but looking costs nothing
      heap = lib.HEAPU8;
      let opened: DocMeta | null = null;
      const w = isUuid(id) && typeof meta === 'string' ? wrapOf(doc) : null;
      if (w && w.wrap.length === keyWrapText && w.keyAd.length <= maxKeyAd) {
        if (w.key !== keyNow) {
          heap.set(w.key, base + wrapKeyAt);
          keyNow = w.key;
        }
        if (w.keyAd !== keyAdNow) {
          heap.set(w.keyAd, base + keyAdAt);
          keyAdNow = w.keyAd;
        }
        for (let j = 0; j < UUID_LENGTH; j++) {
          const c = id.charCodeAt(j);
          heap[base + keyAdAt + keyAdIdAt + j] = c;
          heap[base + metaAdAt + metaAdIdAt + j] = c;
        }
        const metaLength = decodeB64Into(meta, heap, base + metaAt, maxMeta);
        if (decodeB64Into(w.wrap, heap, base + wrapAt, KEY_WRAP_BYTES) === KEY_WRAP_BYTES && metaLength > 0) {
          opened = openInHeap(lib, base, metaLength, w.keyAd.length);
        }
      }
      out[i] = opened ?? single(i);
    }
  } finally {
    lib.HEAPU8.fill(0, base, base + size);
    lib._free(base);
  }
  return out;

  /** The document now in the scratch area, or null when anything fails (the caller then asks `single`). */
  function openInHeap(m: SodiumModule, at: number, metaLength: number, keyAdLength: number): DocMeta | null {
    const heap = m.HEAPU8;
    if (heap[at + wrapAt] !== AEAD_VERSION || metaLength <= AEAD_OVERHEAD || heap[at + metaAt] !== AEAD_VERSION) return null;
    const n = AEAD_NONCE_BYTES;
    // AEAD(wrapKey, docKey, AD("doc-key", id, ...)): 0x01 ‖ nonce ‖ ciphertext and tag
    const wrapCt = KEY_WRAP_BYTES - 1 - n;
    const keyOk = m._crypto_aead_xchacha20poly1305_ietf_decrypt(
      at + docKeyAt, 0, 0, at + wrapAt + 1 + n, wrapCt, 0, at + keyAdAt, keyAdLength, 0, at + wrapAt + 1, at + wrapKeyAt,
    );
    if (keyOk !== 0) return null;
    // KDF(docKey, 1, "HLDOCKEY")
    if (m._crypto_kdf_derive_from_key(at + metaKeyAt, AEAD_KEY_BYTES, META_KDF_ID, 0, at + ctxAt, at + docKeyAt) !== 0) return null;
    const metaCt = metaLength - 1 - n;
    const metaOk = m._crypto_aead_xchacha20poly1305_ietf_decrypt(
      at + plainAt, 0, 0, at + metaAt + 1 + n, metaCt, 0, at + metaAdAt, metaAd.length, 0, at + metaAt + 1, at + metaKeyAt,
    );
    if (metaOk !== 0) return null;
    const padded = metaCt - AEAD_TAG_BYTES;
    if (m._sodium_unpad(at + lengthAt, at + plainAt, padded, META_PAD_BLOCK) !== 0) return null;
    const length = sizeAt(m, at + lengthAt);
    if (length > padded) return null;
    try {
      return docMetaFromJson(decoder.decode(m.HEAPU8.subarray(at + plainAt, at + plainAt + length)));
    } catch {
      return null;
    }
  }
}

/** A 32-bit size_t that libsodium wrote at `ptr` (little-endian, like all WebAssembly memory). */
function sizeAt(m: SodiumModule, ptr: number): number {
  const h = m.HEAPU8;
  return ((h[ptr] ?? 0) | ((h[ptr + 1] ?? 0) << 8) | ((h[ptr + 2] ?? 0) << 16) | ((h[ptr + 3] ?? 0) << 24)) >>> 0;
}
