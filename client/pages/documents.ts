/**
 * Documents page (/documents and /documents?view=trash; flows.md "Documents", "Family, sharing and
 * spaces"). The server sends every document this person can read still encrypted in a JSON data island:
 * their own, those in their spaces and those shared with them. Once the vault is unlocked this page opens
 * the person's own names, types and tags in one pass (with those of shared documents accepted earlier: their
 * keys are wrapped under the account key too) and renders the list; meanwhile it loads the family's keys
 * (documents-sharing.ts), then opens the others' documents one by one, and accepts the grants it opened and
 * checked so that the next load opens them in the batch. Again after every unlock.
 * Uploads, the document panel, sharing, the place switcher and the trash live in their own modules
 * (documents-*.ts).
 */
import { ready, type UnlockedKeys } from '../crypto/index.js';
import { api, errorMessage } from './api.js';
import { $, nextFrame, setMessage, show } from './dom.js';
import { refuseDrops } from './documents-drop.js';
import { DocumentList, PAGE } from './documents-list.js';
import {
  OWN,
  decryptAll,
  decryptInSpaces,
  decryptOthers,
  docKeyOf,
  hasOwnWrap,
  isDocumentView,
  readDataIsland,
  recordOf,
  type DocRecord,
  type DocumentView,
} from './documents-model.js';
import { Places } from './documents-places.js';
import { ShareDialog } from './documents-share.js';
import { Sharing, acceptGrants, acceptedWrap, originWithout } from './documents-sharing.js';
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

/** The family's keys for one unlock: loading, loaded, or why they could not be loaded. */
class SharingSlot {
  #promise: Promise<Sharing> | null = null;
  #now: Sharing | null = null;

  start(keys: UnlockedKeys, userId: string): Promise<Sharing> {
    this.#promise = Sharing.load(keys, userId).then((s) => (this.#now = s));
    this.#promise.catch(() => undefined); // answered where it is awaited
    return this.#promise;
  }

  /** Loaded, or null (not yet, or failed). */
  get now(): Sharing | null {
    return this.#now;
  }

  /** The loaded keys, or a sentence saying why there are none. */
  async get(): Promise<Sharing> {
    if (!this.#promise) throw new Error('Unlock your vault first.');
    try {
      return await this.#promise;
    } catch (err) {
      throw new Error(`Your family’s keys could not be loaded, so nothing shared can be opened or shared right now. ${errorMessage(err)}`);
    }
  }

  forget(): void {
    this.#now?.wipe();
    this.#now = null;
    this.#promise = null;
  }
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
  const sharing = new SharingSlot();

  let shown: Shown;
  let page: DocumentsView | null = null;
  if (trashView) {
    shown = new TrashList(root, { alert, usageChanged: () => void refreshUsage() });
    refuseDrops();
  } else {
    page = documentsView(root, userId, alert, accountKey, sharing);
    shown = page.list;
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
      // the family's keys load while the person's own documents open (the trash holds only their own)
      const loading = trashView ? null : sharing.start(keys, userId);
      if (!views) {
        const { documents } = await api<{ documents: unknown[] }>('GET', `/api/documents${trashView ? '?view=trash' : ''}`);
        views = documents.filter(isDocumentView);
      }
      if (gen !== generation) return;
      // own documents and shared ones already accepted open together in one batch; the rest one by one
      const own = views.filter(hasOwnWrap);
      const others = own.length === views.length ? [] : views.filter((v) => !hasOwnWrap(v));
      await nextFrame(); // paint the busy line before the synchronous pass
      // The server sends the newest first, which is also the list's first order: open one screenful,
      // show it, and only then the rest, so a large vault shows its top rows at once.
      const head = own.length > 2 * FIRST_PAINT ? decryptAll(own.slice(0, FIRST_PAINT), keys.accountKey, userId) : null;
      if (head) {
        shown.set(head.records, undefined, false);
        performance.mark('heirloom:documents:first-rows');
        await nextFrame();
        if (gen !== generation) return;
      }
      const rest = decryptAll(head ? own.slice(FIRST_PAINT) : own, keys.accountKey, userId);
      if (gen !== generation) return;
      let mine = head ? head.records.concat(rest.records) : rest.records;
      const ownMs = (head?.ms ?? 0) + rest.ms;
      // A shared document whose accepted wrap does not open is opened through its grant again (its
      // signature checked), and accepted anew.
      if (mine.some((r) => !r.own && !r.meta)) {
        for (const r of mine) if (!r.own && !r.meta) others.push({ ...r.view, keyWrap: null });
        mine = mine.filter((r) => r.own || r.meta);
      }
      const theirsInMine = (r: DocRecord) => Boolean(r.view.spaceId) || !r.own;
      shown.set(mine, ownMs, others.length === 0 && !mine.some(theirsInMine));
      performance.mark('heirloom:documents:own-ready');
      if (loading) {
        const family = await loading.catch((err: unknown) => err);
        if (gen !== generation) return;
        const opened = family instanceof Sharing ? family : null;
        page?.places.setSpaces(opened ? opened.spaces() : null);
        if (!opened) {
          const why = errorMessage(await sharing.get().catch((e: unknown) => e));
          if (others.length) alert(why);
        }
        if (others.length || mine.some(theirsInMine)) {
          const t0 = performance.now();
          const accepted: { documentId: string; keyWrap: string }[] = [];
          let theirs: DocRecord[];
          if (opened) {
            // documents in the person's spaces open in one batch (as the keyring would: space key first)
            const inSpaces = others.filter((v) => opened.inOpenSpace(v));
            const batch = decryptInSpaces(inSpaces, (s, g) => opened.spaceKey(s, g), (v) => opened.origin(v));
            const oneByOne = inSpaces.length ? others.filter((v) => !opened.inOpenSpace(v)).concat(batch.rest) : others;
            const single = decryptOthers(
              oneByOne,
              (v) => opened.docKey(v),
              (v) => opened.origin(v),
              (v, key) => {
                const wrap = acceptedWrap(v, key, keys, userId);
                if (wrap) accepted.push(wrap);
              },
            );
            theirs = batch.records.concat(single.records);
          } else {
            theirs = others.map((v) => recordOf(v, null, originWithout(v, userId, 'Your family’s keys could not be loaded, so this document cannot be opened now.')));
          }
          // documents in a space and accepted shared ones: now the space's name and the sharer are known
          if (opened) for (const r of mine) if (theirsInMine(r)) Object.assign(r, opened.origin(r.view));
          // how long others' documents took after the own batch (`npm run bench -- list` reads this measure)
          performance.measure('heirloom:documents:others', { start: t0, end: performance.now() });
          shown.set(mine.concat(theirs), ownMs + (performance.now() - t0), true);
          if (accepted.length) void acceptGrants(accepted);
        }
      }
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
    sharing.forget();
    page?.onLock();
    void cycle();
  });
  void cycle();
}

