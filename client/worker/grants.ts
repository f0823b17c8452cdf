/**
 * Opens documents shared with the person (grants) off the main thread, for the documents list: for each,
 * the sharer's signature is checked against the key the page trusts for them (trust.ts) and only then the
 * sealed document key is opened, exactly as keyring.ts does (openGrant, crypto.md "Sharing and spaces"); then
 * the metadata. A grant costs an Ed25519 check and a sealed box (about 0.4 ms in WebAssembly): a thousand of
 * them held the page for half a second, so they run here, beside the page opening the person's own
 * documents. Only the metadata goes back: document keys never leave this worker, and the private key it
 * was given is wiped once the batch is done.
 */
import { ready } from '../crypto/sodium.js';
import { fromB64 } from '../crypto/encoding.js';
import { memzero } from '../crypto/primitives.js';
import { openDocMeta, type DocMeta } from '../crypto/document.js';
import { openGrant } from '../crypto/sharing.js';

export interface GrantItem {
  id: string;
  meta: string;
  sealed: string;
  sig: string;
  /** the sharer's signing key as the page trusts it */
  signPk: Uint8Array;
}

export interface GrantRequest {
  userId: string;
  boxPk: Uint8Array;
  boxSk: Uint8Array;
  items: GrantItem[];
}

/** Per item, in order: the metadata, or why the key did not open (`key`), or damaged metadata (`meta`). */
export type GrantResult = { meta: DocMeta } | { error: 'key' | 'meta'; message: string };

const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = async (event: MessageEvent<GrantRequest>) => {
  const { userId, boxPk, boxSk, items } = event.data;
  await ready();
  const out: GrantResult[] = [];
  try {
    for (const it of items) {
      let key: Uint8Array;
      try {
        key = openGrant({ sealed: fromB64(it.sealed), sig: fromB64(it.sig) }, it.id, userId, it.signPk, boxPk, boxSk);
      } catch (err) {
        out.push({ error: 'key', message: err instanceof Error ? err.message : 'This shared document key could not be opened.' });
        continue;
      }
      try {
        out.push({ meta: openDocMeta(key, it.id, fromB64(it.meta)) });
      } catch (err) {
        out.push({ error: 'meta', message: err instanceof Error ? err.message : 'damaged' });
      } finally {
        memzero(key);
      }
    }
  } finally {
    memzero(boxSk);
  }
  scope.postMessage(out);
};
