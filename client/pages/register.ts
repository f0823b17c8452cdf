/**
 * Registration by invitation (flows.md "Registration", docs/api.md). The token is in the URL fragment.
 * account (username, password) → keys made here, Argon2id in the worker → recovery kit → three words typed
 * back → TOTP enrolment (POST /api/register/totp: this session's secret, labelled with the username) →
 * POST /api/register/finish → sessionStorage → /.
 * The key material does not depend on the username (the user ID is reserved by the invitation), so a taken
 * username only sends the user back to that one field; the kit stays valid.
 */
import { memzero, ready, type KdfParams, type NewAccount } from '../crypto/index.js';
import { deriveLoginKeysInWorker } from './account-keys.js';
import { createAccountWithLoginKeys } from '../crypto/index.js';
import { ApiError, api, csrfToken, errorMessage } from './api.js';
import { $, $$, markInvalid, nextFrame, setBusy, setMessage, show } from './dom.js';
import { storeKeys, wipeKeys } from './keystore.js';
import { clearKit, groupSecret, normalizeWord, pickPositions, renderKit, renderQr, renderWordCheck } from './register-kit.js';
import { attachNewPassword } from './strength.js';

interface Invitation {
  userId: string;
  isAdmin: boolean;
  kdf: KdfParams;
  expiresAt: string;
}

/** The authenticator of this registration session, as /api/register/totp gives it. */
interface Authenticator {
  secret: string;
  uri: string;
  qrSvg: string;
  issuer: string;
  account: string;
}

type Step = 'signed-in' | 'loading' | 'invalid' | 'account' | 'kit' | 'confirm' | 'totp' | 'done';

const USERNAME = /^[A-Za-z0-9._-]{3,32}$/;

const INVALID_TITLES: Record<string, string> = {
  invite_used: 'This invitation has already been used',
  invite_expired: 'This invitation has expired',
  invite_not_found: "We don't recognise this invitation",
};

