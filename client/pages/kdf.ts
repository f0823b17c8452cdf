/** Promise wrapper around the Argon2id worker (client/worker/kdf.ts → /assets/kdf-worker.js). */
import type { KdfParams } from '../crypto/index.js';

export const WORKER_URL = '/assets/kdf-worker.js';

export class KdfError extends Error {
  constructor(
    public code: string,
    message: string,
  ) {
    super(message);
    this.name = 'KdfError';
  }
}

interface KdfReply {
  masterKey?: Uint8Array;
  error?: string;
  code?: string;
}

/** masterKey = Argon2id(password, kdf), computed in a fresh worker that is terminated afterwards. */
export function deriveMasterKeyInWorker(password: string, kdf: KdfParams): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = new Worker(WORKER_URL, { type: 'module', name: 'heirloom-kdf' });
    } catch {
      reject(new KdfError('worker', 'This browser could not start the key derivation. Please use an up-to-date browser.'));
      return;
    }
    const done = () => worker.terminate();
    worker.onmessage = (event: MessageEvent<KdfReply>) => {
      done();
      const { masterKey, error, code } = event.data;
      if (masterKey instanceof Uint8Array) resolve(masterKey);
      else reject(new KdfError(code ?? 'worker', error ?? 'Deriving your keys failed on this device.'));
    };
    worker.onerror = (event) => {
      event.preventDefault();
      done();
      reject(new KdfError('worker', 'The key derivation stopped unexpectedly. Reload the page and try again.'));
    };
    worker.postMessage({ password, kdf });
  });
}
