/**
 * The vault lock on every logged-in page (flows.md "Login, unlock, lock"). The server renders the content
 * hidden; it is shown only when this tab holds unlocked keys. Otherwise the lock screen asks for the password:
 * GET /api/vault/kdf → Argon2id in the worker → POST /api/vault/unlock {authKey} → open the keys here.
 * Lock (button, idle timeout) wipes memory and sessionStorage; the server session may live on.
 */
import { memzero, openAccountWithKek, ready, toB64, type KdfParams, type StoredKeys, type UnlockedKeys } from '../crypto/index.js';
import { deriveLoginKeysInWorker } from './account-keys.js';
import { ApiError, api, errorMessage } from './api.js';
import { $, $$, nextFrame, setBusy, setMessage, show } from './dom.js';
import { hasStoredKeys, lastActive, loadKeys, markActive, storeKeys, wipeKeys } from './keystore.js';

const ACTIVITY_EVENTS = ['pointerdown', 'keydown', 'wheel', 'touchstart', 'mousemove', 'scroll'] as const;
const CHECK_EVERY_MS = 15_000;

let idleMs = 15 * 60_000;
let locked = true;

export function isVaultPage(): boolean {
  return document.body.hasAttribute('data-vault');
}

export function isLocked(): boolean {
  return locked;
}

function overlay(): HTMLElement {
  return $('[data-unlock]');
}

function content(): HTMLElement {
  return $('[data-vault-content]');
}

function setLockedView(isLockedNow: boolean): void {
  locked = isLockedNow;
  show(overlay(), isLockedNow);
  show(content(), !isLockedNow);
  for (const b of $$('[data-action="lock"]')) show(b, !isLockedNow);
  document.dispatchEvent(new CustomEvent(isLockedNow ? 'heirloom:locked' : 'heirloom:unlocked'));
}

/** Wipes the keys and shows the lock screen. */
export function lockVault(reason: 'button' | 'idle' | 'missing' = 'button'): void {
  wipeKeys();
  setLockedView(true);
  const error = $('[data-unlock-error]');
  setMessage(error, reason === 'idle' ? 'Locked after a while without use. Enter your password to continue.' : null);
  const password = $<HTMLInputElement>('[data-unlock-password]');
  password.value = '';
  password.focus();
}

async function unlock(password: string, userId: string): Promise<UnlockedKeys> {
  await ready();
  const { kdf } = await api<{ kdf: KdfParams }>('GET', '/api/vault/kdf');
  const login = await deriveLoginKeysInWorker(password, kdf);
  try {
    const { keys } = await api<{ keys: StoredKeys }>('POST', '/api/vault/unlock', { authKey: toB64(login.authKey) });
    return openAccountWithKek(login.passwordKek, userId, keys);
  } finally {
    memzero(login.authKey);
    memzero(login.passwordKek);
  }
}

function attachUnlockForm(userId: string): void {
  const form = $<HTMLFormElement>('[data-unlock-form]');
  const input = $<HTMLInputElement>('[data-unlock-password]');
  const error = $('[data-unlock-error]');
  const busy = $('[data-unlock-busy]');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const password = input.value;
    if (!password) {
      setMessage(error, 'Enter your password.');
      input.focus();
      return;
    }
    setMessage(error, null);
    setBusy(form, busy, true);
    await nextFrame();
    try {
      const keys = await unlock(password, userId);
      await storeKeys(keys);
      input.value = '';
      setLockedView(false);
    } catch (err) {
      const wrong = err instanceof ApiError && err.status === 401 && err.code === 'login_failed';
      setMessage(error, wrong ? 'That password is not right. Please try again.' : errorMessage(err));
    } finally {
      setBusy(form, busy, false);
      if (locked) {
        input.select();
        input.focus();
      }
    }
  });
}

function startIdleTimer(): void {
  let lastMark = 0;
  const onActivity = () => {
    const now = Date.now();
    if (locked || now - lastMark < 5_000) return;
    lastMark = now;
    markActive(now);
  };
  for (const name of ACTIVITY_EVENTS) document.addEventListener(name, onActivity, { passive: true, capture: true });
  setInterval(() => {
    if (locked) return;
    const last = lastActive();
    if (last !== null && Date.now() - last > idleMs) lockVault('idle');
  }, CHECK_EVERY_MS);
}

/** Called once per logged-in page load by client/main.ts. */
export function initVault(): void {
  if (!isVaultPage()) return;
  const minutes = Number(document.querySelector<HTMLMetaElement>('meta[name="idle-minutes"]')?.content);
  if (Number.isFinite(minutes) && minutes > 0) idleMs = minutes * 60_000;
  const userId = document.body.dataset.userId ?? '';

  for (const button of $$('[data-action="lock"]')) button.addEventListener('click', () => lockVault('button'));
  for (const form of $$<HTMLFormElement>('[data-logout-form]')) form.addEventListener('submit', () => wipeKeys());
  attachUnlockForm(userId);
  startIdleTimer();
  // Back/forward cache: a page restored after logout or lock in this tab must not show its old content.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted && !locked && !hasStoredKeys()) lockVault('missing');
  });

  const last = lastActive();
  const stale = last !== null && Date.now() - last > idleMs;
  if (!hasStoredKeys() || stale) {
    lockVault(stale ? 'idle' : 'missing');
    return;
  }
  markActive();
  setLockedView(false);
  // The saved keys must still parse and fit together; if not, lock rather than run with broken keys.
  void loadKeys().then((keys) => {
    if (!keys) lockVault('missing');
  });
}

/** The unlocked keys, waiting for the user to unlock if needed. */
export async function whenUnlocked(): Promise<UnlockedKeys> {
  const keys = await loadKeys();
  if (keys && !locked) return keys;
  return new Promise((resolve) => {
    document.addEventListener(
      'heirloom:unlocked',
      () => {
        void loadKeys().then((k) => (k ? resolve(k) : undefined));
      },
      { once: true },
    );
  });
}
