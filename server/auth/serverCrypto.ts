import {
  authHashMatches,
  computeAuthHash,
  deriveServerKeys,
  fakeSalt,
  fromB64,
  kdf,
  serverUnwrap,
  serverWrap,
  toB64,
  unwrapTotpSecret,
  utf8,
  wrapTotpSecret,
} from '../../client/crypto/index.js';
import { getSodium } from '../../client/crypto/sodium.js';

/**
 * The server's own key operations (crypto.md "Keys of a user": the server key). It holds subkeys derived
 * from the server key file and never anything that could open a user's documents.
 */
export class ServerCrypto {
  private readonly keys: ReturnType<typeof deriveServerKeys>;
  /** serverCsrfKey = KDF(serverKey, 6, "HLSERVER"): the CSRF tokens of visitors without a session (format.md §5). */
  private readonly csrfKeyBytes: Uint8Array;

  constructor(serverKey: Uint8Array) {
    this.keys = deriveServerKeys(serverKey);
    this.csrfKeyBytes = kdf(serverKey, 6, 'HLSERVER');
  }

  authHash(authKey: Uint8Array): string {
    return toB64(computeAuthHash(this.keys.authKey, authKey));
  }

  authMatches(authKey: Uint8Array, stored: string): boolean {
    return authHashMatches(this.keys.authKey, authKey, fromB64(stored));
  }

  /** Adds the server's layer around the password-wrapped account key. */
  serverWrap(userId: string, passwordWrappedB64: string): string {
    return toB64(serverWrap(this.keys.wrapKey, userId, fromB64(passwordWrappedB64)));
  }

  serverUnwrap(userId: string, stored: string): string {
    return toB64(serverUnwrap(this.keys.wrapKey, userId, fromB64(stored)));
  }

  fakeSalt(username: string): string {
    return toB64(fakeSalt(this.keys.fakeSaltKey, username));
  }

  wrapTotp(userId: string, secret: string): string {
    return toB64(wrapTotpSecret(this.keys.totpKey, userId, secret));
  }

  unwrapTotp(userId: string, stored: string): string {
    return unwrapTotpSecret(this.keys.totpKey, userId, fromB64(stored));
  }

  /** Signs session cookies; a subkey of its own so the cookie secret never equals another key. */
  cookieSecret(): string {
    return toB64(this.keys.cookieKey);
  }

  /** Keys the CSRF tokens handed to visitors who have no session yet (middleware/csrf.ts). */
  csrfKey(): Uint8Array {
    return this.csrfKeyBytes;
  }

  /** Invitation tokens are stored hashed: a database leak must not hand out working links. */
  tokenHash(token: string): string {
    return toB64(getSodium().crypto_generichash(32, utf8(`heirloom/v1/invite-token/${token}`), null));
  }
}
