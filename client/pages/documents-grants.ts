/**
 * Documents shared with the person (grants), opened for the list in workers (client/worker/grants.ts) while
 * the page opens the person's own documents: a grant costs a signature check and a sealed box, about
 * 0.4 ms each, which for a thousand shared documents held the page for half a second (docs/performance.md
 * "The documents list with sharing and spaces"). The page decides whom to trust (the sharer's key from
 * trust.ts); the worker checks the signature with that key before it opens anything, as keyring.ts does.
 */
import type { UnlockedKeys } from '../crypto/index.js';
import type { GrantItem, GrantRequest, GrantResult } from '../worker/grants.js';
import { decryptOthers, recordOf, type DocRecord, type DocumentView } from './documents-model.js';
import type { Sharing } from './documents-sharing.js';
import { startWorker } from './documents-workers.js';

export const GRANTS_WORKER_URL = '/assets/grants-worker.js';
/** Fewer grants than this are opened in the page: starting a worker costs more than they do. */
export const GRANTS_IN_WORKERS_FROM = 64;

/** A document that reaches the person only through a grant (not through a space they are in). */
export function viaGrant(view: DocumentView, userId: string): boolean {
  return view.ownerId !== userId && view.grant !== null && !view.spaceId;
}

/** One batch in one worker; rejects when the worker could not run it. */
function runWorker(request: GrantRequest): Promise<GrantResult[]> {
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = startWorker(GRANTS_WORKER_URL, 'heirloom-grants');
    } catch (err) {
      reject(err);
      return;
    }
    worker.onmessage = (event: MessageEvent<GrantResult[]>) => {
      worker.terminate();
      resolve(event.data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      worker.terminate();
      reject(new Error('The worker opening shared documents stopped.'));
    };
    worker.postMessage(request);
  });
}

/**
 * Opens `views` (all reached through a grant) in up to two workers, or in the page when they are few or a
 * worker cannot run. Resolves to their rows, in the same order.
 */
export async function openGrants(views: DocumentView[], family: Sharing, keys: UnlockedKeys, userId: string): Promise<DocRecord[]> {
  const inPage = () => decryptOthers(views, (v) => family.docKey(v), (v) => family.origin(v)).records;
  if (views.length < GRANTS_IN_WORKERS_FROM) return inPage();
  const records = new Array<DocRecord>(views.length);
  const items: { at: number; item: GrantItem }[] = [];
  views.forEach((view, at) => {
    const grant = view.grant;
    if (!grant) return;
    try {
      items.push({ at, item: { id: view.id, meta: view.meta, sealed: grant.sealed, sig: grant.sig, signPk: family.sharerKey(view) } });
    } catch (err) {
      // a sharer whose key may not be used: nothing is opened, the row says why
      records[at] = recordOf(view, null, { ...family.origin(view), problem: err instanceof Error ? err.message : String(err) });
    }
  });
  const workers = Math.max(1, Math.min(2, (navigator.hardwareConcurrency || 2) - 1));
  const size = Math.ceil(items.length / workers);
  const batches = Array.from({ length: workers }, (_, w) => items.slice(w * size, (w + 1) * size)).filter((b) => b.length > 0);
  let results: GrantResult[][];
  try {
    results = await Promise.all(
      batches.map((batch) =>
        runWorker({ userId, boxPk: keys.boxPk, boxSk: keys.boxSk.slice(), items: batch.map((b) => b.item) }),
      ),
    );
  } catch {
    return inPage();
  }
  batches.forEach((batch, b) =>
    batch.forEach(({ at }, i) => {
      const view = views[at] as DocumentView;
      const origin = family.origin(view);
      const result = results[b]?.[i];
      if (result && 'meta' in result) records[at] = recordOf(view, result.meta, origin);
      else if (result?.error === 'key') records[at] = recordOf(view, null, { ...origin, problem: result.message });
      else records[at] = recordOf(view, null, origin);
    }),
  );
  return records;
}
