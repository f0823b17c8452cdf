/**
 * The documents table: search by name, filter by tag, sort by any column, all in the page. Only the first
 * PAGE rows of the current order are in the DOM ("Show more" adds the next ones), so 10,000 documents cost
 * a filter and a sort per keystroke, never 10,000 table rows. Each row has a checkbox; what is ticked is
 * the selection the selection bar acts on (documents-select.ts). The place chosen above the list (all
 * documents, the person's own, shared with them, one space: documents-places.ts) narrows what search, tags
 * and counts work on.
 */
import { $, $$, show } from './dom.js';
import { formatBytes, formatDate, plural, typeIcon } from './documents-format.js';
import type { DocRecord } from './documents-model.js';

export const PAGE = 200;

type SortKey = 'name' | 'type' | 'size' | 'added' | 'tags';
type Dir = 1 | -1;

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
const FIRST_DIR: Record<SortKey, Dir> = { name: 1, type: 1, size: -1, added: -1, tags: 1 };

function compare(key: SortKey): (a: DocRecord, b: DocRecord) => number {
  switch (key) {
    case 'name':
      return (a, b) => collator.compare(a.name, b.name);
    case 'type':
      return (a, b) => collator.compare(a.typeLabel, b.typeLabel) || collator.compare(a.name, b.name);
    case 'size':
      return (a, b) => a.size - b.size;
    case 'added':
      return (a, b) => a.view.createdAt - b.view.createdAt;
    case 'tags':
      return (a, b) => collator.compare(a.tags.join(' '), b.tags.join(' ')) || collator.compare(a.name, b.name);
  }
}

export class DocumentList {
  #records: DocRecord[] = [];
  #visible: DocRecord[] = [];
  #shown = PAGE;
  #query = '';
  #tag = '';
  #sort: SortKey = 'added';
  #dir: Dir = -1;
  #ready = false;
  /** The chosen place: the records it holds are the ones searched, filtered by tag and counted. */
  #place: (r: DocRecord) => boolean = () => true;
  #placeRecords: DocRecord[] = [];
  #emptyText: () => string = () => '';
  /** Told after every change to the records (the place switcher counts them). */
  onRecordsChanged: (records: readonly DocRecord[]) => void = () => undefined;
  /** IDs of the ticked documents, kept across searches, sorts and re-renders. */
  readonly #selected = new Set<string>();
  readonly #selectAll: HTMLInputElement;
  readonly #table: HTMLTableElement;
  readonly #body: HTMLElement;
  readonly #search: HTMLInputElement;
  readonly #tags: HTMLElement;
  readonly #count: HTMLElement;
  readonly #more: HTMLButtonElement;
  readonly #empty: HTMLElement;
  readonly #noMatch: HTMLElement;
  readonly #tools: HTMLElement;
  readonly #placeEmpty: HTMLElement;

