/**
 * Encrypts files for upload, off the main thread (flows.md "Documents"), one file (job) at a time: the page
 * keeps a few of these workers alive and reuses them, because starting one (loading the script and
 * libsodium) costs about 45 ms, far more than encrypting a 100 KB scan. For each job the page sends the
 * File and the document key once, then asks for one piece at a time: each `pull` reads the next plaintext chunk from the
 * file's stream, encrypts it with the crypto core's BlobEncryptor and transfers the ciphertext back. The
 * page asks only when the upload needs more, so memory stays at a few chunks whatever the file's size.
 *
 * The file is read as one stream into one reused chunk buffer ("bring your own buffer" reads where the
 * browser has them). Reading a fresh slice per chunk (file.slice().arrayBuffer()) cost more than the
 * encryption itself: every slice is a new request to the browser's blob storage and a new 4 MiB buffer.
 */
import { ready } from '../crypto/sodium.js';
import { BlobEncryptor } from '../crypto/document.js';
import { concatBytes } from '../crypto/encoding.js';
import { memzero } from '../crypto/primitives.js';
import { CryptoError } from '../crypto/errors.js';
import type { EncryptReply, EncryptRequest } from './blob-messages.js';

const scope = self as unknown as DedicatedWorkerGlobalScope;

let job: number | undefined;
let source: ChunkReader | undefined;
let encryptor: BlobEncryptor | undefined;
let header: Uint8Array | undefined;
// Messages are handled strictly one after the other: a `pull` must not overtake the `start` still
// waiting for libsodium to load.
let queue: Promise<void> = Promise.resolve();

function reply(message: EncryptReply): void {
  scope.postMessage(message);
}

const UNREADABLE = 'This file could not be read any more. Was it moved, changed or deleted while uploading?';
const CHANGED = 'This file changed while it was being uploaded. Please add it again.';

/** Reads a Blob's stream chunk by chunk into one buffer that is reused (and wiped at the end). */
class ChunkReader {
  #buffer: Uint8Array<ArrayBuffer>;
  readonly #byob: ReadableStreamBYOBReader | undefined;
  readonly #plain: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** Bytes the default reader gave beyond the chunk last asked for. */
  #rest: Uint8Array = new Uint8Array(0);

  constructor(file: Blob, chunkSize: number) {
    this.#buffer = new Uint8Array(chunkSize);
    const stream = file.stream();
    try {
      this.#byob = stream.getReader({ mode: 'byob' });
    } catch {
      this.#plain = stream.getReader(); // a browser without byte streams: copy into the buffer instead
    }
  }

  /** The next `length` bytes, as a view of the reused buffer (valid until the next call). */
  async next(length: number): Promise<Uint8Array> {
    let filled = 0;
    try {
      if (this.#byob) {
        while (filled < length) {
          const { done, value } = await this.#byob.read(new Uint8Array(this.#buffer.buffer, filled, length - filled));
          if (!value) throw new Error(CHANGED);
          this.#buffer = new Uint8Array(value.buffer); // the read hands the same memory back
          if (done) break;
          filled += value.length;
        }
      } else if (this.#plain) {
        while (filled < length) {
          let piece = this.#rest;
          if (piece.length === 0) {
            const { done, value } = await this.#plain.read();
            if (done) break;
            piece = value;
          }
          const take = Math.min(piece.length, length - filled);
          this.#buffer.set(piece.subarray(0, take), filled);
          this.#rest = piece.subarray(take);
          filled += take;
        }
      }
    } catch (err) {
      throw new Error(err instanceof Error && err.message === CHANGED ? CHANGED : UNREADABLE);
    }
    if (filled !== length) throw new Error(CHANGED);
    return this.#buffer.subarray(0, length);
  }

  /** Wipes the plaintext buffer and lets go of the file. */
  close(): void {
    memzero(this.#buffer);
    void (this.#byob ?? this.#plain)?.cancel().catch(() => undefined);
  }
}

/**
 * Lets go of the job before: its plaintext buffer is wiped (the key was wiped when the header was made,
 * the encryptor's stream state when its last chunk was pushed). A job the page gave up halfway never gets
 * here: the page ends that worker instead, which takes all of its memory with it.
 */
function endJob(): void {
  source?.close();
  source = undefined;
  encryptor = undefined;
  header = undefined;
  job = undefined;
}

async function start(msg: Extract<EncryptRequest, { type: 'start' }>): Promise<void> {
  endJob();
  job = msg.job;
  try {
    await ready();
    encryptor = new BlobEncryptor(msg.docKey, msg.docId, msg.file.size, msg.chunkSize);
  } finally {
    memzero(msg.docKey);
  }
  header = encryptor.header();
  source = new ChunkReader(msg.file, Math.max(1, Math.min(msg.chunkSize, msg.file.size)));
}

async function pull(msg: Extract<EncryptRequest, { type: 'pull' }>): Promise<void> {
  if (msg.job !== job) return; // a job that has ended: its page side no longer listens
  if (!encryptor || !source) throw new Error('The encryption has not started.');
  if (encryptor.done) throw new Error('The whole file has already been encrypted.');
  const plain = await source.next(encryptor.nextChunkLength);
  let bytes = encryptor.pushChunk(plain);
  if (header) {
    bytes = concatBytes(header, bytes);
    header = undefined;
  }
  const last = encryptor.done;
  if (last) endJob();
  // Transfer only a buffer that holds exactly these bytes (a view into a larger one would send it all).
  if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice();
  scope.postMessage({ type: 'chunk', job: msg.job, bytes, last } satisfies EncryptReply, [bytes.buffer as ArrayBuffer]);
}

scope.onmessage = (event: MessageEvent<EncryptRequest>) => {
  const msg = event.data;
  queue = queue
    .then(() => (msg.type === 'start' ? start(msg) : pull(msg)))
    .catch((err: unknown) => {
      const message =
        err instanceof CryptoError || err instanceof Error ? err.message : 'Encrypting this file failed on this device.';
      reply({ type: 'error', job: msg.job, message });
    });
};
