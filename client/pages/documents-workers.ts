/**
 * The page's side of the decrypt worker (client/worker/decrypt.ts), and what both document workers share
 * (the encrypted upload source is in documents-encrypt.ts).
 */
import { BLOB_HEADER_BYTES, CHUNK_OVERHEAD, DEFAULT_CHUNK_SIZE, memzero } from '../crypto/index.js';
import { apiErrorOf } from './api.js';
import type { DecryptReply, DecryptRequest } from '../worker/blob-messages.js';

export const DECRYPT_WORKER_URL = '/assets/decrypt-worker.js';

export class DocumentError extends Error {
  constructor(
    public kind: 'crypto' | 'http' | 'network' | 'worker' | 'cancelled',
    message: string,
    public status?: number,
  ) {
    super(message);
    this.name = 'DocumentError';
  }
}

export const DAMAGED_MESSAGE = 'This document has been tampered with or damaged. Nothing was saved.';

export function startWorker(url: string, name: string): Worker {
  try {
    return new Worker(url, { type: 'module', name });
  } catch {
    throw new DocumentError('worker', 'This browser could not start encryption. Please use an up-to-date browser.');
  }
}

export interface Decryption {
  result: Promise<Blob>;
  cancel(): void;
}

/**
 * Blobs are read in pieces of one encrypted chunk (the first also holds the blob's header), so each message
 * to the worker is one whole chunk the decryptor opens in place, without gathering it from small pieces.
 */
const CHUNK_BYTES = DEFAULT_CHUNK_SIZE + CHUNK_OVERHEAD;
const BUFFER_BYTES = BLOB_HEADER_BYTES + CHUNK_BYTES;
/**
 * Buffers going round between page and worker: one being filled from the network, the others with the
 * worker. The page stops reading when all are with the worker, so memory stays at 8 chunks (32 MiB). A buffer
 * comes back only once its chunk is decrypted, so with 4 the network stalled behind the worker: 1 GiB went
 * at 0.58-0.71 x decrypt-only, against 0.83 x with 8 (npm run bench -- download).
 */
const BUFFERS = 8;
const PROGRESS_EVERY_MS = 100;
const INTERRUPTED = 'The download was interrupted. Nothing was saved. Please try again.';

async function httpError(res: Response): Promise<DocumentError> {
  const body: unknown = await res.json().catch(() => null);
  return new DocumentError('http', apiErrorOf(res.status, body).message, res.status);
}

/**
 * Reads a response body into buffers of the caller's choosing: straight into them where the browser can
 * ("bring your own buffer"), otherwise copied from whatever pieces the network delivered.
 */
class BodyReader {
  readonly #byob: ReadableStreamBYOBReader | null;
  readonly #plain: ReadableStreamDefaultReader<Uint8Array> | null;
  #rest: Uint8Array | null = null;

  constructor(body: ReadableStream<Uint8Array>) {
    let byob: ReadableStreamBYOBReader | null = null;
    try {
      byob = body.getReader({ mode: 'byob' });
    } catch {
      // not a byte stream in this browser
    }
    this.#byob = byob;
    this.#plain = byob ? null : body.getReader();
  }

  /** Fills `buffer` up to `want` bytes, or less at the end of the body; BYOB reads hand back a new buffer. */
  async fill(buffer: ArrayBuffer, want: number, got: (n: number) => void): Promise<{ buffer: ArrayBuffer; filled: number; ended: boolean }> {
    let filled = 0;
    while (filled < want) {
      if (this.#byob) {
        const { done, value } = await this.#byob.read(new Uint8Array(buffer, filled, want - filled));
        if (value) buffer = value.buffer as ArrayBuffer;
        else buffer = new ArrayBuffer(BUFFER_BYTES); // only after a cancel
        if (done) return { buffer, filled, ended: true };
        filled += value.length;
        got(value.length);
      } else if (this.#plain) {
        let piece = this.#rest;
        this.#rest = null;
        if (!piece) {
          const { done, value } = await this.#plain.read();
          if (done) return { buffer, filled, ended: true };
          piece = value;
          got(value.length);
        }
        const take = Math.min(piece.length, want - filled);
        new Uint8Array(buffer, filled, take).set(piece.subarray(0, take));
        filled += take;
        if (take < piece.length) this.#rest = piece.subarray(take);
      }
    }
    return { buffer, filled, ended: false };
  }
}

/**
 * One decrypt worker and the buffers going round between it and the page. `result` settles with the
 * worker's `done` (the verified plaintext, or the ZIP) or the first error; stop() ends everything.
 */
class DecryptSession {
  readonly #worker: Worker;
  readonly #abort = new AbortController();
  readonly #free: ArrayBuffer[] = [];
  #made = 0;
  #wake: (() => void) | null = null;
  #settled = false;
  readonly result: Promise<Blob>;
  #resolve: (blob: Blob) => void = () => undefined;
  #reject: (err: DocumentError) => void = () => undefined;

  constructor(damaged: (docId: string) => string = () => DAMAGED_MESSAGE) {
    this.result = new Promise<Blob>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#worker = startWorker(DECRYPT_WORKER_URL, 'heirloom-decrypt');
    this.#worker.onmessage = (event: MessageEvent<DecryptReply>) => {
      const msg = event.data;
      if (this.#settled) return;
      if (msg.type === 'taken') {
        this.#free.push(msg.bytes.buffer as ArrayBuffer);
        this.#wake?.();
      } else if (msg.type === 'done') {
        this.#settled = true;
        this.#worker.terminate();
        this.#resolve(msg.blob);
      } else if (msg.type === 'error') {
        this.stop(msg.kind === 'crypto' ? new DocumentError('crypto', damaged(msg.docId)) : new DocumentError('worker', msg.message));
      }
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.stop(new DocumentError('worker', 'Decrypting stopped unexpectedly on this device. Nothing was saved.'));
    };
  }

