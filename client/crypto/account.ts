/**
 * Creating, opening and re-keying an account: the compositions of crypto.md "Keys of a user".
 * The single-purpose pieces live in password.ts, recovery.ts and identity.ts and are re-exported here, so
 * `import { ... } from './account.js'` gives the whole account API.
 */
import { CryptoError } from './errors.js';
import { expectLength, fromB64, fromB64Length, toB64 } from './encoding.js';
import { memzero, randomBytes } from './primitives.js';
import { getSodium } from './sodium.js';
import {
  checkKdfParams,
  derivePasswordKeys,
  unwrapAccountKeyWithPassword,
  wrapAccountKeyWithPassword,
  type KdfParams,
  type LoginKeys,
} from './password.js';
import {
  deriveRecoveryKeys,
  recoveryKeyToWords,
  newRecoveryKey,
  wrapAccountKeyWithRecovery,
} from './recovery.js';
import {
  BOX_PK_BYTES,
  BOX_SK_BYTES,
  SIGNATURE_BYTES,
  SIGN_PK_BYTES,
  SIGN_SK_BYTES,
  openPrivateKeys,
  privateKeysMatch,
  sealPrivateKeys,
  signSelf,
  verifySelfSignature,
} from './identity.js';

export * from './password.js';
export * from './recovery.js';
export * from './identity.js';

export const ACCOUNT_KEY_BYTES = 32;

/** Everything a signed-in device holds in memory. */
export interface UnlockedKeys {
  accountKey: Uint8Array;
  boxPk: Uint8Array;
  boxSk: Uint8Array;
  signPk: Uint8Array;
  signSk: Uint8Array;
}

/** The JSON body fields of POST /api/register/finish that come from the crypto core (docs/api.md), b64. */
export interface Registration {
  authKey: string;
  passwordWrappedAccountKey: string;
  encPrivateKeys: string;
  boxPk: string;
  signPk: string;
  recoveryWrappedAccountKey: string;
  recoveryAuthPk: string;
  selfSignature: string;
}

/** The `keys` object the server answers with after login or unlock (docs/api.md), b64. */
export interface StoredKeys {
  passwordWrappedAccountKey: string;
  encPrivateKeys: string;
  boxPk: string;
  signPk: string;
  recoveryAuthPk: string;
  selfSignature: string;
}

export interface NewAccount {
  keys: UnlockedKeys;
  /** Shown once as `recoveryWords`, then forgotten. */
  recoveryKey: Uint8Array;
  recoveryWords: string;
  authKey: Uint8Array;
  registration: Registration;
}

/**
 * Every random choice of an account, passed in. `createAccount` draws them at random; test vectors pass
 * fixed ones, so the vectors run through exactly the code that real registrations use.
 */
export interface AccountMaterial {
  accountKey: Uint8Array;
  boxKeyPair: { publicKey: Uint8Array; privateKey: Uint8Array };
  signKeyPair: { publicKey: Uint8Array; privateKey: Uint8Array };
  recoveryKey: Uint8Array;
  nonces?: { passwordWrap?: Uint8Array; recoveryWrap?: Uint8Array; privateKeys?: Uint8Array };
}

/** Fresh random material for a new account. */
export function newAccountMaterial(): AccountMaterial {
  const s = getSodium();
  const box = s.crypto_box_keypair();
  const signPair = s.crypto_sign_keypair();
  return {
    accountKey: randomBytes(ACCOUNT_KEY_BYTES),
    boxKeyPair: { publicKey: box.publicKey, privateKey: box.privateKey },
    signKeyPair: { publicKey: signPair.publicKey, privateKey: signPair.privateKey },
    recoveryKey: newRecoveryKey(),
  };
}

/** A new account for `userId`: fresh keys, wrapped for password and recovery, self-signed. */
export function createAccount(userId: string, password: string, kdf: KdfParams): NewAccount {
  return createAccountFrom(userId, password, kdf, newAccountMaterial());
}

export function createAccountFrom(userId: string, password: string, kdf: KdfParams, m: AccountMaterial): NewAccount {
  return createAccountWithLoginKeys(userId, derivePasswordKeys(password, kdf), m);
}

/**
 * The same, when Argon2id already ran elsewhere (the pages run it in a worker). Wipes `login.passwordKek`.
 */
