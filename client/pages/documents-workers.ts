/**
 * The page's side of the document workers: the encrypted upload source (client/worker/encrypt.ts) and
 * the decrypting download (client/worker/decrypt.ts).
 */
import { BLOB_HEADER_BYTES, CHUNK_OVERHEAD, DEFAULT_CHUNK_SIZE, blobSize, chunkCount } from '../crypto/index.js';
import { apiErrorOf } from './api.js';
import type { DecryptReply, DecryptRequest, EncryptReply, EncryptRequest } from '../worker/blob-messages.js';

export const ENCRYPT_WORKER_URL = '/assets/encrypt-worker.js';
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

function startWorker(url: string, name: string): Worker {
  try {
    return new Worker(url, { type: 'module', name });
  } catch {
    throw new DocumentError('worker', 'This browser could not start encryption. Please use an up-to-date browser.');
  }
}

/**
 * The encrypted blob of one file, as tus-js-client's upload source (its `fileReader` option). The worker
 * encrypts one piece at a time: the header with the first chunk, then one chunk each time. Each PATCH
 * carries the pieces ready by then, up to PIECES_PER_REQUEST (docs/api.md "Uploading"): fewer, larger
 * requests, because every request costs the browser a fixed round of work besides its bytes. While one request is being
 * sent, the worker already encrypts the pieces of the next one; nothing else is kept, so memory stays at
 * about two requests' worth whatever the file's size, and a retry after a dropped connection (tus asks the
 * server for its offset) always falls inside the request still held.
 *
 * Pieces are handed to tus as Blobs made here, on the page: the worker transfers plain bytes, whose
 * buffers count as memory the page's garbage collector knows about; Blobs made in the worker did not, so
 * spent ones piled up (1 GB of them for a 1 GB file) until the browser's blob storage refused more.
 */
export class EncryptedSource {
  /** Encrypted pieces (4 MiB chunks) sent in one PATCH, at most. */
  static readonly PIECES_PER_REQUEST = 4;
  /** The largest piece: the header and a full first chunk. */
  static readonly MAX_PIECE = BLOB_HEADER_BYTES + DEFAULT_CHUNK_SIZE + CHUNK_OVERHEAD;
  /** tus's chunkSize: room for PIECES_PER_REQUEST of the largest piece. */
  static readonly REQUEST_BYTES = EncryptedSource.MAX_PIECE * EncryptedSource.PIECES_PER_REQUEST;

  readonly size: number;
  readonly #worker: Worker;
  readonly #waiting: { resolve: (blob: Blob) => void; reject: (e: Error) => void }[] = [];
  readonly #pieceCount: number;
  /** The pieces of the request being sent, kept until tus moves past them. */
  #held: { start: number; end: number; blob: Blob } | null = null;
  /** Pieces asked of the worker and not yet handed to tus, in order; `ready` once encrypted. */
  readonly #ahead: { piece: Promise<Blob>; ready?: Blob }[] = [];
  #asked = 0;
  #stopped = false;

  constructor(file: File, docKey: Uint8Array, docId: string) {
    this.size = blobSize(file.size);
    this.#pieceCount = chunkCount(file.size);
    this.#worker = startWorker(ENCRYPT_WORKER_URL, 'heirloom-encrypt');
    this.#worker.onmessage = (event: MessageEvent<EncryptReply>) => {
      const w = this.#waiting.shift();
      const msg = event.data;
      if (msg.type === 'chunk') w?.resolve(new Blob([msg.bytes as Uint8Array<ArrayBuffer>]));
      else w?.reject(new DocumentError('worker', msg.message));
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#failAll(new DocumentError('worker', 'Encryption stopped unexpectedly on this device.'));
    };
    const key = docKey.slice();
    this.#send({ type: 'start', file, docKey: key, docId, chunkSize: DEFAULT_CHUNK_SIZE }, [key.buffer]);
    this.#topUp(); // start encrypting while the upload is being created
  }

  async slice(start: number): Promise<{ value: Blob | null; done: boolean }> {
    const held = this.#held;
    if (held && start >= held.start && start < held.end) {
      return { value: start === held.start ? held.blob : held.blob.slice(start - held.start), done: held.end === this.size };
    }
    if (start >= this.size) return { value: null, done: true };
    if (start !== (held?.end ?? 0)) {
      throw new DocumentError('worker', 'The upload asked for a part of the file that is no longer here. Please add the file again.');
    }
    this.#held = null; // the server has everything before `start`
    const parts: Blob[] = [];
    let end = start;
    // Wait for the next piece, then take those already encrypted behind it (up to a full request): when the
    // network is slower the requests are full, when the encryption is slower the network never waits.
    while (parts.length < EncryptedSource.PIECES_PER_REQUEST && end < this.size) {
      const next = this.#ahead[0];
      if (!next || (parts.length > 0 && !next.ready)) break;
      this.#ahead.shift();
      const piece = next.ready ?? (await next.piece);
      parts.push(piece);
      end += piece.size;
      this.#topUp();
    }
    if (parts.length === 0) throw new DocumentError('worker', 'Encryption stopped unexpectedly on this device.');
    const blob = parts.length === 1 && parts[0] ? parts[0] : new Blob(parts);
    this.#held = { start, end, blob };
    return { value: blob, done: end === this.size };
  }

  /** Stops the worker (cancel, failure, or done). */
  close(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#worker.terminate();
    this.#failAll(new DocumentError('cancelled', 'The upload was cancelled.'));
    this.#held = null;
    this.#ahead.splice(0);
  }

  /** Keeps one request's worth of pieces being encrypted ahead of the one being sent. */
  #topUp(): void {
    while (this.#ahead.length < EncryptedSource.PIECES_PER_REQUEST && this.#asked < this.#pieceCount) {
      this.#asked++;
      const entry: { piece: Promise<Blob>; ready?: Blob } = { piece: this.#pull() };
      entry.piece.then((blob) => (entry.ready = blob), () => undefined);
      this.#ahead.push(entry);
    }
  }

  #pull(): Promise<Blob> {
    const piece = new Promise<Blob>((resolve, reject) => {
      if (this.#stopped) return reject(new DocumentError('cancelled', 'The upload was cancelled.'));
      this.#waiting.push({ resolve, reject });
      this.#send({ type: 'pull' });
    });
    piece.catch(() => undefined); // seen by slice(); not an unhandled rejection while prefetched
    return piece;
  }

  #send(msg: EncryptRequest, transfer: Transferable[] = []): void {
    if (!this.#stopped) this.#worker.postMessage(msg, transfer);
  }

  #failAll(err: Error): void {
    for (const w of this.#waiting.splice(0)) w.reject(err);
  }
}

