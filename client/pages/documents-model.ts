/**
 * A person's documents as this page knows them: the server's encrypted views (docs/api.md "Documents") and,
 * while the vault is unlocked, what their metadata says once opened (crypto.md "Documents").
 */
import {
  CryptoError,
  fromB64,
  memzero,
  openDocMeta,
  openOwnDocMetas,
  openSpaceDocMetas,
  sealDocMeta,
  toB64,
  unwrapDocKeyForOwner,
  type DocMeta,
  type OwnerDocEnvelopes,
  type SpaceDocEnvelopes,
} from '../crypto/index.js';
import { kindOf, typeLabel, type Kind } from './documents-format.js';

// the wire shapes of docs/api.md "Documents", defined once by the server (a type-only import: no server code
// reaches the bundle)
export type { DocumentView, Usage } from '../../server/services/documents.js';
import type { DocumentView } from '../../server/services/documents.js';

export const DAMAGED_NAME = "This document's details are damaged";
/** The name of a row whose key could not be trusted: its details stay closed, its `problem` says why. */
export const UNTRUSTED_NAME = 'This document cannot be opened safely';

/** Whose a document is and how this person reaches it, as the list and the panel say it. */
export interface Origin {
  /** The person's own document: only they may rename, trash, share or move it. */
  own: boolean;
  /** The username of whoever shared it with this person (documents reached through a grant). */
  sharedBy: string | null;
  /** The username of whoever added it (others' documents). */
  addedBy: string | null;
  /** The name of the space it is in, own or not. */
  spaceName: string | null;
  /** Why its key could not be opened or trusted, in plain words; null when it opened. */
  problem: string | null;
}

export const OWN: Origin = { own: true, sharedBy: null, addedBy: null, spaceName: null, problem: null };
/** Someone else's document before the family's keys have loaded: who shared or added it is not known yet. */
export const NOT_OWN: Origin = { own: false, sharedBy: null, addedBy: null, spaceName: null, problem: null };

/** One row of the list: the view plus its opened metadata (null when it did not open). */
export interface DocRecord extends Origin {
  view: DocumentView;
  meta: DocMeta | null;
  name: string;
  /** Lower-cased name, for search without lower-casing 10,000 names per keystroke. */
  search: string;
  type: string;
  /** "PDF", "PNG image"…: shown and sorted on, so made once. */
  typeLabel: string;
  size: number;
  kind: Kind;
  tags: string[];
}

const isId = (x: unknown) => typeof x === 'string' && x.length > 0;
const orNull = (x: unknown, type: 'string' | 'number') => x === null || x === undefined || typeof x === type;

export function isDocumentView(x: unknown): x is DocumentView {
  if (typeof x !== 'object' || x === null) return false;
  const d = x as Record<string, unknown>;
  const g = d.grant as Record<string, unknown> | null | undefined;
  return (
    isId(d.id) &&
    isId(d.ownerId) &&
    typeof d.size === 'number' &&
    typeof d.meta === 'string' &&
    (d.keyWrap === null || typeof d.keyWrap === 'string') &&
    typeof d.createdAt === 'number' &&
    typeof d.updatedAt === 'number' &&
    (d.deletedAt === null || typeof d.deletedAt === 'number') &&
    orNull(d.spaceId, 'string') &&
    orNull(d.spaceGeneration, 'number') &&
    orNull(d.spaceKeyWrap, 'string') &&
    (g === null || g === undefined || (typeof g === 'object' && isId(g.sharerId) && typeof g.sealed === 'string' && typeof g.sig === 'string'))
  );
}

/** The person's own document (the server sends the owner's key wrap only to the owner). */
export function isOwn(view: DocumentView, userId: string): boolean {
  return view.ownerId === userId && typeof view.keyWrap === 'string';
}

/**
 * A document whose key this person holds under their own account key: their own, or one shared with them
 * whose grant their browser has accepted (docs/api.md "Sharing documents"). These open in one batch.
 */
export function hasOwnWrap(view: DocumentView): view is DocumentView & { keyWrap: string } {
  return typeof view.keyWrap === 'string';
}

/** The documents the server put in the page's data island (views/pages/documents/index.ejs). */
export function readDataIsland(): DocumentView[] {
  const el = document.getElementById('documents-data');
  if (!el?.textContent) return [];
  try {
    const parsed: unknown = JSON.parse(el.textContent);
    return Array.isArray(parsed) ? parsed.filter(isDocumentView) : [];
  } catch {
    return [];
  }
}

/** The owner's document key, unwrapped with the account key (throws CryptoError when the wrap does not open). */
export function docKeyOf(view: DocumentView, accountKey: Uint8Array, userId: string): Uint8Array {
  if (view.keyWrap === null) throw new CryptoError('params', 'Only the person who added this document holds its key this way.');
  return unwrapDocKeyForOwner(accountKey, fromB64(view.keyWrap), view.id, userId);
}

