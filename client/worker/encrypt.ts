/**
 * Encrypts one file for upload, off the main thread (flows.md "Documents"). The page sends the File and the
 * document key once, then asks for one piece at a time: each `pull` reads the next plaintext slice
 * (file.slice().arrayBuffer(), never the whole file), encrypts it with the crypto core's BlobEncryptor and
 * transfers the ciphertext back. The page asks only when the upload needs more, so memory stays at a few
 * chunks whatever the file's size.
 */
import { ready } from '../crypto/sodium.js';
import { BlobEncryptor } from '../crypto/document.js';
import { concatBytes } from '../crypto/encoding.js';
import { memzero } from '../crypto/primitives.js';
import { CryptoError } from '../crypto/errors.js';
import type { EncryptReply, EncryptRequest } from './blob-messages.js';

const scope = self as unknown as DedicatedWorkerGlobalScope;

let file: Blob | undefined;
let encryptor: BlobEncryptor | undefined;
let header: Uint8Array | undefined;
let offset = 0;
// Messages are handled strictly one after the other: a `pull` must not overtake the `start` still
// waiting for libsodium to load.
let queue: Promise<void> = Promise.resolve();

function reply(message: EncryptReply): void {
  scope.postMessage(message);
}

async function start(msg: Extract<EncryptRequest, { type: 'start' }>): Promise<void> {
  await ready();
  file = msg.file;
  encryptor = new BlobEncryptor(msg.docKey, msg.docId, msg.file.size, msg.chunkSize);
  memzero(msg.docKey);
  header = encryptor.header();
}

async function pull(): Promise<void> {
  if (!encryptor || !file) throw new Error('The encryption has not started.');
  if (encryptor.done) throw new Error('The whole file has already been encrypted.');
  const length = encryptor.nextChunkLength;
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
  } catch {
    throw new Error('This file could not be read any more. Was it moved, changed or deleted while uploading?');
  }
  if (plain.length !== length) throw new Error('This file changed while it was being uploaded. Please add it again.');
  offset += length;
  let bytes = encryptor.pushChunk(plain);
  if (header) {
    bytes = concatBytes(header, bytes);
    header = undefined;
  }
  // Transfer only a buffer that holds exactly these bytes (a view into a larger one would send it all).
  if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice();
  scope.postMessage({ type: 'chunk', bytes, last: encryptor.done } satisfies EncryptReply, [bytes.buffer as ArrayBuffer]);
}

scope.onmessage = (event: MessageEvent<EncryptRequest>) => {
  const msg = event.data;
  queue = queue
    .then(() => (msg.type === 'start' ? start(msg) : pull()))
    .catch((err: unknown) => {
      const message =
        err instanceof CryptoError || err instanceof Error ? err.message : 'Encrypting this file failed on this device.';
      reply({ type: 'error', message });
    });
};
