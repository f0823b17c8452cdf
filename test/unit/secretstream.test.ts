import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { BlobDecryptor, CryptoError, encryptBlob, getSodium, newDocKey, ready, utf8 } from '../../client/crypto/index.js';
import { StreamChunks } from '../../client/crypto/secretstream.js';

/**
 * The crypto core pushes and pulls document chunks through libsodium's own functions on reused heap
 * buffers (client/crypto/secretstream.ts). These check that it is the same cipher as libsodium.js's
 * wrappers, byte for byte, in both directions, and that it refuses what they refuse.
 */
describe('secretstream chunks on the WebAssembly heap', () => {
  before(ready);
  const AD = utf8('6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f');
  const SIZES = [0, 1, 1000, 4 * 1024 * 1024, 17, 3];

  function pair() {
    const s = getSodium();
    const key = s.crypto_secretstream_xchacha20poly1305_keygen();
    const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(key);
    const pullState = () => s.crypto_secretstream_xchacha20poly1305_init_pull(header, key);
    return { s, key, state, header, pullState };
  }

  it('encrypts exactly what the wrappers decrypt, chunk by chunk, tags included', () => {
    const { s, state, pullState } = pair();
    const chunks = new StreamChunks(AD);
    const pull = pullState();
    SIZES.forEach((size, i) => {
      const plain = new Uint8Array(randomBytes(size));
      const tag = i === SIZES.length - 1 ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
      const cipher = chunks.push(state, plain, tag);
      expect(cipher.length).to.equal(size + 17);
      const r = s.crypto_secretstream_xchacha20poly1305_pull(pull, cipher, AD) as { message: Uint8Array; tag: number } | false;
      expect(r, `chunk ${i}`).to.not.equal(false);
      if (r === false) return;
      expect(Buffer.from(r.message).equals(Buffer.from(plain))).to.equal(true);
      expect(r.tag).to.equal(tag);
    });
    chunks.dispose();
    chunks.dispose(); // twice is fine
  });

  it('decrypts exactly what the wrappers encrypt, and refuses a flipped byte, other associated data and a cut chunk', () => {
    const { s, state, pullState } = pair();
    const ciphers = SIZES.map((size, i) => {
      const plain = new Uint8Array(randomBytes(size));
      const tag = i === 2 ? s.crypto_secretstream_xchacha20poly1305_TAG_PUSH : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
      return { plain, tag, cipher: s.crypto_secretstream_xchacha20poly1305_push(state, plain, AD, tag) };
    });
    const chunks = new StreamChunks(AD);
    const pull = pullState();
    for (const { plain, tag, cipher } of ciphers) {
      const r = chunks.pull(pull, cipher);
      expect(r).to.not.equal(false);
      if (r === false) return;
      expect(Buffer.from(r.message).equals(Buffer.from(plain))).to.equal(true);
      expect(r.tag).to.equal(tag);
    }

    const again = pair();
    const one = again.s.crypto_secretstream_xchacha20poly1305_push(again.state, new Uint8Array(randomBytes(5000)), AD, 0);
    const flipped = one.slice();
    flipped[100] = (flipped[100] ?? 0) ^ 1;
    expect(new StreamChunks(AD).pull(again.pullState(), flipped)).to.equal(false);
    expect(new StreamChunks(utf8('another document')).pull(again.pullState(), one)).to.equal(false);
    expect(new StreamChunks(AD).pull(again.pullState(), one.subarray(0, 16))).to.equal(false);
    expect(new StreamChunks(AD).pull(again.pullState(), one)).to.not.equal(false);
  });

  it('keeps working after its buffers are given back, and grows for a larger chunk', () => {
    const { s, state, pullState } = pair();
    const chunks = new StreamChunks(AD);
    const pull = pullState();
    const small = new Uint8Array(randomBytes(10));
    const large = new Uint8Array(randomBytes(100_000));
    const c1 = chunks.push(state, small, 0);
    chunks.dispose();
    const c2 = chunks.push(state, large, 0);
    for (const [c, p] of [[c1, small], [c2, large]] as const) {
      const r = s.crypto_secretstream_xchacha20poly1305_pull(pull, c, AD) as { message: Uint8Array } | false;
      expect(r && Buffer.from(r.message).equals(Buffer.from(p))).to.equal(true);
    }
  });

  describe('BlobDecryptor handing out views of its buffer', () => {
    const id = '6f1c2a4e-8b3d-4c5e-9f70-1a2b3c4d5e6f';
    const CHUNK = 64 * 1024;

    it('gives the same plaintext as the copying path, and wipes its buffer once the document is done', () => {
      const key = newDocKey();
      const plain = new Uint8Array(randomBytes(3 * CHUNK + 5));
      const blob = encryptBlob(key, id, plain, CHUNK);
      const got: Uint8Array[] = [];
      const views: Uint8Array[] = [];
      const d = new BlobDecryptor(key, id);
      const use = (view: Uint8Array) => {
        views.push(view);
        got.push(view.slice());
      };
      for (let i = 0; i < blob.length; i += 10_000) expect(d.push(blob.subarray(i, i + 10_000), use)).to.deep.equal([]);
      expect(d.finish(use)).to.deep.equal([]);
      expect(Buffer.concat(got).equals(Buffer.from(plain))).to.equal(true);
      expect(views).to.have.length(4);
      // the views pointed into the decryptor's buffer, which now holds no plaintext
      for (const v of views) {
        expect(v.length, 'a view still over the heap').to.be.above(0);
        expect(v.every((b) => b === 0)).to.equal(true);
      }
    });

    it('never hands out a chunk that failed to authenticate', () => {
      const key = newDocKey();
      const blob = encryptBlob(key, id, new Uint8Array(randomBytes(2 * CHUNK)), CHUNK);
      blob[32 + CHUNK + 17 + 100] ^= 1; // inside the second chunk
      const seen: number[] = [];
      const d = new BlobDecryptor(key, id);
      expect(() => d.push(blob, (v) => seen.push(v.length))).to.throw(CryptoError);
      expect(seen).to.deep.equal([CHUNK]);
    });
  });
});

