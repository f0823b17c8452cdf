/**
 * Uploads (flows.md "Documents"; docs/api.md "Uploading"): every file is encrypted in a worker as it is read
 * and sent with tus, so a dropped connection resumes by itself and memory stays at a few 4 MiB chunks.
 * The metadata and the key wrap travel in the tus creation request; the server makes the document exist
 * when the last byte arrives.
 */
import { Upload, type DetailedError } from 'tus-js-client';
import {
  memzero,
  newDocKey,
  ready,
  sealDocMeta,
  toB64,
  wrapDocKeyForOwner,
  type DocMeta,
} from '../crypto/index.js';
import { api, csrfToken, errorMessage } from './api.js';
import { $, show } from './dom.js';
import { formatBytes, formatSpeed, formatTimeLeft, kindOf, typeIcon } from './documents-format.js';
import type { DocumentView } from './documents-model.js';
import { attachDrop } from './documents-drop.js';
import { EncryptedSource } from './documents-encrypt.js';
import { onUnauthenticated } from './session.js';

const PARALLEL = 2;
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000];
const SPEED_WINDOW_MS = 4000;

export interface UploadHooks {
  userId: string;
  accountKey(): Promise<Uint8Array>;
  /** The document exists on the server: show it. */
  added(view: DocumentView, meta: DocMeta): void;
  /** Something changed how much space is used. */
  usageChanged(): void;
  alert(message: string): void;
}

type State = 'queued' | 'uploading' | 'paused' | 'done' | 'failed' | 'cancelled';

interface Item {
  file: File;
  docId: string;
  row: HTMLElement;
  state: State;
  upload?: Upload;
  encryption?: EncryptedSource;
  samples: { t: number; bytes: number }[];
}

/** The server's sentence from a tus error (its JSON {error, message}), or a general one. */
function tusMessage(err: Error | DetailedError): { status: number; message: string } {
  const res = (err as DetailedError).originalResponse;
  const status = res ? res.getStatus() : 0;
  if (res) {
    try {
      const body = JSON.parse(res.getBody()) as { message?: unknown };
      if (typeof body.message === 'string' && body.message) return { status, message: body.message };
    } catch {
      // not JSON
    }
  }
  if (status === 401) return { status, message: 'Your session has ended. Please log in again.' };
  if (status === 403) return { status, message: 'This page is out of date. Reload it and try again.' };
  if (status === 0) return { status, message: "The upload stopped: can't reach the Heirloom server. Check your connection and add the file again." };
  return { status, message: 'The upload failed on the server. Please try again in a moment.' };
}

/**
 * Worth trying again: the connection dropped or the server had a moment. tus's own rule also gives up
 * while the browser says it is offline; a family's Wi-Fi blinks, so here that only waits longer (pause).
 */
function transient(err: Error | DetailedError): boolean {
  const d = err as DetailedError;
  if (!d.originalRequest) return false; // the file or the encryption failed, not the network
  const status = d.originalResponse ? d.originalResponse.getStatus() : 0;
  if (status === 409 && d.originalRequest.getMethod() === 'POST') return false; // the ID exists: final
  return status === 0 || status >= 500 || status === 409 || status === 423;
}