  constructor(
    readonly root: HTMLElement,
    readonly onOpen: (record: DocRecord) => void,
    readonly onSelect: (selected: DocRecord[]) => void = () => undefined,
  ) {
    this.#table = $<HTMLTableElement>('[data-docs-table]', root);
    this.#body = $('[data-docs-body]', root);
    this.#search = $<HTMLInputElement>('[data-docs-search]', root);
    this.#tags = $('[data-docs-tags]', root);
    this.#count = $('[data-docs-count]', root);
    this.#more = $<HTMLButtonElement>('[data-docs-more]', root);
    this.#empty = $('[data-docs-empty]', root);
    this.#noMatch = $('[data-docs-nomatch]', root);
    this.#tools = $('[data-docs-tools]', root);
    this.#selectAll = $<HTMLInputElement>('[data-docs-select-all]', root);
    this.#placeEmpty = $('[data-docs-place-empty]', root);

    this.#search.addEventListener('input', () => {
      this.#query = this.#search.value.trim().toLowerCase();
      this.#refresh();
    });
    this.#tags.addEventListener('click', (e) => {
      const chip = e.target instanceof Element ? e.target.closest<HTMLElement>('[data-tag-filter]') : null;
      if (!chip) return;
      const tag = chip.dataset.tagFilter ?? '';
      this.#tag = this.#tag === tag ? '' : tag;
      this.#renderTags();
      this.#refresh();
    });
    for (const button of $$<HTMLButtonElement>('[data-sort]', this.#table)) {
      button.addEventListener('click', () => {
        const key = button.dataset.sort as SortKey;
        if (this.#sort === key) this.#dir = this.#dir === 1 ? -1 : 1;
        else [this.#sort, this.#dir] = [key, FIRST_DIR[key]];
        this.#refresh();
      });
    }
    this.#more.addEventListener('click', () => {
      const from = this.#shown;
      this.#shown += PAGE;
      this.#renderRows(from);
    });
    this.#selectAll.addEventListener('change', () => {
      const on = this.#selectAll.checked;
      for (const r of this.#visible) {
        if (on) this.#selected.add(r.view.id);
        else this.#selected.delete(r.view.id);
      }
      for (const box of $$<HTMLInputElement>('[data-doc-select]', this.#body)) box.checked = on;
      this.#selectionChanged();
    });
    this.#body.addEventListener('change', (e) => {
      const box = e.target instanceof HTMLInputElement && e.target.matches('[data-doc-select]') ? e.target : null;
      const id = box?.closest<HTMLElement>('[data-doc-row]')?.dataset.docId;
      if (!box || !id) return;
      if (box.checked) this.#selected.add(id);
      else this.#selected.delete(id);
      this.#selectionChanged();
    });
    this.#body.addEventListener('click', (e) => {
      // a click on the checkbox (or around it, in its cell) ticks it; anywhere else in the row opens the document
      if (e.target instanceof Element && e.target.closest('.doc-select-cell')) return;
      const row = e.target instanceof Element ? e.target.closest<HTMLElement>('[data-doc-row]') : null;
      const record = row ? this.#records.find((r) => r.view.id === row.dataset.docId) : undefined;
      if (record) this.onOpen(record);
    });
  }

  get records(): readonly DocRecord[] {
    return this.#records;
  }

  /** Shows only the records of one place (and says `emptyText()` when it holds none; '' for the vault's own). */
  setPlace(place: (r: DocRecord) => boolean, emptyText: () => string): void {
    this.#place = place;
    this.#emptyText = emptyText;
    this.#renderTags();
    this.#refresh();
  }

  /** The ticked documents, in the list's current order (filtered-out ones last). */
  get selected(): DocRecord[] {
    const shown = this.#visible.filter((r) => this.#selected.has(r.view.id));
    if (shown.length === this.#selected.size) return shown;
    const inView = new Set(shown.map((r) => r.view.id));
    return shown.concat(this.#records.filter((r) => this.#selected.has(r.view.id) && !inView.has(r.view.id)));
  }

  clearSelection(): void {
    this.#selected.clear();
    for (const box of $$<HTMLInputElement>('[data-doc-select]', this.#body)) box.checked = false;
    this.#selectionChanged();
  }

  #selectionChanged(): void {
    // IDs of documents no longer in the list (trashed, or gone after a reload) are not selected any more
    if (this.#selected.size) {
      const ids = new Set(this.#records.map((r) => r.view.id));
      for (const id of this.#selected) if (!ids.has(id)) this.#selected.delete(id);
    }
    const ticked = this.#visible.reduce((n, r) => n + (this.#selected.has(r.view.id) ? 1 : 0), 0);
    this.#selectAll.checked = ticked > 0 && ticked === this.#visible.length;
    this.#selectAll.indeterminate = ticked > 0 && ticked < this.#visible.length;
    this.#table.dataset.selected = String(this.#selected.size);
    this.onSelect(this.selected);
  }

  set(records: DocRecord[], decryptMs?: number, complete = true): void {
    this.#records = records;
    this.#ready = complete;
    if (decryptMs !== undefined) {
      this.#table.dataset.decryptMs = decryptMs.toFixed(1);
      this.#table.dataset.decryptCount = String(records.length);
    }
    this.#renderTags();
    this.#refresh();
  }

  /**
   * New documents go to the top of the list, whatever the order (people look for what they just added).
   * Several at once (the uploads finished since the last frame) cost one sort and one render.
   */
  add(...records: DocRecord[]): void {
    if (records.length === 0) return;
    this.#records = records.concat(this.#records);
    this.#renderTags();
    if (this.#query || this.#tag || this.#sort !== 'added' || this.#dir !== -1 || !this.#ready || !records.every(this.#place)) {
      this.#refresh(records.map((r) => r.view.id));
      return;
    }
    // Newest first and nothing filtered (the usual view during a drop): the new rows go on top and the rows
    // already there stay as they are, instead of the whole page of rows being built again each time.
    this.#visible = records.concat(this.#visible);
    this.#body.prepend(...records.slice(0, this.#shown).map((r) => this.#row(r)));
    while (this.#body.children.length > this.#shown) this.#body.lastElementChild?.remove();
    this.#renderState();
    this.#selectionChanged();
  }

  replace(record: DocRecord): void {
    const i = this.#records.findIndex((r) => r.view.id === record.view.id);
    if (i >= 0) this.#records[i] = record;
    this.#renderTags();
    this.#refresh();
  }

  remove(id: string): DocRecord | undefined {
    const i = this.#records.findIndex((r) => r.view.id === id);
    const [removed] = i >= 0 ? this.#records.splice(i, 1) : [];
    this.#renderTags();
    this.#refresh();
    return removed;
  }

  /** Locked: forget every name, show nothing. */
  clear(): void {
    this.#records = [];
    this.#placeRecords = [];
    this.#visible = [];
    this.#selected.clear();
    this.#selectionChanged();
    this.#ready = false;
    this.#body.replaceChildren();
    this.#tags.replaceChildren();
    delete this.#table.dataset.decryptMs;
    delete this.#table.dataset.ready;
  }

  #refresh(pinnedIds: string[] = []): void {
    const q = this.#query;
    const tag = this.#tag;
    let visible = this.#placeRecords;
    if (q || tag) visible = visible.filter((r) => (!q || r.search.includes(q)) && (!tag || r.tags.includes(tag)));
    const cmp = compare(this.#sort);
    const dir = this.#dir;
    visible = visible === this.#placeRecords ? visible.slice() : visible;
    visible.sort((a, b) => dir * cmp(a, b) || (a.view.id < b.view.id ? -1 : 1));
    if (pinnedIds.length) {
      const pinned = new Set(pinnedIds);
      const order = new Map(pinnedIds.map((id, i) => [id, i]));
      const top = visible.filter((r) => pinned.has(r.view.id)).sort((a, b) => (order.get(a.view.id) ?? 0) - (order.get(b.view.id) ?? 0));
      if (top.length) visible = top.concat(visible.filter((r) => !pinned.has(r.view.id)));
    }
    this.#visible = visible;
    this.#shown = PAGE;
    for (const th of $$('th[data-col]', this.#table)) {
      const on = th.dataset.col === this.#sort;
      th.setAttribute('aria-sort', on ? (dir === 1 ? 'ascending' : 'descending') : 'none');
    }
    this.#renderRows(0);
    this.#selectionChanged();
  }

  #renderRows(from: number): void {
    const rows = this.#visible.slice(from, this.#shown).map((r) => this.#row(r));
    if (from === 0) this.#body.replaceChildren(...rows);
    else this.#body.append(...rows);
    this.#renderState();
  }

  /** Everything around the rows: counts, "Show more", the empty and no-match notes, the table's data-*. */
  #renderState(): void {
    const all = this.#records.length;
    const total = this.#placeRecords.length;
    const showing = Math.min(this.#shown, this.#visible.length);
    // the vault's own empty state only when there is nothing at all; a place of its own says what it is for
    const placeEmpty = this.#ready && total === 0 ? this.#emptyText() : '';
    this.#placeEmpty.textContent = placeEmpty;
    show(this.#empty, this.#ready && all === 0 && !placeEmpty);
    show(this.#placeEmpty, Boolean(placeEmpty));
    show(this.#tools, total > 0);
    show(this.#table, total > 0 && this.#visible.length > 0);
    show(this.#noMatch, total > 0 && this.#visible.length === 0);
    show(this.#more, this.#visible.length > showing);
    this.#more.textContent = `Show ${Math.min(PAGE, this.#visible.length - showing).toLocaleString()} more`;
    this.#table.dataset.ready = this.#ready ? 'true' : total ? 'partial' : 'false';
    this.#table.dataset.total = String(total);
    this.#table.dataset.all = String(all);
    this.#table.dataset.matching = String(this.#visible.length);
    this.#table.dataset.rendered = String(showing);
    const filtered = this.#query || this.#tag;
    this.#count.textContent = !total
      ? ''
      : !this.#ready
        ? 'Opening the rest of the documents…'
      : filtered
        ? `${plural(this.#visible.length, 'document matches', 'documents match')} of ${total.toLocaleString()}`
        : showing < total
          ? `Showing ${showing.toLocaleString()} of ${plural(total, 'document', 'documents')}`
          : plural(total, 'document', 'documents');
  }

  #row(r: DocRecord): HTMLTableRowElement {
    const tr = document.createElement('tr');
    tr.dataset.docRow = '';
    tr.dataset.docId = r.view.id;
    const pick = document.createElement('td');
    pick.className = 'doc-select-cell';
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.className = 'doc-select';
    box.dataset.docSelect = '';
    box.checked = this.#selected.has(r.view.id);
    box.setAttribute('aria-label', `Select ${r.name}`);
    pick.append(box);
    const name = document.createElement('td');
    name.className = 'doc-name';
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'doc-open';
    button.dataset.docOpen = '';
    button.append(typeIcon(r.kind, r.name));
    const label = document.createElement('span');
    label.className = 'doc-open__label';
    label.dataset.docName = '';
    label.textContent = r.name;
    button.append(label);
    name.append(button);
    const origin = originLine(r);
    if (origin) {
      const line = document.createElement('span');
      line.className = r.problem ? 'doc-origin doc-origin--problem' : 'doc-origin';
      line.dataset.docOrigin = '';
      line.textContent = origin;
      name.append(line);
    }
    if (!r.own) tr.dataset.docOthers = '';
    if (r.problem) tr.dataset.docProblem = '';
    if (!r.meta) tr.dataset.docDamaged = '';
    const type = cell(r.typeLabel, 'doc-type');
    type.dataset.docType = '';
    const size = cell(r.meta ? formatBytes(r.size) : '—', 'doc-size num');
    size.dataset.docSize = '';
    const added = cell(formatDate(r.view.createdAt), 'doc-date');
    added.dataset.docAdded = '';
    const tags = document.createElement('td');
    tags.className = 'doc-tags';
    tags.dataset.docTags = '';
    for (const t of r.tags) {
      const chip = document.createElement('span');
      chip.className = 'tag';
      chip.textContent = t;
      tags.append(chip);
    }
    tr.append(pick, name, type, size, added, tags);
    return tr;
  }

  #renderTags(): void {
    const counts = new Map<string, number>();
    this.#placeRecords = this.#records.filter(this.#place);
    this.onRecordsChanged(this.#records);
    for (const r of this.#placeRecords) for (const t of r.tags) counts.set(t, (counts.get(t) ?? 0) + 1);
    if (this.#tag && !counts.has(this.#tag)) this.#tag = '';
    const names = [...counts.keys()].sort(collator.compare);
    show(this.#tags, names.length > 0);
    if (!names.length) {
      this.#tags.replaceChildren();
      return;
    }
    const label = document.createElement('span');
    label.className = 'tag-filter__label';
    label.textContent = 'Tags:';
    const chips = [['', 'All'] as const, ...names.map((n) => [n, n] as const)].map(([value, text]) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'chip';
      b.dataset.tagFilter = value;
      b.setAttribute('aria-pressed', String(this.#tag === value));
      b.textContent = text;
      if (value) {
        const n = document.createElement('span');
        n.className = 'chip__count';
        n.textContent = String(counts.get(value) ?? 0);
        b.append(n);
      }
      return b;
    });
    this.#tags.replaceChildren(label, ...chips);
  }
}

/** The small line under a name: who shared it, which space it is in, or why it cannot be opened. */
export function originLine(r: DocRecord): string {
  if (r.problem) return r.problem;
  const parts: string[] = [];
  if (r.sharedBy) parts.push(`Shared by ${r.sharedBy}`);
  if (r.spaceName) parts.push(`In ${r.spaceName}`);
  if (r.spaceName && r.addedBy) parts.push(`added by ${r.addedBy}`);
  return parts.join(' · ');
}

function cell(text: string, className: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.className = className;
  td.textContent = text;
  return td;
}