interface DocumentsView {
  list: DocumentList;
  places: Places;
  onLock(): void;
}

/** The main view: the place switcher, list, panel, sharing, uploads, and trash with Undo. */
function documentsView(
  root: HTMLElement,
  userId: string,
  alert: (message: string | null) => void,
  accountKey: () => Promise<Uint8Array>,
  sharing: SharingSlot,
): DocumentsView {
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

  const keys = () => whenUnlocked();
  /** Any readable document's key: the owner's own wrap, or the keyring (signatures checked first). */
  const docKeyNow = (r: DocRecord, accountKey: Uint8Array, family: Sharing | null): Uint8Array => {
    if (r.problem) throw new Error(r.problem);
    if (r.own) return docKeyOf(r.view, accountKey, userId);
    if (!family) throw new Error('Your family’s keys are still loading. Please try again in a moment.');
    return family.docKey(r.view);
  };

  let panel: DocumentPanel | null = null;
  let selection: SelectionBar | null = null;
  const list = new DocumentList(root, (record) => panel?.open(record), (selected) => selection?.update(selected));
  const places = new Places(root, () => list.setPlace(places.matches, () => places.emptyText()));
  list.onRecordsChanged = (records) => places.count(records);
  list.setPlace(places.matches, () => places.emptyText());

  const share = new ShareDialog({
    userId,
    keys,
    sharing: async () => {
      const family = await sharing.get();
      await family.reloadTrust();
      return family;
    },
    shared: (records) => {
      if (panel?.openId && records.some((r) => r.view.id === panel?.openId)) void panel.accessChanged();
      if (records.length > 1) list.clearSelection();
    },
  });
  selection = new SelectionBar(root, {
    docKeys: async (records) => {
      const { accountKey } = await keys();
      const family = records.every((r) => r.own) ? null : await sharing.get();
      return (r) => docKeyNow(r, accountKey, family);
    },
    share: (records) => {
      const mine = records.filter((r) => r.own);
      void share.open(mine, records.length - mine.length);
    },
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
    docKey: async (r) => docKeyNow(r, (await keys()).accountKey, r.own ? null : await sharing.get()),
    access: {
      userId,
      keys,
      sharing: () => sharing.get(),
      share: (record) => void share.open([record]),
      changed: (record) => list.replace(record),
    },
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
    target: () => {
      const space = places.uploadTarget();
      return space ? { spaceId: space.spaceId, name: space.name, generation: space.generation } : null;
    },
    spaceKey: async (spaceId, g) => {
      await whenUnlocked();
      const space = (await sharing.get()).space(spaceId);
      if (!space) throw new Error('You are no longer a member of this space.');
      return space.keyOf(g);
    },
    added: (view, meta) => {
      if (arrived.length === 0) {
        const wait = lastAdd + LIST_EVERY_MS - performance.now();
        if (wait > 0) window.setTimeout(() => requestAnimationFrame(addArrived), wait);
        else requestAnimationFrame(addArrived);
      }
      arrived.push(recordOf(view, meta, view.spaceId ? (sharing.now?.origin(view) ?? OWN) : OWN));
    },
    usageChanged: (change) => {
      if (change) adjustUsage(change.bytes, change.documents);
      else refreshUsageSoon();
    },
    alert,
  });

  return {
    list,
    places,
    onLock: () => {
      panel?.close();
      share.close();
      selection?.reset();
      hideToast();
    },
  };
}
