/**
 * What a person sees of the uploads (views/partials/documents/upload.ejs): a row per file for a few files,
 * and for a drop of many one summary line ("412 of 1,000 uploaded · 38 MB/s · 10 seconds left") with the
 * files that failed listed below it. A thousand rows fighting for the screen helped nobody, and redrawing
 * them after every change took most of the page's time (about 110 ms per file for a 1,000-file drop).
 *
 * Nothing here touches the page when an upload changes: changes are noted, and drawn once per animation
 * frame, so the page keeps up whatever the number of files.
 */
import { $, show } from './dom.js';
import { formatBytes, formatSpeed, formatTimeLeft, kindOf, typeIcon, SpeedMeter } from './documents-format.js';

export type UploadState = 'queued' | 'uploading' | 'paused' | 'done' | 'failed' | 'cancelled';

/** One file being uploaded, as the view reads it (documents-upload.ts owns and changes it). */
export interface UploadItem {
  readonly file: File;
  readonly docId: string;
  state: UploadState;
  /** The sentence under its name. */
  status: string;
  /** Encrypted bytes sent, and of how many. */
  sent: number;
  total: number;
  /** The drop of many files it belongs to (shown in the summary), or null (a row of its own). */
  batch: UploadBatch | null;
}

export interface UploadBatch {
  items: UploadItem[];
  /** Set when a person pressed Cancel all. */
  cancelled: boolean;
}

export interface ViewActions {
  cancel(item: UploadItem): void;
  retry(item: UploadItem): void;
  pause(): void;
  resume(): void;
  cancelAll(): void;
  clear(): void;
  /** True while uploads are held by Pause. */
  paused(): boolean;
  /** True when some upload has finished (done, failed or cancelled) and can be cleared. */
  anySettled(): boolean;
}

const BATCH_DRAW_EVERY_MS = 250;
/** The summary's sentence is read out by screen readers: change it at most this often while uploading. */
const SAY_EVERY_MS = 1000;

const settled = (s: UploadState) => s === 'done' || s === 'failed' || s === 'cancelled';

export class UploadView {
  readonly #list: HTMLElement;
  readonly #template: HTMLTemplateElement;
  readonly #clear: HTMLButtonElement;
  readonly #note: HTMLElement;
  readonly #summary: HTMLElement;
  readonly #summaryText: HTMLElement;
  readonly #summaryBar: HTMLProgressElement;
  readonly #pause: HTMLButtonElement;
  readonly #resume: HTMLButtonElement;
  readonly #cancelAll: HTMLButtonElement;
  readonly #rows = new Map<UploadItem, HTMLElement>();
  readonly #dirty = new Set<UploadItem>();
  #batch: UploadBatch | null = null;
  /** A pending frame or timer (0: none). */
  #frame = 0;
  #drawn = -Infinity;
  #said = 0;
  readonly #speed = new SpeedMeter(500);

  constructor(
    root: HTMLElement,
    readonly actions: ViewActions,
  ) {
    this.#list = $('[data-upload-list]', root);
    this.#template = $<HTMLTemplateElement>('[data-upload-template]', root);
    this.#clear = $<HTMLButtonElement>('[data-uploads-clear]', root);
    this.#note = $('[data-upload-note]', root);
    this.#summary = $('[data-upload-summary]', root);
    this.#summaryText = $('[data-upload-summary-text]', this.#summary);
    this.#summaryBar = $<HTMLProgressElement>('[data-upload-summary-bar]', this.#summary);
    this.#pause = $<HTMLButtonElement>('[data-upload-pause]', this.#summary);
    this.#resume = $<HTMLButtonElement>('[data-upload-resume-all]', this.#summary);
    this.#cancelAll = $<HTMLButtonElement>('[data-upload-cancel-all]', this.#summary);
    this.#pause.addEventListener('click', () => actions.pause());
    this.#resume.addEventListener('click', () => actions.resume());
    this.#cancelAll.addEventListener('click', () => actions.cancelAll());
    this.#clear.addEventListener('click', () => actions.clear());
  }

  /** The summary now counts this drop (a new one, or the one still running, grown). */
  setBatch(batch: UploadBatch | null): void {
    if (batch !== this.#batch) {
      this.#speed.reset();
      this.#said = 0;
    }
    this.#batch = batch;
    this.#schedule();
  }

  changed(item: UploadItem): void {
    this.#dirty.add(item);
    this.#schedule();
  }

