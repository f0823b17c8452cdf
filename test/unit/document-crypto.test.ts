import { expect } from 'chai';
import {
  BLOB_HEADER_BYTES,
  BLOB_MAGIC,
  BLOB_VERSION,
  BlobDecryptor,
  BlobEncryptor,
  CHUNK_OVERHEAD,
  CryptoError,
  DEFAULT_CHUNK_SIZE,
  aeadOpen,
  aeadSeal,
  ad,
  blobSize,
  concatBytes,
  decryptBlob,
  encryptBlob,
  fromUtf8,
  getSodium,
  isUuid,
  kdf,
  newDocKey,
  openDocMeta,
  randomBytes,
  ready,
  sealDocMeta,
  unwrapDocKeyForOwner,
  utf8,
  wrapDocKeyForOwner,
  type DocMeta,
} from '../../client/crypto/index.js';

const DOC_A = '0b5e7c2a-9d41-4f8e-a3b6-5c7d8e9f0a1b';
const DOC_B = 'c4d5e6f7-0812-4a3b-9c4d-5e6f708192a3';
const USER_A = '3f1d2c4b-5a69-4788-9b0a-1c2d3e4f5a6b';
const USER_B = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
const MiB = 1024 * 1024;
const CHUNK = DEFAULT_CHUNK_SIZE;
const FULL_CHUNK = CHUNK + CHUNK_OVERHEAD;

/** Runs fn and returns the CryptoError it throws; fails the test if it throws anything else or nothing. */
function cryptoError(fn: () => unknown): CryptoError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(CryptoError);
    return e as CryptoError;
  }
  expect.fail('expected a CryptoError, but the call succeeded');
}

function flipByte(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const copy = bytes.slice();
  copy[index] = (copy[index] ?? 0) ^ mask;
  return copy;
}

/** Deterministic, fast filler (a 32-bit xorshift): 50 MiB of randombytes would only slow the test down. */
function filler(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  const words = new Uint32Array(out.buffer, 0, Math.floor(length / 4));
  let x = seed >>> 0;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < length; i++) out[i] = i & 0xff;
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

/** Feeds `blob` to a decryptor in slices of the given sizes (cycled); returns the plaintext chunks. */
function decryptInSlices(key: Uint8Array, docId: string, blob: Uint8Array, sizes: number[]): Uint8Array[] {
  const dec = new BlobDecryptor(key, docId);
  const out: Uint8Array[] = [];
  for (let o = 0, i = 0; o < blob.length; i++) {
    const n = sizes[i % sizes.length] ?? 1;
    out.push(...dec.push(blob.subarray(o, o + n)));
    o += n;
  }
  out.push(...dec.finish());
  return out;
}

/** A blob built by hand with raw libsodium, for encodings the real encryptor never makes. */
function rawBlob(key: Uint8Array, docId: string, chunkSize: number, chunks: { pt: Uint8Array; tag: number }[]) {
  const s = getSodium();
  const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(key);
  const head = new Uint8Array(8);
  head.set(BLOB_MAGIC);
  head[3] = BLOB_VERSION;
  new DataView(head.buffer).setUint32(4, chunkSize);
  return concatBytes(
    head,
    header,
    ...chunks.map((c) => s.crypto_secretstream_xchacha20poly1305_push(state, c.pt, utf8(docId), c.tag)),
  );
}

