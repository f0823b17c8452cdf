/**
 * Login (flows.md "Login, unlock, lock"): username + password → prelogin, Argon2id in the worker,
 * POST /api/auth/password {authKey} → 6-digit code → POST /api/auth/totp → open the keys with the
 * passwordKek kept from the first step (no second Argon2 run) → sessionStorage → ?next= or /.
 */
import { isCryptoError, memzero, openAccountWithKek, ready, toB64, type KdfParams, type LoginKeys, type StoredKeys } from '../crypto/index.js';
import { deriveLoginKeysInWorker } from './account-keys.js';
import { ApiError, api, errorMessage } from './api.js';
import { $, $$, nextFrame, setBusy, setMessage, show } from './dom.js';
import { storeKeys, wipeKeys } from './keystore.js';
import { safeNext } from './session.js';

interface LoggedInUser {
  id: string;
  username: string;
  isAdmin: boolean;
}

type Step = 'password' | 'totp' | 'done';

export function init(): void {
  const root = $('[data-login]');
  const error = $('[data-login-error]', root);
  const passwordForm = $<HTMLFormElement>('[data-login-password-form]', root);
  const totpForm = $<HTMLFormElement>('[data-login-totp-form]', root);
  const usernameInput = $<HTMLInputElement>('[data-login-username]', root);
  const passwordInput = $<HTMLInputElement>('[data-login-password]', root);
  const codeInput = $<HTMLInputElement>('[data-login-code]', root);
  const passwordBusy = $('[data-login-busy]', root);
  const totpBusy = $('[data-login-totp-busy]', root);
  let pending: LoginKeys | null = null;

  // Whoever logs in on this tab starts from a clean slate.
  wipeKeys();
  void ready();

  const forget = () => {
    if (pending) {
      memzero(pending.authKey);
      memzero(pending.passwordKek);
    }
    pending = null;
  };

  const goTo = (step: Step) => {
    for (const el of $$('[data-login-step]', root)) show(el, el.dataset.loginStep === step);
    if (step === 'password') (usernameInput.value ? passwordInput : usernameInput).focus();
    if (step === 'totp') codeInput.focus();
  };

  passwordForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const username = usernameInput.value.trim();
    const password = passwordInput.value;
    if (!username || !password) {
      setMessage(error, 'Enter your username and your password.');
      (username ? passwordInput : usernameInput).focus();
      return;
    }
    setMessage(error, null);
    setBusy(passwordForm, passwordBusy, true);
    await nextFrame();
    try {
      await ready();
      const { kdf } = await api<{ kdf: KdfParams }>('POST', '/api/auth/prelogin', { username });
      forget();
      pending = await deriveLoginKeysInWorker(password, kdf);
      await api('POST', '/api/auth/password', { username, authKey: toB64(pending.authKey) });
      memzero(pending.authKey);
      passwordInput.value = '';
      codeInput.value = '';
      goTo('totp');
    } catch (err) {
      forget();
      setMessage(error, errorMessage(err));
      passwordInput.select();
    } finally {
      setBusy(passwordForm, passwordBusy, false);
    }
  });

  totpForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const code = codeInput.value.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code)) {
      setMessage(error, 'Type the 6 digits your authenticator app shows for Heirloom.');
      codeInput.focus();
      return;
    }
    if (!pending) {
      setMessage(error, 'Please start again with your password.');
      goTo('password');
      return;
    }
    setMessage(error, null);
    setBusy(totpForm, totpBusy, true);
    let finished = false;
    try {
      const { user, keys } = await api<{ user: LoggedInUser; keys: StoredKeys }>('POST', '/api/auth/totp', { code });
      const unlocked = openAccountWithKek(pending.passwordKek, user.id, keys);
      forget();
      await storeKeys(unlocked);
      finished = true;
      goTo('done');
      location.assign(safeNext(new URLSearchParams(location.search).get('next')));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'login_expired') {
        forget();
        setMessage(error, err.message);
        goTo('password');
      } else if (isCryptoError(err)) {
        // The server accepted the login but the keys it sent do not open or are not genuine.
        forget();
        setMessage(error, `Your keys could not be opened safely: ${err.message} Please tell your family's admin.`);
        goTo('password');
      } else {
        setMessage(error, errorMessage(err));
        codeInput.select();
      }
    } finally {
      if (!finished) setBusy(totpForm, totpBusy, false);
    }
  });

  $('[data-login-restart]', root).addEventListener('click', () => {
    forget();
    setMessage(error, null);
    goTo('password');
  });

  goTo('password');
}
