/** Dashboard: shows the user's fingerprint words once the vault is unlocked (crypto.md "Fingerprints"). */
import { fingerprint } from '../crypto/index.js';
import { $ } from './dom.js';
import { whenUnlocked } from './lock.js';

export function init(): void {
  const target = $('[data-fingerprint]');
  const render = async () => {
    const keys = await whenUnlocked();
    const fp = fingerprint(keys.signPk, keys.boxPk);
    target.textContent = fp.words.join(' ');
    target.title = fp.hex;
    target.dataset.fingerprintHex = fp.hex;
  };
  void render();
  document.addEventListener('heirloom:unlocked', () => void render());
  document.addEventListener('heirloom:locked', () => {
    target.textContent = 'Shown when your vault is unlocked.';
    delete target.dataset.fingerprintHex;
  });
}
