/**
 * Documents page (/documents and /documents?view=trash; flows.md "Documents"). The server sends every
 * document still encrypted in a JSON data island; once the vault is unlocked this page opens the names,
 * types and tags in one pass and renders the list, and again after every unlock. Uploads, the document
 * panel and the trash live in their own modules (documents-*.ts).
 */
import { ready } from '../crypto/index.js';
import { api, errorMessage } from './api.js';
import { $, nextFrame, setMessage, show } from './dom.js';
import { refuseDrops } from './documents-drop.js';
import { DocumentList, PAGE } from './documents-list.js';
import { decryptAll, isDocumentView, readDataIsland, recordOf, type DocRecord, type DocumentView } from './documents-model.js';
import { DocumentPanel } from './documents-panel.js';
import { SelectionBar } from './documents-select.js';
import { TrashList } from './documents-trash.js';
import { attachUploads } from './documents-upload.js';
import { adjustUsage, refreshUsage, refreshUsageSoon } from './documents-usage.js';
import { isLocked, whenUnlocked } from './lock.js';

const TOAST_MS = 10_000;
/** New documents join the list at most this often while many arrive (one sort and one redraw each time). */
const LIST_EVERY_MS = 1000;
/** Documents opened before the first paint of a large list (one page of the table). */
const FIRST_PAINT = PAGE;

interface Shown {
  /** `complete` false: the first rows of a large list, the rest is still being opened. */
  set(records: DocRecord[], decryptMs?: number, complete?: boolean): void;
  clear(): void;
}

export function init(): void {
  const root = $('[data-documents]');
  const trashView = root.dataset.view === 'trash';
  const userId = document.body.dataset.userId ?? '';
  const alertEl = $('[data-docs-alert]');
  const busy = $('[data-docs-decrypting]');
  const alert = (message: string | null) => {
    setMessage(alertEl, message);
    if (message) alertEl.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  };
  const accountKey = async () => (await whenUnlocked()).accountKey;

  let shown: Shown;
  let onLock: () => void = () => undefined;
  if (trashView) {
    shown = new TrashList(root, { alert, usageChanged: () => void refreshUsage() });
    refuseDrops();
  } else {
    const page = documentsView(root, userId, alert, accountKey);
    shown = page.list;
    onLock = page.onLock;
  }

  // The island is what the server rendered; after a lock and unlock, ask again (things may have changed).
  let views: DocumentView[] | null = readDataIsland();
  let generation = 0;
  const cycle = async () => {
    const gen = ++generation;
    const keys = await whenUnlocked();
    if (gen !== generation) return;
    performance.mark('heirloom:documents:unlocked'); // marks for `npm run bench` and the curious
    show(busy, true);
    try {
      await ready();
      if (!views) {
        const { documents } = await api<{ documents: unknown[] }>('GET', `/api/documents${trashView ? '?view=trash' : ''}`);
        views = documents.filter(isDocumentView);
      }
      if (gen !== generation) return;
      await nextFrame(); // paint the busy line before the synchronous pass
      // The server sends the newest first, which is also the list's first order: open one screenful,
      // show it, and only then the rest, so a large vault shows its top rows at once.
      const head = views.length > 2 * FIRST_PAINT ? decryptAll(views.slice(0, FIRST_PAINT), keys.accountKey, userId) : null;
      if (head) {
        shown.set(head.records, undefined, false);
        performance.mark('heirloom:documents:first-rows');
        await nextFrame();
        if (gen !== generation) return;
      }
      const rest = decryptAll(head ? views.slice(FIRST_PAINT) : views, keys.accountKey, userId);
      if (gen !== generation) return;
      shown.set(head ? head.records.concat(rest.records) : rest.records, (head?.ms ?? 0) + rest.ms);
      performance.mark('heirloom:documents:ready');
    } catch (err) {
      alert(errorMessage(err));
    } finally {
      if (gen === generation) show(busy, false);
    }
  };
  document.addEventListener('heirloom:locked', () => {
    generation++;
    views = null;
    shown.clear();
    onLock();
    void cycle();
  });
  void cycle();
}

