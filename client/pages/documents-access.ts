/**
 * "Who has access" in the document panel, for the person's own documents (flows.md "Family, sharing and
 * spaces"): the people it is shared with (GET /api/documents/:id/grants), each with Revoke; Share…; and
 * Move to space… / Remove from space (PUT /api/documents/:id/space, the document key wrapped under the
 * space's current key in this browser: crypto.md "Sharing and spaces").
 */
import { memzero, toB64, wrapDocKeyForSpace, type UnlockedKeys } from '../crypto/index.js';
import { api, errorMessage } from './api.js';
import { $, setMessage, show } from './dom.js';
import { confirmAction } from './confirm.js';
import { formatDate, plural } from './documents-format.js';
import { docKeyOf, recordOf, type DocRecord, type DocumentView } from './documents-model.js';
import { spaceName, type Sharing } from './documents-sharing.js';

export interface AccessHooks {
  userId: string;
  keys(): Promise<UnlockedKeys>;
  /** The family's keys as loaded with the page (throws a sentence when they could not be loaded). */
  sharing(): Promise<Sharing>;
  share(record: DocRecord): void;
  /** The document changed (moved into or out of a space). */
  changed(record: DocRecord): void;
}

interface GrantView {
  recipientId: string;
  username: string;
  createdAt: number;
}

export class AccessSection {
  readonly #section: HTMLElement;
  readonly #summary: HTMLElement;
  readonly #list: HTMLElement;
  readonly #error: HTMLElement;
  readonly #share: HTMLButtonElement;
  readonly #move: HTMLButtonElement;
  readonly #unspace: HTMLButtonElement;
  readonly #moveDialog: HTMLDialogElement;
  readonly #moveForm: HTMLFormElement;
  readonly #moveSelect: HTMLSelectElement;
  readonly #moveError: HTMLElement;
  #record: DocRecord | null = null;
  #grants: GrantView[] = [];
  /** Counts loads, so an answer for a document no longer open is dropped. */
  #loads = 0;

