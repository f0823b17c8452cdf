/**
 * crypto.md "Sharing and spaces": a document key sealed to one person (a grant), a space key sealed to each
 * member of a space, a document key wrapped under a space key, and a space's name. Everything sealed to a
 * person is signed by whoever sealed it, so the recipient can tell a key the server made up from one a
 * family member gave them: the signature is checked against the signer's pinned public key (trust.ts in the
 * pages) before the sealed box is even opened.
 */
import { CryptoError } from './errors.js';
import { concatBytes, expectLength, fromUtf8, utf8 } from './encoding.js';
import { ad, aeadOpen, aeadSeal, memzero, randomBytes, sign, verify } from './primitives.js';
import { BOX_PK_BYTES, BOX_SK_BYTES, SIGNATURE_BYTES, SIGN_PK_BYTES } from './identity.js';
import { DOC_KEY_BYTES, isUuid } from './document.js';
import { getSodium } from './sodium.js';

export const SPACE_KEY_BYTES = 32;
/** crypto_box_seal of a 32-byte key: ephemeral public key (32) + MAC (16) + 32. */
export const SEALED_KEY_BYTES = 32 + 16 + 32;
/** Space names are padded to a multiple of this many bytes, so their length shows only roughly. */
export const SPACE_NAME_PAD_BLOCK = 64;
export const SPACE_NAME_MAX_CHARS = 80;

/** A key sealed to one person and the signature of whoever sealed it. */
export interface SignedSeal {
  sealed: Uint8Array;
  sig: Uint8Array;
}

function uuid(s: unknown, what: string): string {
  if (!isUuid(s)) throw new CryptoError('params', `The ${what} must be a lowercase UUID.`);
  return s;
}

function generation(g: unknown): string {
  if (typeof g !== 'number' || !Number.isSafeInteger(g) || g < 1) {
    throw new CryptoError('params', 'A space key generation is a whole number from 1.');
  }
  return String(g);
}

/** AD("grant",docId,recipientId) || sealed: what the sharer signs. */
export function grantMessage(docId: string, recipientId: string, sealed: Uint8Array): Uint8Array {
  return concatBytes(ad('grant', uuid(docId, 'document ID'), uuid(recipientId, 'recipient ID')), sealed);
}

/** AD("space-key",spaceId,memberId,g) || sealed: what the member who added (or re-keyed) a member signs. */
export function spaceKeyMessage(spaceId: string, memberId: string, g: number, sealed: Uint8Array): Uint8Array {
  return concatBytes(ad('space-key', uuid(spaceId, 'space ID'), uuid(memberId, 'member ID'), generation(g)), sealed);
}

function sealTo(key: Uint8Array, boxPk: Uint8Array, what: string): Uint8Array {
  expectLength(key, 32, what);
  expectLength(boxPk, BOX_PK_BYTES, 'encryption public key');
  return getSodium().crypto_box_seal(key, boxPk);
}

function openSealed(sealed: Uint8Array, myBoxPk: Uint8Array, myBoxSk: Uint8Array, what: string): Uint8Array {
  expectLength(myBoxPk, BOX_PK_BYTES, 'encryption public key');
  expectLength(myBoxSk, BOX_SK_BYTES, 'encryption secret key');
  if (!(sealed instanceof Uint8Array) || sealed.length !== SEALED_KEY_BYTES) {
    throw new CryptoError('encoding', `This ${what} is not in the expected format.`);
  }
  let key: Uint8Array;
  try {
    key = getSodium().crypto_box_seal_open(sealed, myBoxPk, myBoxSk);
  } catch {
    throw new CryptoError('auth', `This ${what} was not sealed to you, or it was changed.`);
  }
  return key;
}

function checkSignature(
  signerSignPk: Uint8Array,
  sig: Uint8Array,
  sealed: Uint8Array,
  message: (sealed: Uint8Array) => Uint8Array,
  what: string,
): void {
  if (!safeVerify(signerSignPk, sig, sealed, message)) {
    throw new CryptoError('signature', `The signature on this ${what} is not valid: it was not made by the person it claims to come from.`);
  }
}

/**
 * verify() that answers false for malformed input instead of throwing (the server checks request bodies).
 * `sealed` is checked here too: anything but bytes (undefined, a number, an object) would make concatBytes
 * throw a TypeError instead of answering "not valid".
 */
function safeVerify(signPk: unknown, sig: unknown, sealed: unknown, message: (sealed: Uint8Array) => Uint8Array): boolean {
  if (!(signPk instanceof Uint8Array) || signPk.length !== SIGN_PK_BYTES) return false;
  if (!(sig instanceof Uint8Array) || sig.length !== SIGNATURE_BYTES) return false;
  if (!(sealed instanceof Uint8Array)) return false;
  let m: Uint8Array;
  try {
    m = message(sealed);
  } catch (e) {
    if (e instanceof CryptoError) return false;
    throw e;
  }
  return verify(signPk, sig, m);
}

// Grants ---------------------------------------------------------------------------------------------------

/** crypto_box_seal(docKey, recipientBoxPk) and the sharer's signature over it. */
export function sealGrant(
  docKey: Uint8Array,
  docId: string,
  recipientId: string,
  recipientBoxPk: Uint8Array,
  sharerSignSk: Uint8Array,
): SignedSeal {
  expectLength(docKey, DOC_KEY_BYTES, 'document key');
  grantMessage(docId, recipientId, new Uint8Array(0)); // checks the IDs before anything is sealed
  const sealed = sealTo(docKey, recipientBoxPk, 'document key');
  return { sealed, sig: sign(sharerSignSk, grantMessage(docId, recipientId, sealed)) };
}

/** Checks the sharer's signature, then opens the document key. The signature comes first: an unsigned
 * (server-made) box is never opened. */
