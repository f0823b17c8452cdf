/**
 * Uploads (flows.md "Documents"; docs/api.md "Uploading"): every file is encrypted in a worker as it is read
 * and sent with tus, so a dropped connection resumes by itself and memory stays at a few 4 MiB chunks.
 * The metadata and the key wrap travel in the tus creation request; the server makes the document exist
 * when the last byte arrives.
 *
 * Built for a folder of a thousand scans as much as for one large file: several files are in flight at
 * once, a small file is one request (its bytes ride in the creation request, whose answer carries the new
 * document), and what is shown is drawn once per frame (documents-upload-view.ts).
 *
 * Into a space (docs/api.md "Uploading"): the files added while a space is shown go into it. Besides the
 * owner's own key wrap (the uploader keeps access to what they added), the document key is wrapped under the
 * space's current key, and the space's ID and generation travel with it.
 */
import { Upload, type DetailedError } from 'tus-js-client';
import {
  blobSize,
  memzero,
  newDocKey,
  ready,
  sealDocMeta,
  toB64,
  wrapDocKeyForOwner,
  wrapDocKeyForSpace,
  type DocMeta,
} from '../crypto/index.js';
import { api, csrfToken, errorMessage } from './api.js';
import { $ } from './dom.js';
import { formatBytes, formatSpeed, formatTimeLeft, plural, SpeedMeter } from './documents-format.js';
import type { DocumentView, Usage } from './documents-model.js';
import { documentIn, transient, tusCode, tusMessage } from './documents-tus.js';
import { attachDrop } from './documents-drop.js';
import { EncryptPool, EncryptedSource } from './documents-encrypt.js';
import { pickedFromDrop, pickedFromFolderInput, type Picked } from './documents-folders.js';
import { UploadView, type UploadBatch, type UploadItem, type UploadState } from './documents-upload-view.js';
import { onUnauthenticated } from './session.js';

/**
 * Files in flight at once. A small file is mostly fixed costs (a request, a database commit, a few ms of
 * encryption), so several overlap; a large one keeps a worker and the network busy by itself.
 */
const AT_ONCE = 6;
/** Large files (more than one request) in flight at once: one worker of the pool stays free for small ones. */
const LARGE_AT_ONCE = Math.min(2, Math.max(1, EncryptPool.shared().size - 1));
/** Up to this many files, each has a row of its own; more become one summary line. */
const ROWS_UP_TO = 10;
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000];

export interface UploadHooks {
  userId: string;
  accountKey(): Promise<Uint8Array>;
  /** Where files added now go: a space, or null for the person's own documents (throws a sentence to refuse). */
  target(): UploadTarget | null;
  /** The key of generation g of a space (the keyring's; not to be wiped). */
  spaceKey(spaceId: string, g: number): Promise<Uint8Array>;
  /** The document exists on the server: show it. */
  added(view: DocumentView, meta: DocMeta): void;
  /** Something changed how much space is used: by `bytes` and `documents` when known. */
  usageChanged(change?: { bytes: number; documents: number }): void;
  alert(message: string | null): void;
}

/** A space that new documents go into, with the generation of its key current when they were added. */
export interface UploadTarget {
  spaceId: string;
  name: string;
  generation: number;
}

interface Item extends UploadItem {
  tags: string[];
  target: UploadTarget | null;
  large: boolean;
  /** Left to wait by Pause; started again by Continue. */
  held: boolean;
  /** Its upload stopped on an error while it was paused: Continue starts it again (tus asks where it stands). */
  stopped?: boolean;
  /** Counts the times run() began for it: a run that was paused before its upload existed stops there. */
  runs: number;
  upload?: Upload;
  encryption?: EncryptedSource;
  speed: SpeedMeter;
}