  /** "3 hidden or system files were skipped." (or nothing). */
  note(text: string): void {
    this.#note.textContent = text;
    show(this.#note, Boolean(text));
  }

  /** Takes the rows of these uploads off the page. */
  forget(items: UploadItem[]): void {
    for (const item of items) {
      this.#rows.get(item)?.remove();
      this.#rows.delete(item);
      this.#dirty.delete(item);
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#frame) return;
    // A drop of many is drawn a few times a second: a frame's style, layout and paint cost more than the
    // upload of a small file, and nobody reads a count that changes faster.
    const wait = this.#batch ? this.#drawn + BATCH_DRAW_EVERY_MS - performance.now() : 0;
    if (wait > 0) this.#frame = window.setTimeout(() => requestAnimationFrame(() => this.#render()), wait);
    else this.#frame = requestAnimationFrame(() => this.#render());
  }

  #render(): void {
    this.#frame = 0;
    this.#drawn = performance.now();
    for (const item of this.#dirty) {
      // a drop of many shows only the files that failed, not a row for each of them
      if (item.batch && item.state !== 'failed') continue;
      this.#renderRow(item);
    }
    this.#dirty.clear();
    this.#renderSummary();
    show(this.#list, this.#rows.size > 0);
    show(this.#clear, this.actions.anySettled());
  }

  #renderRow(item: UploadItem): void {
    let row = this.#rows.get(item);
    if (!row) {
      const fragment = this.#template.content.cloneNode(true) as DocumentFragment;
      const li = $('[data-upload]', fragment);
      li.dataset.uploadName = item.file.name;
      li.dataset.docId = item.docId;
      $('[data-upload-icon]', li).replaceWith(typeIcon(kindOf(item.file.type, item.file.name), item.file.name));
      $('[data-upload-name]', li).textContent = item.file.name;
      const cancel = $<HTMLButtonElement>('[data-upload-cancel]', li);
      cancel.addEventListener('click', () => this.actions.cancel(item));
      cancel.setAttribute('aria-label', `Cancel uploading ${item.file.name}`);
      $<HTMLButtonElement>('[data-upload-resume]', li).addEventListener('click', () => this.actions.retry(item));
      this.#list.append(li);
      this.#rows.set(item, li);
      row = li;
    }
    const { state } = item;
    row.dataset.uploadState = state;
    row.dataset.uploadSent = String(item.sent);
    $('[data-upload-status]', row).textContent = item.status;
    show($('[data-upload-cancel]', row), state === 'queued' || state === 'uploading' || state === 'paused');
    show($('[data-upload-resume]', row), state === 'paused' && !this.actions.paused());
    const progress = $<HTMLProgressElement>('[data-upload-progress]', row);
    progress.max = Math.max(1, item.total);
    progress.value = state === 'done' ? progress.max : item.sent;
    show(progress, state !== 'failed' && state !== 'cancelled');
  }

  #renderSummary(): void {
    const batch = this.#batch;
    show(this.#summary, Boolean(batch));
    if (!batch) return;
    let done = 0;
    let failed = 0;
    let open = 0;
    let bytes = 0; // of the files' own sizes, as people know them
    let allBytes = 0;
    for (const item of batch.items) {
      const size = item.file.size;
      allBytes += size;
      if (item.state === 'done') {
        done++;
        bytes += size;
      } else if (item.state === 'failed') failed++;
      else if (item.state !== 'cancelled') {
        open++;
        if (item.total > 0) bytes += (size * item.sent) / item.total;
      }
    }
    const total = batch.items.length;
    const paused = this.actions.paused() && open > 0;
    const finished = open === 0;
    this.#summary.dataset.uploadTotal = String(total);
    this.#summary.dataset.uploadDone = String(done);
    this.#summary.dataset.uploadFailed = String(failed);
    this.#summary.dataset.uploadState = finished ? 'finished' : paused ? 'paused' : 'uploading';
    this.#summaryBar.max = Math.max(1, allBytes);
    this.#summaryBar.value = Math.min(bytes, this.#summaryBar.max);
    show(this.#pause, !finished && !paused);
    show(this.#resume, !finished && paused);
    show(this.#cancelAll, !finished);

    const now = performance.now();
    this.#speed.add(bytes, now);
    // not every frame: a screen reader reads each change of this line, and tired eyes cannot follow digits
    // that move sixty times a second
    if (!finished && !paused && now - this.#said < SAY_EVERY_MS) return; // uploads keep changing: soon again
    this.#said = now;
    const parts = [`${done.toLocaleString()} of ${total.toLocaleString()} uploaded`];
    if (finished) {
      if (batch.cancelled && done + failed < total) parts.push('the rest was cancelled');
    } else if (paused) {
      parts.push('paused');
    } else {
      const speed = this.#speed.speed;
      if (speed > 0) {
        parts.push(formatSpeed(speed));
        const left = formatTimeLeft((allBytes - bytes) / speed);
        if (left) parts.push(left.startsWith('a few') ? left : `about ${left}`);
      }
    }
    if (failed) parts.push(`${failed.toLocaleString()} could not be uploaded (listed below)`);
    this.#summaryText.textContent = parts.join(' · ');
    this.#summary.dataset.uploadBytes = String(Math.round(bytes));
    this.#summaryBar.setAttribute('aria-valuetext', `${formatBytes(bytes)} of ${formatBytes(allBytes)}`);
  }
}