/** The main view: list, panel, uploads, and trash with Undo. */
function documentsView(
  root: HTMLElement,
  userId: string,
  alert: (message: string | null) => void,
  accountKey: () => Promise<Uint8Array>,
): { list: DocumentList; onLock(): void } {
  const toast = $('[data-docs-toast]');
  const toastText = $('[data-docs-toast-text]', toast);
  const undo = $<HTMLButtonElement>('[data-docs-undo]', toast);
  let toastTimer = 0;
  let undoAction: (() => Promise<void>) | null = null;

  const hideToast = () => {
    window.clearTimeout(toastTimer);
    show(toast, false);
    undoAction = null;
  };
  const showToast = (text: string, action: () => Promise<void>) => {
    window.clearTimeout(toastTimer);
    toastText.textContent = text;
    undoAction = action;
    undo.disabled = false;
    show(toast, true);
    toastTimer = window.setTimeout(hideToast, TOAST_MS);
  };
  undo.addEventListener('click', async () => {
    const action = undoAction;
    if (!action) return;
    undo.disabled = true;
    try {
      await action();
      hideToast();
    } catch (err) {
      undo.disabled = false;
      alert(errorMessage(err));
    }
  });

  let panel: DocumentPanel | null = null;
  let selection: SelectionBar | null = null;
  const list = new DocumentList(root, (record) => panel?.open(record), (selected) => selection?.update(selected));
  selection = new SelectionBar(root, {
    keys: async () => ({ accountKey: await accountKey(), userId }),
    clear: () => list.clearSelection(),
  });

  const trash = async (record: DocRecord) => {
    alert(null);
    const id = record.view.id;
    try {
      await api('POST', `/api/documents/${encodeURIComponent(id)}/trash`);
    } catch (err) {
      alert(errorMessage(err));
      return;
    }
    list.remove(id);
    void refreshUsage();
    showToast(`“${record.name}” was moved to the trash.`, async () => {
      await api('POST', `/api/documents/${encodeURIComponent(id)}/restore`);
      list.add({ ...record, view: { ...record.view, deletedAt: null } });
      void refreshUsage();
    });
  };

  panel = new DocumentPanel({
    userId,
    accountKey,
    saved: (record) => list.replace(record),
    trash: (record) => void trash(record),
    knownTags: () => [...new Set(list.records.flatMap((r) => r.tags))],
  });

  // Documents that arrive close together join the list together: one sort and one render for all of them,
  // at most every LIST_EVERY_MS (a list re-sorted, redrawn and laid out again after each of a thousand
  // uploads kept the page busy all the time).
  let arrived: DocRecord[] = [];
  let lastAdd = -LIST_EVERY_MS;
  const addArrived = () => {
    lastAdd = performance.now();
    const records = arrived;
    arrived = [];
    // Locked meanwhile: the list is empty and will be fetched again, with these documents, on unlock.
    if (isLocked() || records.length === 0) return;
    const known = new Set(list.records.map((r) => r.view.id));
    list.add(...records.filter((r) => !known.has(r.view.id)));
  };
  attachUploads(root, {
    userId,
    accountKey,
    added: (view, meta) => {
      if (arrived.length === 0) {
        const wait = lastAdd + LIST_EVERY_MS - performance.now();
        if (wait > 0) window.setTimeout(() => requestAnimationFrame(addArrived), wait);
        else requestAnimationFrame(addArrived);
      }
      arrived.push(recordOf(view, meta));
    },
    usageChanged: (change) => {
      if (change) adjustUsage(change.bytes, change.documents);
      else refreshUsageSoon();
    },
    alert,
  });

  return {
    list,
    onLock: () => {
      panel?.close();
      selection?.reset();
      hideToast();
    },
  };
}
