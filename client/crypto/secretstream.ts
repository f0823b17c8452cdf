/**
 * Secretstream chunks (crypto_secretstream_xchacha20poly1305 push and pull) through libsodium's own
 * functions, on two buffers kept on its WebAssembly heap for the whole document.
 *
 * Why not the libsodium.js wrappers: for every 4 MiB chunk they allocate and free two heap buffers and
 * return the result in a new, zero-filled array, which cost more than the cipher itself (about 170 MB/s
 * against 320–430 MB/s this way, in Node and in Chromium alike). The bytes, keys, associated data and
 * checks are exactly the same: the wrappers call these very functions. When libsodium.js does not expose
 * its module (a future version might not), every call falls back to the wrappers.
 *
 * The buffers hold plaintext (the input of push, the output of pull): dispose() wipes and frees them, and
 * a document abandoned half-way is wiped and freed when it is garbage-collected.
 */
import { getSodium } from './sodium.js';
import { sodiumModule, type WasmHeap } from './wasm.js';

/** The functions of libsodium's own module used here (see wasm.ts); a 64-bit length is two halves. */
interface StreamModule extends WasmHeap {
  _crypto_secretstream_xchacha20poly1305_push(
    state: number,
    c: number,
    clenP: number,
    m: number,
    mlenLo: number,
    mlenHi: number,
    ad: number,
    adlenLo: number,
    adlenHi: number,
    tag: number,
  ): number;
  _crypto_secretstream_xchacha20poly1305_pull(
    state: number,
    m: number,
    mlenP: number,
    tagP: number,
    c: number,
    clenLo: number,
    clenHi: number,
    ad: number,
    adlen: number,
  ): number;
}

const NEEDED = ['_crypto_secretstream_xchacha20poly1305_push', '_crypto_secretstream_xchacha20poly1305_pull'] as const;

/** 16-byte MAC + 1-byte tag added to every chunk. */
const ABYTES = 17;

interface Region {
  m: StreamModule;
  /** One allocation: [ad | tag byte | input | output]. */
  base: number;
  size: number;
}

function release(r: Region): void {
  r.m.HEAPU8.fill(0, r.base, r.base + r.size);
  r.m._free(r.base);
}

const abandoned = new FinalizationRegistry<Region>(release);

/** Pushes or pulls the chunks of one stream; `ad` is the associated data of every chunk. */
export class StreamChunks {
  readonly #ad: Uint8Array;
  readonly #m: StreamModule | null;
  #region: Region | undefined;
  #capacity = 0;

  constructor(ad: Uint8Array) {
    this.#ad = ad.slice();
    this.#m = sodiumModule<StreamModule>(NEEDED);
  }

  /** Encrypts one chunk with `tag`; the ciphertext is 17 bytes longer (a new array). */
  push(state: unknown, plain: Uint8Array, tag: number): Uint8Array {
    const m = this.#m;
    if (!m) return getSodium().crypto_secretstream_xchacha20poly1305_push(state as never, plain, this.#ad, tag);
    const at = this.#room(m, plain.length + ABYTES);
    m.HEAPU8.set(plain, at.input);
    const rc = m._crypto_secretstream_xchacha20poly1305_push(
      state as number,
      at.output,
      0,
      at.input,
      plain.length,
      0,
      at.ad,
      this.#ad.length,
      0,
      tag,
    );
    if (rc !== 0) throw new Error('libsodium refused to encrypt this chunk.');
    return m.HEAPU8.slice(at.output, at.output + plain.length + ABYTES);
  }

  /**
   * Authenticates and decrypts one chunk: its plaintext and tag, or false if it is not genuine. The
   * plaintext is a new array, or with `view` a view of the heap buffer valid until the next call or dispose().
   */
  pull(state: unknown, cipher: Uint8Array, view = false): { message: Uint8Array; tag: number } | false {
    const m = this.#m;
    if (!m) {
      return getSodium().crypto_secretstream_xchacha20poly1305_pull(state as never, cipher, this.#ad) as
        | { message: Uint8Array; tag: number }
        | false;
    }
    if (cipher.length < ABYTES) return false;
    const at = this.#room(m, cipher.length);
    m.HEAPU8.set(cipher, at.input);
    const rc = m._crypto_secretstream_xchacha20poly1305_pull(
      state as number,
      at.output,
      0,
      at.tag,
      at.input,
      cipher.length,
      0,
      at.ad,
      this.#ad.length,
    );
    if (rc !== 0) return false;
    const heap = m.HEAPU8;
    const end = at.output + cipher.length - ABYTES;
    return { message: view ? heap.subarray(at.output, end) : heap.slice(at.output, end), tag: heap[at.tag] ?? -1 };
  }

  /** Wipes and frees the heap buffers (they may hold plaintext). Safe to call more than once. */
  dispose(): void {
    const r = this.#region;
    if (!r) return;
    abandoned.unregister(this);
    this.#region = undefined;
    this.#capacity = 0;
    release(r);
  }

  /** Heap addresses with room for a chunk of `bytes` in and out; grows (and wipes the old) as needed. */
  #room(m: StreamModule, bytes: number): { ad: number; tag: number; input: number; output: number } {
    if (!this.#region || bytes > this.#capacity) {
      this.dispose();
      const size = this.#ad.length + 1 + 2 * bytes;
      const base = m._malloc(size);
      if (!base) throw new Error('Not enough memory on this device to encrypt this document.');
      this.#region = { m, base, size };
      this.#capacity = bytes;
      abandoned.register(this, this.#region, this);
      m.HEAPU8.set(this.#ad, base);
    }
    const base = this.#region.base;
    const tag = base + this.#ad.length;
    return { ad: base, tag, input: tag + 1, output: tag + 1 + this.#capacity };
  }
}
