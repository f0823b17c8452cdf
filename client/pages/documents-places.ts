/**
 * Where the documents page is looking (flows.md "Family, sharing and spaces"): all documents, the person's
 * own, those shared with them, or one space. A <select> above the list, each choice with its count; the
 * address keeps the choice (?space=<id>, as the Spaces page links to it, or ?show=mine|shared), and new
 * documents go where the person is looking: into the space shown, otherwise to their own documents.
 */
import { $, show } from './dom.js';
import type { DocRecord } from './documents-model.js';
import { spaceName, type OpenSpace } from './documents-sharing.js';

export type PlaceKey = 'all' | 'mine' | 'shared' | `space:${string}`;

/** Where new documents go when the place is a space (its current key, checked by the keyring). */
export interface SpaceTarget {
  spaceId: string;
  name: string;
  generation: number;
  key: Uint8Array;
}

const spaceKey = (id: string): PlaceKey => `space:${id}`;

export class Places {
  readonly #box: HTMLElement;
  readonly #select: HTMLSelectElement;
  readonly #target: HTMLElement;
  readonly #warning: HTMLElement;
  #key: PlaceKey = 'all';
  #spaces: OpenSpace[] = [];
  #spacesKnown = false;
  #counts = new Map<PlaceKey, number>();

  constructor(
    root: HTMLElement,
    readonly changed: () => void,
  ) {
    this.#box = $('[data-docs-place]', root);
    this.#select = $<HTMLSelectElement>('[data-docs-place-select]', root);
    this.#target = $('[data-upload-target]', root);
    this.#warning = $('[data-docs-place-warning]', root);
    const params = new URLSearchParams(location.search);
    const space = params.get('space');
    const showing = params.get('show');
    if (space) this.#key = spaceKey(space);
    else if (showing === 'mine' || showing === 'shared') this.#key = showing;
    this.#select.addEventListener('change', () => {
      this.#key = this.#select.value as PlaceKey;
      this.#remember();
      this.#render();
      this.changed();
    });
    this.#render();
  }

  get key(): PlaceKey {
    return this.#key;
  }

  /** The space shown, or null. */
  get space(): OpenSpace | null {
    if (!this.#key.startsWith('space:')) return null;
    const id = this.#key.slice('space:'.length);
    return this.#spaces.find((s) => s.id === id) ?? null;
  }

  /** Whether a document belongs to the place shown. */
  readonly matches = (r: DocRecord): boolean => {
    const key = this.#key;
    if (key === 'all') return true;
    if (key === 'mine') return r.own;
    if (key === 'shared') return !r.own && !r.view.spaceId;
    return r.view.spaceId === key.slice('space:'.length);
  };

  /** What the list says when the place holds nothing ('' for the vault's own empty state). */
  emptyText(): string {
    const key = this.#key;
    if (key === 'all' || (this.#counts.get('all') ?? 0) === 0) return ''; // the vault's own empty state
    if (key === 'mine') return 'You have not added any documents of your own yet. Drop files on this page to add them: only you can open them until you share them.';
    if (key === 'shared') return 'Nothing has been shared with you yet. When someone in your family shares a document with you, it shows here.';
    const space = this.space;
    if (!space) return this.#spacesKnown ? 'This space was not found. You may no longer be a member of it.' : 'Opening your spaces…';
    return `There is nothing in ${spaceName(space)} yet. Documents you add while ${spaceName(space)} is shown go into it, for every member to open.`;
  }

  /** The spaces this person is in (after the keyring opened them); null when they could not be loaded. */
  setSpaces(spaces: OpenSpace[] | null): void {
    this.#spaces = spaces ?? [];
    this.#spacesKnown = true;
    if (this.#key.startsWith('space:') && !this.space) {
      // the space of the address is not one of this person's (any more): say so, show everything
      this.#key = 'all';
      this.#remember();
      this.#warning.textContent = spaces
        ? 'That space was not found: you may no longer be a member of it. Showing all documents.'
        : '';
      show(this.#warning, Boolean(spaces));
    }
    this.#render();
    this.changed();
  }

  /** Counts each place's documents (after every change to the list). */
  count(records: readonly DocRecord[]): void {
    const counts = new Map<PlaceKey, number>([
      ['all', records.length],
      ['mine', 0],
      ['shared', 0],
    ]);
    const bump = (k: PlaceKey) => counts.set(k, (counts.get(k) ?? 0) + 1);
    for (const r of records) {
      if (r.own) bump('mine');
      else if (!r.view.spaceId) bump('shared');
      if (r.view.spaceId) bump(spaceKey(r.view.spaceId));
    }
    this.#counts = counts;
    this.#renderOptions();
  }

  /**
   * Where new documents go now: a space (with its current key) or null for the person's own documents.
   * Throws a sentence when the space shown cannot take new documents (a stale or unopened key).
   */
  uploadTarget(): SpaceTarget | null {
    const key = this.#key;
    if (!key.startsWith('space:')) return null;
    const space = this.space;
    if (!space) throw new Error('This space is still opening, or you are not a member of it. Please wait a moment or choose another place.');
    if (space.stale || space.problem) {
      throw new Error(`Nothing can be added to ${spaceName(space)} right now. ${space.problem ?? ''}`.trim());
    }
    return { spaceId: space.id, name: spaceName(space), generation: space.generation, key: space.keyOf(space.generation) };
  }

  #remember(): void {
    const url = new URL(location.href);
    url.searchParams.delete('space');
    url.searchParams.delete('show');
    if (this.#key.startsWith('space:')) url.searchParams.set('space', this.#key.slice('space:'.length));
    else if (this.#key !== 'all') url.searchParams.set('show', this.#key);
    history.replaceState(history.state, '', url);
  }

  #render(): void {
    this.#renderOptions();
    const key = this.#key;
    const space = this.space;
    let text: string;
    let warn = false;
    if (key === 'shared') {
      text = 'Documents you add here go to My documents: what others shared with you stays theirs.';
    } else if (key.startsWith('space:')) {
      if (!space) text = 'Opening this space…';
      else if (space.stale || space.problem) {
        text = `Nothing can be added to ${spaceName(space)} right now. ${space.problem ?? ''}`.trim();
        warn = true;
      } else text = `Uploading into ${spaceName(space)}: every member of ${spaceName(space)} can open what you add.`;
    } else {
      text = 'New documents go to My documents: only you can open them until you share them.';
    }
    this.#target.textContent = text;
    this.#target.classList.toggle('upload-target--warn', warn);
    this.#box.dataset.place = key;
  }

  #renderOptions(): void {
    const n = (k: PlaceKey) => this.#counts.get(k) ?? 0;
    const option = (value: PlaceKey, label: string) => {
      const o = document.createElement('option');
      o.value = value;
      o.textContent = `${label} (${n(value).toLocaleString()})`;
      o.selected = value === this.#key;
      return o;
    };
    const options: HTMLElement[] = [
      option('all', 'All documents'),
      option('mine', 'My documents'),
      option('shared', 'Shared with me'),
    ];
    if (this.#spaces.length) {
      const group = document.createElement('optgroup');
      group.label = 'Spaces';
      for (const s of this.#spaces) group.append(option(spaceKey(s.id), spaceName(s)));
      options.push(group);
    } else if (this.#key.startsWith('space:')) {
      // the address names a space that is still opening: keep it chosen meanwhile
      const waiting = document.createElement('option');
      waiting.value = this.#key;
      waiting.textContent = 'Opening the space…';
      waiting.selected = true;
      options.push(waiting);
    }
    this.#select.replaceChildren(...options);
    this.#select.dataset.counts = JSON.stringify(Object.fromEntries(this.#counts));
  }
}
