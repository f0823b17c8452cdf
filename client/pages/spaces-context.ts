/** What the spaces pages load once the vault is unlocked (client/pages/spaces.ts, spaces-manage.ts). */
import { ready, type UnlockedKeys } from '../crypto/index.js';
import { Keyring, type OpenSpace } from './keyring.js';
import { whenUnlocked } from './lock.js';
import { Trust } from './trust.js';

/** What every change needs: the unlocked keys, whom to trust, and the keys of the spaces. */
export interface SpaceContext {
  keys: UnlockedKeys;
  userId: string;
  trust: Trust;
  keyring: Keyring;
}

/** Waits for the vault, then loads the directory and pins (Trust) and opens the space keys (Keyring). */
export async function loadContext(): Promise<SpaceContext> {
  const keys = await whenUnlocked();
  await ready();
  const userId = document.body.dataset.userId ?? '';
  const trust = await Trust.load(keys, userId);
  const keyring = await Keyring.load(keys, userId, trust);
  return { keys, userId, trust, keyring };
}

/**
 * The keys of spaces stay in this page's memory while it is open. After a lock they must not be used again:
 * once the person unlocks, the page is loaded afresh (with the keys kept for this tab), which also shows any
 * change someone else made meanwhile.
 */
export function reloadAfterLock(): void {
  let locked = false;
  document.addEventListener('heirloom:locked', () => {
    locked = true;
  });
  document.addEventListener('heirloom:unlocked', () => {
    if (locked) window.location.reload();
  });
}

/** The sentence for a space this browser has seen at a newer key than the server now shows. */
export function staleSentence(space: OpenSpace, seen: number): string {
  return (
    `The server showed this space with an older key (number ${space.generation}) than this browser has already seen ` +
    `(number ${seen}). That can mean the server was tampered with, so changes to this space are turned off. ` +
    'Tell whoever runs your Heirloom.'
  );
}
