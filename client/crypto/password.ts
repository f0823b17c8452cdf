/**
 * Password → masterKey → (authKey, passwordKek). crypto.md "Keys of a user", first three rows, and the
 * paragraph on KDF parameters and their floor.
 */
import { CryptoError } from './errors.js';
import { expectLength, fromB64, toB64, utf8 } from './encoding.js';
import { ad, aeadOpen, aeadSeal, kdf, memzero, randomBytes } from './primitives.js';
import { getSodium } from './sodium.js';

export const KDF_ALG = 'argon2id13';
const MiB = 1024 * 1024;
/** Below this no client derives and the server refuses registration (crypto.md: a malicious server must
 * not be able to make a password cheap to guess by serving weak parameters). */
export const KDF_FLOOR = { ops: 3, mem: 64 * MiB } as const;
export const KDF_DEFAULT = { ops: 3, mem: 256 * MiB } as const;
/** Above this the parameters are refused as absurd: a server could otherwise freeze or crash a browser tab. */
export const KDF_CEILING = { ops: 20, mem: 1024 * MiB } as const;
export const KDF_SALT_BYTES = 16;

export interface KdfParams {
  alg: 'argon2id13';
  ops: number;
  /** bytes */
  mem: number;
  /** b64 of 16 bytes */
  salt: string;
}

export interface LoginKeys {
  /** Sent to the server at login; the server stores only a keyed hash of it. */
  authKey: Uint8Array;
  /** Wraps the account key; never leaves the device. */
  passwordKek: Uint8Array;
}

const MASTER_CTX = 'HLMASTER';

/**
 * Validates KDF parameters from anywhere (the server's answer, a stored row, a form) and returns a clean copy
 * with only the four known fields. Throws CryptoError('params') with a sentence saying what is wrong.
 */
export function checkKdfParams(p: unknown): KdfParams {
  if (typeof p !== 'object' || p === null) {
    throw new CryptoError('params', 'Key derivation parameters are missing.');
  }
  const o = p as Record<string, unknown>;
  if (o.alg !== KDF_ALG) {
    throw new CryptoError('params', `Unsupported key derivation algorithm (expected ${KDF_ALG}).`);
  }
  const { ops, mem, salt } = o;
  if (typeof ops !== 'number' || !Number.isSafeInteger(ops)) {
    throw new CryptoError('params', 'The key derivation operations count must be a whole number.');
  }
  if (typeof mem !== 'number' || !Number.isSafeInteger(mem)) {
    throw new CryptoError('params', 'The key derivation memory size must be a whole number of bytes.');
  }
  if (ops < KDF_FLOOR.ops || mem < KDF_FLOOR.mem) {
    throw new CryptoError(
      'params',
      `These key derivation parameters are too weak (at least ${KDF_FLOOR.ops} passes and ${KDF_FLOOR.mem / MiB} MiB are required); refusing to use them.`,
    );
  }
  if (ops > KDF_CEILING.ops || mem > KDF_CEILING.mem) {
    throw new CryptoError(
      'params',
      `These key derivation parameters are unreasonably large (at most ${KDF_CEILING.ops} passes and ${KDF_CEILING.mem / MiB} MiB); refusing to use them.`,
    );
  }
  if (typeof salt !== 'string') {
    throw new CryptoError('params', 'The key derivation salt is missing.');
  }
  let saltBytes: Uint8Array;
  try {
    saltBytes = fromB64(salt);
  } catch {
    throw new CryptoError('params', 'The key derivation salt is not valid base64.');
  }
  if (saltBytes.length !== KDF_SALT_BYTES) {
    throw new CryptoError('params', `The key derivation salt must be ${KDF_SALT_BYTES} bytes long.`);
  }
  return { alg: KDF_ALG, ops, mem, salt };
}

/** Fresh parameters with a random salt; defaults to KDF_DEFAULT, and still refuses anything below the floor. */
export function newKdfParams(opts: { ops?: number; mem?: number } = {}): KdfParams {
  return checkKdfParams({
    alg: KDF_ALG,
    ops: opts.ops ?? KDF_DEFAULT.ops,
    mem: opts.mem ?? KDF_DEFAULT.mem,
    salt: toB64(randomBytes(KDF_SALT_BYTES)),
  });
}

/** The exact bytes that go into Argon2id: UTF-8 of the NFKC form, so "ﬁ" typed on one device and "fi" on
 * another, or a precomposed and a decomposed "é", give the same key. */
export function passwordBytes(password: string): Uint8Array {
  if (typeof password !== 'string') {
    throw new CryptoError('params', 'The password must be text.');
  }
  return utf8(password.normalize('NFKC'));
}

/** masterKey = crypto_pwhash(32, NFKC(password), salt16, ops, mem, ARGON2ID13), after checking the floor. */
export function deriveMasterKey(password: string, params: KdfParams): Uint8Array {
  const p = checkKdfParams(params);
  const s = getSodium();
  const pw = passwordBytes(password);
  try {
    return s.crypto_pwhash(32, pw, fromB64(p.salt), p.ops, p.mem, s.crypto_pwhash_ALG_ARGON2ID13);
  } finally {
    memzero(pw);
  }
}

/** authKey = KDF(masterKey, 1, "HLMASTER"), passwordKek = KDF(masterKey, 2, "HLMASTER"). */
export function deriveLoginKeys(masterKey: Uint8Array): LoginKeys {
  expectLength(masterKey, 32, 'master key');
  return { authKey: kdf(masterKey, 1, MASTER_CTX), passwordKek: kdf(masterKey, 2, MASTER_CTX) };
}

/**
 * Password straight to login keys, wiping the master key. The login page calls this once, sends `authKey`,
 * and keeps `passwordKek` to open the keys the server answers with (no second Argon2 run).
 */
export function derivePasswordKeys(password: string, params: KdfParams): LoginKeys {
  const masterKey = deriveMasterKey(password, params);
  try {
    return deriveLoginKeys(masterKey);
  } finally {
    memzero(masterKey);
  }
}

/** AEAD(passwordKek, accountKey, AD("account-key","password",userId)). */
export function wrapAccountKeyWithPassword(
  passwordKek: Uint8Array,
  accountKey: Uint8Array,
  userId: string,
  nonce?: Uint8Array,
): Uint8Array {
  expectLength(accountKey, 32, 'account key');
  return aeadSeal(passwordKek, accountKey, ad('account-key', 'password', userId), nonce);
}

export function unwrapAccountKeyWithPassword(passwordKek: Uint8Array, envelope: Uint8Array, userId: string): Uint8Array {
  const accountKey = aeadOpen(passwordKek, envelope, ad('account-key', 'password', userId));
  return checkAccountKey(accountKey);
}

/** An envelope that authenticates but holds the wrong amount of key is a bug or an attack, never usable. */
export function checkAccountKey(accountKey: Uint8Array): Uint8Array {
  if (accountKey.length !== 32) {
    throw new CryptoError('encoding', 'The opened account key has the wrong length.');
  }
  return accountKey;
}