export function recordOf(view: DocumentView, meta: DocMeta | null, origin: Origin = OWN): DocRecord {
  const { own, sharedBy, addedBy, spaceName, problem } = origin;
  const from = { own, sharedBy, addedBy, spaceName, problem };
  if (!meta) {
    const name = problem ? UNTRUSTED_NAME : DAMAGED_NAME;
    return { ...from, view, meta: null, name, search: name.toLowerCase(), type: '', typeLabel: '—', size: -1, kind: 'damaged', tags: [] };
  }
  const tags = meta.tags ?? [];
  return {
    ...from,
    view,
    meta,
    name: meta.name,
    search: meta.name.toLowerCase(),
    type: meta.type,
    typeLabel: typeLabel(meta.type, meta.name),
    size: meta.size,
    kind: kindOf(meta.type, meta.name),
    tags,
  };
}

/**
 * Opens the metadata of every document whose key is wrapped under the account key (own ones, and shared ones
 * this browser accepted) in one synchronous pass through the crypto core's batch (one scratch area on
 * libsodium's heap for the whole list instead of several small copies per document). A document whose
 * envelopes do not open (damaged, or not this person's) becomes a row that says so instead of breaking the
 * list. `origin` says whose each document is and names the space of those in one.
 */
export function decryptAll(
  views: DocumentView[],
  accountKey: Uint8Array,
  userId: string,
  origin: (view: DocumentView) => Origin = (view) => (view.ownerId === userId ? OWN : NOT_OWN),
): { records: DocRecord[]; ms: number } {
  const start = performance.now();
  const metas = openOwnDocMetas(accountKey, userId, views as OwnerDocEnvelopes[]);
  const records = new Array<DocRecord>(views.length);
  for (let i = 0; i < views.length; i++) {
    const view = views[i] as DocumentView;
    const meta = metas[i];
    records[i] = recordOf(view, meta === undefined || meta instanceof CryptoError ? null : meta, view.spaceId || view.ownerId !== userId ? origin(view) : OWN);
  }
  return { records, ms: performance.now() - start };
}

/**
 * Opens the documents others added to this person's spaces in one batch, like the own ones (the space keys
 * were opened, their signatures checked, when the keyring loaded). `spaceKey` gives a held key or null. A
 * document that does not open this way is handed back in `rest`, for decryptOthers to open or to say why not.
 */
export function decryptInSpaces(
  views: DocumentView[],
  spaceKey: (spaceId: string, g: number) => Uint8Array | null,
  origin: (view: DocumentView) => Origin,
): { records: DocRecord[]; rest: DocumentView[] } {
  const metas = openSpaceDocMetas(spaceKey, views as SpaceDocEnvelopes[]);
  const records: DocRecord[] = [];
  const rest: DocumentView[] = [];
  for (let i = 0; i < views.length; i++) {
    const view = views[i] as DocumentView;
    const meta = metas[i];
    if (meta === undefined || meta instanceof CryptoError) rest.push(view);
    else records.push(recordOf(view, meta, origin(view)));
  }
  return { records, rest };
}

/**
 * Opens others' documents one by one: `docKey` (the keyring: a grant's or a space's key, each checked against
 * a pinned public key first) and then the metadata. A key that cannot be opened or trusted gives a row that
 * says why, with nothing decrypted; a key that opens but metadata that does not is damage, as for own ones.
 */
export function decryptOthers(
  views: DocumentView[],
  docKey: (view: DocumentView) => Uint8Array,
  origin: (view: DocumentView) => Origin,
  /** called with each key whose document's metadata opened, before the key is wiped */
  opened?: (view: DocumentView, key: Uint8Array) => void,
): { records: DocRecord[]; ms: number } {
  const start = performance.now();
  const records = views.map((view) => {
    const from = origin(view);
    let key: Uint8Array;
    try {
      key = docKey(view);
    } catch (err) {
      return recordOf(view, null, { ...from, problem: problemOf(err) });
    }
    try {
      const record = recordOf(view, openDocMeta(key, view.id, fromB64(view.meta)), from);
      opened?.(view, key);
      return record;
    } catch {
      return recordOf(view, null, from);
    } finally {
      memzero(key);
    }
  });
  return { records, ms: performance.now() - start };
}

function problemOf(err: unknown): string {
  return err instanceof Error && err.message ? err.message : 'Heirloom could not open the key of this document.';
}

/** New metadata for the same document key: rename and retag re-encrypt only this envelope. */
export function resealMeta(view: DocumentView, accountKey: Uint8Array, userId: string, meta: DocMeta): string {
  const docKey = docKeyOf(view, accountKey, userId);
  try {
    return toB64(sealDocMeta(docKey, view.id, meta));
  } finally {
    memzero(docKey);
  }
}

/** Tags as people type them: trimmed, single spaces, no empties, no duplicates (case-insensitive). */
export function cleanTags(tags: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of tags) {
    const t = raw.replace(/\s+/g, ' ').trim().slice(0, 40);
    if (!t || seen.has(t.toLowerCase())) continue;
    seen.add(t.toLowerCase());
    out.push(t);
  }
  return out;
}