export function attachUploads(root: HTMLElement, hooks: UploadHooks): { addFiles(picked: Picked): Promise<void> } {
  const input = $<HTMLInputElement>('[data-upload-input]', root);
  const folderInput = $<HTMLInputElement>('[data-upload-folder-input]', root);
  /** Every upload on the page, in the order they were added, until Clear finished. */
  const items: Item[] = [];
  /** Waiting to start, oldest first. */
  const queue: Item[] = [];
  const running = new Set<Item>();
  let batch: UploadBatch | null = null;
  let paused = false;
  let leaving = false;

  const view = new UploadView(root, {
    cancel: (item) => void cancel(item as Item),
    retry: (item) => resume(item as Item),
    pause: () => pauseAll(),
    resume: () => resumeAll(),
    cancelAll: () => cancelAll(),
    clear: () => clearFinished(),
    paused: () => paused,
    anySettled: () => items.some((i) => settled(i.state)),
  });

  const setState = (item: Item, state: UploadState, status: string) => {
    item.state = state;
    item.status = status;
    if (settled(state)) running.delete(item);
    view.changed(item);
  };

  const progress = (item: Item, sent: number, total: number) => {
    item.sent = sent;
    item.total = total;
    if (!item.batch) {
      // a row of its own says how far and how fast; a file of a drop of many only feeds the summary
      item.speed.add(sent);
      const speed = item.speed.speed;
      // tus counts encrypted bytes; people think in their file's size.
      const share = total > 0 ? sent / total : 0;
      const parts = [`${formatBytes(Math.round(item.file.size * share))} of ${formatBytes(item.file.size)}`];
      if (speed > 0) {
        parts.push(formatSpeed(speed));
        const left = formatTimeLeft((total - sent) / speed);
        if (left) parts.push(left);
      }
      item.status = parts.join(' · ');
    }
    view.changed(item);
  };

  const fail = (item: Item, message: string) => {
    item.encryption?.close();
    // An upload the server already knows about gives its reserved space back (tus DELETE).
    if (item.upload?.url) void item.upload.abort(true).catch(() => undefined);
    setState(item, 'failed', message);
    // one file on its own says so at the top; the failures of a drop of many are listed under its summary
    if (!item.batch) hooks.alert(`${item.file.name}: ${message}`);
    hooks.usageChanged();
    pump();
  };

  const succeed = (item: Item, document: DocumentView, meta: DocMeta) => {
    item.encryption?.close();
    setState(item, 'done', `Uploaded · ${formatBytes(item.file.size)}`);
    hooks.added(document, meta);
    hooks.usageChanged({ bytes: item.total, documents: 1 });
    pump();
  };

  /** The server has the document but its answer did not say it (a PATCH's 204, or a lost answer). */
  const fetchAndSucceed = (item: Item, meta: DocMeta) => {
    api<{ document: DocumentView }>('GET', `/api/documents/${encodeURIComponent(item.docId)}`)
      .then(({ document }) => succeed(item, document, meta))
      .catch((err: unknown) => fail(item, errorMessage(err)));
  };

  const run = async (item: Item) => {
    const attempt = ++item.runs;
    running.add(item);
    setState(item, 'uploading', 'Encrypting…');
    let accountKey: Uint8Array;
    let spaceKey: Uint8Array | null = null;
    try {
      await ready();
      accountKey = await hooks.accountKey();
      if (item.target) spaceKey = await hooks.spaceKey(item.target.spaceId, item.target.generation);
    } catch (err) {
      fail(item, errorMessage(err));
      return;
    }
    if (item.state !== 'uploading' || item.runs !== attempt) return; // cancelled or paused while waiting
    const { file, docId } = item;
    const meta: DocMeta = {
      name: file.name || 'Untitled',
      type: file.type,
      size: file.size,
      modified: Math.max(0, Math.floor(file.lastModified || 0)),
      tags: item.tags,
    };
    const docKey = newDocKey();
    let sealedMeta: string;
    let keyWrap: string;
    const intoSpace: Record<string, string> = {};
    try {
      sealedMeta = toB64(sealDocMeta(docKey, docId, meta));
      keyWrap = toB64(wrapDocKeyForOwner(accountKey, docKey, docId, hooks.userId));
      const target = item.target;
      if (target && spaceKey) {
        intoSpace.spaceId = target.spaceId;
        intoSpace.spaceGeneration = String(target.generation);
        intoSpace.spaceKeyWrap = toB64(wrapDocKeyForSpace(spaceKey, docKey, docId, target.spaceId, target.generation));
      }
      item.encryption = new EncryptedSource(file, docKey, docId);
    } catch (err) {
      fail(item, errorMessage(err));
      return;
    } finally {
      memzero(docKey);
    }
    const source = item.encryption;
    const total = source.size;
    item.total = total;
    const upload = new Upload(file, {
      endpoint: new URL('/api/uploads', location.origin).href,
      uploadSize: total,
      // A few whole encrypted chunks per request: the source answers each request with whole pieces.
      chunkSize: EncryptedSource.REQUEST_BYTES,
      // The first request (all of a small file) rides in the creation request: one request per small file.
      uploadDataDuringCreation: true,
      fileReader: { openFile: () => Promise.resolve(source) },
      metadata: { docId, meta: sealedMeta, keyWrap, ...intoSpace },
      headers: { 'X-CSRF-Token': csrfToken() },
      retryDelays: RETRY_DELAYS,
      onShouldRetry: (err) => {
        const again = transient(err);
        if (again && item.state === 'uploading') {
          item.status = 'Connection lost. Trying again…';
          item.speed.reset();
          view.changed(item);
        }
        return again;
      },
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: true,
      onProgress: (sent, all) => {
        if (item.state === 'uploading') progress(item, sent, all);
      },
      onError: (err) => {
        if (item.held && item.state === 'paused' && transient(err)) {
          item.stopped = true; // Continue starts it again
          return;
        }
        if (item.state !== 'uploading' && !item.held) return;
        if (transient(err)) {
          // The same Upload keeps its source and its server URL: start() asks the server for its offset
          // (HEAD) and continues from there, so nothing is sent twice and nothing is skipped.
          const at = Math.round((item.file.size * item.sent) / Math.max(1, total));
          setState(item, 'paused', `Connection lost at ${formatBytes(at)} of ${formatBytes(item.file.size)}. It continues by itself when the connection is back.`);
          return;
        }
        const { status, message } = tusMessage(err);
        if (status === 409 && tusCode(err) === 'document_exists' && (err as DetailedError).originalRequest?.getMethod() === 'POST') {
          // A creation request sent again after its answer was lost, when the first one had finished the
          // document: it is there, ours.
          fetchAndSucceed(item, meta);
          return;
        }
        if (status === 401) {
          leaving = true; // the session is over: go to the login page without asking about the others
          onUnauthenticated();
        }
        fail(item, message);
      },
      onSuccess: ({ lastResponse }) => {
        // a request already on its way when Pause was pressed still finishes its file
        if (item.state !== 'uploading' && !(item.state === 'paused' && item.held)) return;
        // A creation request that carried every byte answers with the new document: no request more.
        const document = documentIn(lastResponse.getBody() ?? '');
        if (document && document.id === docId) succeed(item, document, meta);
        else fetchAndSucceed(item, meta);
      },
    });
    item.upload = upload;
    upload.start();
  };

  /** Starts waiting files while there is room: AT_ONCE in all, LARGE_AT_ONCE of them large. */
  const pump = () => {
    if (paused) return;
    let large = 0;
    for (const i of running) if (i.large) large++;
    for (let q = 0; q < queue.length && running.size < AT_ONCE; ) {
      const item = queue[q] as Item;
      if (item.state !== 'queued') {
        queue.splice(q, 1);
        continue;
      }
      if (item.large && large >= LARGE_AT_ONCE) {
        q++;
        continue;
      }
      queue.splice(q, 1);
      if (item.large) large++;
      void run(item);
    }
  };

  const resume = (item: Item) => {
    if (item.state !== 'paused' || !item.upload || paused) return;
    item.held = false;
    setState(item, 'uploading', 'Reconnecting…');
    item.speed.reset();
    item.upload.start();
  };
  window.addEventListener('online', () => items.forEach((i) => !i.held && resume(i)));
  // Leaving the page ends every upload in it: ask first.
  window.addEventListener('beforeunload', (e) => {
    if (leaving) return;
    if (items.some((i) => i.state === 'uploading' || i.state === 'paused' || i.state === 'queued')) e.preventDefault();
  });

  const cancel = async (item: Item) => {
    if (settled(item.state)) return;
    const wasRunning = item.state === 'uploading' || item.state === 'paused';
    setState(item, 'cancelled', 'Cancelled. Nothing was kept.');
    item.encryption?.close();
    if (!wasRunning) return;
    const upload = item.upload;
    const known = Boolean(upload?.url);
    // abort(true) sends tus DELETE, which frees the space reserved for this upload on the server.
    await upload?.abort(true).catch(() => undefined);
    if (!known && upload) {
      // The creation request may still be on its way: the upload is named by the document ID, so it can
      // be cancelled by that name once it exists.
      const drop = () =>
        fetch(`/api/uploads/${encodeURIComponent(item.docId)}`, {
          method: 'DELETE',
          headers: { 'Tus-Resumable': '1.0.0', 'X-CSRF-Token': csrfToken() },
          credentials: 'same-origin',
        }).catch(() => undefined);
      await drop();
      window.setTimeout(() => void drop().then(() => hooks.usageChanged()), 2000);
    }
    hooks.usageChanged();
    pump();
  };

  /**
   * Pause: nothing new starts, and uploads in flight stop after the request already on its way (a small file
   * is one request, so it finishes): their sources hold back the next bytes until Continue.
   */
  const pauseAll = () => {
    paused = true;
    for (const item of running) {
      if (item.state !== 'uploading' && item.state !== 'paused') continue;
      item.held = true;
      item.encryption?.hold();
      const at = Math.round((item.file.size * item.sent) / Math.max(1, item.total));
      setState(item, 'paused', `Paused at ${formatBytes(at)} of ${formatBytes(item.file.size)}.`);
    }
    if (batch) view.setBatch(batch);
  };

  const resumeAll = () => {
    paused = false;
    const notBegun: Item[] = [];
    for (const item of [...running]) {
      const wasHeld = item.held;
      item.held = false;
      if (item.state !== 'paused') continue;
      if (!item.upload) {
        // paused before its upload existed: it starts again from the beginning, first in line
        running.delete(item);
        item.state = 'queued';
        item.status = `Waiting · ${formatBytes(item.file.size)}`;
        notBegun.push(item);
        view.changed(item);
        continue;
      }
      setState(item, 'uploading', 'Continuing…');
      item.speed.reset();
      item.encryption?.release();
      // stopped by a lost connection (before or during the pause): tus asks the server where it stands
      if (item.stopped || !wasHeld) {
        item.stopped = false;
        item.upload.start();
      }
    }
    queue.unshift(...notBegun);
    if (batch) view.setBatch(batch);
    pump();
  };

  /** Cancel all: every upload not yet finished ends, and the server forgets each one it had started. */
  const cancelAll = () => {
    if (batch) batch.cancelled = true;
    paused = false;
    for (const item of items) if (!settled(item.state)) void cancel(item);
    queue.splice(0);
    if (batch) view.setBatch(batch);
  };

  const clearFinished = () => {
    const gone = items.filter((i) => settled(i.state));
    for (let i = items.length - 1; i >= 0; i--) if (settled((items[i] as Item).state)) items.splice(i, 1);
    if (batch && batch.items.every((i) => settled(i.state))) {
      batch = null;
      view.setBatch(null);
    }
    view.forget(gone);
    view.note('');
  };

  /**
   * Whether the whole drop fits in the space left, asked before anything is sent, so a drop that cannot
   * fit is refused whole rather than half-uploaded. Files already waiting count too. The server checks
   * each file again as it arrives; when it cannot be asked now, that check is the one that counts.
   */
  const fitsQuota = async (files: File[]): Promise<boolean> => {
    let usage: Usage;
    try {
      usage = await api<Usage>('GET', '/api/usage');
    } catch {
      return true;
    }
    let need = 0;
    for (const f of files) need += blobSize(f.size);
    let waiting = 0;
    for (const i of queue) if (i.state === 'queued') waiting += blobSize(i.file.size);
    const left = Math.max(0, usage.quota - usage.used - waiting);
    if (need <= left) return true;
    hooks.alert(
      `${files.length === 1 ? 'This file needs' : `These ${files.length.toLocaleString()} files need`} ${formatBytes(need)}; ` +
        `you have ${formatBytes(left)} left. Nothing was uploaded. Empty the trash, choose fewer files, or ask your family’s admin for more space.`,
    );
    return false;
  };

  const addFiles = async (picked: Picked) => {
    const { files, skipped } = picked;
    view.note(skipped ? `${plural(skipped, 'hidden or system file was', 'hidden or system files were')} skipped.` : '');
    if (files.length === 0) return;
    let target: UploadTarget | null;
    try {
      target = hooks.target();
    } catch (err) {
      hooks.alert(errorMessage(err));
      return;
    }
    // One file is checked by the server as it is created, and says so in its row (documents-quota test).
    if (files.length > 1 && !(await fitsQuota(files.map((f) => f.file)))) return;
    hooks.alert(null);
    let into: UploadBatch | null = null;
    if (files.length > ROWS_UP_TO) {
      // a drop of many joins the one still running, so one line counts everything still to come
      const runningBatch = batch && batch.items.some((i) => !settled(i.state)) ? batch : null;
      into = runningBatch ?? { items: [], cancelled: false };
      batch = into;
    }
    for (const { file, tags } of files) {
      const item: Item = {
        file,
        tags,
        target,
        docId: crypto.randomUUID(),
        state: 'queued',
        status: `Waiting · ${formatBytes(file.size)}`,
        sent: 0,
        total: blobSize(file.size),
        batch: into,
        large: blobSize(file.size) > EncryptedSource.REQUEST_BYTES,
        held: false,
        runs: 0,
        speed: new SpeedMeter(300),
      };
      items.push(item);
      queue.push(item);
      into?.items.push(item);
      view.changed(item);
    }
    if (into) view.setBatch(into);
    pump();
  };

  const take = (p: Promise<Picked> | Picked) =>
    Promise.resolve(p)
      .then(addFiles)
      .catch((err: unknown) => hooks.alert(errorMessage(err)));

  input.addEventListener('change', () => {
    if (input.files) void take({ files: Array.from(input.files, (file) => ({ file, tags: [] })), skipped: 0 });
    input.value = '';
  });
  folderInput.addEventListener('change', () => {
    if (folderInput.files) void take(pickedFromFolderInput(folderInput.files));
    folderInput.value = '';
  });

  attachDrop($('[data-drop-overlay]'), () => !root.closest('[hidden]'), (data) => void take(pickedFromDrop(data)));

  return { addFiles };
}

function settled(state: UploadState): boolean {
  return state === 'done' || state === 'failed' || state === 'cancelled';
}