export function createAccountWithLoginKeys(userId: string, login: LoginKeys, m: AccountMaterial = newAccountMaterial()): NewAccount {
  const accountKey = expectLength(m.accountKey, ACCOUNT_KEY_BYTES, 'account key');
  const boxPk = expectLength(m.boxKeyPair.publicKey, BOX_PK_BYTES, 'encryption public key');
  const boxSk = expectLength(m.boxKeyPair.privateKey, BOX_SK_BYTES, 'encryption secret key');
  const signPk = expectLength(m.signKeyPair.publicKey, SIGN_PK_BYTES, 'signing public key');
  const signSk = expectLength(m.signKeyPair.privateKey, SIGN_SK_BYTES, 'signing secret key');
  if (!privateKeysMatch({ boxSk, signSk }, boxPk, signPk)) {
    throw new CryptoError('params', 'The key pairs given for the new account are not pairs.');
  }
  const { authKey, passwordKek } = login;
  const { recoveryWrapKey, recoveryAuthKeyPair } = deriveRecoveryKeys(m.recoveryKey);
  try {
    const passwordWrapped = wrapAccountKeyWithPassword(passwordKek, accountKey, userId, m.nonces?.passwordWrap);
    const recoveryWrapped = wrapAccountKeyWithRecovery(recoveryWrapKey, accountKey, userId, m.nonces?.recoveryWrap);
    const encPrivateKeys = sealPrivateKeys(accountKey, boxSk, signSk, userId, m.nonces?.privateKeys);
    const recoveryAuthPk = recoveryAuthKeyPair.publicKey;
    const selfSignature = signSelf(signSk, userId, boxPk, signPk, recoveryAuthPk);
    return {
      keys: { accountKey, boxPk, boxSk, signPk, signSk },
      recoveryKey: m.recoveryKey,
      recoveryWords: recoveryKeyToWords(m.recoveryKey),
      authKey,
      registration: {
        authKey: toB64(authKey),
        passwordWrappedAccountKey: toB64(passwordWrapped),
        encPrivateKeys: toB64(encPrivateKeys),
        boxPk: toB64(boxPk),
        signPk: toB64(signPk),
        recoveryWrappedAccountKey: toB64(recoveryWrapped),
        recoveryAuthPk: toB64(recoveryAuthPk),
        selfSignature: toB64(selfSignature),
      },
    };
  } finally {
    memzero(passwordKek);
    memzero(recoveryWrapKey);
    memzero(recoveryAuthKeyPair.privateKey);
  }
}

interface VerifiedPublicKeys {
  boxPk: Uint8Array;
  signPk: Uint8Array;
  encPrivateKeys: Uint8Array;
}

/** Decodes what the server sent and checks the self-signature before anything is decrypted with it. */
function verifyStoredKeys(userId: string, keys: Omit<StoredKeys, 'passwordWrappedAccountKey'>): VerifiedPublicKeys {
  const boxPk = fromB64Length(keys.boxPk, BOX_PK_BYTES, 'encryption public key');
  const signPk = fromB64Length(keys.signPk, SIGN_PK_BYTES, 'signing public key');
  const recoveryAuthPk = fromB64Length(keys.recoveryAuthPk, SIGN_PK_BYTES, 'recovery public key');
  const selfSignature = fromB64Length(keys.selfSignature, SIGNATURE_BYTES, 'self-signature');
  if (!verifySelfSignature(signPk, selfSignature, userId, boxPk, recoveryAuthPk)) {
    throw new CryptoError(
      'signature',
      "This account's public keys are not signed by its owner: they may have been replaced. Do not trust them.",
    );
  }
  return { boxPk, signPk, encPrivateKeys: fromB64(keys.encPrivateKeys) };
}

function openVerified(accountKey: Uint8Array, userId: string, v: VerifiedPublicKeys): UnlockedKeys {
  const { boxSk, signSk } = openPrivateKeys(accountKey, v.encPrivateKeys, userId);
  if (!privateKeysMatch({ boxSk, signSk }, v.boxPk, v.signPk)) {
    memzero(boxSk);
    memzero(signSk);
    throw new CryptoError(
      'signature',
      "This account's private keys do not belong to its signed public keys: they may have been replaced.",
    );
  }
  return { accountKey, boxPk: v.boxPk, boxSk, signPk: v.signPk, signSk };
}

/**
 * Opens an account with the account key itself (after recovery, or from a legacy release): verifies the
 * self-signature, opens the private keys and checks they belong to the signed public keys.
 */
export function openAccountWithAccountKey(
  accountKey: Uint8Array,
  userId: string,
  keys: Omit<StoredKeys, 'passwordWrappedAccountKey'>,
): UnlockedKeys {
  expectLength(accountKey, ACCOUNT_KEY_BYTES, 'account key');
  return openVerified(accountKey, userId, verifyStoredKeys(userId, keys));
}

