/**
 * Settings → change password (docs/api.md POST /api/account/password). The current password is derived with
 * the account's current KDF parameters (GET /api/vault/kdf) and sent as currentAuthKey; the new one gets a
 * fresh salt with the same cost. Only the password wrap of the account key changes (crypto.md).
 * The sessions list is an htmx partial; its times are localised by client/main.ts after each swap.
 */
import { memzero, newKdfParams, ready, toB64, type KdfParams } from '../crypto/index.js';
import { deriveLoginKeysInWorker } from './account-keys.js';
import { changePasswordWithLoginKeys } from '../crypto/index.js';
import { ApiError, api, errorMessage } from './api.js';
import { $, nextFrame, setBusy, setMessage } from './dom.js';
import { whenUnlocked } from './lock.js';
import { attachNewPassword } from './strength.js';

interface Htmx {
  ajax(method: string, url: string, options: { target: string; select?: string; swap?: string }): Promise<void>;
}

export function init(): void {
  const form = $<HTMLFormElement>('[data-password-form]');
  const current = $<HTMLInputElement>('[data-current-password]', form);
  const error = $('[data-password-error]', form);
  const success = $('[data-password-success]', form);
  const busy = $('[data-password-busy]', form);
  const busyText = $('[data-password-busy-text]', form);
  const username = document.body.dataset.user ?? '';
  const userId = document.body.dataset.userId ?? '';
  const newPassword = attachNewPassword(form, () => [username, 'heirloom']);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    setMessage(error, null);
    setMessage(success, null);
    if (!current.value) {
      setMessage(error, 'Enter your current password.');
      current.focus();
      return;
    }
    const problem = await newPassword.validate();
    if (problem) {
      setMessage(error, problem);
      return;
    }
    if (newPassword.password() === current.value) {
      setMessage(error, 'The new password is the same as the current one.');
      return;
    }
    setBusy(form, busy, true);
    await nextFrame();
    try {
      await ready();
      const keys = await whenUnlocked();
      const { kdf } = await api<{ kdf: KdfParams }>('GET', '/api/vault/kdf');
      busyText.textContent = 'Checking your current password… this takes a second or two on purpose.';
      const currentLogin = await deriveLoginKeysInWorker(current.value, kdf);
      memzero(currentLogin.passwordKek);
      const currentAuthKey = toB64(currentLogin.authKey);
      memzero(currentLogin.authKey);

      busyText.textContent = 'Locking your account key with the new password…';
      const newKdf = newKdfParams({ ops: kdf.ops, mem: kdf.mem });
      const newLogin = await deriveLoginKeysInWorker(newPassword.password(), newKdf);
      const change = changePasswordWithLoginKeys(keys.accountKey, userId, newLogin, newKdf);

      await api('POST', '/api/account/password', { currentAuthKey, ...change });
      current.value = '';
      newPassword.clear();
      setMessage(success, 'Your password is changed. Your other devices have been logged out. Use the new password from now on.');
      refreshLists();
    } catch (err) {
      const wrong = err instanceof ApiError && err.status === 401 && err.code === 'login_failed';
      setMessage(error, wrong ? 'Your current password is not right. Nothing was changed.' : errorMessage(err));
    } finally {
      busyText.textContent = 'Deriving your keys… this takes a second or two on purpose.';
      setBusy(form, busy, false);
    }
  });
}

/** Other sessions ended and a log entry was written: fetch both lists again. */
function refreshLists(): void {
  const htmx = (window as unknown as { htmx?: Htmx }).htmx;
  if (!htmx) return;
  void htmx.ajax('GET', '/settings/sessions', { target: '#sessions', swap: 'outerHTML' });
  void htmx.ajax('GET', '/settings', { target: '#audit', select: '#audit', swap: 'outerHTML' });
}
