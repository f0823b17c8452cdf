/**
 * A person's documents as this page knows them: the server's encrypted views (docs/api.md "Documents") and,
 * while the vault is unlocked, what their metadata says once opened (crypto.md "Documents").
 */
import { fromB64, memzero, openDocMeta, sealDocMeta, toB64, unwrapDocKeyForOwner, type DocMeta } from '../crypto/index.js';
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

const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * URL-safe base64 without padding to bytes, through the browser's native atob. Opening 10,000 documents
 * means 20,000 decodes; libsodium's from_base64 (fromB64) spends ~15 µs on each, atob ~1 µs, and that
 * is the largest single cost of the list. Anything that is not plain unpadded base64url goes to fromB64,
 * which refuses it with the core's own error. (A non-canonical last character would decode to the same
 * bytes here; the AEAD that follows authenticates those bytes, so nothing is accepted that was not sealed.)
 */
export function b64Bytes(text: string): Uint8Array {
  if (!B64URL.test(text) || text.length % 4 === 1) return fromB64(text);
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The document key, unwrapped with the account key (throws CryptoError when the wrap does not open). */
export function docKeyOf(view: DocumentView, accountKey: Uint8Array, userId: string): Uint8Array {
  return unwrapDocKeyForOwner(accountKey, b64Bytes(view.keyWrap), view.id, userId);
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

export function decryptOne(view: DocumentView, accountKey: Uint8Array, userId: string): DocRecord {
  let meta: DocMeta | null = null;
  try {
    const docKey = docKeyOf(view, accountKey, userId);
    try {
      meta = openDocMeta(docKey, view.id, b64Bytes(view.meta));
    } finally {
      memzero(docKey);
    }
  } catch {
    meta = null; // a damaged or foreign envelope: the row says so instead of breaking the list
  }
  return recordOf(view, meta);
}

/**
 * Opens every document's metadata in one synchronous loop: 10,000 documents take a few hundred
 * milliseconds, so there is nothing to gain from slicing the work (and sorting needs all names anyway).
 */
export function decryptAll(views: DocumentView[], accountKey: Uint8Array, userId: string): { records: DocRecord[]; ms: number } {
  const start = performance.now();
  const records = new Array<DocRecord>(views.length);
  for (let i = 0; i < views.length; i++) records[i] = decryptOne(views[i] as DocumentView, accountKey, userId);
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