export function attachUploads(root: HTMLElement, hooks: UploadHooks): { addFiles(files: Iterable<File>): void } {
  const input = $<HTMLInputElement>('[data-upload-input]', root);
  const list = $('[data-upload-list]', root);
  const template = $<HTMLTemplateElement>('[data-upload-template]', root);
  const clear = $<HTMLButtonElement>('[data-uploads-clear]', root);
  const items: Item[] = [];
  let leaving = false;

  const setState = (item: Item, state: State, status: string) => {
    item.state = state;
    item.row.dataset.uploadState = state;
    $('[data-upload-status]', item.row).textContent = status;
    show($('[data-upload-cancel]', item.row), state === 'queued' || state === 'uploading' || state === 'paused');
    show($('[data-upload-resume]', item.row), state === 'paused');
    const progress = $<HTMLProgressElement>('[data-upload-progress]', item.row);
    if (state === 'done') progress.value = progress.max;
    show(progress, state !== 'failed' && state !== 'cancelled');
    show(clear, items.some((i) => i.state === 'done' || i.state === 'failed' || i.state === 'cancelled'));
  };

  const progressText = (item: Item, sent: number, total: number) => {
    const now = performance.now();
    item.samples.push({ t: now, bytes: sent });
    while (item.samples.length > 2 && now - (item.samples[0]?.t ?? now) > SPEED_WINDOW_MS) item.samples.shift();
    const first = item.samples[0];
    const seconds = first ? (now - first.t) / 1000 : 0;
    const speed = seconds > 0.3 && first ? (sent - first.bytes) / seconds : 0;
    // tus counts encrypted bytes; people think in their file's size.
    const share = total > 0 ? sent / total : 0;
    const parts = [`${formatBytes(Math.round(item.file.size * share))} of ${formatBytes(item.file.size)}`];
    if (speed > 0) {
      parts.push(formatSpeed(speed));
      const left = formatTimeLeft((total - sent) / speed);
      if (left) parts.push(left);
    }
    const progress = $<HTMLProgressElement>('[data-upload-progress]', item.row);
    progress.max = total;
    progress.value = sent;
    item.row.dataset.uploadSent = String(sent);
    if (speed > 0) item.row.dataset.uploadSpeed = String(Math.round(speed));
    $('[data-upload-status]', item.row).textContent = parts.join(' · ');
  };

  const finish = () => {
    hooks.usageChanged();
    pump();
  };

  const fail = (item: Item, message: string, andNext = true) => {
    item.encryption?.close();
    // An upload the server already knows about gives its reserved space back (tus DELETE).
    if (item.upload?.url) void item.upload.abort(true).catch(() => undefined);
    setState(item, 'failed', message);
    hooks.alert(`${item.file.name}: ${message}`);
    if (andNext) finish();
  };

  const run = async (item: Item) => {
    setState(item, 'uploading', 'Encrypting…');
    let accountKey: Uint8Array;
    try {
      await ready();
      accountKey = await hooks.accountKey();
    } catch (err) {
      fail(item, errorMessage(err));
      return;
    }
    if (item.state !== 'uploading') return; // cancelled while waiting
    const { file, docId } = item;
    const meta: DocMeta = {
      name: file.name || 'Untitled',
      type: file.type,
      size: file.size,
      modified: Math.max(0, Math.floor(file.lastModified || 0)),
      tags: [],
    };
    const docKey = newDocKey();
    let sealedMeta: string;
    let keyWrap: string;
    try {
      sealedMeta = toB64(sealDocMeta(docKey, docId, meta));
      keyWrap = toB64(wrapDocKeyForOwner(accountKey, docKey, docId, hooks.userId));
      item.encryption = new EncryptedSource(file, docKey, docId);
    } catch (err) {
      fail(item, errorMessage(err));
      return;
    } finally {
      memzero(docKey);
    }
    const source = item.encryption;
    const total = source.size;
    const upload = new Upload(file, {
      endpoint: new URL('/api/uploads', location.origin).href,
      uploadSize: total,
      // A few whole encrypted chunks per PATCH: the source answers each request with whole pieces.
      chunkSize: EncryptedSource.REQUEST_BYTES,
      fileReader: { openFile: () => Promise.resolve(source) },
      metadata: { docId, meta: sealedMeta, keyWrap },
      headers: { 'X-CSRF-Token': csrfToken() },
      retryDelays: RETRY_DELAYS,
      onShouldRetry: (err) => {
        const again = transient(err);
        if (again && item.state === 'uploading') {
          $('[data-upload-status]', item.row).textContent = 'Connection lost. Trying again…';
          item.samples = [];
        }
        return again;
      },
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: true,
      onProgress: (sent, all) => {
        if (item.state === 'uploading') progressText(item, sent, all);
      },
      onError: (err) => {
        if (item.state !== 'uploading') return;
        if (transient(err)) {
          // The same Upload keeps its source and its server URL: start() asks the server for its offset
          // (HEAD) and continues from there, so nothing is sent twice and nothing is skipped.
          const sent = Number(item.row.dataset.uploadSent ?? 0);
          const at = Math.round((item.file.size * sent) / Math.max(1, total));
          setState(item, 'paused', `Connection lost at ${formatBytes(at)} of ${formatBytes(item.file.size)}. It continues by itself when the connection is back.`);
          return;
        }
        const { status, message } = tusMessage(err);
        if (status === 401) {
          leaving = true; // the session is over: go to the login page without asking about the others
          onUnauthenticated();
        }
        fail(item, message);
      },
      onSuccess: ({ lastResponse }) => {
        item.encryption?.close();
        const id = lastResponse.getHeader('Heirloom-Document-Id') || docId;
        api<{ document: DocumentView }>('GET', `/api/documents/${encodeURIComponent(id)}`)
          .then(({ document }) => {
            setState(item, 'done', `Uploaded · ${formatBytes(file.size)}`);
            hooks.added(document, meta);
          })
          .catch((err: unknown) => fail(item, errorMessage(err), false))
          .finally(finish);
      },
    });
    item.upload = upload;
    upload.start();
  };

  const resume = (item: Item) => {
    if (item.state !== 'paused' || !item.upload) return;
    setState(item, 'uploading', 'Reconnecting…');
    item.samples = [];
    item.upload.start();
  };
  window.addEventListener('online', () => items.forEach(resume));
  // Leaving the page ends every upload in it: ask first.
  window.addEventListener('beforeunload', (e) => {
    if (leaving) return;
    if (items.some((i) => i.state === 'uploading' || i.state === 'paused' || i.state === 'queued')) e.preventDefault();
  });

  const cancel = async (item: Item) => {
    const wasRunning = item.state === 'uploading' || item.state === 'paused';
    setState(item, 'cancelled', 'Cancelled. Nothing was kept.');
    item.encryption?.close();
    if (!wasRunning) return pump();
    const upload = item.upload;
    const known = Boolean(upload?.url);
    // abort(true) sends tus DELETE, which frees the space reserved for this upload on the server.
    await upload?.abort(true).catch(() => undefined);
    if (!known) {
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
    finish();
  };

  const pump = () => {
    let running = items.filter((i) => i.state === 'uploading' || i.state === 'paused').length;
    for (const item of items) {
      if (running >= PARALLEL) break;
      if (item.state !== 'queued') continue;
      running++;
      void run(item);
    }
  };

  const addFiles = (files: Iterable<File>) => {
    for (const file of files) {
      const fragment = template.content.cloneNode(true) as DocumentFragment;
      const row = $('[data-upload]', fragment);
      const item: Item = { file, docId: crypto.randomUUID(), row, state: 'queued', samples: [] };
      row.dataset.uploadName = file.name;
      row.dataset.docId = item.docId;
      $('[data-upload-icon]', row).replaceWith(typeIcon(kindOf(file.type, file.name), file.name));
      $('[data-upload-name]', row).textContent = file.name;
      $<HTMLButtonElement>('[data-upload-cancel]', row).addEventListener('click', () => void cancel(item));
      $<HTMLButtonElement>('[data-upload-cancel]', row).setAttribute('aria-label', `Cancel uploading ${file.name}`);
      $<HTMLButtonElement>('[data-upload-resume]', row).addEventListener('click', () => resume(item));
      items.push(item);
      list.append(row);
      setState(item, 'queued', `Waiting · ${formatBytes(file.size)}`);
    }
    show(list, items.length > 0);
    pump();
  };

  input.addEventListener('change', () => {
    if (input.files) addFiles(Array.from(input.files));
    input.value = '';
  });

  clear.addEventListener('click', () => {
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i];
      if (item && (item.state === 'done' || item.state === 'failed' || item.state === 'cancelled')) {
        item.row.remove();
        items.splice(i, 1);
      }
    }
    show(clear, false);
    show(list, items.length > 0);
  });

  attachDrop($('[data-drop-overlay]'), () => !root.closest('[hidden]'), addFiles);

  return { addFiles };
}
