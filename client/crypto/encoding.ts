import { CryptoError } from './errors.js';
import { getSodium } from './sodium.js';

const encoder = new TextEncoder();
// fatal: a key or secret that is not valid UTF-8 is damaged data, not something to patch with U+FFFD.
const decoder = new TextDecoder('utf-8', { fatal: true });

/** URL-safe base64 without padding (crypto.md Notation: `b64`). */
export function toB64(bytes: Uint8Array): string {
  const s = getSodium();
  return s.to_base64(bytes, s.base64_variants.URLSAFE_NO_PADDING);
}

/** Inverse of `toB64`. Refuses padding, the standard alphabet, whitespace and non-canonical trailing bits. */
export function fromB64(text: string): Uint8Array {
  if (typeof text !== 'string') {
    throw new CryptoError('encoding', 'Expected base64 text, got something else.');
  }
  const s = getSodium();
  try {
    return s.from_base64(text, s.base64_variants.URLSAFE_NO_PADDING);
  } catch {
    throw new CryptoError('encoding', 'This text is not valid URL-safe base64.');
  }
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** UTF-8 bytes back to a string; refuses invalid UTF-8. */
export function fromUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new CryptoError('encoding', 'This data is not valid UTF-8 text.');
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  return getSodium().to_hex(bytes);
}

export function fromHex(text: string): Uint8Array {
  if (typeof text !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(text)) {
    throw new CryptoError('encoding', 'This text is not valid hexadecimal.');
  }
  return getSodium().from_hex(text);
}

/** Fails with CryptoError('params') unless `bytes` is a Uint8Array of exactly `length` bytes. */
export function expectLength(bytes: unknown, length: number, what: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new CryptoError('params', `The ${what} must be ${length} bytes long.`);
  }
  return bytes;
}

/** Decodes b64 and checks the length; the message names the field so a bad request is easy to find. */
export function fromB64Length(text: string, length: number, what: string): Uint8Array {
  const bytes = fromB64(text);
  if (bytes.length !== length) {
    throw new CryptoError('encoding', `The ${what} must be ${length} bytes long.`);
  }
  return bytes;
}
