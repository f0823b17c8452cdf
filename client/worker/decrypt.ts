/**
 * Decrypts one document off the main thread (flows.md "Documents": "download decrypts as it streams").
 * The page fetches the blob and hands its bytes over as they arrive; they are fed to the crypto core's
 * BlobDecryptor and each authenticated plaintext chunk is put straight into the browser's blob storage
 * (new Blob([chunk]) copies it out of the decryptor's buffer), so the JS heap holds about one chunk. Only
 * when finish() has accepted the final chunk is the whole Blob sent to the page: a damaged or cut-off
 * document produces nothing but an error.
 *
 * Why the page reads the network and not this worker: while a chunk is being decrypted the worker cannot
 * read, the browser's buffer for the response fills up and the download stalls; with the reading on
 * another thread, transfer and decryption overlap.
 */
import { ready } from '../crypto/sodium.js';
import { BlobDecryptor } from '../crypto/document.js';
import { memzero } from '../crypto/primitives.js';
import { CryptoError } from '../crypto/errors.js';
import type { DecryptReply, DecryptRequest } from './blob-messages.js';

const scope = self as unknown as DedicatedWorkerGlobalScope;

let decryptor: BlobDecryptor | undefined;
let mediaType = 'application/octet-stream';
const parts: Blob[] = [];
let failed = false;
// Messages are handled strictly one after the other: bytes must not overtake the `start` still waiting
// for libsodium to load.
let queue: Promise<void> = Promise.resolve();

/** Keeps one authenticated chunk: a view of the decryptor's buffer, copied into a Blob at once. */
function keep(plain: Uint8Array): void {
  parts.push(new Blob([plain as Uint8Array<ArrayBuffer>]));
}

async function handle(msg: DecryptRequest): Promise<void> {
  if (failed) return;
  if (msg.type === 'start') {
    await ready();
    decryptor = new BlobDecryptor(msg.docKey, msg.docId);
    memzero(msg.docKey);
    mediaType = msg.mediaType;
    return;
  }
  if (!decryptor) throw new Error('The decryption has not started.');
  if (msg.type === 'bytes') {
    decryptor.push(msg.bytes, keep);
    scope.postMessage({ type: 'taken', bytes: msg.bytes.length } satisfies DecryptReply);
  } else {
    decryptor.finish(keep);
    scope.postMessage({ type: 'done', blob: new Blob(parts, { type: mediaType }) } satisfies DecryptReply);
  }
}

scope.onmessage = (event: MessageEvent<DecryptRequest>) => {
  const msg = event.data;
  queue = queue
    .then(() => handle(msg))
    .catch((err: unknown) => {
      failed = true;
      const reply: DecryptReply =
        err instanceof CryptoError
          ? { type: 'error', kind: 'crypto', code: err.code, message: err.message }
          : { type: 'error', kind: 'worker', message: 'Decrypting this document failed on this device.' };
      scope.postMessage(reply);
    });
};
