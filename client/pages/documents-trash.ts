/**
 * The trash (/documents?view=trash): what was deleted, when it goes for good (30 days after, flows.md
 * "Documents"), Restore, Delete forever and Empty trash. Both final steps ask first.
 */
import { api, errorMessage } from './api.js';
import { $, show } from './dom.js';
import { confirmAction } from './confirm.js';
import { formatBytes, formatDate, plural, typeIcon } from './documents-format.js';
import type { DocRecord } from './documents-model.js';
import { PAGE } from './documents-list.js';

export const TRASH_DAYS = 30;
const DAY = 86_400_000;

export interface TrashHooks {
  alert(message: string | null): void;
  usageChanged(): void;
}

export class TrashList {
  #records: DocRecord[] = [];
  #shown = PAGE;
  #ready = false;
  readonly #table: HTMLTableElement;
  readonly #body: HTMLElement;
  readonly #empty: HTMLElement;
  readonly #emptyButton: HTMLButtonElement;
  readonly #more: HTMLButtonElement;
  readonly #count: HTMLElement;

  constructor(
    readonly root: HTMLElement,
    readonly hooks: TrashHooks,
  ) {
    this.#table = $<HTMLTableElement>('[data-trash-table]', root);
    this.#body = $('[data-trash-body]', root);
    this.#empty = $('[data-trash-emptystate]', root);
    this.#emptyButton = $<HTMLButtonElement>('[data-trash-empty]', root);
    this.#more = $<HTMLButtonElement>('[data-trash-more]', root);
    this.#count = $('[data-trash-count]', root);
    this.#more.addEventListener('click', () => {
      this.#shown += PAGE;
      this.#render();
    });
    this.#emptyButton.addEventListener('click', () => void this.#emptyTrash());
    this.#body.addEventListener('click', (e) => {
      const button = e.target instanceof Element ? e.target.closest<HTMLButtonElement>('button[data-trash-action]') : null;
      const id = button?.closest<HTMLElement>('[data-trash-row]')?.dataset.docId;
      const record = id ? this.#records.find((r) => r.view.id === id) : undefined;
      if (!button || !record) return;
      if (button.dataset.trashAction === 'restore') void this.#restore(record, button);
      else void this.#deleteForever(record, button);
    });
  }

  set(records: DocRecord[], decryptMs?: number, complete = true): void {
    this.#records = records.slice().sort((a, b) => (b.view.deletedAt ?? 0) - (a.view.deletedAt ?? 0));
    this.#ready = complete;
    if (decryptMs !== undefined) this.#table.dataset.decryptMs = decryptMs.toFixed(1);
    this.#render();
  }

  clear(): void {
    this.#records = [];
    this.#ready = false;
    this.#body.replaceChildren();
    delete this.#table.dataset.decryptMs;
  }

  #render(): void {
    const total = this.#records.length;
    this.#body.replaceChildren(...this.#records.slice(0, this.#shown).map((r) => this.#row(r)));
    show(this.#table, total > 0);
    show(this.#empty, this.#ready && total === 0);
    this.#emptyButton.disabled = total === 0;
    show(this.#emptyButton, total > 0);
    show(this.#more, total > this.#shown);
    this.#table.dataset.ready = String(this.#ready);
    this.#table.dataset.total = String(total);
    this.#count.textContent = total ? `${plural(total, 'document', 'documents')} in the trash` : '';
  }

  #row(r: DocRecord): HTMLTableRowElement {
    const tr = document.createElement('tr');
    tr.dataset.trashRow = '';
    tr.dataset.docId = r.view.id;
    const deletedAt = r.view.deletedAt ?? Date.now();
    const name = document.createElement('td');
    name.className = 'doc-name';
    const label = document.createElement('span');
    label.className = 'doc-open__label';
    label.dataset.docName = '';
    label.textContent = r.name;
    const wrap = document.createElement('span');
    wrap.className = 'doc-open doc-open--static';
    wrap.append(typeIcon(r.kind, r.name), label);
    name.append(wrap);
    const purge = td(formatDate(deletedAt + TRASH_DAYS * DAY), 'doc-date');
    purge.dataset.trashPurge = String(deletedAt + TRASH_DAYS * DAY);
    const actions = document.createElement('td');
    actions.className = 'doc-actions';
    actions.append(
      button('Restore', 'restore', `Restore ${r.name}`, 'btn btn--small'),
      button('Delete forever', 'delete', `Delete ${r.name} forever`, 'btn btn--small btn--danger-quiet'),
    );
    tr.append(name, td(r.meta ? formatBytes(r.size) : '—', 'doc-size num'), td(formatDate(deletedAt), 'doc-date'), purge, actions);
    return tr;
  }

  #drop(id: string): void {
    this.#records = this.#records.filter((r) => r.view.id !== id);
    this.#render();
  }

  async #restore(r: DocRecord, b: HTMLButtonElement): Promise<void> {
    b.disabled = true;
    this.hooks.alert(null);
    try {
      await api('POST', `/api/documents/${encodeURIComponent(r.view.id)}/restore`);
      this.#drop(r.view.id);
      this.hooks.usageChanged();
    } catch (err) {
      b.disabled = false;
      this.hooks.alert(errorMessage(err));
    }
  }

  async #deleteForever(r: DocRecord, b: HTMLButtonElement): Promise<void> {
    const sure = await confirmAction({
      title: 'Delete this document forever?',
      text: `“${r.name}” will be deleted for good. Nobody, not even your family’s admin, can bring it back.`,
      ok: 'Delete forever',
    });
    if (!sure) return;
    b.disabled = true;
    this.hooks.alert(null);
    try {
      await api('DELETE', `/api/documents/${encodeURIComponent(r.view.id)}`);
      this.#drop(r.view.id);
      this.hooks.usageChanged();
    } catch (err) {
      b.disabled = false;
      this.hooks.alert(errorMessage(err));
    }
  }

  async #emptyTrash(): Promise<void> {
    const n = this.#records.length;
    const sure = await confirmAction({
      title: 'Empty the trash?',
      text: `${plural(n, 'document', 'documents')} will be deleted for good. Nobody, not even your family’s admin, can bring ${n === 1 ? 'it' : 'them'} back.`,
      ok: 'Empty trash',
    });
    if (!sure) return;
    this.#emptyButton.disabled = true;
    this.hooks.alert(null);
    try {
      await api<{ deleted: number }>('POST', '/api/trash/empty');
      this.#records = [];
      this.#render();
      this.hooks.usageChanged();
    } catch (err) {
      this.#emptyButton.disabled = false;
      this.hooks.alert(errorMessage(err));
    }
  }
}

function td(text: string, className: string): HTMLTableCellElement {
  const cell = document.createElement('td');
  cell.className = className;
  cell.textContent = text;
  return cell;
}

function button(text: string, action: string, label: string, className: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.dataset.trashAction = action;
  b.setAttribute('aria-label', label);
  b.textContent = text;
  return b;
}
