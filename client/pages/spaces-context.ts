/** What the spaces pages load once the vault is unlocked (client/pages/spaces.ts, spaces-manage.ts). */
import { cleanSpaceName, ready, type UnlockedKeys } from '../crypto/index.js';
import { errorMessage } from './api.js';
import { markInvalid, setMessage } from './dom.js';
import { Keyring } from './keyring.js';
import { whenUnlocked } from './lock.js';
import { Trust } from './trust.js';

/** What every change needs: the unlocked keys, whom to trust, and the keys of the spaces. */
export interface SpaceContext {
  keys: UnlockedKeys;
  userId: string;
  trust: Trust;
  keyring: Keyring;
}

/** The newest keyring this page loaded: the only one holding opened space keys. */
let latest: Keyring | null = null;

/**
 * Waits for the vault, then loads the directory and pins (Trust) and opens the space keys (Keyring). Each
 * load reads the server afresh; the keys the previous load opened are overwritten.
 */
export async function loadContext(): Promise<SpaceContext> {
  const keys = await whenUnlocked();
  await ready();
  const userId = document.body.dataset.userId ?? '';
  const trust = await Trust.load(keys, userId);
  const keyring = await Keyring.load(keys, userId, trust);
  latest?.wipe();
  latest = keyring;
  return { keys, userId, trust, keyring };
}

/** The name to show for a space whose name did not open (its `problem` says why, when it is known). */
export const UNREADABLE_NAME = 'A space whose name could not be opened';

/**
 * The keys of spaces stay in this page's memory while it is open. After a lock they must not be used again:
 * once the person unlocks, the page is loaded afresh (with the keys kept for this tab), which also shows any
 * change someone else made meanwhile.
 */
export function reloadAfterLock(): void {
  let locked = false;
  document.addEventListener('heirloom:locked', () => {
    locked = true;
    latest?.wipe();
    latest = null;
  });
  document.addEventListener('heirloom:unlocked', () => {
    if (locked) window.location.reload();
  });
}

/**
 * The name typed into a create or rename form, cleaned (crypto core: cleanSpaceName), or null after saying
 * what is wrong next to the field and putting the cursor back in it.
 */
export function typedSpaceName(input: HTMLInputElement, error: HTMLElement): string | null {
  setMessage(error, null);
  try {
    const name = cleanSpaceName(input.value);
    markInvalid(input, false);
    return name;
  } catch (err) {
    setMessage(error, errorMessage(err));
    markInvalid(input, true);
    input.focus();
    return null;
  }
}
