/**
 * Messages between the page and the document workers (client/worker/encrypt.ts, decrypt.ts). Shared by both
 * sides so a change to one end is a type error at the other.
 */

/**
 * Page → encrypt worker. One worker serves many files, one after the other (documents-encrypt.ts's pool):
 * every message names its job, so a late reply for a file that was cancelled is never taken for the next
 * file's. `start` once per job, then one `pull` per ciphertext piece wanted.
 */
export type EncryptRequest =
  | { type: 'start'; job: number; file: Blob; docKey: Uint8Array; docId: string; chunkSize: number }
  | { type: 'pull'; job: number };

/** Encrypt worker → page: the first piece is the blob header followed by the first chunk (buffer transferred). */
export type EncryptReply =
  | { type: 'chunk'; job: number; bytes: Uint8Array; last: boolean }
  | { type: 'error'; job: number; message: string };

/**
 * Page → decrypt worker: `start` once, then the blob's bytes as they arrive (buffers transferred), then
 * `end`. The page reads the network itself so the download never waits for a chunk to be decrypted.
 */
export type DecryptRequest =
  | { type: 'start'; docKey: Uint8Array; docId: string; /** of the Blob made at the end */ mediaType: string }
  | { type: 'bytes'; bytes: Uint8Array }
  | { type: 'end' };

/**
 * Decrypt worker → page: `taken` after each `bytes` message (how many bytes it has dealt with, for flow
 * control), then the whole plaintext once the final chunk has been verified, or an error (then nothing more).
 */
export type DecryptReply =
  | { type: 'taken'; bytes: number }
  | { type: 'done'; blob: Blob }
  | { type: 'error'; kind: 'crypto' | 'worker'; code?: string; message: string };
