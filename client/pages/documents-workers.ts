/**
 * The page's side of the decrypt worker (client/worker/decrypt.ts), and what both document workers share
 * (the encrypted upload source is in documents-encrypt.ts).
 */
import { DEFAULT_CHUNK_SIZE } from '../crypto/index.js';
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
