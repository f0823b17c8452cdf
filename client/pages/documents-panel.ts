/**
 * The document panel (a <dialog>): details, a preview for images, PDFs and plain text, Download, rename and
 * tags (documents-edit.ts), who has access (documents-access.ts), Move to trash. Content is decrypted in a
 * worker and shown or saved only once the whole document has been checked (flows.md "Documents": nothing
 * partial is ever saved). Others' documents (shared with the person, or in a space) can be previewed and
 * downloaded only: renaming, tags, sharing and the trash are for the person who added them.
 */
import { isCryptoError, memzero } from '../crypto/index.js';
import { $, offerDownload, setMessage, show } from './dom.js';
import { attachEditForm, type EditForm } from './documents-edit.js';
import { formatBytes, formatDateTime, kindOf, typeIcon } from './documents-format.js';
import type { DocRecord } from './documents-model.js';
import { AccessSection, type AccessHooks } from './documents-access.js';
import { originLine } from './documents-list.js';
import { DAMAGED_MESSAGE, DocumentError, decryptDocument, type Decryption } from './documents-workers.js';
import { errorMessage } from './api.js';
import { onUnauthenticated } from './session.js';

/** Previews start by themselves up to this size; larger documents wait for "Show preview". */
const AUTO_PREVIEW_BYTES = 50 * 1024 * 1024;
const TEXT_PREVIEW_BYTES = 1024 * 1024;
/** What every browser shows in an <img> (HEIC and TIFF are left to download). */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp', 'image/svg+xml']);

export interface PanelHooks {
  userId: string;
  accountKey(): Promise<Uint8Array>;
  /** The document's key, whichever way it reached this person (throws a sentence when it cannot be trusted). */
  docKey(record: DocRecord): Promise<Uint8Array>;
  access: AccessHooks;
  saved(record: DocRecord): void;
  trash(record: DocRecord): void;
  knownTags(): string[];
}

type PreviewKind = 'image' | 'pdf' | 'text' | 'none';

function previewKind(r: DocRecord): PreviewKind {
  if (!r.meta) return 'none';
  const kind = kindOf(r.type, r.name);
  if (kind === 'pdf') return 'pdf';
  if (kind === 'image' && IMAGE_TYPES.has(r.type.toLowerCase())) return 'image';
  if (kind === 'text' || r.type.startsWith('text/')) return 'text';
  return 'none';
}

export class DocumentPanel {
  readonly #dialog: HTMLDialogElement;
  readonly #preview: HTMLElement;
  readonly #progress: HTMLElement;
  readonly #bar: HTMLProgressElement;
  readonly #progressText: HTMLElement;
  readonly #error: HTMLElement;
  readonly #download: HTMLButtonElement;
  readonly #showPreview: HTMLButtonElement;
  readonly #edit: EditForm;
  readonly #access: AccessSection;
  #record: DocRecord | null = null;
  #decryption: Decryption | null = null;
  #plain: Promise<Blob> | null = null;
  #urls: string[] = [];

