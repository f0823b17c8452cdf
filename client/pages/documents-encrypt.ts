/**
 * The page's side of the encrypt workers (client/worker/encrypt.ts): a small pool of long-lived workers,
 * and one file's encrypted blob, handed to tus piece by piece.
 */
import { BLOB_HEADER_BYTES, CHUNK_OVERHEAD, DEFAULT_CHUNK_SIZE, blobSize, chunkCount } from '../crypto/index.js';
import type { EncryptReply, EncryptRequest } from '../worker/blob-messages.js';
import { DocumentError, startWorker } from './documents-workers.js';

export const ENCRYPT_WORKER_URL = '/assets/encrypt-worker.js';

/** One encrypt worker of the pool, lent to one file (job) at a time. */
class PooledWorker {
  readonly worker: Worker;
  /** The job it is lent to, told of its replies and of a crash. */
  onReply: ((msg: EncryptReply) => void) | null = null;
  onCrash: (() => void) | null = null;

  constructor() {
    this.worker = startWorker(ENCRYPT_WORKER_URL, 'heirloom-encrypt');
    this.worker.onmessage = (event: MessageEvent<EncryptReply>) => this.onReply?.(event.data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.onCrash?.();
    };
  }

  post(msg: EncryptRequest, transfer: Transferable[] = []): void {
    this.worker.postMessage(msg, transfer);
  }
}

/**
 * A few encrypt workers kept for the page's life and lent to one file at a time, as many as the device has
 * cores (at most four). A fresh worker took about 45 ms to its first encrypted byte (loading the script and
 * libsodium), a reused one 2.4 ms: for a folder of small scans that start-up was most of the work. A file
 * keeps its worker only while it is being encrypted, so a small file lends it back within milliseconds.
 */
export class EncryptPool {
  static #shared: EncryptPool | undefined;
  /** The page's pool. */
  static shared(): EncryptPool {
    EncryptPool.#shared ??= new EncryptPool(navigator.hardwareConcurrency || 2);
    return EncryptPool.#shared;
  }

  readonly size: number;
  readonly #idle: PooledWorker[] = [];
  readonly #waiting: { resolve: (w: PooledWorker) => void; reject: (e: Error) => void }[] = [];
  #started = 0;
  #jobs = 0;

  constructor(cores: number) {
    this.size = Math.max(1, Math.min(4, Math.floor(cores)));
  }

  nextJob(): number {
    return ++this.#jobs;
  }

