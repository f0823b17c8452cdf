/**
 * Login (flows.md "Login, unlock, lock"): username + password → prelogin, Argon2id in the worker,
 * POST /api/auth/password {authKey} → 6-digit code → POST /api/auth/totp → open the keys with the
 * passwordKek kept from the first step (no second Argon2 run) → sessionStorage → ?next= or /.
 * After the family's admin reset the two-step login, the password step answers 'enroll-totp' with a new
 * QR code instead; its first code goes to POST /api/auth/totp-enroll, which then logs in the same way.
 */
import { isCryptoError, memzero, openAccountWithKek, ready, toB64, type KdfParams, type LoginKeys, type StoredKeys } from '../crypto/index.js';
import { deriveLoginKeysInWorker } from './account-keys.js';
import { ApiError, api, errorMessage } from './api.js';
import { $, $$, nextFrame, setBusy, setMessage, show } from './dom.js';
import { groupSecret, renderQr } from './register-kit.js';
import { storeKeys, wipeKeys } from './keystore.js';
import { safeNext } from './next.js';

interface LoggedInUser {
  id: string;
  username: string;
  isAdmin: boolean;
}

type Step = 'password' | 'totp' | 'enroll' | 'done';

interface PasswordStep {
  next: 'totp' | 'enroll-totp';
  totp?: { secret: string; uri: string; qrSvg: string };
}

export function init(): void {
  const root = $('[data-login]');
  const error = $('[data-login-error]', root);
  const passwordForm = $<HTMLFormElement>('[data-login-password-form]', root);
  const totpForm = $<HTMLFormElement>('[data-login-totp-form]', root);
  const usernameInput = $<HTMLInputElement>('[data-login-username]', root);
  const passwordInput = $<HTMLInputElement>('[data-login-password]', root);
  const codeInput = $<HTMLInputElement>('[data-login-code]', root);
  const enrollForm = $<HTMLFormElement>('[data-login-enroll-form]', root);
  const enrollCodeInput = $<HTMLInputElement>('[data-login-enroll-code]', root);
  const passwordBusy = $('[data-login-busy]', root);
  const totpBusy = $('[data-login-totp-busy]', root);
  const enrollBusy = $('[data-login-enroll-busy]', root);
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
    if (step === 'enroll') enrollCodeInput.focus();
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
      const answer = await api<PasswordStep>('POST', '/api/auth/password', { username, authKey: toB64(pending.authKey) });
      memzero(pending.authKey);
      passwordInput.value = '';
      codeInput.value = '';
      enrollCodeInput.value = '';
      if (answer.next === 'enroll-totp' && answer.totp) {
        renderQr($('[data-login-enroll-qr]', root), answer.totp.qrSvg);
        $('[data-login-enroll-secret]', root).textContent = groupSecret(answer.totp.secret);
        goTo('enroll');
      } else {
        goTo('totp');
      }
    } catch (err) {
      forget();
      setMessage(error, errorMessage(err));
      passwordInput.select();
    } finally {
      setBusy(passwordForm, passwordBusy, false);
    }
  });

  /** The code step, on either form: the usual code, or the first code of a newly scanned authenticator. */
  const submitCode = async (form: HTMLFormElement, input: HTMLInputElement, busy: HTMLElement, path: string) => {
    const code = input.value.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code)) {
      setMessage(error, 'Type the 6 digits your authenticator app shows for Heirloom.');
      input.focus();
      return;
    }
    if (!pending) {
      setMessage(error, 'Please start again with your password.');
      goTo('password');
      return;
    }
    setMessage(error, null);
    setBusy(form, busy, true);
    let finished = false;
    try {
      const { user, keys } = await api<{ user: LoggedInUser; keys: StoredKeys }>('POST', path, { code });
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
        input.select();
      }
    } finally {
      if (!finished) setBusy(form, busy, false);
    }
  };

  totpForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void submitCode(totpForm, codeInput, totpBusy, '/api/auth/totp');
  });

  enrollForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void submitCode(enrollForm, enrollCodeInput, enrollBusy, '/api/auth/totp-enroll');
  });

  for (const button of $$('[data-login-restart]', root)) {
    button.addEventListener('click', () => {
      forget();
      setMessage(error, null);
      goTo('password');
    });
  }

  goTo('password');
}
