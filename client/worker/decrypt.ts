/**
 * Decrypts one document off the main thread (flows.md "Documents": "download decrypts as it streams").
 * The page fetches the blob and hands its bytes over as they arrive; they are fed to the crypto core's
 * BlobDecryptor and each authenticated plaintext chunk goes straight back (transferred, not copied).
 * Only when finish() has accepted the final chunk does the page hear `done`: a damaged or cut-off
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
let failed = false;
// Messages are handled strictly one after the other: bytes must not overtake the `start` still waiting
// for libsodium to load.
let queue: Promise<void> = Promise.resolve();

function send(plain: Uint8Array[]): void {
  // libsodium hands out fresh ArrayBuffers holding exactly one chunk each: transfer them.
  for (const bytes of plain) scope.postMessage({ type: 'plain', bytes } satisfies DecryptReply, [bytes.buffer as ArrayBuffer]);
}

async function handle(msg: DecryptRequest): Promise<void> {
  if (failed) return;
  if (msg.type === 'start') {
    await ready();
    decryptor = new BlobDecryptor(msg.docKey, msg.docId);
    memzero(msg.docKey);
    return;
  }
  if (!decryptor) throw new Error('The decryption has not started.');
  if (msg.type === 'bytes') {
    send(decryptor.push(msg.bytes));
    scope.postMessage({ type: 'taken', bytes: msg.bytes.length } satisfies DecryptReply);
  } else {
    send(decryptor.finish());
    scope.postMessage({ type: 'done' } satisfies DecryptReply);
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
