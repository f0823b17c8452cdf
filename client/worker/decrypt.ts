/**
 * Decrypts documents off the main thread (flows.md "Documents": "download decrypts as it streams"), one at a
 * time or several into one ZIP. The page fetches each blob and hands its bytes over as they arrive, one
 * encrypted chunk per message; they are fed to the crypto core's BlobDecryptor and each authenticated
 * plaintext chunk goes straight into the browser's blob storage, so the JS heap holds about one chunk. Only
 * when finish() has accepted the final chunk (of every document, for a ZIP) is the result sent to the page:
 * a damaged or cut-off document produces nothing but an error.
 *
 * Why the page reads the network and not this worker: while a chunk is being decrypted the worker cannot
 * read, the browser's buffer for the response fills up and the download stalls; with the reading on
 * another thread, transfer and decryption overlap. Each message's buffer is sent back with `taken`, so the
 * page reuses a few buffers instead of making (and the system zeroing) a new one per chunk.
 *
 * A ZIP is made here too (client-zip: stored entries, ZIP64 when needed, streamed): the plaintext never
 * travels back to the page, and the page's thread stays free for the person.
 */
import { makeZip } from 'client-zip';
import { ready } from '../crypto/sodium.js';
import { BlobDecryptor } from '../crypto/document.js';
import { memzero } from '../crypto/primitives.js';
import { CryptoError } from '../crypto/errors.js';
import type { DecryptReply, DecryptRequest } from './blob-messages.js';

const scope = self as unknown as DedicatedWorkerGlobalScope;

/** Pieces of the ZIP smaller than this are gathered before going to blob storage (headers are tiny). */
const ZIP_PART_BYTES = 4 * 1024 * 1024;

interface ZipEntry {
  name: string;
  lastModified: Date;
  input: ReadableStream<Uint8Array>;
}

/** The ZIP being made: entries go in as the page announces them; `blob` settles when it is complete. */
class ZipBuilder {
  #next: ((entry: ZipEntry | null) => void) | null = null;
  #pending: (ZipEntry | null)[] = [];
  readonly blob: Promise<Blob>;

  constructor() {
    this.blob = this.#collect(makeZip(this.#entries()));
  }

  add(entry: ZipEntry | null): void {
    if (this.#next) {
      this.#next(entry);
      this.#next = null;
    } else this.#pending.push(entry);
  }

  async *#entries(): AsyncGenerator<ZipEntry> {
    for (;;) {
      const entry = this.#pending.shift() ?? (await new Promise<ZipEntry | null>((r) => (this.#next = r)));
      if (!entry) return;
      yield entry;
    }
  }

  async #collect(zip: ReadableStream<Uint8Array>): Promise<Blob> {
    const parts: Blob[] = [];
    let small: Uint8Array[] = [];
    let smallBytes = 0;
    const flush = () => {
      if (small.length) parts.push(new Blob(small as Uint8Array<ArrayBuffer>[]));
      small = [];
      smallBytes = 0;
    };
    const reader = zip.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      small.push(value);
      smallBytes += value.length;
      if (smallBytes >= ZIP_PART_BYTES) flush();
    }
    flush();
    return new Blob(parts, { type: 'application/zip' });
  }
}

let decryptor: BlobDecryptor | undefined;
let docId = '';
let mediaType = 'application/octet-stream';
/** One document: its plaintext chunks, already in blob storage. */
let parts: Blob[] = [];
let zip: ZipBuilder | null = null;
/** The current ZIP entry's plaintext, written as it is decrypted. */
let entry: WritableStreamDefaultWriter<Uint8Array> | null = null;
let failed = false;
// Messages are handled strictly one after the other: bytes must not overtake the `start` still waiting
// for libsodium to load, nor the ZIP's writes of the chunk before.
let queue: Promise<void> = Promise.resolve();

/** Decrypts `bytes` (with `end`, also what is left) and puts each chunk where the result is being made. */
async function decrypt(bytes: Uint8Array | null): Promise<void> {
  if (!decryptor) throw new Error('The decryption has not started.');
  const chunks: Uint8Array[] = [];
  // The decryptor's chunk is a view of its own buffer, valid only during the call: copy it out at once.
  const keep = zip ? (plain: Uint8Array) => chunks.push(plain.slice()) : (plain: Uint8Array) => parts.push(new Blob([plain as Uint8Array<ArrayBuffer>]));
  if (bytes) decryptor.push(bytes, keep);
  else decryptor.finish(keep);
  for (const chunk of chunks) {
    // waits while the ZIP is behind, so the page's reading waits too and memory stays small
    await entry?.ready;
    entry?.write(chunk).catch(() => undefined); // a failed write fails the ZIP, reported from there
  }
}

function startDocument(key: Uint8Array, id: string): void {
  decryptor = new BlobDecryptor(key, id);
  memzero(key);
  docId = id;
}

async function handle(msg: DecryptRequest): Promise<void> {
  if (failed) return;
  switch (msg.type) {
    case 'start':
      await ready();
      startDocument(msg.docKey, msg.docId);
      mediaType = msg.mediaType;
      parts = [];
      return;
    case 'zip':
      zip = new ZipBuilder();
      // a failed ZIP is reported when it fails, not only at the end
      zip.blob.catch(fail);
      return;
    case 'entry': {
      await ready();
      if (!zip) throw new Error('The ZIP has not started.');
      startDocument(msg.docKey, msg.docId);
      const stream = new TransformStream<Uint8Array, Uint8Array>();
      entry = stream.writable.getWriter();
      zip.add({ name: msg.name, lastModified: new Date(msg.modified), input: stream.readable });
      return;
    }
    case 'bytes':
      await decrypt(msg.bytes);
      scope.postMessage({ type: 'taken', bytes: msg.bytes } satisfies DecryptReply, [msg.bytes.buffer as ArrayBuffer]);
      return;
    case 'end':
      await decrypt(null);
      decryptor = undefined;
      if (zip) {
        await entry?.close();
        entry = null;
        scope.postMessage({ type: 'entry-done', docId } satisfies DecryptReply);
      } else {
        scope.postMessage({ type: 'done', blob: new Blob(parts, { type: mediaType }) } satisfies DecryptReply);
        parts = [];
      }
      return;
    case 'finish': {
      if (!zip) throw new Error('The ZIP has not started.');
      zip.add(null);
      const blob = await zip.blob;
      zip = null;
      scope.postMessage({ type: 'done', blob } satisfies DecryptReply);
    }
  }
}

function fail(err: unknown): void {
  if (failed) return;
  failed = true;
  parts = [];
  void entry?.abort().catch(() => undefined);
  const reply: DecryptReply =
    err instanceof CryptoError
      ? { type: 'error', kind: 'crypto', code: err.code, message: err.message, docId }
      : { type: 'error', kind: 'worker', message: 'Decrypting this document failed on this device.', docId };
  scope.postMessage(reply);
}

scope.onmessage = (event: MessageEvent<DecryptRequest>) => {
  const msg = event.data;
  queue = queue.then(() => handle(msg)).catch(fail);
};
