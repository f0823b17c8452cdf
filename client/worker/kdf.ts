/**
 * Argon2id off the main thread: 256 MiB and a second or two of work would freeze the page otherwise.
 * Message in: {password, kdf}. Message out: {masterKey} (its buffer transferred) or {error}.
 * The page starts a fresh worker per derivation and terminates it afterwards, which also returns the
 * WebAssembly memory Argon2 grew to (it can never shrink inside one instance).
 */
import { ready } from '../crypto/sodium.js';
import { deriveMasterKey, type KdfParams } from '../crypto/password.js';
import { CryptoError } from '../crypto/errors.js';

interface KdfRequest {
  password: string;
  kdf: KdfParams;
}

const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = async (event: MessageEvent<KdfRequest>) => {
  try {
    const { password, kdf } = event.data;
    await ready();
    const masterKey = deriveMasterKey(password, kdf);
    scope.postMessage({ masterKey }, [masterKey.buffer]);
  } catch (err) {
    const message =
      err instanceof CryptoError
        ? err.message
        : err instanceof RangeError || (err instanceof Error && /memory/i.test(err.message))
          ? 'This device ran out of memory while deriving your keys. Close other tabs and try again.'
          : 'Deriving your keys failed on this device.';
    scope.postMessage({ error: message, code: err instanceof CryptoError ? err.code : 'worker' });
  }
};