/** Opens an account with a passwordKek already derived (the login page derives once, then sends authKey). */
export function openAccountWithKek(passwordKek: Uint8Array, userId: string, keys: StoredKeys): UnlockedKeys {
  const verified = verifyStoredKeys(userId, keys);
  const accountKey = unwrapAccountKeyWithPassword(passwordKek, fromB64(keys.passwordWrappedAccountKey), userId);
  return openVerified(accountKey, userId, verified);
}

/** Password + KDF parameters + the server's `keys` → the unlocked keys. Wrong password: CryptoError 'auth'. */
export function openAccount(password: string, kdf: KdfParams, userId: string, keys: StoredKeys): UnlockedKeys {
  // The signature check is cheap; do it before spending a second of Argon2 on keys that are not genuine.
  verifyStoredKeys(userId, keys);
  const { authKey, passwordKek } = derivePasswordKeys(password, kdf);
  memzero(authKey);
  try {
    return openAccountWithKek(passwordKek, userId, keys);
  } finally {
    memzero(passwordKek);
  }
}

export interface PasswordChange {
  newAuthKey: string;
  newKdf: KdfParams;
  newPasswordWrappedAccountKey: string;
}

/** crypto.md: changing the password re-wraps accountKey only. The fields match POST /api/account/password. */
export function changePassword(accountKey: Uint8Array, userId: string, newPassword: string, newKdf: KdfParams): PasswordChange {
  const kdf = checkKdfParams(newKdf);
  return changePasswordWithLoginKeys(accountKey, userId, derivePasswordKeys(newPassword, kdf), kdf);
}

/** The same, with the new password already derived (in a worker). Wipes both login keys. */
export function changePasswordWithLoginKeys(accountKey: Uint8Array, userId: string, login: LoginKeys, newKdf: KdfParams): PasswordChange {
  const kdf = checkKdfParams(newKdf);
  try {
    return {
      newAuthKey: toB64(login.authKey),
      newKdf: kdf,
      newPasswordWrappedAccountKey: toB64(wrapAccountKeyWithPassword(login.passwordKek, accountKey, userId)),
    };
  } finally {
    memzero(login.authKey);
    memzero(login.passwordKek);
  }
}

const UNLOCKED_FIELDS = [
  ['accountKey', ACCOUNT_KEY_BYTES],
  ['boxPk', BOX_PK_BYTES],
  ['boxSk', BOX_SK_BYTES],
  ['signPk', SIGN_PK_BYTES],
  ['signSk', SIGN_SK_BYTES],
] as const;

/** JSON for sessionStorage (crypto.md: kept for the tab's life, wiped on lock/logout/idle). Versioned. */
export function exportUnlockedKeys(keys: UnlockedKeys): string {
  const out: Record<string, string | number> = { v: 1 };
  for (const [name, length] of UNLOCKED_FIELDS) {
    out[name] = toB64(expectLength(keys[name], length, name));
  }
  return JSON.stringify(out);
}

export function importUnlockedKeys(json: string): UnlockedKeys {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new CryptoError('encoding', 'The saved keys of this tab are unreadable; please unlock again.');
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw new CryptoError('encoding', 'The saved keys of this tab are unreadable; please unlock again.');
  }
  const o = parsed as Record<string, unknown>;
  if (o.v !== 1) {
    throw new CryptoError('version', 'The saved keys of this tab come from another version; please unlock again.');
  }
  const field = (name: string, length: number): Uint8Array => {
    const value = o[name];
    if (typeof value !== 'string') {
      throw new CryptoError('encoding', 'The saved keys of this tab are incomplete; please unlock again.');
    }
    return fromB64Length(value, length, name);
  };
  const keys: UnlockedKeys = {
    accountKey: field('accountKey', ACCOUNT_KEY_BYTES),
    boxPk: field('boxPk', BOX_PK_BYTES),
    boxSk: field('boxSk', BOX_SK_BYTES),
    signPk: field('signPk', SIGN_PK_BYTES),
    signSk: field('signSk', SIGN_SK_BYTES),
  };
  if (!privateKeysMatch(keys, keys.boxPk, keys.signPk)) {
    throw new CryptoError('encoding', 'The saved keys of this tab do not fit together; please unlock again.');
  }
  return keys;
}

/** Overwrites every secret of an unlocked account (lock, logout, idle timeout). */
export function wipeUnlockedKeys(keys: UnlockedKeys): void {
  memzero(keys.accountKey);
  memzero(keys.boxSk);
  memzero(keys.signSk);
}
