/**
 * The page's side of the document workers: an encrypting ReadableStream for uploads
 * (client/worker/encrypt.ts) and a decrypting download (client/worker/decrypt.ts).
 */
import { DEFAULT_CHUNK_SIZE } from '../crypto/index.js';
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

export interface EncryptingStream {
  stream: ReadableStream<Blob>;
  /** Stops the worker (cancel, error, or when the upload no longer needs it). */
  stop(): void;
}

/**
 * The encrypted blob of `file` as a stream. Each pull() asks the worker for exactly one piece (the header
 * and first chunk, then one chunk each time), so the worker encrypts chunk n+1 while the upload sends
 * chunk n, and no more than that is ever waiting in memory.
 */
export function encryptingStream(file: File, docKey: Uint8Array, docId: string): EncryptingStream {
  const worker = startWorker(ENCRYPT_WORKER_URL, 'heirloom-encrypt');
  let stopped = false;
  let waiting: { resolve: (r: EncryptReply) => void; reject: (e: Error) => void } | null = null;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    worker.terminate();
    waiting?.reject(new DocumentError('cancelled', 'The upload was cancelled.'));
    waiting = null;
  };
  worker.onmessage = (event: MessageEvent<EncryptReply>) => {
    const w = waiting;
    waiting = null;
    w?.resolve(event.data);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    const w = waiting;
    waiting = null;
    w?.reject(new DocumentError('worker', 'Encryption stopped unexpectedly on this device.'));
  };
  const send = (msg: EncryptRequest, transfer: Transferable[] = []) => worker.postMessage(msg, transfer);
  const key = docKey.slice();
  send({ type: 'start', file, docKey: key, docId, chunkSize: DEFAULT_CHUNK_SIZE }, [key.buffer]);

  const stream = new ReadableStream<Blob>(
    {
      pull: async (controller) => {
        if (stopped) return;
        const reply = await new Promise<EncryptReply>((resolve, reject) => {
          waiting = { resolve, reject };
          send({ type: 'pull' });
        });
        if (reply.type === 'error') {
          stop();
          throw new DocumentError('worker', reply.message);
        }
        controller.enqueue(reply.blob);
        if (reply.last) {
          controller.close();
          stop();
        }
      },
      cancel: () => stop(),
    },
    { highWaterMark: 1 },
  );
  return { stream, stop };
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
