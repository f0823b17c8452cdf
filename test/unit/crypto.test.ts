import { expect } from 'chai';
import {
  CryptoError,
  KDF_FLOOR,
  ad,
  aeadOpen,
  aeadSeal,
  authHashMatches,
  changePassword,
  checkKdfParams,
  computeAuthHash,
  constantTimeEqual,
  createAccount,
  deriveLoginKeys,
  deriveMasterKey,
  deriveRecoveryKeys,
  deriveServerKeys,
  exportUnlockedKeys,
  fakeKdfParams,
  fakeSalt,
  fingerprint,
  fromB64,
  fromHex,
  importUnlockedKeys,
  kdf,
  newKdfParams,
  newRecoveryKey,
  openAccount,
  openAccountWithAccountKey,
  openPrivateKeys,
  randomBytes,
  ready,
  recoveryKeyToWords,
  sealPrivateKeys,
  serverUnwrap,
  serverWrap,
  signSelf,
  toB64,
  toHex,
  unwrapAccountKeyWithPassword,
  unwrapAccountKeyWithRecovery,
  unwrapTotpSecret,
  utf8,
  verifySelfSignature,
  wordsToRecoveryKey,
  wrapAccountKeyWithPassword,
  wrapAccountKeyWithRecovery,
  wrapTotpSecret,
  type KdfParams,
  type NewAccount,
  type StoredKeys,
} from '../../client/crypto/index.js';

const USER_A = '3f1d2c4b-5a69-4788-9b0a-1c2d3e4f5a6b';
const USER_B = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
const PASSWORD = 'correct horse battery staple';

/** Runs fn and returns the CryptoError it throws; fails the test if it throws anything else or nothing. */
function cryptoError(fn: () => unknown): CryptoError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(CryptoError);
    return e as CryptoError;
  }
  expect.fail('expected a CryptoError, but the call succeeded');
}

