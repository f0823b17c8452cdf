/**
 * Spaces pages (flows.md "Family, sharing and spaces"): /spaces lists the spaces a person is in and creates
 * new ones; /spaces/:id (spaces-manage.ts) renames a space and adds, promotes and removes people. The server
 * renders who is in each space; this browser opens the names with the space keys (keyring.ts) and makes,
 * seals and signs every key itself (crypto.md "Sharing and spaces").
 */
import { memzero, newSpaceKey, sealSpaceKey, sealSpaceName, toB64, type UnlockedKeys } from '../crypto/index.js';
import { api, errorMessage } from './api.js';
import { $, $$, nextFrame, setBusy, setMessage, show } from './dom.js';
import { loadContext, reloadAfterLock, typedSpaceName, UNREADABLE_NAME, type SpaceContext } from './spaces-context.js';
import { initSpacePage } from './spaces-manage.js';

export function init(): void {
  reloadAfterLock();
  const spaceRoot = document.querySelector<HTMLElement>('[data-space]');
  if (spaceRoot) {
    initSpacePage(spaceRoot, loadContext);
    return;
  }
  const context = loadContext();
  // the form waits for the same load; an error is shown when it is used
  context.catch(() => undefined);
  attachCreateForm(context);
  void openNames(context);
}

/** Puts each space's name into its row, and says so when a space cannot be trusted or opened. */
async function openNames(context: Promise<SpaceContext>): Promise<void> {
  const rows = $$('[data-space-row]');
  if (rows.length === 0) return;
  const opening = $('[data-spaces-opening]');
  const alert = $('[data-spaces-alert]');
  try {
    const { keyring } = await context;
    for (const row of rows) {
      const id = row.dataset.spaceRow ?? '';
      const nameEl = $('[data-space-name]', row);
      const warning = $('[data-space-warning]', row);
      const space = keyring.space(id);
      if (!space) {
        nameEl.textContent = 'A space Heirloom could not open';
        setMessage(warning, 'This browser could not open the key of this space. Ask one of its managers to add you again.');
        continue;
      }
      nameEl.textContent = space.name ?? UNREADABLE_NAME;
      setMessage(warning, space.problem);
    }
    // the server cannot sort by a name it cannot read: the list is put in order here, once names are open
    const byName = [...rows].sort((a, b) => nameOf(a).localeCompare(nameOf(b), undefined, { sensitivity: 'base' }));
    rows[0]?.parentElement?.append(...byName);
  } catch (err) {
    setMessage(alert, errorMessage(err));
  } finally {
    show(opening, false);
  }
}

const nameOf = (row: HTMLElement) => row.querySelector('[data-space-name]')?.textContent ?? '';

function attachCreateForm(context: Promise<SpaceContext>): void {
  const form = $<HTMLFormElement>('[data-space-create-form]');
  const input = $<HTMLInputElement>('[data-space-create-name]', form);
  const error = $('[data-space-create-error]', form);
  const busy = $('[data-space-create-busy]', form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const name = typedSpaceName(input, error);
    if (name === null) return;
    setBusy(form, busy, true);
    await nextFrame();
    let created = false;
    try {
      const { keys, userId, trust } = await context;
      const id = await createSpace(keys, userId, name);
      created = true;
      // remembered so a server that later shows no key, or an older one, is caught; if saving fails now the
      // keyring notes it on the next load, so the space is not lost for it
      await trust.noteSpaceGeneration(id, 1).catch(() => undefined);
      window.location.assign(`/spaces/${encodeURIComponent(id)}?created=1`);
    } catch (err) {
      setMessage(error, errorMessage(err));
    } finally {
      if (!created) {
        setBusy(form, busy, false);
        input.focus();
      }
    }
  });
}

/**
 * A new space: a random key of generation 1, sealed to its creator and signed by them, and the name locked
 * under it. Returns the new space's ID.
 */
async function createSpace(keys: UnlockedKeys, userId: string, name: string): Promise<string> {
  const id = crypto.randomUUID();
  const spaceKey = newSpaceKey();
  try {
    const sealedName = sealSpaceName(spaceKey, id, 1, name);
    const own = sealSpaceKey(spaceKey, id, userId, 1, keys.boxPk, keys.signSk);
    await api('POST', '/api/spaces', {
      id,
      name: toB64(sealedName),
      keys: [{ generation: 1, sealed: toB64(own.sealed), sig: toB64(own.sig) }],
    });
    return id;
  } finally {
    memzero(spaceKey);
  }
}