describe('document crypto (crypto.md "Documents")', () => {
  before(ready);

  describe('content blobs', () => {
    const sizes: [string, number][] = [
      ['an empty file', 0],
      ['1 byte', 1],
      ['4 MiB - 1 bytes', 4 * MiB - 1],
      ['exactly 4 MiB', 4 * MiB],
      ['4 MiB + 1 bytes', 4 * MiB + 1],
      ['3 x 4 MiB + 5 bytes', 3 * 4 * MiB + 5],
    ];
    for (const [label, size] of sizes) {
      it(`round-trips ${label}, and blobSize() is the exact blob length`, () => {
        const key = newDocKey();
        const plaintext = filler(size, size + 1);
        const blob = encryptBlob(key, DOC_A, plaintext);
        expect(blob.length).to.equal(blobSize(size));
        expect(sameBytes(decryptBlob(key, DOC_A, blob), plaintext)).to.equal(true);
        // Streaming in uneven slices gives the same bytes.
        const streamed = concatBytes(...decryptInSlices(key, DOC_A, blob, [65_536, 1_000_003, 7]));
        expect(sameBytes(streamed, plaintext)).to.equal(true);
      });
    }

    it('counts chunks so that a 4 MiB file is one chunk and 4 MiB + 1 is two', () => {
      expect(blobSize(0)).to.equal(32 + 17);
      expect(blobSize(1)).to.equal(32 + 1 + 17);
      expect(blobSize(4 * MiB)).to.equal(32 + 4 * MiB + 17);
      expect(blobSize(4 * MiB + 1)).to.equal(32 + 4 * MiB + 1 + 2 * 17);
      expect(blobSize(48, 16)).to.equal(32 + 48 + 3 * 17);
      expect(blobSize(49, 16)).to.equal(32 + 49 + 4 * 17);
      expect(cryptoError(() => blobSize(-1)).code).to.equal('params');
      expect(cryptoError(() => blobSize(10, 0)).code).to.equal('params');
      expect(cryptoError(() => blobSize(10, 64 * MiB + 1)).code).to.equal('params');
    });

    it('writes the header as "HLB", version 1, the chunk size big-endian and a fresh secretstream header', () => {
      const key = newDocKey();
      const a = new BlobEncryptor(key, DOC_A, 10).header();
      const b = new BlobEncryptor(key, DOC_A, 10).header();
      expect(a.length).to.equal(BLOB_HEADER_BYTES);
      expect(Array.from(a.subarray(0, 8))).to.deep.equal([0x48, 0x4c, 0x42, 0x01, 0x00, 0x40, 0x00, 0x00]);
      expect(sameBytes(a.subarray(8), b.subarray(8))).to.equal(false);
    });

    it('round-trips 50 MiB streamed through the encryptor and fed to the decryptor in uneven slices', function () {
      this.timeout(120_000);
      const size = 50 * MiB;
      const plaintext = filler(size);
      const key = newDocKey();
      const enc = new BlobEncryptor(key, DOC_A, size);
      const parts = [enc.header()];
      for (let o = 0; !enc.done; o += CHUNK) parts.push(enc.pushChunk(plaintext.subarray(o, o + CHUNK)));
      const blob = concatBytes(...parts);
      expect(blob.length).to.equal(blobSize(size));
      expect(enc.chunkCount).to.equal(13);

      const s = getSodium();
      const hash = s.crypto_generichash_init(null, 32);
      const dec = new BlobDecryptor(key, DOC_A);
      let got = 0;
      for (let o = 0, i = 0; o < blob.length; i++) {
        const n = i % 2 === 0 ? 65_536 : 1_000_003;
        for (const c of dec.push(blob.subarray(o, o + n))) {
          expect(c.length).to.be.at.most(CHUNK);
          s.crypto_generichash_update(hash, c);
          got += c.length;
        }
        o += n;
      }
      for (const c of dec.finish()) {
        s.crypto_generichash_update(hash, c);
        got += c.length;
      }
      expect(got).to.equal(size);
      expect(s.to_hex(s.crypto_generichash_final(hash, 32))).to.equal(s.to_hex(s.crypto_generichash(32, plaintext, null)));
    });

    it('hands out each chunk as soon as it is complete, and the short last one at finish()', () => {
      const key = newDocKey();
      const plaintext = filler(40);
      const blob = encryptBlob(key, DOC_A, plaintext, 16); // chunks of 16, 16 and 8 bytes
      const dec = new BlobDecryptor(key, DOC_A);
      expect(dec.push(blob.subarray(0, 32 + 33 - 1))).to.have.length(0);
      const first = dec.push(blob.subarray(32 + 33 - 1, 32 + 33 + 33));
      expect(first.map((c) => c.length)).to.deep.equal([16, 16]);
      expect(dec.push(blob.subarray(32 + 66))).to.have.length(0);
      expect(dec.finish().map((c) => c.length)).to.deep.equal([8]);
      expect(dec.chunkSize).to.equal(16);
    });

    it('refuses chunks of the wrong size, a chunk before the header, and chunks after the last', () => {
      const key = newDocKey();
      const early = new BlobEncryptor(key, DOC_A, 20, 16);
      expect(cryptoError(() => early.pushChunk(new Uint8Array(16))).code).to.equal('params');

      const enc = new BlobEncryptor(key, DOC_A, 20, 16);
      enc.header();
      expect(cryptoError(() => enc.header()).code).to.equal('params');
      expect(cryptoError(() => enc.pushChunk(new Uint8Array(15))).code).to.equal('params');
      enc.pushChunk(new Uint8Array(16));
      expect(enc.done).to.equal(false);
      expect(cryptoError(() => enc.pushChunk(new Uint8Array(16))).code).to.equal('params');
      enc.pushChunk(new Uint8Array(4));
      expect(enc.done).to.equal(true);
      expect(cryptoError(() => enc.pushChunk(new Uint8Array(0))).code).to.equal('params');
    });

    it('refuses an ID that is not a lowercase UUID, and a key of the wrong length', () => {
      const key = newDocKey();
      expect(cryptoError(() => new BlobEncryptor(key, DOC_A.toUpperCase(), 1)).code).to.equal('params');
      expect(cryptoError(() => new BlobDecryptor(key, 'not-a-uuid')).code).to.equal('params');
      expect(cryptoError(() => new BlobDecryptor(key.subarray(1), DOC_A)).code).to.equal('params');
    });

    describe('refuses a blob that was changed', () => {
      // 3 x 4 MiB + 5 bytes: chunks 0..2 are full, chunk 3 (5 bytes) is FINAL.
      const size = 3 * CHUNK + 5;
      const key: Uint8Array = new Uint8Array(32);
      let blob: Uint8Array = new Uint8Array(0);
      const chunkStart = (i: number) => BLOB_HEADER_BYTES + i * FULL_CHUNK;
      before(() => {
        key.set(newDocKey());
        blob = encryptBlob(key, DOC_A, filler(size));
      });
      const refused = (bad: Uint8Array, docKey = key, docId = DOC_A): CryptoError =>
        cryptoError(() => decryptInSlices(docKey, docId, bad, [65_536, 1_000_003]));

      it('with one byte flipped in the first, a middle or the last chunk', () => {
        for (const at of [chunkStart(0) + 100, chunkStart(1), chunkStart(2) + FULL_CHUNK - 1, chunkStart(3) + 3]) {
          const e = refused(flipByte(blob, at));
          expect(e.code, `byte ${at}`).to.equal('auth');
          expect(e.message).to.equal('This document has been tampered with or damaged.');
        }
        expect(refused(flipByte(blob, blob.length - 1)).code).to.equal('auth');
      });

      it('without returning any plaintext of the chunk that failed', () => {
        const bad = flipByte(blob, chunkStart(1) + 10);
        const dec = new BlobDecryptor(key, DOC_A);
        const got: Uint8Array[] = [];
        let error: unknown;
        try {
          for (let o = 0; o < bad.length; o += 65_536) got.push(...dec.push(bad.subarray(o, o + 65_536)));
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(CryptoError);
        expect(got.map((c) => c.length)).to.deep.equal([CHUNK]); // chunk 0 only
        // And it stays refused: no way to skip past the bad chunk.
        expect(cryptoError(() => dec.push(bad.subarray(chunkStart(2)))).code).to.equal('auth');
        expect(cryptoError(() => dec.finish()).code).to.equal('auth');
      });

      it('with a changed magic, version or secretstream header', () => {
        expect(refused(flipByte(blob, 0)).code).to.equal('version');
        expect(refused(flipByte(blob, 2)).code).to.equal('version');
        expect(refused(flipByte(blob, 3)).code).to.equal('version'); // version 0
        expect(refused(flipByte(blob, 3, 0x03)).code).to.equal('version'); // version 2
        expect(refused(flipByte(blob, 8)).code).to.equal('auth');
        expect(refused(flipByte(blob, 31)).code).to.equal('auth');
      });

      it('with a changed chunk size field', () => {
        expect(refused(flipByte(blob, 7)).code).to.equal('auth'); // 4 MiB + 1: every boundary moves
        expect(refused(flipByte(blob, 5, 0x60)).code).to.equal('auth'); // 2 MiB
        expect(refused(flipByte(blob, 4)).code).to.equal('auth'); // 20 MiB: all of it read as one chunk
        expect(refused(flipByte(blob, 4, 0x08)).code).to.equal('params'); // 132 MiB: over the 64 MiB limit
        const zero = blob.slice();
        zero.fill(0, 4, 8);
        expect(refused(zero).code).to.equal('params');
      });

      it('with the last chunk missing, or cut anywhere', () => {
        const e = refused(blob.subarray(0, chunkStart(3)));
        expect(e.code).to.equal('auth');
        expect(e.message).to.equal('This document is incomplete: it has been damaged or tampered with.');
        expect(refused(blob.subarray(0, blob.length - 1)).code).to.equal('auth');
        expect(refused(blob.subarray(0, chunkStart(1) + 5)).code).to.equal('auth');
        expect(refused(blob.subarray(0, BLOB_HEADER_BYTES)).code).to.equal('auth');
        expect(refused(blob.subarray(0, 10)).code).to.equal('auth');
        expect(cryptoError(() => new BlobDecryptor(key, DOC_A).finish()).code).to.equal('auth');
      });

      it('with bytes appended after the final chunk', () => {
        expect(refused(concatBytes(blob, Uint8Array.of(0))).code).to.equal('auth');
        expect(refused(concatBytes(blob, blob.subarray(chunkStart(3)))).code).to.equal('auth');
        // A FINAL chunk of full size ends the blob at once; the next byte is refused by push() itself.
        const full = encryptBlob(key, DOC_A, filler(32), 16);
        const dec = new BlobDecryptor(key, DOC_A);
        dec.push(full);
        expect(cryptoError(() => dec.push(Uint8Array.of(0))).code).to.equal('auth');
      });

      it('with two full chunks swapped', () => {
        const swapped = concatBytes(
          blob.subarray(0, chunkStart(0)),
          blob.subarray(chunkStart(1), chunkStart(2)),
          blob.subarray(chunkStart(0), chunkStart(1)),
          blob.subarray(chunkStart(2)),
        );
        expect(swapped.length).to.equal(blob.length);
        expect(refused(swapped).code).to.equal('auth');
      });

      it('when opened as another document or with another key', () => {
        expect(refused(blob, key, DOC_B).code).to.equal('auth');
        expect(refused(blob, newDocKey()).code).to.equal('auth');
      });
    });

    describe('refuses encodings the encryptor never makes', () => {
      const s = () => getSodium();
      it('a chunk tagged PUSH or REKEY', () => {
        const key = newDocKey();
        for (const tag of [s().crypto_secretstream_xchacha20poly1305_TAG_PUSH, s().crypto_secretstream_xchacha20poly1305_TAG_REKEY]) {
          const blob = rawBlob(key, DOC_A, 16, [
            { pt: new Uint8Array(16), tag },
            { pt: new Uint8Array(3), tag: s().crypto_secretstream_xchacha20poly1305_TAG_FINAL },
          ]);
          expect(cryptoError(() => decryptBlob(key, DOC_A, blob)).code).to.equal('auth');
        }
      });

      it('a short last chunk tagged MESSAGE instead of FINAL', () => {
        const key = newDocKey();
        const blob = rawBlob(key, DOC_A, 16, [{ pt: new Uint8Array(3), tag: s().crypto_secretstream_xchacha20poly1305_TAG_MESSAGE }]);
        const e = cryptoError(() => decryptBlob(key, DOC_A, blob));
        expect(e.code).to.equal('auth');
        expect(e.message).to.match(/incomplete/);
      });

      it('an empty FINAL chunk after full ones (a file of 2 x chunkSize is two chunks, the second FINAL)', () => {
        const key = newDocKey();
        const blob = rawBlob(key, DOC_A, 16, [
          { pt: new Uint8Array(16), tag: s().crypto_secretstream_xchacha20poly1305_TAG_MESSAGE },
          { pt: new Uint8Array(16), tag: s().crypto_secretstream_xchacha20poly1305_TAG_MESSAGE },
          { pt: new Uint8Array(0), tag: s().crypto_secretstream_xchacha20poly1305_TAG_FINAL },
        ]);
        expect(cryptoError(() => decryptBlob(key, DOC_A, blob)).code).to.equal('auth');
        // The canonical form of the same plaintext opens.
        const good = rawBlob(key, DOC_A, 16, [
          { pt: new Uint8Array(16), tag: s().crypto_secretstream_xchacha20poly1305_TAG_MESSAGE },
          { pt: new Uint8Array(16), tag: s().crypto_secretstream_xchacha20poly1305_TAG_FINAL },
        ]);
        expect(decryptBlob(key, DOC_A, good).length).to.equal(32);
      });
    });
  });

  describe('metadata', () => {
    const meta: DocMeta = {
      name: 'Grandpa’s will.pdf',
      type: 'application/pdf',
      size: 123_456,
      modified: 1_700_000_000_123,
      tags: ['legal', 'family'],
      note: 'The signed original is at the notary.',
    };

    it('round-trips, with and without the optional fields', () => {
      const key = newDocKey();
      expect(openDocMeta(key, DOC_A, sealDocMeta(key, DOC_A, meta))).to.deep.equal(meta);
      const bare = { name: 'a', type: '', size: 0, modified: 0 };
      expect(openDocMeta(key, DOC_A, sealDocMeta(key, DOC_A, bare))).to.deep.equal(bare);
    });

    it('encrypts padded JSON with keys in the fixed order under KDF(docKey, 1, "HLDOCKEY")', () => {
      const key = newDocKey();
      const shuffled = { note: 'n', tags: ['t'], modified: 5, size: 4, type: 'text/plain', name: 'x.txt' };
      const env = sealDocMeta(key, DOC_A, shuffled);
      const padded = aeadOpen(kdf(key, 1, 'HLDOCKEY'), env, ad('doc-meta', DOC_A));
      expect(padded.length).to.equal(256);
      expect(fromUtf8(getSodium().unpad(padded, 256))).to.equal(
        '{"name":"x.txt","type":"text/plain","size":4,"modified":5,"tags":["t"],"note":"n"}',
      );
    });

    it('hides the length of the name: 1 and 200 characters give envelopes of the same size', () => {
      const key = newDocKey();
      // Padding hides lengths within one 256-byte block of JSON: the other fields must leave room for 200
      // characters (a PDF with its size and time leaves about 180; see the next test for longer ones).
      const base = { type: '', size: 0, modified: 0 };
      const short = sealDocMeta(key, DOC_A, { ...base, name: 'a' });
      const long = sealDocMeta(key, DOC_A, { ...base, name: 'b'.repeat(200) });
      expect(short.length).to.equal(long.length);
      expect(short.length).to.equal(1 + 24 + 256 + 16);
      const pdf = { type: 'application/pdf', size: 123_456, modified: 1_700_000_000_123 };
      expect(sealDocMeta(key, DOC_A, { ...pdf, name: 'a' }).length).to.equal(
        sealDocMeta(key, DOC_A, { ...pdf, name: 'c'.repeat(180) }).length,
      );
    });

    it('pads metadata longer than 255 bytes to the next multiple of 256', () => {
      const key = newDocKey();
      const long = { ...meta, name: 'é'.repeat(300) + '.jpg' }; // 604 bytes of UTF-8 in the name alone
      const env = sealDocMeta(key, DOC_A, long);
      expect(env.length).to.equal(1 + 24 + 768 + 16);
      expect(openDocMeta(key, DOC_A, env)).to.deep.equal(long);
    });

    it('refuses tampered metadata, another key, and metadata of another document', () => {
      const key = newDocKey();
      const env = sealDocMeta(key, DOC_A, meta);
      expect(cryptoError(() => openDocMeta(key, DOC_A, flipByte(env, 40))).code).to.equal('auth');
      expect(cryptoError(() => openDocMeta(key, DOC_A, flipByte(env, 0))).code).to.equal('version');
      expect(cryptoError(() => openDocMeta(newDocKey(), DOC_A, env)).code).to.equal('auth');
      expect(cryptoError(() => openDocMeta(key, DOC_B, env)).code).to.equal('auth');
    });

    it('refuses authentic metadata whose content is not a valid description of a document', () => {
      const key = newDocKey();
      const seal = (text: string, pad = true) => {
        const bytes = utf8(text);
        return aeadSeal(kdf(key, 1, 'HLDOCKEY'), pad ? getSodium().pad(bytes, 256) : bytes, ad('doc-meta', DOC_A));
      };
      const bad = [
        seal('{"name":"a","type":"","size":1,"modified":2}', false), // not padded
        seal('not json'),
        seal('[]'),
        seal('{"type":"","size":1,"modified":2}'),
        seal('{"name":"a","type":"","size":-1,"modified":2}'),
        seal('{"name":"a","type":"","size":1.5,"modified":2}'),
        seal('{"name":"a","type":"","size":1,"modified":"2024"}'),
        seal('{"name":"a","type":"","size":1,"modified":2,"tags":[1]}'),
        seal('{"name":"a","type":"","size":1,"modified":2,"owner":"x"}'),
      ];
      for (const env of bad) expect(cryptoError(() => openDocMeta(key, DOC_A, env)).code).to.equal('encoding');
      expect(openDocMeta(key, DOC_A, seal('{"name":"a","type":"","size":1,"modified":2}')).name).to.equal('a');
    });

    it('refuses to seal metadata without a name or with a size that is not a whole number', () => {
      const key = newDocKey();
      expect(cryptoError(() => sealDocMeta(key, DOC_A, { ...meta, name: '' })).code).to.equal('params');
      expect(cryptoError(() => sealDocMeta(key, DOC_A, { ...meta, size: 1.5 })).code).to.equal('params');
    });
  });

  describe("the owner's wrap of the document key", () => {
    it('opens for the same document and user only', () => {
      const accountKey = randomBytes(32);
      const docKey = newDocKey();
      const env = wrapDocKeyForOwner(accountKey, docKey, DOC_A, USER_A);
      expect(env.length).to.equal(1 + 24 + 32 + 16);
      expect(sameBytes(unwrapDocKeyForOwner(accountKey, env, DOC_A, USER_A), docKey)).to.equal(true);
      expect(cryptoError(() => unwrapDocKeyForOwner(accountKey, env, DOC_B, USER_A)).code).to.equal('auth');
      expect(cryptoError(() => unwrapDocKeyForOwner(accountKey, env, DOC_A, USER_B)).code).to.equal('auth');
      expect(cryptoError(() => unwrapDocKeyForOwner(randomBytes(32), env, DOC_A, USER_A)).code).to.equal('auth');
      expect(cryptoError(() => unwrapDocKeyForOwner(accountKey, flipByte(env, 30), DOC_A, USER_A)).code).to.equal('auth');
    });

    it('uses AEAD(accountKey, docKey, AD("doc-key", docId, userId))', () => {
      const accountKey = randomBytes(32);
      const docKey = newDocKey();
      const env = wrapDocKeyForOwner(accountKey, docKey, DOC_A, USER_A);
      const opened = aeadOpen(accountKey, env, utf8(`heirloom/v1/doc-key/${DOC_A}/${USER_A}`));
      expect(sameBytes(opened, docKey)).to.equal(true);
    });
  });

  describe('isUuid', () => {
    it('accepts lowercase canonical UUIDs only', () => {
      expect(isUuid(DOC_A)).to.equal(true);
      expect(isUuid(crypto.randomUUID())).to.equal(true);
      for (const bad of [DOC_A.toUpperCase(), DOC_A.replace(/-/g, ''), `{${DOC_A}}`, `${DOC_A}\n`, ` ${DOC_A}`, '', 42, null]) {
        expect(isUuid(bad), String(bad)).to.equal(false);
      }
    });
  });
});