function flipByte(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

function storedKeys(account: NewAccount): StoredKeys {
  const r = account.registration;
  return {
    passwordWrappedAccountKey: r.passwordWrappedAccountKey,
    encPrivateKeys: r.encPrivateKeys,
    boxPk: r.boxPk,
    signPk: r.signPk,
    recoveryAuthPk: r.recoveryAuthPk,
    selfSignature: r.selfSignature,
  };
}

describe('crypto core', () => {
  // One account at the KDF floor (Argon2id is the slow part) shared by the tests that only read it.
  let kdfParams: KdfParams;
  let account: NewAccount;

  before(async () => {
    await ready();
    kdfParams = newKdfParams({ ops: KDF_FLOOR.ops, mem: KDF_FLOOR.mem });
    account = createAccount(USER_A, PASSWORD, kdfParams);
  });

  describe('encoding', () => {
    it('writes URL-safe base64 without padding and reads it back', () => {
      const bytes = Uint8Array.of(0xfb, 0xff, 0xbf, 0x00);
      expect(toB64(bytes)).to.equal('-_-_AA');
      expect(fromB64('-_-_AA')).to.deep.equal(bytes);
    });

    it('refuses base64 with padding, the standard alphabet or stray characters', () => {
      for (const bad of ['-_-_AA==', '+/+/AA', 'AA AA', '!!']) {
        expect(cryptoError(() => fromB64(bad)).code).to.equal('encoding');
      }
    });

    it('refuses text that is not hex', () => {
      expect(cryptoError(() => fromHex('abc')).code).to.equal('encoding');
      expect(cryptoError(() => fromHex('zz')).code).to.equal('encoding');
      expect(toHex(fromHex('00ff10'))).to.equal('00ff10');
    });
  });

  describe('AEAD envelopes', () => {
    const key = () => randomBytes(32);

    it('opens what it sealed, with a version byte and a 24-byte nonce in front', () => {
      const k = key();
      const env = aeadSeal(k, utf8('hello'), ad('test', USER_A));
      expect(env[0]).to.equal(0x01);
      expect(env.length).to.equal(1 + 24 + 5 + 16);
      expect(aeadOpen(k, env, ad('test', USER_A))).to.deep.equal(utf8('hello'));
    });

    it('uses a fresh nonce each time, so the same plaintext never looks the same twice', () => {
      const k = key();
      const a = aeadSeal(k, utf8('same'), ad('test'));
      const b = aeadSeal(k, utf8('same'), ad('test'));
      expect(toHex(a)).to.not.equal(toHex(b));
    });

    it('refuses an envelope with any single byte changed', () => {
      const k = key();
      const env = aeadSeal(k, utf8('a secret'), ad('test'));
      for (let i = 1; i < env.length; i++) {
        expect(cryptoError(() => aeadOpen(k, flipByte(env, i), ad('test'))).code, `byte ${i}`).to.equal('auth');
      }
    });

    it('refuses an unknown version byte before trying to decrypt', () => {
      const k = key();
      const env = aeadSeal(k, utf8('x'), ad('test'));
      env[0] = 0x02;
      const err = cryptoError(() => aeadOpen(k, env, ad('test')));
      expect(err.code).to.equal('version');
      expect(err.message).to.match(/version 2/);
    });

    it('refuses a truncated envelope and an empty one', () => {
      const k = key();
      const env = aeadSeal(k, utf8('x'), ad('test'));
      expect(cryptoError(() => aeadOpen(k, env.subarray(0, 30), ad('test'))).code).to.equal('encoding');
      expect(cryptoError(() => aeadOpen(k, new Uint8Array(0), ad('test'))).code).to.equal('encoding');
    });

    it('refuses the wrong key or the wrong associated data with the same answer', () => {
      const k = key();
      const env = aeadSeal(k, utf8('x'), ad('test', USER_A));
      expect(cryptoError(() => aeadOpen(key(), env, ad('test', USER_A))).code).to.equal('auth');
      expect(cryptoError(() => aeadOpen(k, env, ad('test', USER_B))).code).to.equal('auth');
    });

    it('builds associated data as heirloom/v1/ followed by the parts joined with slashes', () => {
      expect(new TextDecoder().decode(ad('doc-meta', USER_A))).to.equal(`heirloom/v1/doc-meta/${USER_A}`);
    });

    it('refuses associated data parts that contain a slash or are empty, so two bindings cannot collide', () => {
      expect(cryptoError(() => ad('a/b')).code).to.equal('params');
      expect(cryptoError(() => ad('a', '')).code).to.equal('params');
    });
  });

  describe('KDF', () => {
    it('refuses a context that is not exactly 8 ASCII characters', () => {
      const k = randomBytes(32);
      expect(cryptoError(() => kdf(k, 1, 'SHORT')).code).to.equal('params');
      expect(cryptoError(() => kdf(k, 1, 'HLMASTERX')).code).to.equal('params');
      expect(cryptoError(() => kdf(k, 1, 'HLMASTÉR')).code).to.equal('params');
      expect(kdf(k, 1, 'HLMASTER')).to.have.length(32);
    });

    it('derives different keys for different ids and contexts', () => {
      const k = randomBytes(32);
      const a = toHex(kdf(k, 1, 'HLMASTER'));
      expect(toHex(kdf(k, 2, 'HLMASTER'))).to.not.equal(a);
      expect(toHex(kdf(k, 1, 'HLSERVER'))).to.not.equal(a);
    });
  });

  describe('KDF parameters', () => {
    const salt = () => toB64(randomBytes(16));

    it('refuses fewer than 3 passes', () => {
      const err = cryptoError(() => checkKdfParams({ alg: 'argon2id13', ops: 2, mem: KDF_FLOOR.mem, salt: salt() }));
      expect(err.code).to.equal('params');
      expect(err.message).to.match(/too weak/);
    });

    it('refuses less than 64 MiB of memory, even before deriving', () => {
      const weak = { alg: 'argon2id13' as const, ops: 3, mem: 32 * 1024 * 1024, salt: salt() };
      expect(cryptoError(() => checkKdfParams(weak)).code).to.equal('params');
      expect(cryptoError(() => deriveMasterKey(PASSWORD, weak)).code).to.equal('params');
    });

    it('refuses absurd parameters a hostile server could use to freeze the tab', () => {
      expect(cryptoError(() => checkKdfParams({ alg: 'argon2id13', ops: 21, mem: KDF_FLOOR.mem, salt: salt() })).code).to.equal('params');
      expect(cryptoError(() => checkKdfParams({ alg: 'argon2id13', ops: 3, mem: 2 * 1024 ** 3, salt: salt() })).code).to.equal('params');
    });

    it('refuses another algorithm, a salt of the wrong size and a missing object', () => {
      expect(cryptoError(() => checkKdfParams({ alg: 'argon2i13', ops: 3, mem: KDF_FLOOR.mem, salt: salt() })).code).to.equal('params');
      expect(cryptoError(() => checkKdfParams({ alg: 'argon2id13', ops: 3, mem: KDF_FLOOR.mem, salt: toB64(randomBytes(8)) })).code).to.equal('params');
      expect(cryptoError(() => checkKdfParams({ alg: 'argon2id13', ops: 3, mem: KDF_FLOOR.mem, salt: '***' })).code).to.equal('params');
      expect(cryptoError(() => checkKdfParams(null)).code).to.equal('params');
      expect(cryptoError(() => checkKdfParams({ alg: 'argon2id13', ops: '3', mem: KDF_FLOOR.mem, salt: salt() })).code).to.equal('params');
    });

    it('returns only the known fields, ignoring anything extra a server sends', () => {
      const p = checkKdfParams({ alg: 'argon2id13', ops: 3, mem: KDF_FLOOR.mem, salt: salt(), extra: 1 });
      expect(Object.keys(p).sort()).to.deep.equal(['alg', 'mem', 'ops', 'salt']);
    });

    it('makes new parameters with the 256 MiB default and a fresh salt each time', () => {
      const a = newKdfParams();
      const b = newKdfParams();
      expect(a.mem).to.equal(256 * 1024 * 1024);
      expect(a.ops).to.equal(3);
      expect(a.salt).to.not.equal(b.salt);
      expect(cryptoError(() => newKdfParams({ mem: 1024 })).code).to.equal('params');
    });
  });

  describe('password', () => {
    it('gives the same master key for two Unicode encodings of the same password (NFKC)', () => {
      const composed = 'caf\u00e9 \u00c5';
      const decomposed = 'cafe\u0301 \u212b';
      expect(composed).to.not.equal(decomposed);
      expect(toHex(deriveMasterKey(decomposed, kdfParams))).to.equal(toHex(deriveMasterKey(composed, kdfParams)));
    });

    it('gives a different master key for a different password or salt', () => {
      const a = toHex(deriveMasterKey(PASSWORD, kdfParams));
      expect(toHex(deriveMasterKey(PASSWORD + '!', kdfParams))).to.not.equal(a);
      expect(toHex(deriveMasterKey(PASSWORD, { ...kdfParams, salt: toB64(randomBytes(16)) }))).to.not.equal(a);
    });

    it('derives an auth key and a key-encryption key that differ from each other', () => {
      const { authKey, passwordKek } = deriveLoginKeys(randomBytes(32));
      expect(constantTimeEqual(authKey, passwordKek)).to.equal(false);
    });
  });

  describe('account key wraps', () => {
    it('refuses a password wrap made for another user', () => {
      const kek = randomBytes(32);
      const accountKey = randomBytes(32);
      const env = wrapAccountKeyWithPassword(kek, accountKey, USER_A);
      expect(unwrapAccountKeyWithPassword(kek, env, USER_A)).to.deep.equal(accountKey);
      expect(cryptoError(() => unwrapAccountKeyWithPassword(kek, env, USER_B)).code).to.equal('auth');
    });

    it('does not open a password wrap as a recovery wrap, even with the same key', () => {
      const key = randomBytes(32);
      const env = wrapAccountKeyWithPassword(key, randomBytes(32), USER_A);
      expect(cryptoError(() => unwrapAccountKeyWithRecovery(key, env, USER_A)).code).to.equal('auth');
      const rec = wrapAccountKeyWithRecovery(key, randomBytes(32), USER_A);
      expect(cryptoError(() => unwrapAccountKeyWithPassword(key, rec, USER_A)).code).to.equal('auth');
    });

    it('refuses a recovery wrap made for another user', () => {
      const key = randomBytes(32);
      const env = wrapAccountKeyWithRecovery(key, randomBytes(32), USER_A);
      expect(cryptoError(() => unwrapAccountKeyWithRecovery(key, env, USER_B)).code).to.equal('auth');
    });

    it('refuses private keys sealed for another user', () => {
      const accountKey = randomBytes(32);
      const env = sealPrivateKeys(accountKey, account.keys.boxSk, account.keys.signSk, USER_A);
      expect(openPrivateKeys(accountKey, env, USER_A).signSk).to.deep.equal(account.keys.signSk);
      expect(cryptoError(() => openPrivateKeys(accountKey, env, USER_B)).code).to.equal('auth');
    });
  });

  describe('recovery words', () => {
    it('turns a recovery key into 24 words and back', () => {
      const key = newRecoveryKey();
      const words = recoveryKeyToWords(key);
      expect(words.split(' ')).to.have.length(24);
      expect(wordsToRecoveryKey(words)).to.deep.equal(key);
    });

    it('accepts the words in capitals, with extra spaces and line breaks', () => {
      const key = newRecoveryKey();
      const messy = '  ' + recoveryKeyToWords(key).toUpperCase().split(' ').join(' \n\t ') + '  ';
      expect(wordsToRecoveryKey(messy)).to.deep.equal(key);
    });

    it('refuses words with a typo', () => {
      const words = recoveryKeyToWords(newRecoveryKey()).split(' ');
      words[4] = (words[4] ?? '') + 'x';
      const err = cryptoError(() => wordsToRecoveryKey(words.join(' ')));
      expect(err.code).to.equal('words');
      expect(err.message).to.match(/check for typos/);
      expect(err.message).to.match(/Word 5/);
      expect(err.message).to.not.include(words[4]);
    });

    it('refuses real words in an order whose checksum does not add up', () => {
      const words = recoveryKeyToWords(newRecoveryKey()).split(' ');
      // Swapping two different words keeps every word valid but breaks the checksum (with overwhelming odds;
      // try neighbours until two differ).
      let i = 0;
      while (words[i] === words[i + 1]) i++;
      const swapped = [...words];
      [swapped[i], swapped[i + 1]] = [words[i + 1] as string, words[i] as string];
      let err: CryptoError | undefined;
      try {
        wordsToRecoveryKey(swapped.join(' '));
      } catch (e) {
        err = e as CryptoError;
      }
      // 1 in 256 swaps keep a valid checksum by chance; then the key must at least differ.
      if (err === undefined) {
        expect(toHex(wordsToRecoveryKey(swapped.join(' ')))).to.not.equal(toHex(wordsToRecoveryKey(words.join(' '))));
      } else {
        expect(err).to.be.instanceOf(CryptoError);
        expect(err.code).to.equal('words');
        expect(err.message).to.equal('These words are not a valid recovery key: check for typos.');
      }
    });

    it('refuses a changed last word deterministically (checksum)', () => {
      // All-zero entropy: the valid last word is "art"; "abandon" carries the wrong checksum.
      const words = recoveryKeyToWords(new Uint8Array(32));
      expect(words.endsWith(' art')).to.equal(true);
      const bad = words.replace(/ art$/, ' abandon');
      expect(cryptoError(() => wordsToRecoveryKey(bad)).code).to.equal('words');
    });

    it('refuses 23 or 25 words and a 12-word phrase', () => {
      const words = recoveryKeyToWords(newRecoveryKey()).split(' ');
      expect(cryptoError(() => wordsToRecoveryKey(words.slice(1).join(' '))).message).to.match(/24 words; 23/);
      expect(cryptoError(() => wordsToRecoveryKey([...words, 'abandon'].join(' '))).code).to.equal('words');
      const twelve = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
      expect(cryptoError(() => wordsToRecoveryKey(twelve)).code).to.equal('words');
    });

    it('derives the same recovery public key from the words as at registration', () => {
      const { recoveryAuthKeyPair } = deriveRecoveryKeys(wordsToRecoveryKey(account.recoveryWords));
      expect(recoveryAuthKeyPair.publicKey).to.deep.equal(fromB64(account.registration.recoveryAuthPk));
    });
  });

  describe('fingerprints', () => {
    it('are six words and the same every time for the same keys', () => {
      const a = fingerprint(account.keys.signPk, account.keys.boxPk);
      const b = fingerprint(account.keys.signPk.slice(), account.keys.boxPk.slice());
      expect(a.words).to.have.length(6);
      expect(a.words).to.deep.equal(b.words);
      expect(a.hex).to.match(/^[0-9a-f]{64}$/);
    });

    it('change when either public key changes, and depend on the order of the keys', () => {
      const a = fingerprint(account.keys.signPk, account.keys.boxPk);
      expect(fingerprint(flipByte(account.keys.signPk, 0), account.keys.boxPk).hex).to.not.equal(a.hex);
      expect(fingerprint(account.keys.signPk, flipByte(account.keys.boxPk, 31)).hex).to.not.equal(a.hex);
      expect(fingerprint(account.keys.boxPk, account.keys.signPk).hex).to.not.equal(a.hex);
    });
  });

  describe('accounts', () => {
    it('creates registration fields that are all b64 strings of the right sizes', () => {
      const r = account.registration;
      const sizes: Record<string, number> = {
        authKey: 32,
        passwordWrappedAccountKey: 1 + 24 + 32 + 16,
        encPrivateKeys: 1 + 24 + 96 + 16,
        boxPk: 32,
        signPk: 32,
        recoveryWrappedAccountKey: 1 + 24 + 32 + 16,
        recoveryAuthPk: 32,
        selfSignature: 64,
      };
      expect(Object.keys(r).sort()).to.deep.equal(Object.keys(sizes).sort());
      for (const [field, size] of Object.entries(sizes)) {
        expect(fromB64(r[field as keyof typeof r]), field).to.have.length(size);
      }
      expect(wordsToRecoveryKey(account.recoveryWords)).to.deep.equal(account.recoveryKey);
      expect(toB64(account.authKey)).to.equal(r.authKey);
    });

    it('opens with the right password and gives back the same keys', () => {
      const keys = openAccount(PASSWORD, kdfParams, USER_A, storedKeys(account));
      expect(keys.accountKey).to.deep.equal(account.keys.accountKey);
      expect(keys.boxSk).to.deep.equal(account.keys.boxSk);
      expect(keys.signSk).to.deep.equal(account.keys.signSk);
    });

    it('refuses the wrong password', () => {
      expect(cryptoError(() => openAccount('wrong password', kdfParams, USER_A, storedKeys(account))).code).to.equal('auth');
    });

    it('refuses keys whose self-signature was tampered with', () => {
      const stored = storedKeys(account);
      stored.selfSignature = toB64(flipByte(fromB64(stored.selfSignature), 10));
      expect(cryptoError(() => openAccount(PASSWORD, kdfParams, USER_A, stored)).code).to.equal('signature');
    });

    it('refuses a swapped public key, even one that comes from another genuine account', () => {
      const other = createAccount(USER_B, PASSWORD, kdfParams);
      const stored = { ...storedKeys(account), boxPk: other.registration.boxPk };
      expect(cryptoError(() => openAccount(PASSWORD, kdfParams, USER_A, stored)).code).to.equal('signature');
    });

    it('refuses a whole other identity that is validly signed but does not match the private keys', () => {
      // A server swaps in user B's complete, validly self-signed public identity. B's signature names user B,
      // so it does not verify for user A.
      const other = createAccount(USER_B, PASSWORD, kdfParams);
      const o = other.registration;
      const stored = { ...storedKeys(account), boxPk: o.boxPk, signPk: o.signPk, recoveryAuthPk: o.recoveryAuthPk, selfSignature: o.selfSignature };
      expect(cryptoError(() => openAccount(PASSWORD, kdfParams, USER_A, stored)).code).to.equal('signature');
    });

    it('refuses genuine signed public keys paired with private keys that are not theirs', () => {
      // The server pairs A's signed public keys with private keys it chose, sealed under A's account key
      // (a server never has that key; this checks the second line of defence anyway).
      const rogue = createAccount(USER_A, PASSWORD, kdfParams);
      const enc = sealPrivateKeys(account.keys.accountKey, rogue.keys.boxSk, rogue.keys.signSk, USER_A);
      const err = cryptoError(() =>
        openAccountWithAccountKey(account.keys.accountKey, USER_A, { ...storedKeys(account), encPrivateKeys: toB64(enc) }),
      );
      expect(err.code).to.equal('signature');
    });

    it('refuses to open one user\'s keys as another user\'s', () => {
      expect(cryptoError(() => openAccount(PASSWORD, kdfParams, USER_B, storedKeys(account))).code).to.equal('signature');
    });

    it('verifies a self-signature only for the user and keys it was made for', () => {
      const k = account.keys;
      const rec = fromB64(account.registration.recoveryAuthPk);
      const sig = signSelf(k.signSk, USER_A, k.boxPk, k.signPk, rec);
      expect(verifySelfSignature(k.signPk, sig, USER_A, k.boxPk, rec)).to.equal(true);
      expect(verifySelfSignature(k.signPk, sig, USER_B, k.boxPk, rec)).to.equal(false);
      expect(verifySelfSignature(k.signPk, sig, USER_A, flipByte(k.boxPk, 0), rec)).to.equal(false);
      expect(verifySelfSignature(k.signPk, sig, USER_A, k.boxPk, flipByte(rec, 0))).to.equal(false);
      expect(verifySelfSignature(k.signPk, sig.subarray(0, 63), USER_A, k.boxPk, rec)).to.equal(false);
    });

    it('opens the account key with the recovery words alone', () => {
      const { recoveryWrapKey } = deriveRecoveryKeys(wordsToRecoveryKey(account.recoveryWords));
      const accountKey = unwrapAccountKeyWithRecovery(
        recoveryWrapKey,
        fromB64(account.registration.recoveryWrappedAccountKey),
        USER_A,
      );
      expect(accountKey).to.deep.equal(account.keys.accountKey);
      const keys = openAccountWithAccountKey(accountKey, USER_A, storedKeys(account));
      expect(keys.signSk).to.deep.equal(account.keys.signSk);
    });

    it('changes the password by re-wrapping only the account key', () => {
      const newKdf = newKdfParams({ ops: KDF_FLOOR.ops, mem: KDF_FLOOR.mem });
      const change = changePassword(account.keys.accountKey, USER_A, 'a new passphrase', newKdf);
      expect(change.newKdf).to.deep.equal(newKdf);
      const stored = { ...storedKeys(account), passwordWrappedAccountKey: change.newPasswordWrappedAccountKey };
      const keys = openAccount('a new passphrase', newKdf, USER_A, stored);
      expect(keys.accountKey).to.deep.equal(account.keys.accountKey);
      expect(cryptoError(() => openAccount(PASSWORD, kdfParams, USER_A, stored)).code).to.equal('auth');
      expect(change.newAuthKey).to.not.equal(account.registration.authKey);
    });

    it('refuses to change to a password with parameters below the floor', () => {
      const weak = { ...newKdfParams({ ops: 3, mem: KDF_FLOOR.mem }), ops: 2 };
      expect(cryptoError(() => changePassword(account.keys.accountKey, USER_A, 'x', weak)).code).to.equal('params');
    });

    it('round-trips unlocked keys through session storage JSON', () => {
      const json = exportUnlockedKeys(account.keys);
      expect(JSON.parse(json).v).to.equal(1);
      expect(importUnlockedKeys(json)).to.deep.equal(account.keys);
    });

    it('refuses saved session keys that are damaged or do not fit together', () => {
      expect(cryptoError(() => importUnlockedKeys('{')).code).to.equal('encoding');
      const parsed = JSON.parse(exportUnlockedKeys(account.keys)) as Record<string, unknown>;
      expect(cryptoError(() => importUnlockedKeys(JSON.stringify({ ...parsed, v: 2 }))).code).to.equal('version');
      const other = createAccount(USER_B, PASSWORD, kdfParams);
      const mixed = { ...parsed, boxSk: toB64(other.keys.boxSk) };
      expect(cryptoError(() => importUnlockedKeys(JSON.stringify(mixed))).code).to.equal('encoding');
    });
  });

  describe('server key operations', () => {
    const serverKeys = () => deriveServerKeys(randomBytes(32));

    it('derives four different subkeys from the server key', () => {
      const k = serverKeys();
      const hexes = new Set([k.authKey, k.wrapKey, k.fakeSaltKey, k.totpKey].map(toHex));
      expect(hexes.size).to.equal(4);
    });

    it('accepts the right auth key and refuses any other', () => {
      const { authKey: serverAuthKey } = serverKeys();
      const stored = computeAuthHash(serverAuthKey, account.authKey);
      expect(authHashMatches(serverAuthKey, account.authKey, stored)).to.equal(true);
      expect(authHashMatches(serverAuthKey, flipByte(account.authKey, 0), stored)).to.equal(false);
      expect(authHashMatches(serverAuthKey, account.authKey.subarray(0, 31), stored)).to.equal(false);
      // A database copied to another server (another server key) is useless for checking guesses.
      expect(authHashMatches(serverKeys().authKey, account.authKey, stored)).to.equal(false);
    });

    it('refuses a server wrap moved to another user, or changed in any byte', () => {
      const { wrapKey } = serverKeys();
      const inner = fromB64(account.registration.passwordWrappedAccountKey);
      const env = serverWrap(wrapKey, USER_A, inner);
      expect(serverUnwrap(wrapKey, USER_A, env)).to.deep.equal(inner);
      expect(cryptoError(() => serverUnwrap(wrapKey, USER_B, env)).code).to.equal('auth');
      expect(cryptoError(() => serverUnwrap(wrapKey, USER_A, flipByte(env, env.length - 1))).code).to.equal('auth');
    });

    it('gives an unknown username the same fake salt every time, whatever its case', () => {
      const { fakeSaltKey } = serverKeys();
      const a = fakeSalt(fakeSaltKey, 'Grandma.Rose');
      expect(a).to.have.length(16);
      expect(fakeSalt(fakeSaltKey, 'grandma.rose')).to.deep.equal(a);
      expect(fakeSalt(fakeSaltKey, 'grandpa.joe')).to.not.deep.equal(a);
      const params = fakeKdfParams(fakeSaltKey, 'grandma.rose');
      expect(fromB64(params.salt)).to.deep.equal(a);
      expect(checkKdfParams(params)).to.deep.equal(params);
    });

    it('seals TOTP secrets per user', () => {
      const { totpKey } = serverKeys();
      const env = wrapTotpSecret(totpKey, USER_A, 'JBSWY3DPEHPK3PXP');
      expect(unwrapTotpSecret(totpKey, USER_A, env)).to.equal('JBSWY3DPEHPK3PXP');
      expect(cryptoError(() => unwrapTotpSecret(totpKey, USER_B, env)).code).to.equal('auth');
      expect(cryptoError(() => unwrapTotpSecret(totpKey, USER_A, flipByte(env, 5))).code).to.equal('auth');
    });
  });

  describe('every envelope of an account', () => {
    it('refuses a flipped byte with auth and a wrong version byte with version', () => {
      const r = account.registration;
      const { recoveryWrapKey } = deriveRecoveryKeys(account.recoveryKey);
      const passwordKek = deriveLoginKeys(deriveMasterKey(PASSWORD, kdfParams)).passwordKek;
      const openers: [string, Uint8Array, (e: Uint8Array) => unknown][] = [
        ['password wrap', fromB64(r.passwordWrappedAccountKey), (e) => unwrapAccountKeyWithPassword(passwordKek, e, USER_A)],
        ['recovery wrap', fromB64(r.recoveryWrappedAccountKey), (e) => unwrapAccountKeyWithRecovery(recoveryWrapKey, e, USER_A)],
        ['private keys', fromB64(r.encPrivateKeys), (e) => openPrivateKeys(account.keys.accountKey, e, USER_A)],
      ];
      for (const [name, env, open] of openers) {
        expect(() => open(env), name).to.not.throw();
        expect(cryptoError(() => open(flipByte(env, 12))).code, name).to.equal('auth');
        expect(cryptoError(() => open(flipByte(env, env.length - 1))).code, name).to.equal('auth');
        const wrongVersion = env.slice();
        wrongVersion[0] = 0x00;
        expect(cryptoError(() => open(wrongVersion)).code, name).to.equal('version');
      }
    });
  });
});
