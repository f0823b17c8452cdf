/**
 * The paper recovery key: 32 random bytes shown once as 24 BIP39 English words.
 * crypto.md "Keys of a user" (recoveryKey, recoveryWrapKey, recoveryAuthKeyPair) and "Recovery".
 */
import { entropyToMnemonic, mnemonicToEntropy } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { CryptoError } from './errors.js';
import { expectLength } from './encoding.js';
import { ad, aeadOpen, aeadSeal, kdf, memzero, randomBytes } from './primitives.js';
import { checkAccountKey } from './password.js';
import { getSodium } from './sodium.js';

export const RECOVERY_KEY_BYTES = 32;
export const RECOVERY_WORD_COUNT = 24;
const RECOVERY_CTX = 'HLRECOVR';
const BAD_WORDS = 'These words are not a valid recovery key: check for typos.';

export interface SignKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export interface RecoveryKeys {
  recoveryWrapKey: Uint8Array;
  recoveryAuthKeyPair: SignKeyPair;
}

export function newRecoveryKey(): Uint8Array {
  return randomBytes(RECOVERY_KEY_BYTES);
}

/** 24 lowercase English BIP39 words separated by single spaces; the last word carries an 8-bit checksum. */
export function recoveryKeyToWords(recoveryKey: Uint8Array): string {
  expectLength(recoveryKey, RECOVERY_KEY_BYTES, 'recovery key');
  return entropyToMnemonic(recoveryKey, wordlist);
}

/**
 * Words typed by a person back to the key. Accepts any case and any whitespace between words. Errors name a
 * word's position, never the word itself, because messages may be logged and a word is part of a secret.
 */
export function wordsToRecoveryKey(words: string): Uint8Array {
  if (typeof words !== 'string') {
    throw new CryptoError('words', BAD_WORDS);
  }
  const list = words.normalize('NFKD').toLowerCase().trim().split(/\s+/).filter((w) => w.length > 0);
  if (list.length !== RECOVERY_WORD_COUNT) {
    throw new CryptoError(
      'words',
      `A recovery key has ${RECOVERY_WORD_COUNT} words; ${list.length === 1 ? '1 word was' : `${list.length} words were`} given.`,
    );
  }
  const unknown = list.findIndex((w) => !wordlist.includes(w));
  if (unknown >= 0) {
    throw new CryptoError('words', `${BAD_WORDS} Word ${unknown + 1} is not on the recovery word list.`);
  }
  try {
    const key = mnemonicToEntropy(list.join(' '), wordlist);
    expectLength(key, RECOVERY_KEY_BYTES, 'recovery key');
    return key;
  } catch {
    // Every word exists, so this is the checksum: one word was swapped for another valid word.
    throw new CryptoError('words', BAD_WORDS);
  }
}

/** recoveryWrapKey = KDF(rk,1,"HLRECOVR"); recoveryAuthKeyPair = crypto_sign_seed_keypair(KDF(rk,2,"HLRECOVR")). */
export function deriveRecoveryKeys(recoveryKey: Uint8Array): RecoveryKeys {
  expectLength(recoveryKey, RECOVERY_KEY_BYTES, 'recovery key');
  const seed = kdf(recoveryKey, 2, RECOVERY_CTX);
  try {
    const pair = getSodium().crypto_sign_seed_keypair(seed);
    return {
      recoveryWrapKey: kdf(recoveryKey, 1, RECOVERY_CTX),
      recoveryAuthKeyPair: { publicKey: pair.publicKey, privateKey: pair.privateKey },
    };
  } finally {
    memzero(seed);
  }
}

/** AEAD(recoveryWrapKey, accountKey, AD("account-key","recovery",userId)); not wrapped again by the server. */
export function wrapAccountKeyWithRecovery(
  recoveryWrapKey: Uint8Array,
  accountKey: Uint8Array,
  userId: string,
  nonce?: Uint8Array,
): Uint8Array {
  expectLength(accountKey, 32, 'account key');
  return aeadSeal(recoveryWrapKey, accountKey, ad('account-key', 'recovery', userId), nonce);
}

export function unwrapAccountKeyWithRecovery(recoveryWrapKey: Uint8Array, envelope: Uint8Array, userId: string): Uint8Array {
  return checkAccountKey(aeadOpen(recoveryWrapKey, envelope, ad('account-key', 'recovery', userId)));
}
