/**
 * The crypto core's account functions take a password and run Argon2id themselves. The pages run Argon2id in
 * a worker instead (client/worker/kdf.ts) and finish here from the master key, using the core's own pieces in
 * the same order as createAccountFrom / changePassword (client/crypto/account.ts), so the bytes are the same.
 */
import {
  ACCOUNT_KEY_BYTES,
  deriveLoginKeys,
  deriveRecoveryKeys,
  memzero,
  newRecoveryKey,
  randomBytes,
  recoveryKeyToWords,
  sealPrivateKeys,
  signSelf,
  toB64,
  getSodium,
  wrapAccountKeyWithPassword,
  wrapAccountKeyWithRecovery,
  type KdfParams,
  type LoginKeys,
  type NewAccount,
  type PasswordChange,
} from '../crypto/index.js';
import { deriveMasterKeyInWorker } from './kdf.js';

/** Argon2id in the worker, then authKey and passwordKek here; the master key is wiped at once. */
export async function deriveLoginKeysInWorker(password: string, kdf: KdfParams): Promise<LoginKeys> {
  const masterKey = await deriveMasterKeyInWorker(password, kdf);
  try {
    return deriveLoginKeys(masterKey);
  } finally {
    memzero(masterKey);
  }
}

/** createAccount(userId, password, kdf) with the password step already done. Wipes `login.passwordKek`. */
export function createAccountFromLoginKeys(userId: string, login: LoginKeys): NewAccount {
  const s = getSodium();
  const accountKey = randomBytes(ACCOUNT_KEY_BYTES);
  const box = s.crypto_box_keypair();
  const signPair = s.crypto_sign_keypair();
  const recoveryKey = newRecoveryKey();
  const { recoveryWrapKey, recoveryAuthKeyPair } = deriveRecoveryKeys(recoveryKey);
  try {
    const passwordWrapped = wrapAccountKeyWithPassword(login.passwordKek, accountKey, userId);
    const recoveryWrapped = wrapAccountKeyWithRecovery(recoveryWrapKey, accountKey, userId);
    const encPrivateKeys = sealPrivateKeys(accountKey, box.privateKey, signPair.privateKey, userId);
    const recoveryAuthPk = recoveryAuthKeyPair.publicKey;
    const selfSignature = signSelf(signPair.privateKey, userId, box.publicKey, signPair.publicKey, recoveryAuthPk);
    return {
      keys: { accountKey, boxPk: box.publicKey, boxSk: box.privateKey, signPk: signPair.publicKey, signSk: signPair.privateKey },
      recoveryKey,
      recoveryWords: recoveryKeyToWords(recoveryKey),
      authKey: login.authKey,
      registration: {
        authKey: toB64(login.authKey),
        passwordWrappedAccountKey: toB64(passwordWrapped),
        encPrivateKeys: toB64(encPrivateKeys),
        boxPk: toB64(box.publicKey),
        signPk: toB64(signPair.publicKey),
        recoveryWrappedAccountKey: toB64(recoveryWrapped),
        recoveryAuthPk: toB64(recoveryAuthPk),
        selfSignature: toB64(selfSignature),
      },
    };
  } finally {
    memzero(login.passwordKek);
    memzero(recoveryWrapKey);
    memzero(recoveryAuthKeyPair.privateKey);
  }
}

/** changePassword(accountKey, userId, newPassword, newKdf) with the new password already derived. */
export function passwordChangeFromLoginKeys(
  accountKey: Uint8Array,
  userId: string,
  login: LoginKeys,
  newKdf: KdfParams,
): PasswordChange {
  try {
    return {
      newAuthKey: toB64(login.authKey),
      newKdf,
      newPasswordWrappedAccountKey: toB64(wrapAccountKeyWithPassword(login.passwordKek, accountKey, userId)),
    };
  } finally {
    memzero(login.authKey);
    memzero(login.passwordKek);
  }
}
