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
 * Page → decrypt worker. One document: `start`, then the blob's bytes as they arrive (buffers transferred,
 * ideally one encrypted chunk each), then `end`. Several as one ZIP: `zip`, then for each document `entry`,
 * its `bytes` and `end`, and at last `finish`. The page reads the network itself so the download never waits
 * for a chunk to be decrypted.
 */
export type DecryptRequest =
  | { type: 'start'; docKey: Uint8Array; docId: string; /** of the Blob made at the end */ mediaType: string }
  | { type: 'zip' }
  | { type: 'entry'; docKey: Uint8Array; docId: string; /** already made safe */ name: string; /** ms since 1970 */ modified: number }
  | { type: 'bytes'; bytes: Uint8Array }
  | { type: 'end' }
  | { type: 'finish' };

/**
 * Decrypt worker → page: `taken` after each `bytes` message, giving its buffer back (for flow control and
 * reuse); `entry-done` after each document of a ZIP; then the whole plaintext (or ZIP) once every final
 * chunk has been verified, or an error (then nothing more).
 */
export type DecryptReply =
  | { type: 'taken'; bytes: Uint8Array }
  | { type: 'entry-done'; docId: string }
  | { type: 'done'; blob: Blob }
  | { type: 'error'; kind: 'crypto' | 'worker'; code?: string; message: string; docId: string };
