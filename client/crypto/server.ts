/**
 * What the server does with its own key file (crypto.md "Keys of a user", the server key paragraph).
 * Imported by the server only; nothing here touches a user's secrets in the clear (authKey is a verifier,
 * the wrapped account key stays wrapped by the user's password).
 */
import { CryptoError } from './errors.js';
import { expectLength, fromUtf8, toB64, utf8 } from './encoding.js';
import { ad, aeadOpen, aeadSeal, constantTimeEqual, kdf } from './primitives.js';
import { getSodium } from './sodium.js';
import { KDF_ALG, KDF_DEFAULT, KDF_SALT_BYTES, checkKdfParams, type KdfParams } from './password.js';

export const SERVER_KEY_BYTES = 32;
export const AUTH_HASH_BYTES = 32;
const SERVER_CTX = 'HLSERVER';

export interface ServerKeys {
  authKey: Uint8Array;
  wrapKey: Uint8Array;
  fakeSaltKey: Uint8Array;
  totpKey: Uint8Array;
  /**
   * Signs the session cookie. The web server uses it as the text `toB64(cookieKey)` (express-session takes a
   * string secret), so the cookie secret is a key of its own and never equals another key.
   */
  cookieKey: Uint8Array;
}

/**
 * serverAuthKey, serverWrapKey, serverFakeSaltKey, serverTotpKey, serverCookieKey =
 * KDF(serverKey, 1..5, "HLSERVER"). An id, once given a purpose, is never reused for another.
 */
export function deriveServerKeys(serverKey: Uint8Array): ServerKeys {
  expectLength(serverKey, SERVER_KEY_BYTES, 'server key');
  return {
    authKey: kdf(serverKey, 1, SERVER_CTX),
    wrapKey: kdf(serverKey, 2, SERVER_CTX),
    fakeSaltKey: kdf(serverKey, 3, SERVER_CTX),
    totpKey: kdf(serverKey, 4, SERVER_CTX),
    cookieKey: kdf(serverKey, 5, SERVER_CTX),
  };
}

/** authHash = crypto_generichash(32, authKey, key = serverAuthKey): what the database stores. */
export function computeAuthHash(serverAuthKey: Uint8Array, authKey: Uint8Array): Uint8Array {
  expectLength(serverAuthKey, 32, 'server authentication key');
  expectLength(authKey, 32, 'authentication key');
  return getSodium().crypto_generichash(AUTH_HASH_BYTES, authKey, serverAuthKey);
}

/** Constant-time check of a login attempt. A malformed authKey is a failed login, not an exception. */
export function authHashMatches(serverAuthKey: Uint8Array, authKey: Uint8Array, storedHash: Uint8Array): boolean {
  if (!(authKey instanceof Uint8Array) || authKey.length !== 32) return false;
  return constantTimeEqual(computeAuthHash(serverAuthKey, authKey), storedHash);
}

/** AEAD(serverWrapKey, passwordWrappedAccountKey, AD("server-wrap",userId)). */
export function serverWrap(wrapKey: Uint8Array, userId: string, passwordWrapped: Uint8Array, nonce?: Uint8Array): Uint8Array {
  return aeadSeal(wrapKey, passwordWrapped, ad('server-wrap', userId), nonce);
}

export function serverUnwrap(wrapKey: Uint8Array, userId: string, envelope: Uint8Array): Uint8Array {
  return aeadOpen(wrapKey, envelope, ad('server-wrap', userId));
}

/**
 * Salt served for a username that has no account: crypto_generichash(16, UTF-8(lowercase(username)),
 * key = serverFakeSaltKey). Stable per name and per server, so asking twice does not reveal anything.
 * Lowercased because usernames compare case-insensitively (api.md): "Rose" and "rose" must get one answer.
 */
export function fakeSalt(fakeSaltKey: Uint8Array, username: string): Uint8Array {
  expectLength(fakeSaltKey, 32, 'fake salt key');
  return getSodium().crypto_generichash(KDF_SALT_BYTES, utf8(username.toLowerCase()), fakeSaltKey);
}

/** Full made-up KDF parameters for an unknown username; pass the ops/mem that real new accounts get. */
export function fakeKdfParams(
  fakeSaltKey: Uint8Array,
  username: string,
  cost: { ops: number; mem: number } = KDF_DEFAULT,
): KdfParams {
  return checkKdfParams({ alg: KDF_ALG, ops: cost.ops, mem: cost.mem, salt: toB64(fakeSalt(fakeSaltKey, username)) });
}

/** AEAD(serverTotpKey, UTF-8(secret), AD("totp",userId)). */
export function wrapTotpSecret(totpKey: Uint8Array, userId: string, secret: string, nonce?: Uint8Array): Uint8Array {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new CryptoError('params', 'The TOTP secret must be non-empty text.');
  }
  return aeadSeal(totpKey, utf8(secret), ad('totp', userId), nonce);
}

export function unwrapTotpSecret(totpKey: Uint8Array, userId: string, envelope: Uint8Array): string {
  return fromUtf8(aeadOpen(totpKey, envelope, ad('totp', userId)));
}
