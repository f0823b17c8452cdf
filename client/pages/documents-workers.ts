/**
 * The page's side of the document workers: the encrypted upload source (client/worker/encrypt.ts) and
 * the decrypting download (client/worker/decrypt.ts).
 */
import { BLOB_HEADER_BYTES, CHUNK_OVERHEAD, DEFAULT_CHUNK_SIZE, blobSize } from '../crypto/index.js';
import type { DecryptReply, EncryptReply, EncryptRequest } from '../worker/blob-messages.js';

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
 * encrypts one piece at a time: the header with the first chunk, then one chunk each time. tus asks for
 * the bytes from its current offset and this answers with the rest of the piece that holds them, so
 * every PATCH carries exactly one encrypted chunk (docs/api.md "Uploading"). While piece n is being sent,
 * the worker already encrypts piece n+1; nothing else is kept, so memory stays at about two chunks
 * whatever the file's size, and a retry after a dropped connection (tus asks the server for its offset)
 * always falls inside the piece still held.
 *
 * Pieces are handed to tus as Blobs made here, on the page: Chromium sends a Blob request body several
 * times faster than the same bytes as a Uint8Array (measured ~0.1 s against ~0.9 s per 4 MiB PATCH to a
 * local server). The worker transfers plain bytes, whose buffers count as memory the page's garbage
 * collector knows about; Blobs made in the worker did not, so spent ones piled up (1 GB of them for a
 * 1 GB file) until the browser's blob storage refused more.
 */
export class EncryptedSource {
  readonly size: number;
  readonly #worker: Worker;
  readonly #waiting: { resolve: (blob: Blob) => void; reject: (e: Error) => void }[] = [];
  #current: { start: number; end: number; blob: Blob } | null = null;
  #next: Promise<Blob> | null = null;
  #stopped = false;

  constructor(file: File, docKey: Uint8Array, docId: string) {
    this.size = blobSize(file.size);
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
    this.#next = this.#pull(); // start encrypting while the upload is being created
  }

  /** The largest piece: the header and a full first chunk. tus's chunkSize. */
  static readonly MAX_PIECE = BLOB_HEADER_BYTES + DEFAULT_CHUNK_SIZE + CHUNK_OVERHEAD;

  async slice(start: number): Promise<{ value: Blob | null; done: boolean }> {
    const cur = this.#current;
    if (cur && start >= cur.start && start < cur.end) {
      return { value: start === cur.start ? cur.blob : cur.blob.slice(start - cur.start), done: cur.end === this.size };
    }
    if (start >= this.size) return { value: null, done: true };
    if (start !== (cur?.end ?? 0) || !this.#next) {
      throw new DocumentError('worker', 'The upload asked for a part of the file that is no longer here. Please add the file again.');
    }
    const blob = await this.#next;
    this.#current = { start, end: start + blob.size, blob };
    this.#next = this.#current.end < this.size ? this.#pull() : null;
    return { value: blob, done: this.#current.end === this.size };
  }

  /** Stops the worker (cancel, failure, or done). */
  close(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#worker.terminate();
    this.#failAll(new DocumentError('cancelled', 'The upload was cancelled.'));
    this.#current = null;
    this.#next?.catch(() => undefined);
    this.#next = null;
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

/**
 * Downloads and decrypts document `docId` in a worker. Resolves with the whole plaintext only after the
 * decryptor saw the final chunk; rejects with a DocumentError otherwise.
 */
export function decryptDocument(
  docId: string,
  docKey: Uint8Array,
  type: string,
  onProgress: (received: number, total: number) => void,
): Decryption {
  let worker: Worker | null = null;
  let rejectIt: (e: Error) => void = () => undefined;
  const result = new Promise<Blob>((resolve, reject) => {
    rejectIt = reject;
    const w = startWorker(DECRYPT_WORKER_URL, 'heirloom-decrypt');
    worker = w;
    w.onmessage = (event: MessageEvent<DecryptReply>) => {
      const msg = event.data;
      if (msg.type === 'progress') {
        onProgress(msg.received, msg.total);
        return;
      }
      w.terminate();
      if (msg.type === 'done') resolve(msg.blob);
      else if (msg.kind === 'crypto') reject(new DocumentError('crypto', DAMAGED_MESSAGE));
      else reject(new DocumentError(msg.kind, msg.message, msg.status));
    };
    w.onerror = (event) => {
      event.preventDefault();
      w.terminate();
      reject(new DocumentError('worker', 'Decrypting stopped unexpectedly on this device. Nothing was saved.'));
    };
    const key = docKey.slice();
    w.postMessage({ url: `/api/documents/${encodeURIComponent(docId)}/blob`, docKey: key, docId, type }, [key.buffer]);
  });
  return {
    result,
    cancel: () => {
      (worker as Worker | null)?.terminate();
      rejectIt(new DocumentError('cancelled', 'The download was cancelled.'));
    },
  };
}
