/**
 * crypto.md "Fingerprints": fingerprint = crypto_generichash(32, signPk || boxPk), shown as six BIP39 English
 * words from its first 66 bits (11 bits a word, most significant bit first) plus the hex.
 */
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { concatBytes, expectLength, toHex } from './encoding.js';
import { getSodium } from './sodium.js';

export const FINGERPRINT_WORDS = 6;

export interface Fingerprint {
  /** 64 lowercase hex characters, for copy-paste. */
  hex: string;
  /** Six words, for reading aloud. */
  words: string[];
}

export function fingerprintBytes(signPk: Uint8Array, boxPk: Uint8Array): Uint8Array {
  expectLength(signPk, 32, 'signing public key');
  expectLength(boxPk, 32, 'encryption public key');
  return getSodium().crypto_generichash(32, concatBytes(signPk, boxPk), null);
}

export function fingerprint(signPk: Uint8Array, boxPk: Uint8Array): Fingerprint {
  const hash = fingerprintBytes(signPk, boxPk);
  return { hex: toHex(hash), words: bitsToWords(hash, FINGERPRINT_WORDS) };
}

/**
 * The first `count` 11-bit groups of `bytes`, read most significant bit first, as BIP39 English words.
 * Bit i of the input is bit (7 - i % 8) of byte floor(i / 8). Exported because the recovery-request
 * verification code (crypto.md "Recovery") uses the same rule with four words.
 */
export function bitsToWords(bytes: Uint8Array, count: number): string[] {
  if (!Number.isSafeInteger(count) || count < 0 || count * 11 > bytes.length * 8) {
    throw new RangeError(`Cannot take ${count} words from ${bytes.length} bytes.`);
  }
  const words: string[] = [];
  for (let w = 0; w < count; w++) {
    let index = 0;
    for (let b = 0; b < 11; b++) {
      const bit = w * 11 + b;
      const byte = bytes[bit >> 3] ?? 0;
      index = (index << 1) | ((byte >> (7 - (bit & 7))) & 1);
    }
    const word = wordlist[index];
    if (word === undefined) throw new RangeError('BIP39 word list is incomplete.');
    words.push(word);
  }
  return words;
}
