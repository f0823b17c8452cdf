/**
 * crypto.md "Fingerprints": the fingerprints a person has seen (and which of them they compared and marked
 * verified), plus the highest generation of each space's key they have seen, kept on the server as
 * AEAD(accountKey, UTF-8(JSON), AD("pins",userId)). Only this person's browser can read or change them, so a
 * server that swaps someone's public key cannot also quietly update what the person had pinned.
 */
import { CryptoError } from './errors.js';
import { fromUtf8, utf8 } from './encoding.js';
import { ad, aeadOpen, aeadSeal } from './primitives.js';
import { isUuid } from './document.js';

export interface Pin {
  /** the fingerprint's 64 hex characters */
  fp: string;
  /** compared in person or by phone and marked verified */
  verified: boolean;
  /** when this fingerprint was first seen (ms since epoch) */
  seen: number;
  verifiedAt: number | null;
}

export interface Pins {
  v: 1;
  users: Record<string, Pin>;
  /** space ID -> the highest key generation seen */
  spaces: Record<string, number>;
}

export function emptyPins(): Pins {
  return { v: 1, users: {}, spaces: {} };
}

function pinsAd(userId: string): Uint8Array {
  if (!isUuid(userId)) throw new CryptoError('params', 'The user ID must be a lowercase UUID.');
  return ad('pins', userId);
}

export function sealPins(accountKey: Uint8Array, userId: string, pins: Pins, nonce?: Uint8Array): Uint8Array {
  return aeadSeal(accountKey, utf8(JSON.stringify(checkPins(pins))), pinsAd(userId), nonce);
}

export function openPins(accountKey: Uint8Array, userId: string, envelope: Uint8Array): Pins {
  const json = fromUtf8(aeadOpen(accountKey, envelope, pinsAd(userId)));
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw unreadable();
  }
  return checkPins(parsed);
}

/** A JSON object, not null and not a list (a list would pass `typeof === 'object'`). */
function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function unreadable(): CryptoError {
  return new CryptoError('encoding', 'Your saved fingerprints are not in a format Heirloom can read.');
}

/** The shape sealPins writes; anything else is refused rather than half-trusted. */
function checkPins(x: unknown): Pins {
  if (typeof x !== 'object' || x === null) throw unreadable();
  const p = x as Record<string, unknown>;
  if (Array.isArray(x) || p.v !== 1 || !isRecord(p.users) || !isRecord(p.spaces)) throw unreadable();
  const users: Record<string, Pin> = {};
  for (const [id, raw] of Object.entries(p.users as Record<string, unknown>)) {
    const pin = raw as Record<string, unknown> | null;
    if (
      !isUuid(id) ||
      typeof pin !== 'object' ||
      pin === null ||
      typeof pin.fp !== 'string' ||
      !/^[0-9a-f]{64}$/.test(pin.fp) ||
      typeof pin.verified !== 'boolean' ||
      typeof pin.seen !== 'number' ||
      !(pin.verifiedAt === null || typeof pin.verifiedAt === 'number')
    ) {
      throw unreadable();
    }
    users[id] = { fp: pin.fp, verified: pin.verified, seen: pin.seen, verifiedAt: pin.verifiedAt };
  }
  const spaces: Record<string, number> = {};
  for (const [id, g] of Object.entries(p.spaces as Record<string, unknown>)) {
    if (!isUuid(id) || typeof g !== 'number' || !Number.isSafeInteger(g) || g < 1) throw unreadable();
    spaces[id] = g;
  }
  return { v: 1, users, spaces };
}
