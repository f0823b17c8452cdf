/**
 * A person's documents as this page knows them: the server's encrypted views (docs/api.md "Documents") and,
 * while the vault is unlocked, what their metadata says once opened (crypto.md "Documents").
 */
import { CryptoError, fromB64, memzero, openOwnDocMetas, sealDocMeta, toB64, unwrapDocKeyForOwner, type DocMeta, type OwnerDocEnvelopes } from '../crypto/index.js';
import { kindOf, typeLabel, type Kind } from './documents-format.js';

// the wire shapes of docs/api.md "Documents", defined once by the server (a type-only import: no server code
// reaches the bundle)
export type { DocumentView, Usage } from '../../server/services/documents.js';
import type { DocumentView } from '../../server/services/documents.js';

export const DAMAGED_NAME = "This document's details are damaged";

/** One row of the list: the view plus its opened metadata (null when it did not open). */
export interface DocRecord {
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

export function isDocumentView(x: unknown): x is DocumentView {
  if (typeof x !== 'object' || x === null) return false;
  const d = x as Record<string, unknown>;
  return (
    typeof d.id === 'string' &&
    typeof d.size === 'number' &&
    typeof d.meta === 'string' &&
    typeof d.keyWrap === 'string' &&
    typeof d.createdAt === 'number' &&
    typeof d.updatedAt === 'number' &&
    (d.deletedAt === null || typeof d.deletedAt === 'number')
  );
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

/** The document key, unwrapped with the account key (throws CryptoError when the wrap does not open). */
export function docKeyOf(view: DocumentView, accountKey: Uint8Array, userId: string): Uint8Array {
  // documents of others (shared, or in a space) carry no owner's wrap; isDocumentView keeps them out for now
  if (view.keyWrap === null) throw new CryptoError('params', 'This document was shared with you; it has no key of your own.');
  return unwrapDocKeyForOwner(accountKey, fromB64(view.keyWrap), view.id, userId);
}

export function recordOf(view: DocumentView, meta: DocMeta | null): DocRecord {
  if (!meta) {
    const search = DAMAGED_NAME.toLowerCase();
    return { view, meta: null, name: DAMAGED_NAME, search, type: '', typeLabel: '—', size: -1, kind: 'damaged', tags: [] };
  }
  const tags = meta.tags ?? [];
  return {
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
 * Opens every document's metadata in one synchronous pass through the crypto core's batch (one scratch
 * area on libsodium's heap for the whole list instead of several small copies per document). A document
 * whose envelopes do not open (damaged, or not this person's) becomes a row that says so instead of
 * breaking the list.
 */
export function decryptAll(views: DocumentView[], accountKey: Uint8Array, userId: string): { records: DocRecord[]; ms: number } {
  const start = performance.now();
  // isDocumentView let through only views with the owner's keyWrap
  const metas = openOwnDocMetas(accountKey, userId, views as readonly OwnerDocEnvelopes[]);
  const records = new Array<DocRecord>(views.length);
  for (let i = 0; i < views.length; i++) {
    const meta = metas[i];
    records[i] = recordOf(views[i] as DocumentView, meta === undefined || meta instanceof CryptoError ? null : meta);
  }
  return { records, ms: performance.now() - start };
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