export function openGrant(
  grant: SignedSeal,
  docId: string,
  recipientId: string,
  sharerSignPk: Uint8Array,
  myBoxPk: Uint8Array,
  myBoxSk: Uint8Array,
): Uint8Array {
  checkSignature(sharerSignPk, grant.sig, grant.sealed, (sealed) => grantMessage(docId, recipientId, sealed), 'shared document');
  const key = openSealed(grant.sealed, myBoxPk, myBoxSk, 'shared document key');
  if (key.length !== DOC_KEY_BYTES) {
    memzero(key);
    throw new CryptoError('encoding', 'This shared document key has the wrong length.');
  }
  return key;
}

/** True only for a valid signature by `sharerSignPk` over exactly this grant. Never throws. */
export function verifyGrantSignature(sharerSignPk: Uint8Array, sig: Uint8Array, docId: string, recipientId: string, sealed: Uint8Array): boolean {
  return safeVerify(sharerSignPk, sig, sealed, (s) => grantMessage(docId, recipientId, s));
}

// Spaces ---------------------------------------------------------------------------------------------------

export function newSpaceKey(): Uint8Array {
  return randomBytes(SPACE_KEY_BYTES);
}

/** crypto_box_seal(spaceKey_g, memberBoxPk) and the signer's signature over it. */
export function sealSpaceKey(
  spaceKey: Uint8Array,
  spaceId: string,
  memberId: string,
  g: number,
  memberBoxPk: Uint8Array,
  signerSignSk: Uint8Array,
): SignedSeal {
  expectLength(spaceKey, SPACE_KEY_BYTES, 'space key');
  const message = (sealed: Uint8Array) => spaceKeyMessage(spaceId, memberId, g, sealed);
  message(new Uint8Array(0)); // checks the IDs and generation before anything is sealed
  const sealed = sealTo(spaceKey, memberBoxPk, 'space key');
  return { sealed, sig: sign(signerSignSk, message(sealed)) };
}

export function openSpaceKey(
  key: SignedSeal,
  spaceId: string,
  memberId: string,
  g: number,
  signerSignPk: Uint8Array,
  myBoxPk: Uint8Array,
  myBoxSk: Uint8Array,
): Uint8Array {
  checkSignature(signerSignPk, key.sig, key.sealed, (sealed) => spaceKeyMessage(spaceId, memberId, g, sealed), 'space key');
  const spaceKey = openSealed(key.sealed, myBoxPk, myBoxSk, 'space key');
  if (spaceKey.length !== SPACE_KEY_BYTES) {
    memzero(spaceKey);
    throw new CryptoError('encoding', 'This space key has the wrong length.');
  }
  return spaceKey;
}

/** True only for a valid signature by `signerSignPk` over exactly this sealed space key. Never throws. */
export function verifySpaceKeySignature(
  signerSignPk: Uint8Array,
  sig: Uint8Array,
  spaceId: string,
  memberId: string,
  g: number,
  sealed: Uint8Array,
): boolean {
  return safeVerify(signerSignPk, sig, sealed, (s) => spaceKeyMessage(spaceId, memberId, g, s));
}

function spaceDocAd(docId: string, spaceId: string, g: number): Uint8Array {
  return ad('doc-key', uuid(docId, 'document ID'), 'space', uuid(spaceId, 'space ID'), generation(g));
}

/** AEAD(spaceKey_g, docKey, AD("doc-key",docId,"space",spaceId,g)). */
export function wrapDocKeyForSpace(spaceKey: Uint8Array, docKey: Uint8Array, docId: string, spaceId: string, g: number, nonce?: Uint8Array): Uint8Array {
  expectLength(docKey, DOC_KEY_BYTES, 'document key');
  return aeadSeal(spaceKey, docKey, spaceDocAd(docId, spaceId, g), nonce);
}

export function unwrapDocKeyForSpace(spaceKey: Uint8Array, wrap: Uint8Array, docId: string, spaceId: string, g: number): Uint8Array {
  const docKey = aeadOpen(spaceKey, wrap, spaceDocAd(docId, spaceId, g));
  if (docKey.length !== DOC_KEY_BYTES) {
    memzero(docKey);
    throw new CryptoError('encoding', 'This document key has the wrong length.');
  }
  return docKey;
}

/** Trimmed, single-spaced, 1 to 80 characters: the one rule for a space's name, checked before sealing. */
export function cleanSpaceName(name: string): string {
  const clean = name.replace(/\s+/g, ' ').trim();
  if (clean.length === 0) throw new CryptoError('params', 'A space needs a name.');
  if ([...clean].length > SPACE_NAME_MAX_CHARS) {
    throw new CryptoError('params', `A space's name can be at most ${SPACE_NAME_MAX_CHARS} characters long.`);
  }
  return clean;
}

/** AEAD(spaceKey_g, sodium_pad(UTF-8(name), 64), AD("space-name",spaceId,g)). */
export function sealSpaceName(spaceKey: Uint8Array, spaceId: string, g: number, name: string, nonce?: Uint8Array): Uint8Array {
  const padded = getSodium().pad(utf8(cleanSpaceName(name)), SPACE_NAME_PAD_BLOCK);
  return aeadSeal(spaceKey, padded, ad('space-name', uuid(spaceId, 'space ID'), generation(g)), nonce);
}

export function openSpaceName(spaceKey: Uint8Array, spaceId: string, g: number, envelope: Uint8Array): string {
  const padded = aeadOpen(spaceKey, envelope, ad('space-name', uuid(spaceId, 'space ID'), generation(g)));
  try {
    return fromUtf8(getSodium().unpad(padded, SPACE_NAME_PAD_BLOCK));
  } catch {
    throw new CryptoError('encoding', "This space's name is not in a format Heirloom can read.");
  }
}