  get settled(): boolean {
    return this.#settled;
  }

  post(msg: DecryptRequest, transfer: Transferable[] = []): void {
    if (!this.#settled) this.#worker.postMessage(msg, transfer);
  }

  stop(err: DocumentError): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#abort.abort();
    this.#worker.terminate();
    this.#wake?.();
    this.#reject(err);
  }

  /** A buffer to fill: a free one, a new one while fewer than BUFFERS exist, or the next one given back. */
  async #buffer(): Promise<ArrayBuffer | null> {
    while (!this.#settled) {
      const free = this.#free.pop();
      if (free) return free;
      if (this.#made < BUFFERS) {
        this.#made++;
        return new ArrayBuffer(BUFFER_BYTES);
      }
      await new Promise<void>((r) => (this.#wake = r));
      this.#wake = null;
    }
    return null;
  }

  /** Fetches document `docId`'s blob and hands it to the worker, one chunk per message, then `end`. */
  async feed(docId: string, got: (n: number) => void, length: (n: number) => void = () => undefined): Promise<void> {
    let res: Response;
    try {
      res = await fetch(`/api/documents/${encodeURIComponent(docId)}/blob`, {
        credentials: 'same-origin',
        cache: 'no-store',
        signal: this.#abort.signal,
      });
    } catch {
      throw new DocumentError('network', "Can't reach the Heirloom server. Check your connection and try again.");
    }
    if (!res.ok || !res.body) throw await httpError(res);
    length(Number(res.headers.get('Content-Length')) || 0);
    const body = new BodyReader(res.body);
    let want = BUFFER_BYTES;
    try {
      for (;;) {
        const buffer = await this.#buffer();
        if (!buffer) return;
        const piece = await body.fill(buffer, want, got);
        if (this.#settled) return;
        if (piece.filled > 0) {
          this.post({ type: 'bytes', bytes: new Uint8Array(piece.buffer, 0, piece.filled) }, [piece.buffer]);
        } else this.#free.push(piece.buffer);
        if (piece.ended) break;
        want = CHUNK_BYTES;
      }
    } catch {
      if (this.#settled) return;
      throw new DocumentError('network', INTERRUPTED);
    }
    this.post({ type: 'end' });
  }

  /** Runs `steps`, stopping everything with its error if it fails. */
  run(steps: () => Promise<void>): void {
    steps().catch((err: unknown) => this.stop(err instanceof DocumentError ? err : new DocumentError('network', INTERRUPTED)));
  }
}

/** Calls `report` at most every PROGRESS_EVERY_MS, and always with `force`. */
function throttled(report: () => void): (force?: boolean) => void {
  let last = 0;
  return (force = false) => {
    const now = performance.now();
    if (!force && now - last < PROGRESS_EVERY_MS) return;
    last = now;
    report();
  };
}

/**
 * Downloads document `docId` and decrypts it in a worker as it arrives. The page reads the response and
 * hands its bytes to the worker (a few chunks ahead at most, so memory stays small). Resolves with the
 * whole plaintext only after the worker saw the final chunk; rejects with a DocumentError otherwise.
 */
export function decryptDocument(
  docId: string,
  docKey: Uint8Array,
  type: string,
  onProgress: (received: number, total: number) => void,
): Decryption {
  const session = new DecryptSession();
  const key = docKey.slice();
  session.post({ type: 'start', docKey: key, docId, mediaType: type }, [key.buffer]);
  let received = 0;
  let total = 0;
  const report = throttled(() => onProgress(received, total));
  session.run(async () => {
    await session.feed(
      docId,
      (n) => {
        received += n;
        report();
      },
      (n) => (total = n),
    );
    report(true);
  });
  return {
    result: session.result,
    cancel: () => session.stop(new DocumentError('cancelled', 'The download was cancelled.')),
  };
}

/** One document for a ZIP: its name in the ZIP (already made safe) and its key, unwrapped when its turn comes. */
export interface ZipItem {
  docId: string;
  name: string;
  modified: number;
  docKey(): Uint8Array;
}

/**
 * Downloads and decrypts `items` one after another, straight into one ZIP made in the worker. Resolves with
 * the ZIP only once every document's final chunk has been verified; a damaged one stops it all (`damaged`
 * says which in the message). `onProgress` gets the index of the document being read and the blob bytes
 * received so far, over all documents.
 */
export function zipDocuments(
  items: ZipItem[],
  damaged: (docId: string) => string,
  onProgress: (index: number, received: number) => void,
): Decryption {
  const session = new DecryptSession(damaged);
  let index = 0;
  let received = 0;
  const report = throttled(() => onProgress(index, received));
  session.post({ type: 'zip' });
  session.run(async () => {
    for (const item of items) {
      if (session.settled) return;
      let key: Uint8Array;
      try {
        const k = item.docKey();
        key = k.slice();
        memzero(k);
      } catch {
        throw new DocumentError('crypto', damaged(item.docId)); // its key does not open
      }
      session.post({ type: 'entry', docKey: key, docId: item.docId, name: item.name, modified: item.modified }, [key.buffer]);
      report(true);
      await session.feed(item.docId, (n) => {
        received += n;
        report();
      });
      index++;
    }
    report(true);
    session.post({ type: 'finish' });
  });
  return {
    result: session.result,
    cancel: () => session.stop(new DocumentError('cancelled', 'The download was cancelled.')),
  };
}