  /** A worker for one job: an idle one, a new one while there are fewer than `size`, or the next one freed. */
  acquire(): Promise<PooledWorker> {
    const idle = this.#idle.pop();
    if (idle) return Promise.resolve(idle);
    if (this.#started < this.size) return this.#start();
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** The job ended normally (its last piece came back): the worker has wiped it and serves the next one. */
  release(w: PooledWorker): void {
    w.onReply = w.onCrash = null;
    const next = this.#waiting.shift();
    if (next) next.resolve(w);
    else this.#idle.push(w);
  }

  /**
   * The job ended any other way (cancelled, failed, or the worker crashed): that worker is ended, which
   * takes the job's key and plaintext with it, and a fresh one takes its place when needed.
   */
  discard(w: PooledWorker): void {
    w.onReply = w.onCrash = null;
    w.worker.terminate();
    this.#started--;
    const next = this.#waiting.shift();
    if (next) this.#start().then(next.resolve, next.reject);
  }

  #start(): Promise<PooledWorker> {
    try {
      const w = new PooledWorker();
      this.#started++;
      return Promise.resolve(w);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new DocumentError('worker', String(err)));
    }
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
  readonly #pool: EncryptPool;
  readonly #job: number;
  /** The worker lent to this file, until its last piece is back (null before and after). */
  #worker: PooledWorker | null = null;
  /** Resolves once a worker has this job (null when the source was closed first). */
  readonly #lease: Promise<PooledWorker | null>;
  readonly #waiting: { resolve: (blob: Blob) => void; reject: (e: Error) => void }[] = [];
  readonly #pieceCount: number;
  /** The pieces of the request being sent, kept until tus moves past them. */
  #held: { start: number; end: number; blob: Blob } | null = null;
  /** Pieces asked of the worker and not yet handed to tus, in order; `ready` once encrypted. */
  readonly #ahead: { piece: Promise<Blob>; ready?: Blob }[] = [];
  #asked = 0;
  #stopped = false;
  /** Set while paused (hold()): slice() waits for it. */
  #gate: Promise<void> | null = null;
  #open: (() => void) | null = null;

  constructor(file: File, docKey: Uint8Array, docId: string, pool: EncryptPool = EncryptPool.shared()) {
    this.size = blobSize(file.size);
    this.#pieceCount = chunkCount(file.size);
    this.#pool = pool;
    this.#job = pool.nextJob();
    const key = docKey.slice();
    this.#lease = pool.acquire().then(
      (w) => {
        if (this.#stopped) {
          key.fill(0);
          pool.release(w); // nothing was sent to it
          return null;
        }
        this.#worker = w;
        w.onReply = (msg) => this.#onReply(w, msg);
        w.onCrash = () => this.#fail(new DocumentError('worker', 'Encryption stopped unexpectedly on this device.'));
        w.post({ type: 'start', job: this.#job, file, docKey: key, docId, chunkSize: DEFAULT_CHUNK_SIZE }, [key.buffer]);
        return w;
      },
      (err: unknown) => {
        key.fill(0);
        this.#fail(err instanceof Error ? err : new DocumentError('worker', 'Encryption could not start on this device.'));
        return null;
      },
    );
    this.#topUp(); // start encrypting while the upload is being created
  }

  /**
   * Pause: the next slice() waits until release(). tus opens each request before it asks for its bytes, and
   * aborting a request at that moment would make the browser send it later without its headers (the
   * request's headers are cleared by the abort, its send() still follows). Holding the bytes back instead
   * stops an upload cleanly after the request already on its way.
   */
  hold(): void {
    this.#gate ??= new Promise<void>((resolve) => (this.#open = resolve));
  }

  release(): void {
    this.#open?.();
    this.#gate = null;
    this.#open = null;
  }

  async slice(start: number): Promise<{ value: Blob | null; done: boolean }> {
    if (this.#gate) await this.#gate;
    if (this.#stopped) throw new DocumentError('cancelled', 'The upload was cancelled.');
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

  /** Ends this file's encryption (cancel, failure, or done). */
  close(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    // Still lent out means the job ended halfway: that worker is ended with whatever it held.
    if (this.#worker) this.#pool.discard(this.#worker);
    this.#worker = null;
    this.#failAll(new DocumentError('cancelled', 'The upload was cancelled.'));
    this.#held = null;
    this.#ahead.splice(0);
    this.release();
  }

  #onReply(w: PooledWorker, msg: EncryptReply): void {
    if (msg.job !== this.#job || this.#worker !== w) return; // a late reply to a job that has ended
    const waiter = this.#waiting.shift();
    if (msg.type === 'error') {
      waiter?.reject(new DocumentError('worker', msg.message));
      this.#fail(new DocumentError('worker', msg.message));
      return;
    }
    if (msg.last) {
      // every piece is here and the worker has wiped the job: lend it to the next file at once
      this.#worker = null;
      this.#pool.release(w);
    }
    waiter?.resolve(new Blob([msg.bytes as Uint8Array<ArrayBuffer>]));
  }

  #fail(err: Error): void {
    if (this.#worker) this.#pool.discard(this.#worker);
    this.#worker = null;
    this.#failAll(err);
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
      // after `start`: the lease posts it before any `then` added here runs
      void this.#lease.then((w) => {
        if (w && this.#worker === w && !this.#stopped) w.post({ type: 'pull', job: this.#job });
      });
    });
    piece.catch(() => undefined); // seen by slice(); not an unhandled rejection while prefetched
    return piece;
  }

  #failAll(err: Error): void {
    for (const w of this.#waiting.splice(0)) w.reject(err);
  }
}
