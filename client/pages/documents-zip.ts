/**
 * Several documents as one ZIP: the names they get inside it, and the download itself (decrypted one after
 * another in the decrypt worker, straight into the ZIP; documents-workers.ts zipDocuments()). Made to be
 * reused by anything that saves many documents at once (the legacy export will).
 */
import type { DocRecord } from './documents-model.js';
import { zipDocuments, type Decryption, type ZipItem } from './documents-workers.js';

/** Longest name kept, in characters (ZIP readers and file systems stop at 255 bytes). */
const MAX_NAME = 120;
const FALLBACK = 'document';

/**
 * A document's name made safe as a file name in a ZIP, on any computer it is unpacked on: no folders (no
 * slashes or backslashes, so nothing lands outside the folder it is unpacked into), no "." or ".." names,
 * no control characters, none of the characters Windows refuses, no dots or spaces at the end.
 */
export function safeName(name: string): string {
  let n = name
    .normalize('NFC')
    .replace(/[\t\n\r]+/g, ' ')
    // other control characters (C0, DEL, C1) and the bidirectional overrides that can disguise an extension
    .replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '')
    // a path becomes one name: "../../etc/passwd" → "etc_passwd"
    .split(/[/\\]/)
    .filter((part) => part !== '' && part !== '.' && part !== '..')
    .join('_')
    .replace(/[:*?"<>|]/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/ {2,}/g, ' ')
    .trim()
    .replace(/[. ]+$/, '');
  if (n.length > MAX_NAME) {
    const { stem, ext } = splitName(n);
    n = stem.slice(0, Math.max(1, MAX_NAME - ext.length)) + ext;
  }
  return n === '' || n === '.' ? FALLBACK : n;
}

function splitName(name: string): { stem: string; ext: string } {
  const dot = name.lastIndexOf('.');
  // ".profile" is a name, not an extension; a long tail after the dot is not an extension either
  if (dot <= 0 || name.length - dot > 10) return { stem: name, ext: '' };
  return { stem: name.slice(0, dot), ext: name.slice(dot) };
}

/**
 * Safe, distinct names for documents in the order given: a second "letter.pdf" becomes "letter (2).pdf".
 * Names that differ only in case count as the same (they are, on Windows and macOS).
 */
export function zipNames(names: string[]): string[] {
  const taken = new Set<string>();
  return names.map((raw) => {
    const base = safeName(raw);
    let name = base;
    if (taken.has(name.toLowerCase())) {
      const { stem, ext } = splitName(base);
      for (let i = 2; taken.has(name.toLowerCase()); i++) name = `${stem} (${i})${ext}`;
    }
    taken.add(name.toLowerCase());
    return name;
  });
}

/** The ZIP's own file name: "Heirloom documents 2026-11-30.zip". */
export function zipFileName(now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `Heirloom documents ${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}.zip`;
}

/** The name a document has when its details cannot be read (the panel's Download uses the same). */
const unnamed = (r: DocRecord) => `document-${r.view.id.slice(0, 8)}`;

/**
 * Downloads `records` as one ZIP. `onProgress` gets the index of the document being prepared and the
 * encrypted bytes received so far; the result is the ZIP, once every document has been verified.
 */
export function downloadZip(
  records: DocRecord[],
  docKey: (record: DocRecord) => Uint8Array,
  onProgress: (index: number, received: number) => void,
): Decryption {
  const names = zipNames(records.map((r) => r.meta?.name ?? unnamed(r)));
  const byId = new Map(records.map((r, i) => [r.view.id, names[i] ?? unnamed(r)]));
  const items: ZipItem[] = records.map((r, i) => ({
    docId: r.view.id,
    name: names[i] ?? unnamed(r),
    modified: r.meta?.modified ?? r.view.createdAt,
    docKey: () => docKey(r),
  }));
  const damaged = (docId: string) =>
    `“${byId.get(docId) ?? 'A document'}” has been tampered with or damaged, so the ZIP was stopped. Nothing was saved.`;
  return zipDocuments(items, damaged, onProgress);
}
