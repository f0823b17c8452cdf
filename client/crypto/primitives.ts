/**
 * The building blocks named in crypto.md "Notation": AD(...), AEAD(key, pt, ad) and KDF(key, id, ctx).
 * Everything else in the core is a composition of these and a few libsodium calls.
 */
import { CryptoError } from './errors.js';
import { concatBytes, expectLength, utf8 } from './encoding.js';
import { getSodium } from './sodium.js';

export const AD_PREFIX = 'heirloom/v1/';

/** Format byte of every AEAD envelope (crypto.md principle 4). */
export const AEAD_VERSION = 0x01;
export const AEAD_KEY_BYTES = 32;
export const AEAD_NONCE_BYTES = 24;
export const AEAD_TAG_BYTES = 16;
/** version + nonce + tag: the size of an envelope around an empty plaintext. */
export const AEAD_OVERHEAD = 1 + AEAD_NONCE_BYTES + AEAD_TAG_BYTES;

/**
 * AD(...parts) = UTF-8 of `heirloom/v1/` + parts joined with `/`.
 * A part may not be empty or contain `/`: otherwise AD("a/b") and AD("a","b") would be the same bytes and
 * one binding could stand in for another.
 */
export function ad(...parts: string[]): Uint8Array {
  return utf8(adString(...parts));
}

/** The text behind `ad(...)`, for logs, docs and test vectors. */
export function adString(...parts: string[]): string {
  if (parts.length === 0) {
    throw new CryptoError('params', 'Associated data needs at least one part.');
  }
  for (const p of parts) {
    if (typeof p !== 'string' || p.length === 0 || p.includes('/')) {
      throw new CryptoError('params', 'Each part of the associated data must be non-empty text without "/".');
    }
  }
  return AD_PREFIX + parts.join('/');
}

/**
 * AEAD(key, pt, ad) = 0x01 || nonce(24) || XChaCha20-Poly1305-IETF(ciphertext+tag).
 * `nonce` exists only so test vectors can be deterministic; real callers leave it out and get a fresh random
 * one (24 random bytes are safe to pick at random, which is why XChaCha is used).
 */
export function aeadSeal(key: Uint8Array, plaintext: Uint8Array, adBytes: Uint8Array, nonce?: Uint8Array): Uint8Array {
  const s = getSodium();
  expectLength(key, AEAD_KEY_BYTES, 'encryption key');
  const n = nonce === undefined ? s.randombytes_buf(AEAD_NONCE_BYTES) : expectLength(nonce, AEAD_NONCE_BYTES, 'nonce');
  const ct = s.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, adBytes, null, n, key);
  return concatBytes(Uint8Array.of(AEAD_VERSION), n, ct);
}

/**
 * Opens an envelope made by `aeadSeal`. Checks, in order: the version byte (CryptoError 'version'), the
 * length (CryptoError 'encoding'), then the tag (CryptoError 'auth': wrong key, wrong AD or changed bytes;
 * deliberately one answer for all three, the caller cannot and should not tell them apart).
 */
export function aeadOpen(key: Uint8Array, envelope: Uint8Array, adBytes: Uint8Array): Uint8Array {
  const s = getSodium();
  expectLength(key, AEAD_KEY_BYTES, 'encryption key');
  if (!(envelope instanceof Uint8Array) || envelope.length === 0) {
    throw new CryptoError('encoding', 'There is no encrypted data to open.');
  }
  if (envelope[0] !== AEAD_VERSION) {
    throw new CryptoError(
      'version',
      `This data uses format version ${envelope[0]}, which this version of Heirloom cannot open.`,
    );
  }
  if (envelope.length < AEAD_OVERHEAD) {
    throw new CryptoError('encoding', 'This encrypted data is too short: it was cut off or damaged.');
  }
  const nonce = envelope.subarray(1, 1 + AEAD_NONCE_BYTES);
  const ct = envelope.subarray(1 + AEAD_NONCE_BYTES);
  try {
    return s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ct, adBytes, nonce, key);
  } catch {
    throw new CryptoError('auth', 'This data has been tampered with or the key is wrong.');
  }
}

/** KDF(key, id, ctx) = crypto_kdf_derive_from_key(32, id, ctx, key); ctx is exactly 8 ASCII bytes. */
export function kdf(key: Uint8Array, id: number, ctx: string): Uint8Array {
  const s = getSodium();
  expectLength(key, s.crypto_kdf_KEYBYTES, 'key to derive from');
  if (typeof ctx !== 'string' || !/^[\x20-\x7e]{8}$/.test(ctx)) {
    throw new CryptoError('params', 'A key derivation context must be exactly 8 printable ASCII characters.');
  }
  if (!Number.isSafeInteger(id) || id < 0) {
    throw new CryptoError('params', 'A key derivation id must be a non-negative whole number.');
  }
  return s.crypto_kdf_derive_from_key(32, id, ctx, key);
}

export function randomBytes(n: number): Uint8Array {
  return getSodium().randombytes_buf(n);
}

/** Overwrites a key with zeros once it is no longer needed (best effort: JS may have copied it before). */
export function memzero(bytes: Uint8Array): void {
  getSodium().memzero(bytes);
}

/** Constant-time comparison for equal lengths; different lengths are simply unequal (lengths are public). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return getSodium().memcmp(a, b);
}

/** Ed25519 detached signature (crypto.md writes it as `sign(sk, msg)`). */
export function sign(signSk: Uint8Array, message: Uint8Array): Uint8Array {
  const s = getSodium();
  expectLength(signSk, s.crypto_sign_SECRETKEYBYTES, 'signing key');
  return s.crypto_sign_detached(message, signSk);
}

/** Verifies an Ed25519 detached signature; malformed keys or signatures are simply "not valid". */
export function verify(signPk: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean {
  const s = getSodium();
  if (!(signPk instanceof Uint8Array) || signPk.length !== s.crypto_sign_PUBLICKEYBYTES) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== s.crypto_sign_BYTES) return false;
  return s.crypto_sign_verify_detached(signature, message, signPk);
}
