/**
 * A user's two key pairs and the signature that ties them together.
 * crypto.md "Keys of a user": boxKeyPair, signKeyPair, encPrivateKeys, selfSignature.
 */
import { CryptoError } from './errors.js';
import { concatBytes, expectLength } from './encoding.js';
import { ad, aeadOpen, aeadSeal, constantTimeEqual, memzero, sign, verify } from './primitives.js';
import { getSodium } from './sodium.js';

export const BOX_PK_BYTES = 32;
export const BOX_SK_BYTES = 32;
export const SIGN_PK_BYTES = 32;
export const SIGN_SK_BYTES = 64;
export const SIGNATURE_BYTES = 64;

export interface PrivateKeys {
  boxSk: Uint8Array;
  signSk: Uint8Array;
}

/** AEAD(accountKey, boxSk(32) || signSk(64), AD("private-keys",userId)). */
export function sealPrivateKeys(
  accountKey: Uint8Array,
  boxSk: Uint8Array,
  signSk: Uint8Array,
  userId: string,
  nonce?: Uint8Array,
): Uint8Array {
  expectLength(boxSk, BOX_SK_BYTES, 'encryption secret key');
  expectLength(signSk, SIGN_SK_BYTES, 'signing secret key');
  const plaintext = concatBytes(boxSk, signSk);
  try {
    return aeadSeal(accountKey, plaintext, ad('private-keys', userId), nonce);
  } finally {
    memzero(plaintext);
  }
}

export function openPrivateKeys(accountKey: Uint8Array, enc: Uint8Array, userId: string): PrivateKeys {
  const plaintext = aeadOpen(accountKey, enc, ad('private-keys', userId));
  if (plaintext.length !== BOX_SK_BYTES + SIGN_SK_BYTES) {
    memzero(plaintext);
    throw new CryptoError('encoding', 'The opened private keys have the wrong length.');
  }
  // slice (not subarray) so wiping one key later does not depend on the other's buffer.
  const keys = { boxSk: plaintext.slice(0, BOX_SK_BYTES), signSk: plaintext.slice(BOX_SK_BYTES) };
  memzero(plaintext);
  return keys;
}

/** AD("identity",userId) || boxPk || signPk || recoveryAuthPk: the bytes every client checks before trusting
 * a user's public keys. */
export function selfSignatureMessage(
  userId: string,
  boxPk: Uint8Array,
  signPk: Uint8Array,
  recoveryAuthPk: Uint8Array,
): Uint8Array {
  expectLength(boxPk, BOX_PK_BYTES, 'encryption public key');
  expectLength(signPk, SIGN_PK_BYTES, 'signing public key');
  expectLength(recoveryAuthPk, SIGN_PK_BYTES, 'recovery public key');
  return concatBytes(ad('identity', userId), boxPk, signPk, recoveryAuthPk);
}

export function signSelf(
  signSk: Uint8Array,
  userId: string,
  boxPk: Uint8Array,
  signPk: Uint8Array,
  recoveryAuthPk: Uint8Array,
): Uint8Array {
  return sign(signSk, selfSignatureMessage(userId, boxPk, signPk, recoveryAuthPk));
}

/** True only for a valid signature by `signPk` over exactly these keys for exactly this user. Never throws
 * on malformed input (the server calls it on request bodies): malformed is simply not valid. */
export function verifySelfSignature(
  signPk: Uint8Array,
  sig: Uint8Array,
  userId: string,
  boxPk: Uint8Array,
  recoveryAuthPk: Uint8Array,
): boolean {
  let message: Uint8Array;
  try {
    message = selfSignatureMessage(userId, boxPk, signPk, recoveryAuthPk);
  } catch (e) {
    if (e instanceof CryptoError) return false;
    throw e;
  }
  return verify(signPk, sig, message);
}

/**
 * Checks that opened secret keys belong to the public keys the account advertises. Without this a server
 * could pair a user's genuine, self-signed public keys with secret keys of its own choosing, or the other way.
 */
export function privateKeysMatch(keys: PrivateKeys, boxPk: Uint8Array, signPk: Uint8Array): boolean {
  const s = getSodium();
  if (keys.boxSk.length !== BOX_SK_BYTES || keys.signSk.length !== SIGN_SK_BYTES) return false;
  if (boxPk.length !== BOX_PK_BYTES || signPk.length !== SIGN_PK_BYTES) return false;
  const derivedBoxPk = s.crypto_scalarmult_base(keys.boxSk);
  // An Ed25519 secret key is seed(32) || publicKey(32); recompute the public key from the seed rather than
  // trusting the copy stored in its second half.
  const derivedSignPk = s.crypto_sign_ed25519_sk_to_pk(keys.signSk);
  const fromSeed = s.crypto_sign_seed_keypair(keys.signSk.subarray(0, 32));
  const ok =
    constantTimeEqual(derivedBoxPk, boxPk) &&
    constantTimeEqual(derivedSignPk, signPk) &&
    constantTimeEqual(fromSeed.publicKey, signPk);
  memzero(fromSeed.privateKey);
  return ok;
}
