/**
 * The unlocked keys of this tab: in memory, and in sessionStorage so a reload stays unlocked while a new tab
 * asks again (flows.md "Login, unlock, lock"). Lock, logout and idle timeout wipe both.
 */
import { exportUnlockedKeys, importUnlockedKeys, ready, wipeUnlockedKeys, type UnlockedKeys } from '../crypto/index.js';

export const KEYS_STORAGE_KEY = 'heirloom.keys';
export const ACTIVE_STORAGE_KEY = 'heirloom.lastActive';

let cached: UnlockedKeys | null = null;

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled: the vault then stays unlocked only until the page is left
  }
}

export function hasStoredKeys(): boolean {
  return cached !== null || Boolean(storage()?.getItem(KEYS_STORAGE_KEY));
}

/** The keys, or null when locked. Saved keys that do not parse or do not fit together are wiped. */
export async function loadKeys(): Promise<UnlockedKeys | null> {
  if (cached) return cached;
  const raw = storage()?.getItem(KEYS_STORAGE_KEY);
  if (!raw) return null;
  await ready();
  try {
    cached = importUnlockedKeys(raw);
    return cached;
  } catch {
    wipeKeys();
    return null;
  }
}

export async function storeKeys(keys: UnlockedKeys): Promise<void> {
  await ready();
  if (cached && cached !== keys) wipeUnlockedKeys(cached);
  cached = keys;
  storage()?.setItem(KEYS_STORAGE_KEY, exportUnlockedKeys(keys));
  markActive();
}

export function wipeKeys(): void {
  if (cached) {
    try {
      wipeUnlockedKeys(cached);
    } catch {
      // libsodium not loaded: nothing was ever unwrapped in this page, so there is nothing to overwrite
    }
  }
  cached = null;
  storage()?.removeItem(KEYS_STORAGE_KEY);
  storage()?.removeItem(ACTIVE_STORAGE_KEY);
}

export function markActive(now = Date.now()): void {
  storage()?.setItem(ACTIVE_STORAGE_KEY, String(now));
}

export function lastActive(): number | null {
  const value = Number(storage()?.getItem(ACTIVE_STORAGE_KEY));
  return Number.isFinite(value) && value > 0 ? value : null;
}