  constructor(
    panel: HTMLElement,
    readonly hooks: AccessHooks,
  ) {
    this.#section = $('[data-doc-sharing]', panel);
    this.#summary = $('[data-doc-access-summary]', panel);
    this.#list = $('[data-doc-access-list]', panel);
    this.#error = $('[data-doc-access-error]', panel);
    this.#share = $<HTMLButtonElement>('[data-doc-share]', panel);
    this.#move = $<HTMLButtonElement>('[data-doc-move]', panel);
    this.#unspace = $<HTMLButtonElement>('[data-doc-unspace]', panel);
    this.#moveDialog = $<HTMLDialogElement>('[data-move-dialog]');
    this.#moveForm = $<HTMLFormElement>('[data-move-form]', this.#moveDialog);
    this.#moveSelect = $<HTMLSelectElement>('[data-move-select]', this.#moveDialog);
    this.#moveError = $('[data-move-error]', this.#moveDialog);

    this.#share.addEventListener('click', () => {
      if (this.#record) hooks.share(this.#record);
    });
    this.#list.addEventListener('click', (e) => {
      const b = e.target instanceof Element ? e.target.closest<HTMLButtonElement>('[data-access-revoke]') : null;
      const grant = b ? this.#grants.find((g) => g.recipientId === b.dataset.accessRevoke) : undefined;
      if (grant) void this.#revoke(grant);
    });
    this.#move.addEventListener('click', () => void this.#openMove());
    this.#unspace.addEventListener('click', () => void this.#leaveSpace());
    $('[data-move-cancel]', this.#moveDialog).addEventListener('click', () => this.#moveDialog.close());
    this.#moveForm.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#moveIntoSpace();
    });
  }

  /** Shows the section for the person's own documents (and loads who has access); hides it for others'. */
  load(record: DocRecord): void {
    this.#record = record;
    this.#grants = [];
    setMessage(this.#error, null);
    this.#list.replaceChildren();
    show(this.#list, false);
    show(this.#section, record.own);
    if (!record.own) return;
    const inSpace = Boolean(record.view.spaceId);
    show(this.#unspace, inSpace);
    this.#unspace.textContent = inSpace ? `Remove from ${record.spaceName ?? 'the space'}` : 'Remove from space';
    this.#move.textContent = inSpace ? 'Move to another space…' : 'Move to space…';
    this.#summary.textContent = 'Checking who has access…';
    void this.refresh();
  }

  reset(): void {
    this.#record = null;
    this.#loads++;
    if (this.#moveDialog.open) this.#moveDialog.close();
  }

  /** Asks the server who the open document is shared with. */
  async refresh(): Promise<void> {
    const r = this.#record;
    if (!r?.own) return;
    const load = ++this.#loads;
    try {
      const { grants } = await api<{ grants: GrantView[] }>('GET', `/api/documents/${encodeURIComponent(r.view.id)}/grants`);
      if (load !== this.#loads) return;
      this.#grants = grants;
      this.#render(r);
    } catch (err) {
      if (load !== this.#loads) return;
      this.#summary.textContent = '';
      setMessage(this.#error, errorMessage(err));
    }
  }

  #render(r: DocRecord): void {
    const n = this.#grants.length;
    const space = r.spaceName ? `Everyone in ${r.spaceName} can open it. ` : '';
    this.#summary.textContent =
      n === 0
        ? `${space}${space ? 'It is not shared with anyone else.' : 'Only you can open this document.'}`
        : `${space}${space ? 'Also shared' : 'Shared'} with ${plural(n, 'person', 'people')}:`;
    this.#list.replaceChildren(
      ...this.#grants.map((g) => {
        const li = document.createElement('li');
        li.className = 'row doc-access__row';
        li.dataset.accessRow = g.recipientId;
        const main = document.createElement('div');
        main.className = 'row__main';
        const name = document.createElement('p');
        name.className = 'row__title';
        name.textContent = g.username;
        const when = document.createElement('p');
        when.className = 'row__meta';
        when.textContent = `Shared on ${formatDate(g.createdAt)}`;
        main.append(name, when);
        const revoke = document.createElement('button');
        revoke.type = 'button';
        revoke.className = 'btn btn--small btn--danger-quiet';
        revoke.dataset.accessRevoke = g.recipientId;
        revoke.textContent = 'Revoke';
        revoke.setAttribute('aria-label', `Stop sharing with ${g.username}`);
        li.append(main, revoke);
        return li;
      }),
    );
    show(this.#list, n > 0);
  }

  async #revoke(g: GrantView): Promise<void> {
    const r = this.#record;
    if (!r) return;
    const ok = await confirmAction({
      title: `Stop sharing with ${g.username}?`,
      text:
        `${g.username} will no longer be able to open “${r.name}” in Heirloom, from now on. ` +
        `If ${g.username} already opened or downloaded it, they may have kept a copy: that cannot be taken back.`,
      ok: 'Stop sharing',
    });
    if (!ok || this.#record !== r) return;
    setMessage(this.#error, null);
    try {
      await api('DELETE', `/api/documents/${encodeURIComponent(r.view.id)}/grants/${encodeURIComponent(g.recipientId)}`);
      await this.refresh();
      this.#summary.textContent = `${g.username} no longer has access. ${this.#summary.textContent ?? ''}`;
    } catch (err) {
      setMessage(this.#error, errorMessage(err));
    }
    this.#share.focus();
  }

  async #openMove(): Promise<void> {
    const r = this.#record;
    if (!r) return;
    setMessage(this.#moveError, null);
    let sharing: Sharing;
    try {
      sharing = await this.hooks.sharing();
    } catch (err) {
      setMessage(this.#error, errorMessage(err));
      return;
    }
    const spaces = sharing.spaces().filter((s) => s.id !== r.view.spaceId);
    this.#moveSelect.replaceChildren(
      ...spaces.map((s) => {
        const o = document.createElement('option');
        o.value = s.id;
        o.textContent = s.stale || s.problem ? `${spaceName(s)} (cannot take new documents now)` : spaceName(s);
        o.disabled = s.stale || Boolean(s.problem);
        return o;
      }),
    );
    const usable = spaces.find((s) => !s.stale && !s.problem);
    if (usable) this.#moveSelect.value = usable.id;
    $<HTMLButtonElement>('[data-move-submit]', this.#moveDialog).disabled = !usable;
    if (!usable) {
      setMessage(
        this.#moveError,
        spaces.length ? 'None of your spaces can take new documents right now.' : 'You are not in any space yet. Spaces are made on the Spaces page.',
      );
    }
    this.#moveDialog.showModal();
    (usable ? this.#moveSelect : $<HTMLButtonElement>('[data-move-cancel]', this.#moveDialog)).focus();
  }

  async #moveIntoSpace(): Promise<void> {
    const r = this.#record;
    if (!r) return;
    setMessage(this.#moveError, null);
    const submit = $<HTMLButtonElement>('[data-move-submit]', this.#moveDialog);
    submit.disabled = true;
    try {
      const sharing = await this.hooks.sharing();
      const space = sharing.space(this.#moveSelect.value);
      if (!space) throw new Error('Choose a space.');
      if (space.stale || space.problem) throw new Error(space.problem ?? 'This space cannot take new documents right now.');
      const g = space.generation;
      const keys = await this.hooks.keys();
      const docKey = docKeyOf(r.view, keys.accountKey, this.hooks.userId);
      let keyWrap: string;
      try {
        keyWrap = toB64(wrapDocKeyForSpace(space.keyOf(g), docKey, r.view.id, space.id, g));
      } finally {
        memzero(docKey);
      }
      const view = await this.#put(r, { spaceId: space.id, generation: g, keyWrap });
      this.#moveDialog.close();
      this.#changed(recordOf(view, r.meta, sharing.origin(view)));
    } catch (err) {
      setMessage(this.#moveError, errorMessage(err));
    } finally {
      submit.disabled = false;
    }
  }

  async #leaveSpace(): Promise<void> {
    const r = this.#record;
    if (!r?.view.spaceId) return;
    const space = r.spaceName ?? 'the space';
    const ok = await confirmAction({
      title: `Take “${r.name}” out of ${space}?`,
      text: `Members of ${space} will no longer be able to open it in Heirloom. Anyone who already opened or downloaded it may have kept a copy.`,
      ok: 'Take it out',
    });
    if (!ok || this.#record !== r) return;
    try {
      const view = await this.#put(r, { spaceId: null });
      const sharing = await this.hooks.sharing().catch(() => null);
      this.#changed(recordOf(view, r.meta, sharing ? sharing.origin(view) : { ...r, spaceName: null }));
    } catch (err) {
      setMessage(this.#error, errorMessage(err));
    }
  }

  async #put(r: DocRecord, body: object): Promise<DocumentView> {
    const { document } = await api<{ document: DocumentView }>('PUT', `/api/documents/${encodeURIComponent(r.view.id)}/space`, body);
    return document;
  }

  #changed(record: DocRecord): void {
    this.hooks.changed(record);
    this.load(record);
    this.#share.focus();
  }
}
