/**
 * Downloads and decrypts one document off the main thread (flows.md "Documents": "download decrypts as it
 * streams"). The blob is fetched and fed to the crypto core's BlobDecryptor slice by slice; each plaintext
 * chunk is handed to the browser's blob storage at once (new Blob([chunk])), so the JS heap holds about
 * one chunk. Only when finish() has accepted the final chunk is the whole Blob sent to the page: a damaged
 * or cut-off document produces nothing but an error.
 */
import { ready } from '../crypto/sodium.js';
import { BlobDecryptor } from '../crypto/document.js';
import { memzero } from '../crypto/primitives.js';
import { CryptoError } from '../crypto/errors.js';
import type { DecryptReply, DecryptRequest } from './blob-messages.js';

const scope = self as unknown as DedicatedWorkerGlobalScope;
const PROGRESS_EVERY_MS = 100;

function reply(message: DecryptReply): void {
  scope.postMessage(message);
}

async function errorOf(res: Response): Promise<DecryptReply> {
  let message = 'This document could not be downloaded. Please try again.';
  let code: string | undefined;
  try {
    const body = (await res.json()) as { error?: unknown; message?: unknown };
    if (typeof body.message === 'string' && body.message) message = body.message;
    if (typeof body.error === 'string') code = body.error;
  } catch {
    // not JSON: keep the general sentence
  }
  return { type: 'error', kind: 'http', status: res.status, code, message };
}

async function run(req: DecryptRequest): Promise<void> {
  await ready();
  const decryptor = new BlobDecryptor(req.docKey, req.docId);
  memzero(req.docKey);
  let res: Response;
  try {
    res = await fetch(req.url, { credentials: 'same-origin', cache: 'no-store' });
  } catch {
    reply({ type: 'error', kind: 'network', message: "Can't reach the Heirloom server. Check your connection and try again." });
    return;
  }
  if (!res.ok || !res.body) {
    reply(await errorOf(res));
    return;
  }
  const total = Number(res.headers.get('Content-Length')) || 0;
  const parts: Blob[] = [];
  const reader = res.body.getReader();
  let received = 0;
  let lastReport = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
      // libsodium hands out fresh ArrayBuffers (never shared), which is what Blob parts must be.
      for (const plain of decryptor.push(value)) parts.push(new Blob([plain as Uint8Array<ArrayBuffer>]));
      const now = performance.now();
      if (now - lastReport >= PROGRESS_EVERY_MS) {
        lastReport = now;
        reply({ type: 'progress', received, total });
      }
    }
  } catch (err) {
    void reader.cancel().catch(() => undefined);
    if (err instanceof CryptoError) throw err;
    reply({ type: 'error', kind: 'network', message: 'The download was interrupted. Nothing was saved. Please try again.' });
    return;
  }
  for (const plain of decryptor.finish()) parts.push(new Blob([plain as Uint8Array<ArrayBuffer>]));
  reply({ type: 'progress', received, total });
  reply({ type: 'done', blob: new Blob(parts, { type: req.type }) });
}

scope.onmessage = (event: MessageEvent<DecryptRequest>) => {
  run(event.data).catch((err: unknown) => {
    if (err instanceof CryptoError) reply({ type: 'error', kind: 'crypto', code: err.code, message: err.message });
    else reply({ type: 'error', kind: 'worker', message: 'Decrypting this document failed on this device.' });
  });
};