export function init(): void {
  const root = $('[data-register]');
  const token = decodeURIComponent(location.hash.replace(/^#/, '')).trim();
  const accountForm = $<HTMLFormElement>('[data-reg-account-form]', root);
  const usernameInput = $<HTMLInputElement>('[data-reg-username]', root);
  const usernameStatus = $('[data-reg-username-status]', root);
  const accountError = $('[data-reg-account-error]', root);
  const confirmForm = $<HTMLFormElement>('[data-reg-confirm-form]', root);
  const confirmError = $('[data-reg-confirm-error]', root);
  const totpForm = $<HTMLFormElement>('[data-reg-totp-form]', root);
  const totpError = $('[data-reg-totp-error]', root);
  const codeInput = $<HTMLInputElement>('[data-reg-totp-code]', root);
  const password = attachNewPassword(accountForm, () => [usernameInput.value, 'heirloom']);

  let invitation: Invitation | null = null;
  let account: NewAccount | null = null;
  let words: string[] = [];
  let positions: number[] = [];

  const goTo = (step: Step) => {
    for (const el of $$('[data-reg-step]', root)) show(el, el.dataset.regStep === step);
    window.scrollTo(0, 0);
    // Inputs first (account, word check, code); otherwise the step's heading, so screen readers announce it.
    const section = root.querySelector<HTMLElement>(`[data-reg-step="${step}"]`);
    const target = section?.querySelector<HTMLElement>('input:not([hidden]):not([type="hidden"])') ?? section?.querySelector<HTMLElement>('h1');
    target?.focus({ preventScroll: true });
  };

  const invalid = (title: string, message: string) => {
    $('[data-reg-invalid-title]', root).textContent = title;
    $('[data-reg-invalid-message]', root).textContent = message;
    if (account) forgetAccount();
    goTo('invalid');
  };

  const forgetAccount = () => {
    if (account) {
      memzero(account.recoveryKey);
      memzero(account.authKey);
    }
    account = null;
    words = [];
    clearKit(root);
  };

  /** Username-only mode: after a taken username at the end, keep the keys and the kit. */
  const setUsernameOnly = (on: boolean) => {
    show($('[data-reg-password-fields]', root), !on);
    show($('[data-reg-username-only]', root), on);
  };

  const checkUsername = async (): Promise<string | null> => {
    const username = usernameInput.value.trim();
    if (!USERNAME.test(username)) return 'Usernames are 3 to 32 characters: letters, digits, dots, dashes and underscores.';
    try {
      await api('POST', '/api/register/check-username', { token, username });
      return null;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) return err.message || 'This username is taken. Please choose another.';
      if (err instanceof ApiError && err.status === 410) {
        invalid(INVALID_TITLES[err.code] ?? 'This invitation can no longer be used', err.message);
      }
      throw err;
    }
  };

  /**
   * Fetches the authenticator of this session, labelled with the chosen username (the entry the app will
   * list), draws it, then shows the code step. Errors go to `errorEl`; a used or expired invitation ends here.
   */
  const showAuthenticator = async (errorEl: HTMLElement): Promise<void> => {
    try {
      const totp = await api<Authenticator>('POST', '/api/register/totp', { token, username: usernameInput.value.trim() });
      renderQr($('[data-totp-qr]', root), totp.qrSvg);
      $('[data-totp-secret]', root).textContent = groupSecret(totp.secret);
      $('[data-totp-label]', root).textContent = `Your app will list it as “${totp.issuer}: ${totp.account}”.`;
    } catch (err) {
      if (err instanceof ApiError && err.status === 410) {
        invalid(INVALID_TITLES[err.code] ?? 'This invitation can no longer be used', err.message);
      } else {
        setMessage(errorEl, errorMessage(err));
      }
      return;
    }
    goTo('totp');
  };

  const showUsernameStatus = (problem: string | null, username: string) => {
    usernameStatus.textContent = problem ?? `“${username}” is available.`;
    usernameStatus.className = `field-status field-status--${problem ? 'bad' : 'ok'}`;
    markInvalid(usernameInput, Boolean(problem));
  };

  usernameInput.addEventListener('blur', async () => {
    const username = usernameInput.value.trim();
    if (!username) return;
    try {
      showUsernameStatus(await checkUsername(), username);
    } catch {
      usernameStatus.textContent = '';
    }
  });
  usernameInput.addEventListener('input', () => {
    usernameStatus.textContent = '';
    markInvalid(usernameInput, false);
  });

  accountForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!invitation) return;
    setMessage(accountError, null);
    const busy = $('[data-reg-busy]', root);
    setBusy(accountForm, busy, true);
    try {
      const username = usernameInput.value.trim();
      const usernameProblem = await checkUsername();
      showUsernameStatus(usernameProblem, username);
      if (usernameProblem) {
        setMessage(accountError, usernameProblem);
        usernameInput.focus();
        return;
      }
      if (account) {
        // Only the username changed; the keys and the kit stay. The earlier code has expired by now.
        setUsernameOnly(false);
        $('[data-kit-username]', root).textContent = username;
        codeInput.value = '';
        setMessage(totpError, null);
        await showAuthenticator(accountError);
        return;
      }
      const passwordProblem = await password.validate();
      if (passwordProblem) {
        setMessage(accountError, passwordProblem);
        return;
      }
      await nextFrame();
      await ready();
      const login = await deriveLoginKeysInWorker(password.password(), invitation.kdf);
      account = createAccountWithLoginKeys(invitation.userId, login);
      password.clear();
      words = account.recoveryWords.split(' ');
      renderKit(root, { username, url: baseUrl(), date: new Date(), words });
      goTo('kit');
    } catch (err) {
      setMessage(accountError, errorMessage(err));
    } finally {
      setBusy(accountForm, busy, false);
    }
  });

  $('[data-kit-print]', root).addEventListener('click', () => window.print());
  $('[data-kit-continue]', root).addEventListener('click', () => {
    positions = pickPositions(words.length, 3);
    renderWordCheck($('[data-confirm-words]', root), positions);
    setMessage(confirmError, null);
    goTo('confirm');
  });
  $('[data-reg-confirm-back]', root).addEventListener('click', () => goTo('kit'));

  confirmForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const wrong: number[] = [];
    for (const input of $$<HTMLInputElement>('[data-confirm-word]', confirmForm)) {
      const n = Number(input.dataset.confirmWord);
      const ok = normalizeWord(input.value) === words[n - 1];
      markInvalid(input, !ok);
      if (!ok) wrong.push(n);
    }
    if (wrong.length > 0) {
      const list = wrong.map((n) => `#${n}`).join(', ');
      setMessage(confirmError, `Word ${list} ${wrong.length === 1 ? 'does' : 'do'} not match your kit. Check what you wrote down, or go back to the words.`);
      $<HTMLInputElement>(`[data-confirm-word="${wrong[0]}"]`, confirmForm).focus();
      return;
    }
    setMessage(confirmError, null);
    setBusy(confirmForm, null, true);
    try {
      await showAuthenticator(confirmError);
    } finally {
      setBusy(confirmForm, null, false);
    }
  });

  totpForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!invitation || !account) return;
    const totpCode = codeInput.value.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(totpCode)) {
      setMessage(totpError, 'Type the 6 digits your authenticator app shows for Heirloom.');
      markInvalid(codeInput, true);
      codeInput.focus();
      return;
    }
    markInvalid(codeInput, false);
    setMessage(totpError, null);
    const busy = $('[data-reg-finish-busy]', root);
    setBusy(totpForm, busy, true);
    let finished = false;
    try {
      const username = usernameInput.value.trim();
      await api('POST', '/api/register/finish', { token, username, ...account.registration, totpCode });
      await storeKeys(account.keys);
      memzero(account.recoveryKey);
      clearKit(root);
      finished = true;
      goTo('done');
      location.assign('/');
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        setUsernameOnly(true);
        goTo('account');
        usernameStatus.textContent = '';
        setMessage(accountError, `${err.message} Your password and recovery words stay the same; just write the new username on your kit.`);
        markInvalid(usernameInput, true);
        usernameInput.focus();
      } else if (err instanceof ApiError && err.status === 410) {
        invalid(INVALID_TITLES[err.code] ?? 'This invitation can no longer be used', err.message);
      } else {
        setMessage(totpError, errorMessage(err));
        codeInput.select();
      }
    } finally {
      if (!finished) setBusy(totpForm, busy, false);
    }
  });

  // Someone is logged in in this browser: the invitation is for a new person, so offer to log out first
  // (the token stays in the fragment, so a reload afterwards picks it up) instead of mixing two accounts.
  const signedInAs = root.dataset.signedInAs;
  if (signedInAs) {
    goTo('signed-in');
    $('[data-reg-logout]', root).addEventListener('click', () => {
      void fetch('/logout', { method: 'POST', headers: { 'X-CSRF-Token': csrfToken() }, redirect: 'manual' }).finally(() => {
        wipeKeys();
        location.reload();
      });
    });
    return;
  }

  wipeKeys();
  void start();

  async function start(): Promise<void> {
    if (!token) {
      invalid('This invitation link is incomplete', 'The invitation code after the “#” is missing from the link you opened.');
      return;
    }
    try {
      invitation = await api<Invitation>('POST', '/api/register/start', { token });
    } catch (err) {
      const title = err instanceof ApiError ? INVALID_TITLES[err.code] : undefined;
      invalid(title ?? 'This invitation could not be opened', errorMessage(err));
      return;
    }
    if (invitation.isAdmin) {
      $('[data-reg-heading]', root).textContent = 'Set up Heirloom — you’ll be the family’s admin';
      $('[data-reg-intro]', root).textContent +=
        ' As the admin you will invite the rest of the family. Even as admin you cannot read anyone else’s documents.';
    }
    goTo('account');
  }
}

function baseUrl(): string {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="base-url"]')?.content;
  return meta || location.origin;
}
