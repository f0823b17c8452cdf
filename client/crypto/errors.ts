/**
 * The one error type of the crypto core. `code` is stable and meant for programs (map it to a page message
 * or an HTTP answer); `message` is a sentence a person can read. Messages never contain secret material
 * (no password, no recovery word, no key bytes), because they may end up in logs.
 */
export type CryptoErrorCode = 'version' | 'auth' | 'encoding' | 'params' | 'signature' | 'words';

export class CryptoError extends Error {
  constructor(
    public code: CryptoErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CryptoError';
  }
}

export function isCryptoError(e: unknown, code?: CryptoErrorCode): e is CryptoError {
  return e instanceof CryptoError && (code === undefined || e.code === code);
}
