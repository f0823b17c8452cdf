/**
 * One space (/spaces/:id): its name opened here, and for managers renaming, adding people, making someone a
 * manager and removing people. Every key is sealed and signed in this browser (crypto.md "Sharing and
 * spaces"); the server gets only envelopes. Removing someone renews the space's key: generation g+1 is made
 * here, sealed to each remaining member, the name is locked again under it, and all of it goes to the server
 * in one request, so nobody is ever left between two keys.
 */
import { confirmAction } from './confirm.js';
import { memzero, newSpaceKey, sealSpaceKey, sealSpaceName, toB64 } from '../crypto/index.js';
import { ApiError, api, errorMessage } from './api.js';
import { $, $$, nextFrame, setBusy, setMessage, show } from './dom.js';
import type { OpenSpace } from './keyring.js';
import { renderPicker } from './spaces-picker.js';
import { typedSpaceName, UNREADABLE_NAME, type SpaceContext } from './spaces-context.js';
import { TrustError } from './trust.js';

interface Htmx {
  ajax(method: string, url: string, options: { target: string; swap?: string }): Promise<void>;
}

/** Someone else changed the space between this page's reading and writing: nothing was changed. */
const RACE = 'Someone else changed this space at the same moment, so nothing was changed. Please try again.';

function listNames(names: string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

export function initSpacePage(root: HTMLElement, load: () => Promise<SpaceContext>): void {
  const spaceId = root.dataset.space ?? '';
  const manager = root.dataset.spaceRole === 'manager';
  const title = $('[data-space-title]', root);
  const opening = $('[data-space-opening]', root);
  const alert = $('[data-space-alert]', root);
  const result = $('[data-space-result]', root);

  let ctx: SpaceContext | null = null;
  let space: OpenSpace | undefined;
  /** one change at a time: each reads the space afresh and writes on top of what it read */
  let busy = false;

  const say = (message: string) => {
    setMessage(result, message);
    result.focus();
  };

  /** The space as the server has it now (the keyring loads GET /api/spaces and opens the keys again). */
  const refresh = async () => {
    const fresh = await load();
    ctx = fresh;
    space = fresh.keyring.space(spaceId);
    render();
  };

  /** The space's problem shown in the page's alert, cleared once it is gone (an error of a change stays). */
  let shownProblem: string | null = null;
  const showProblem = (problem: string | null) => {
    if (problem) setMessage(alert, problem);
    else if (shownProblem !== null && alert.textContent === shownProblem) setMessage(alert, null);
    shownProblem = problem;
  };

  const render = () => {
    if (!ctx) return;
    if (!space) {
      title.textContent = 'A space Heirloom could not open';
      showProblem('This browser could not open the key of this space. Ask one of its managers to add you again.');
      showManagement(false);
      return;
    }
    title.textContent = space.name ?? UNREADABLE_NAME;
    document.title = `${space.name ?? 'Space'} — Heirloom`;
    // stale, or the current key did not open: show why, and change nothing
    if (space.stale || space.problem) {
      const stale = space.stale ? ' Until then nobody can be added, removed or made a manager here. Tell whoever runs your Heirloom.' : '';
      showProblem(`${space.problem ?? 'This space cannot be changed right now.'}${stale}`);
      showManagement(false);
      return;
    }
    showProblem(null);
    showManagement(manager);
    if (!manager) return;
    const nameInput = root.querySelector<HTMLInputElement>('[data-space-name-input]');
    if (nameInput && document.activeElement !== nameInput) nameInput.value = space.name ?? '';
    const list = $('[data-space-picker]', root);
    const count = renderPicker(list, ctx.trust, new Set(space.members.map((m) => m.userId)));
    show($('[data-space-picker-empty]', root), count === 0);
    show($('[data-space-add-submit]', root), count > 0);
  };

  const showManagement = (visible: boolean) => {
    for (const el of $$('[data-space-rename], [data-space-add]', root)) show(el, visible);
    for (const button of $$<HTMLButtonElement>('[data-space-remove], [data-space-promote]', root)) button.disabled = !visible;
  };

  /** The members list as the server renders it, swapped in place. */
  const refreshMembers = async () => {
    const htmx = (window as unknown as { htmx?: Htmx }).htmx;
    if (htmx) await htmx.ajax('GET', `/spaces/${encodeURIComponent(spaceId)}/members`, { target: '#space-members', swap: 'outerHTML' });
  };

  // the buttons in the members list are swapped by htmx: listen on the page instead
  showManagement(false);
  root.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const remove = target?.closest<HTMLButtonElement>('[data-space-remove]');
    const promote = target?.closest<HTMLButtonElement>('[data-space-promote]');
    if (remove) void guarded(() => removeMember(remove.dataset.spaceRemove ?? ''));
    else if (promote) void guarded(() => promoteMember(promote.dataset.spacePromote ?? ''));
  });
  // after htmx swapped the members list: its buttons follow the page's state
  document.body.addEventListener('htmx:afterSettle', () => {
    if (ctx) render();
  });

  /** Runs one change at a time; its failure is shown in `errorEl` (the form's own, or the page's). */
  const guarded = async (change: () => Promise<void>, errorEl: HTMLElement = alert) => {
    if (busy) return;
    busy = true;
    setMessage(result, null);
    setMessage(errorEl, null);
    root.setAttribute('aria-busy', 'true');
    try {
      await change();
    } catch (err) {
      const message = err instanceof ApiError && err.code === 'stale_generation' ? RACE : errorMessage(err);
      // show the space as it is now, then what went wrong
      await refresh().catch(() => undefined);
      await refreshMembers().catch(() => undefined);
      setMessage(errorEl, message);
      errorEl.scrollIntoView({ block: 'nearest' });
    } finally {
      busy = false;
      root.removeAttribute('aria-busy');
    }
  };

  const usernameOf = (userId: string) =>
    space?.members.find((m) => m.userId === userId)?.username ??
    root.querySelector<HTMLElement>(`[data-member-id="${CSS.escape(userId)}"]`)?.dataset.memberUsername ??
    'this person';

  /** Fresh from the server, and never written to when it is stale or could not be opened. */
  const current = async (): Promise<{ ctx: SpaceContext; space: OpenSpace }> => {
    await refresh();
    if (!ctx || !space || space.stale || space.problem) throw new Error(space?.problem ?? 'This space cannot be changed right now.');
    return { ctx, space };
  };

  // Remove -------------------------------------------------------------------------------------------------
  const removeMember = async (userId: string) => {
    const name = usernameOf(userId);
    const ok = await confirmAction({
      title: `Remove ${name} from this space?`,
      text: [
        `${name} will lose access through Heirloom at once.`,
        'What they may still have: anything they downloaded or opened, and the keys to the documents already in this ' +
          'space. With an old copy of those files they could still read them.',
        'Documents added from now on will use a new key that they never get.',
      ],
      ok: `Remove ${name}`,
      danger: true,
    });
    if (!ok) return;
    const { ctx: c, space: s } = await current();
    if (s.name === null) {
      throw new Error('Nobody was removed: this space’s name could not be opened, so it cannot be locked under the new key. Give the space a name first.');
    }
    const spaceName = s.name;
    const remaining = s.members.filter((m) => m.userId !== userId);
    if (remaining.length === s.members.length) {
      await refreshMembers();
      say(`${name} is no longer in this space.`);
      return;
    }
    // every remaining member's key is checked before anything is made: one blocked person stops it all
    let targets: { memberId: string; boxPk: Uint8Array }[];
    try {
      targets = remaining.map((m) => ({ memberId: m.userId, boxPk: stayingMemberKey(c, m.userId) }));
    } catch (err) {
      if (err instanceof TrustError) throw new Error(`Nobody was removed. The space’s new key must go to everyone who stays, and ${err.message}`);
      throw err;
    }
    const g = s.generation + 1;
    await nextFrame();
    const spaceKey = newSpaceKey();
    try {
      const keys = targets.map(({ memberId, boxPk }) => {
        const seal = sealSpaceKey(spaceKey, spaceId, memberId, g, boxPk, c.keys.signSk);
        return { memberId, sealed: toB64(seal.sealed), sig: toB64(seal.sig) };
      });
      const sealedName = toB64(sealSpaceName(spaceKey, spaceId, g, spaceName));
      await api('POST', `/api/spaces/${encodeURIComponent(spaceId)}/members/${encodeURIComponent(userId)}/remove`, {
        generation: g,
        name: sealedName,
        keys,
      });
    } finally {
      memzero(spaceKey);
    }
    // from now on a server that shows this space with an older key is caught
    await c.trust.noteSpaceGeneration(spaceId, g);
    await refresh();
    await refreshMembers();
    say(
      `${name} was removed from this space, and their access through Heirloom has ended. ` +
        'They may still have anything they downloaded or opened, and the keys to the documents that were in this space ' +
        'until now: with an old copy of those files they could still read them. Documents added from now on use a new key they never get.',
    );
  };

  // Make manager -------------------------------------------------------------------------------------------
  const promoteMember = async (userId: string) => {
    const name = usernameOf(userId);
    const ok = await confirmAction({
      title: `Make ${name} a manager?`,
      text: [`${name} will be able to rename this space and add or remove people, you included.`],
      ok: `Make ${name} a manager`,
      danger: false,
    });
    if (!ok) return;
    await api('PUT', `/api/spaces/${encodeURIComponent(spaceId)}/members/${encodeURIComponent(userId)}/role`, { role: 'manager' });
    await refresh();
    await refreshMembers();
    say(`${name} is now a manager of this space.`);
  };

  // Rename -------------------------------------------------------------------------------------------------
  const renameForm = root.querySelector<HTMLFormElement>('[data-space-rename-form]');
  if (renameForm) {
    const input = $<HTMLInputElement>('[data-space-name-input]', renameForm);
    const error = $('[data-space-rename-error]', renameForm);
    renameForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const name = typedSpaceName(input, error);
      if (name === null) return;
      void guarded(async () => {
        setBusy(renameForm, null, true);
        try {
          const { space: s } = await current();
          const g = s.generation;
          const sealed = toB64(sealSpaceName(s.keyOf(g), spaceId, g, name));
          await api('PUT', `/api/spaces/${encodeURIComponent(spaceId)}/name`, { name: sealed, generation: g });
          await refresh();
          say(`This space is now called “${name}”.`);
        } finally {
          setBusy(renameForm, null, false);
        }
      }, error);
    });
  }

  // Add people ---------------------------------------------------------------------------------------------
  const addForm = root.querySelector<HTMLFormElement>('[data-space-add-form]');
  if (addForm) {
    const error = $('[data-space-add-error]', addForm);
    const addBusy = $('[data-space-add-busy]', addForm);
    addForm.addEventListener('submit', (event) => {
      event.preventDefault();
      setMessage(error, null);
      const chosen = $$<HTMLInputElement>('input[name="userId"]:checked', addForm).map((i) => i.value);
      if (chosen.length === 0) {
        setMessage(error, 'Tick at least one person to add.');
        addForm.querySelector<HTMLInputElement>('input[name="userId"]:not(:disabled)')?.focus();
        return;
      }
      void guarded(async () => {
        setBusy(addForm, addBusy, true);
        const added: string[] = [];
        try {
          await nextFrame();
          const { ctx: c, space: s } = await current();
          for (const userId of chosen) {
            const name = c.trust.member(userId)?.username ?? 'this person';
            if (s.members.some((m) => m.userId === userId)) continue;
            const { boxPk } = c.trust.keysFor(userId);
            // a new member gets every generation, so they can open the documents already in the space
            const keys = [];
            for (let g = 1; g <= s.generation; g++) {
              const seal = sealSpaceKey(s.keyOf(g), spaceId, userId, g, boxPk, c.keys.signSk);
              keys.push({ generation: g, sealed: toB64(seal.sealed), sig: toB64(seal.sig) });
            }
            await api('POST', `/api/spaces/${encodeURIComponent(spaceId)}/members`, { userId, role: 'member', keys });
            added.push(name);
          }
        } catch (err) {
          const done = added.length > 0 ? ` (${listNames(added)} ${added.length === 1 ? 'was' : 'were'} added.)` : '';
          throw new Error(`${errorMessage(err)}${done}`);
        } finally {
          setBusy(addForm, addBusy, false);
          if (added.length > 0) {
            await refresh().catch(() => undefined);
            await refreshMembers().catch(() => undefined);
          }
        }
        say(
          added.length > 0
            ? `${listNames(added)} can now see and open every document in this space.`
            : 'They are already in this space.',
        );
      }, error);
    });
  }

  // First load ---------------------------------------------------------------------------------------------
  void (async () => {
    try {
      await refresh();
      if (manager && space && !space.stale && new URLSearchParams(window.location.search).has('created')) {
        setMessage(result, `“${space.name}” is ready. Now add the people who should see it.`);
        $('#space-add-title', root).focus();
      }
    } catch (err) {
      setMessage(alert, errorMessage(err));
    } finally {
      show(opening, false);
    }
  })();
}

/**
 * The key to seal a space's new key to, for someone who stays in it: trust.ts's rules, with one exception. A
 * member whose account the admin disabled is still a member (the server asks for a key for every remaining
 * member), so they get the new key like the others, as long as their key is the one pinned: were they left
 * out, nobody could be removed from a space that holds a disabled account. Nobody new is ever added while
 * disabled (the picker and keysFor refuse that).
 */
function stayingMemberKey(c: SpaceContext, memberId: string): Uint8Array {
  if (memberId === c.userId) return c.keys.boxPk;
  const m = c.trust.member(memberId);
  if (m?.disabled && (m.state === 'verified' || m.state === 'seen')) return m.boxPk;
  return c.trust.keysFor(memberId).boxPk;
}
