/**
 * The pages run Argon2id in a worker (client/worker/kdf.ts) so the tab stays responsive, then finish with the
 * crypto core's *WithLoginKeys functions, so the bytes are the same as in Node.
 */
import { deriveLoginKeys, memzero, type KdfParams, type LoginKeys } from '../crypto/index.js';
import { deriveMasterKeyInWorker } from './kdf.js';

/** Argon2id in the worker, then authKey and passwordKek here; the master key is wiped at once. */
export async function deriveLoginKeysInWorker(password: string, kdf: KdfParams): Promise<LoginKeys> {
  const masterKey = await deriveMasterKeyInWorker(password, kdf);
  try {
    return deriveLoginKeys(masterKey);
  } finally {
    memzero(masterKey);
  }
}