export interface Decryption {
  result: Promise<Blob>;
  cancel(): void;
}

/** Bytes handed to the decrypt worker and not yet dealt with, beyond which the page stops reading. */
const DECRYPT_AHEAD = 3 * DEFAULT_CHUNK_SIZE;
const PROGRESS_EVERY_MS = 100;

async function httpError(res: Response): Promise<DocumentError> {
  const body: unknown = await res.json().catch(() => null);
  return new DocumentError('http', apiErrorOf(res.status, body).message, res.status);
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
  const abort = new AbortController();
  let stop: (e: DocumentError) => void = () => undefined;

  const result = new Promise<Blob>((resolve, reject) => {
    let settled = false;
    let ahead = 0;
    let wake: (() => void) | null = null;
    const w = startWorker(DECRYPT_WORKER_URL, 'heirloom-decrypt');
    stop = (err) => {
      if (settled) return;
      settled = true;
      abort.abort();
      w.terminate();
      wake?.();
      reject(err);
    };
    w.onmessage = (event: MessageEvent<DecryptReply>) => {
      const msg = event.data;
      if (settled) return;
      if (msg.type === 'taken') {
        ahead -= msg.bytes;
        if (ahead <= DECRYPT_AHEAD) wake?.();
      } else if (msg.type === 'done') {
        settled = true;
        w.terminate();
        resolve(msg.blob);
      } else if (msg.kind === 'crypto') stop(new DocumentError('crypto', DAMAGED_MESSAGE));
      else stop(new DocumentError('worker', msg.message));
    };
    w.onerror = (event) => {
      event.preventDefault();
      stop(new DocumentError('worker', 'Decrypting stopped unexpectedly on this device. Nothing was saved.'));
    };
    const key = docKey.slice();
    w.postMessage({ type: 'start', docKey: key, docId, mediaType: type } satisfies DecryptRequest, [key.buffer]);

    const download = async () => {
      let res: Response;
      try {
        res = await fetch(`/api/documents/${encodeURIComponent(docId)}/blob`, {
          credentials: 'same-origin',
          cache: 'no-store',
          signal: abort.signal,
        });
      } catch {
        throw new DocumentError('network', "Can't reach the Heirloom server. Check your connection and try again.");
      }
      if (!res.ok || !res.body) throw await httpError(res);
      const total = Number(res.headers.get('Content-Length')) || 0;
      const reader = res.body.getReader();
      let received = 0;
      let lastReport = 0;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (settled) return;
          if (done) break;
          received += value.length;
          ahead += value.length;
          // a fresh buffer per read, holding just these bytes: hand it over without a copy
          const bytes = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength ? value : value.slice();
          w.postMessage({ type: 'bytes', bytes } satisfies DecryptRequest, [bytes.buffer as ArrayBuffer]);
          const now = performance.now();
          if (now - lastReport >= PROGRESS_EVERY_MS) {
            lastReport = now;
            onProgress(received, total);
          }
          while (ahead > DECRYPT_AHEAD && !settled) await new Promise<void>((r) => (wake = r));
          wake = null;
        }
      } catch {
        if (settled) return;
        throw new DocumentError('network', 'The download was interrupted. Nothing was saved. Please try again.');
      }
      onProgress(received, total);
      w.postMessage({ type: 'end' } satisfies DecryptRequest);
    };
    download().catch((err: unknown) =>
      stop(err instanceof DocumentError ? err : new DocumentError('network', 'The download was interrupted. Nothing was saved. Please try again.')),
    );
  });
  return {
    result,
    cancel: () => stop(new DocumentError('cancelled', 'The download was cancelled.')),
  };
}