  constructor(readonly hooks: PanelHooks) {
    const d = $<HTMLDialogElement>('[data-doc-panel]');
    this.#dialog = d;
    this.#preview = $('[data-doc-preview]', d);
    this.#progress = $('[data-doc-progress]', d);
    this.#bar = $<HTMLProgressElement>('[data-doc-progress-bar]', d);
    this.#progressText = $('[data-doc-progress-text]', d);
    this.#error = $('[data-doc-error]', d);
    this.#download = $<HTMLButtonElement>('[data-doc-download]', d);
    this.#showPreview = $<HTMLButtonElement>('[data-doc-preview-show]', d);
    this.#edit = attachEditForm($<HTMLFormElement>('[data-doc-edit]', d), {
      userId: hooks.userId,
      accountKey: hooks.accountKey,
      knownTags: hooks.knownTags,
      saved: (record) => {
        this.#record = record;
        this.#fillHead(record);
        hooks.saved(record);
      },
    });
    this.#access = new AccessSection(d, {
      ...hooks.access,
      changed: (record) => {
        this.#record = record;
        this.#fillHead(record);
        hooks.access.changed(record);
      },
    });
    $('[data-doc-close]', d).addEventListener('click', () => d.close());
    // 'close' fires a moment after close(): by then another document may already be open in the panel.
    d.addEventListener('close', () => {
      if (!d.open) this.#reset();
    });
    // A click on the backdrop (outside the panel's box) closes it, as people expect of a dialog.
    d.addEventListener('click', (e) => {
      if (e.target === d) d.close();
    });
    this.#download.addEventListener('click', () => void this.#saveFile());
    this.#showPreview.addEventListener('click', () => {
      show(this.#showPreview, false);
      void this.#startPreview();
    });
    $('[data-doc-trash]', d).addEventListener('click', () => {
      const r = this.#record;
      d.close();
      if (r) this.hooks.trash(r);
    });
  }

  get openId(): string | null {
    return this.#dialog.open ? (this.#record?.view.id ?? null) : null;
  }

  open(record: DocRecord): void {
    if (this.#dialog.open) this.#dialog.close();
    this.#reset();
    this.#record = record;
    this.#fillHead(record);
    this.#edit.load(record);
    // what only the person who added a document may do
    if (!record.own) show($('[data-doc-edit]', this.#dialog), false);
    show($('[data-doc-foot]', this.#dialog), record.own);
    this.#access.load(record);
    const kind = record.problem ? 'none' : previewKind(record);
    this.#dialog.dataset.previewKind = kind;
    this.#setState(record.problem ? 'untrusted' : 'idle');
    show(this.#showPreview, kind !== 'none' && record.view.size > AUTO_PREVIEW_BYTES);
    this.#dialog.showModal();
    if (kind !== 'none' && record.view.size <= AUTO_PREVIEW_BYTES) void this.#startPreview();
  }

  close(): void {
    if (this.#dialog.open) this.#dialog.close();
  }

  /** The open document was shared with someone more: show who has access now. */
  accessChanged(): Promise<void> {
    return this.#access.refresh();
  }

  #fillHead(r: DocRecord): void {
    const d = this.#dialog;
    d.dataset.docId = r.view.id;
    $('[data-doc-panel-icon]', d).replaceChildren(typeIcon(r.kind, r.name));
    $('[data-doc-panel-name]', d).textContent = r.name;
    const type = $('[data-doc-fact-type]', d);
    type.textContent = r.typeLabel;
    type.title = r.type; // the media type, for the curious
    $('[data-doc-fact-size]', d).textContent = r.meta ? formatBytes(r.size) : formatBytes(r.view.size);
    $('[data-doc-fact-modified]', d).textContent = r.meta ? formatDateTime(r.meta.modified) : '—';
    $('[data-doc-fact-added]', d).textContent = formatDateTime(r.view.createdAt);
    show($('[data-doc-damaged-note]', d), !r.meta && !r.problem);
    setMessage($('[data-doc-problem]', d), r.problem);
    const origin = $('[data-doc-origin]', d);
    origin.textContent = r.problem ? '' : this.#originText(r);
    show(origin, Boolean(origin.textContent));
    d.dataset.docOwn = String(r.own);
  }

  /** "Shared with you by Ada on 3 May 2026.", "In Taxes · added by Bob.": how this document reached the person. */
  #originText(r: DocRecord): string {
    const how = r.sharedBy && r.view.grant ? `Shared with you by ${r.sharedBy} on ${formatDateTime(r.view.grant.createdAt)}.` : originLine(r);
    // others' documents: say why there is nothing to rename or delete here
    return r.own || !r.addedBy ? how : `${how.replace(/\.$/, '')}. Only ${r.addedBy} can rename, share or delete it.`;
  }

  #setState(state: 'idle' | 'loading' | 'ready' | 'damaged' | 'error' | 'untrusted'): void {
    this.#dialog.dataset.docState = state;
    this.#download.disabled = state === 'loading' || state === 'damaged' || state === 'untrusted';
  }

  /** Decrypts once per opening; the preview and Download share the result. */
  #decrypt(): Promise<Blob> {
    if (this.#plain) return this.#plain;
    const r = this.#record;
    if (!r) return Promise.reject(new Error('No document is open.'));
    setMessage(this.#error, null);
    this.#setState('loading');
    show(this.#progress, true);
    this.#bar.removeAttribute('value');
    this.#progressText.textContent = 'Starting…';
    const total = r.view.size;
    const run = async (): Promise<Blob> => {
      const docKey = await this.hooks.docKey(r);
      let dec: Decryption;
      try {
        dec = decryptDocument(r.view.id, docKey, r.meta?.type || 'application/octet-stream', (got) => {
          this.#bar.max = total;
          this.#bar.value = Math.min(got, total);
          this.#dialog.dataset.docReceived = String(got);
          this.#progressText.textContent = `Decrypting · ${formatBytes(got)} of ${formatBytes(total)}`;
        });
      } finally {
        memzero(docKey);
      }
      this.#decryption = dec;
      return dec.result;
    };
    const current = r;
    this.#plain = run().then(
      (blob) => {
        if (this.#record === current) {
          this.#setState('ready');
          show(this.#progress, false);
        }
        return blob;
      },
      (err: unknown) => {
        if (this.#record === current) {
          this.#fail(err);
          this.#plain = null;
        }
        throw err;
      },
    );
    return this.#plain;
  }

  #fail(err: unknown): void {
    show(this.#progress, false);
    if (err instanceof DocumentError && err.kind === 'cancelled') return;
    if (err instanceof DocumentError && err.status === 401) onUnauthenticated();
    // A key wrap that does not open is damage too, found before the download even started.
    const damaged = (err instanceof DocumentError && err.kind === 'crypto') || isCryptoError(err);
    this.#setState(damaged ? 'damaged' : 'error');
    this.#preview.replaceChildren();
    setMessage(this.#error, damaged ? DAMAGED_MESSAGE : errorMessage(err));
  }

  /** The open document, decrypted; null when that failed (#fail has said why) or another was opened meanwhile. */
  async #decryptOpen(): Promise<{ r: DocRecord; blob: Blob } | null> {
    const r = this.#record;
    if (!r) return null;
    try {
      const blob = await this.#decrypt();
      return this.#record === r ? { r, blob } : null;
    } catch {
      return null;
    }
  }

  async #startPreview(): Promise<void> {
    const opened = await this.#decryptOpen();
    if (!opened) return;
    const { r, blob } = opened;
    const kind = previewKind(r);
    const frame = document.createElement('div');
    frame.className = `doc-preview__frame doc-preview__frame--${kind}`;
    if (kind === 'image') {
      const img = document.createElement('img');
      img.alt = `Preview of ${r.name}`;
      img.src = this.#url(blob);
      img.dataset.docPreviewImage = '';
      frame.append(img);
    } else if (kind === 'pdf') {
      const iframe = document.createElement('iframe');
      iframe.title = `Preview of ${r.name}`;
      iframe.src = this.#url(blob.type === 'application/pdf' ? blob : new Blob([blob], { type: 'application/pdf' }));
      iframe.dataset.docPreviewPdf = '';
      frame.append(iframe);
    } else if (kind === 'text') {
      const pre = document.createElement('pre');
      pre.dataset.docPreviewText = '';
      pre.textContent = await blob.slice(0, TEXT_PREVIEW_BYTES).text();
      frame.append(pre);
      if (blob.size > TEXT_PREVIEW_BYTES) {
        const note = document.createElement('p');
        note.className = 'muted small';
        note.textContent = `Showing the first ${formatBytes(TEXT_PREVIEW_BYTES)}. Download the document to read all of it.`;
        frame.append(note);
      }
    }
    if (this.#record === r) this.#preview.replaceChildren(frame);
  }

  async #saveFile(): Promise<void> {
    const opened = await this.#decryptOpen();
    if (!opened) return;
    const { r, blob } = opened;
    offerDownload(this.#url(blob), r.meta?.name ?? `document-${r.view.id.slice(0, 8)}`);
    this.#dialog.dataset.docSaved = String(Date.now());
  }

  #url(blob: Blob): string {
    const url = URL.createObjectURL(blob);
    this.#urls.push(url);
    return url;
  }

  /** Closing forgets the plaintext: downloads in progress stop, blob URLs are revoked. */
  #reset(): void {
    this.#decryption?.cancel();
    this.#decryption = null;
    this.#plain = null;
    const urls = this.#urls;
    this.#urls = [];
    // A just-clicked download may still be reading its URL: revoke a little later.
    window.setTimeout(() => urls.forEach((u) => URL.revokeObjectURL(u)), 60_000);
    this.#preview.replaceChildren();
    show(this.#progress, false);
    setMessage(this.#error, null);
    this.#record = null;
    this.#access.reset();
    delete this.#dialog.dataset.docReceived;
    delete this.#dialog.dataset.docSaved;
  }
}
