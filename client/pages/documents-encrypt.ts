/**
 * The page's side of the encrypt worker (client/worker/encrypt.ts): one file's encrypted blob, handed to
 * tus piece by piece.
 */
import { BLOB_HEADER_BYTES, CHUNK_OVERHEAD, DEFAULT_CHUNK_SIZE, blobSize, chunkCount } from '../crypto/index.js';
import type { EncryptReply, EncryptRequest } from '../worker/blob-messages.js';
import { DocumentError, startWorker } from './documents-workers.js';

export const ENCRYPT_WORKER_URL = '/assets/encrypt-worker.js';

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
