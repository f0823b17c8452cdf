/**
 * The selection bar above the documents table: how many documents are ticked, and what can be done with
 * them all at once: "Download as ZIP" and "Share…" (the share dialog, documents-share.ts, for the ticked
 * documents that are the person's own).
 */
import { isCryptoError } from '../crypto/index.js';
import { $, offerDownload, setMessage, show } from './dom.js';
import { errorMessage } from './api.js';
import { formatBytes, plural } from './documents-format.js';
import type { DocRecord } from './documents-model.js';
import { DocumentError, type Decryption } from './documents-workers.js';
import { downloadZip, zipFileName } from './documents-zip.js';
import { onUnauthenticated } from './session.js';

type ZipState = 'idle' | 'running' | 'ready' | 'damaged' | 'error' | 'cancelled';

export interface SelectionHooks {
  /** Opens any ticked document's key (own, shared or in a space). */
  docKeys(records: readonly DocRecord[]): Promise<(record: DocRecord) => Uint8Array>;
  share(records: DocRecord[]): void;
  clear(): void;
}

export class SelectionBar {
  readonly #bar: HTMLElement;
  readonly #count: HTMLElement;
  readonly #zip: HTMLButtonElement;
  readonly #share: HTMLButtonElement;
  readonly #progress: HTMLElement;
  readonly #progressBar: HTMLProgressElement;
  readonly #progressText: HTMLElement;
  readonly #error: HTMLElement;
  #selected: DocRecord[] = [];
  /** The selected IDs, to tell a new selection from the same one shown again (after a sort, an upload…). */
  #key = '';
  #running: Decryption | null = null;

  constructor(
    root: HTMLElement,
    readonly hooks: SelectionHooks,
  ) {
    const bar = $('[data-docs-selection]', root);
    this.#bar = bar;
    this.#count = $('[data-docs-selection-count]', bar);
    this.#zip = $<HTMLButtonElement>('[data-docs-zip]', bar);
    this.#progress = $('[data-docs-zip-progress]', bar);
    this.#progressBar = $<HTMLProgressElement>('[data-docs-zip-bar]', bar);
    this.#progressText = $('[data-docs-zip-text]', bar);
    this.#error = $('[data-docs-zip-error]', bar);
    this.#zip.addEventListener('click', () => void this.#downloadZip());
    this.#share = $<HTMLButtonElement>('[data-docs-share]', bar);
    this.#share.addEventListener('click', () => hooks.share(this.#selected.slice()));
    $('[data-docs-selection-clear]', bar).addEventListener('click', () => hooks.clear());
    $('[data-docs-zip-cancel]', bar).addEventListener('click', () => this.#running?.cancel());
  }

  get selected(): readonly DocRecord[] {
    return this.#selected;
  }

  /** The list was shown again; the selection may have changed. */
  update(selected: DocRecord[]): void {
    this.#selected = selected;
    const key = selected.map((r) => r.view.id).join();
    if (key !== this.#key && this.#bar.dataset.zipState !== 'running') {
      // a new selection: the last ZIP's outcome is old news
      setMessage(this.#error, null);
      this.#setState('idle');
    }
    this.#key = key;
    this.#render();
  }

  #render(): void {
    const selected = this.#selected;
    const n = selected.length;
    // the bar stays while a ZIP is being made or its failure is shown, even if the ticks are cleared
    const state = this.#bar.dataset.zipState as ZipState;
    show(this.#bar, n > 0 || state === 'running' || state === 'damaged' || state === 'error');
    const size = selected.reduce((sum, r) => sum + Math.max(0, r.size), 0);
    this.#count.textContent = n ? `${plural(n, 'document', 'documents')} selected · ${formatBytes(size)}` : '';
    this.#zip.disabled = n === 0 || state === 'running';
    this.#share.disabled = n === 0;
  }

  /** Locked: stop making a ZIP and forget what it was. */
  reset(): void {
    this.#running?.cancel();
    setMessage(this.#error, null);
    this.#setState('idle');
    this.update([]);
  }

  #setState(state: ZipState): void {
    this.#bar.dataset.zipState = state;
    this.#zip.disabled = state === 'running' || this.#selected.length === 0;
    show(this.#progress, state === 'running');
  }

  async #downloadZip(): Promise<void> {
    const records = this.#selected.slice();
    if (!records.length || this.#running) return;
    setMessage(this.#error, null);
    this.#setState('running');
    const total = records.reduce((sum, r) => sum + r.view.size, 0);
    this.#progressBar.max = total || 1;
    this.#progressBar.value = 0;
    const say = (index: number, received: number) => {
      this.#progressBar.value = Math.min(received, total);
      this.#progressText.textContent = `Preparing ${Math.min(index + 1, records.length).toLocaleString()} of ${records.length.toLocaleString()} · ${formatBytes(received)} of ${formatBytes(total)}`;
    };
    say(0, 0);
    try {
      const docKey = await this.hooks.docKeys(records);
      const run = downloadZip(records, docKey, say);
      this.#running = run;
      const zip = await run.result;
      this.#save(zip);
      this.#setState('ready');
      this.#bar.dataset.zipSaved = String(Date.now());
      this.hooks.clear();
    } catch (err) {
      this.#failed(err);
    } finally {
      this.#running = null;
      this.#render();
    }
  }

  #failed(err: unknown): void {
    if (err instanceof DocumentError && err.kind === 'cancelled') {
      this.#setState('cancelled');
      return;
    }
    if (err instanceof DocumentError && err.status === 401) onUnauthenticated();
    const damaged = (err instanceof DocumentError && err.kind === 'crypto') || isCryptoError(err);
    this.#setState(damaged ? 'damaged' : 'error');
    setMessage(this.#error, errorMessage(err));
  }

  #save(zip: Blob): void {
    const url = URL.createObjectURL(zip);
    offerDownload(url, zipFileName());
    // the browser may still be reading the URL for the download it just started
    window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
