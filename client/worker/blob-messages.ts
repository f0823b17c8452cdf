/**
 * Messages between the page and the document workers (client/worker/encrypt.ts, decrypt.ts). Shared by both
 * sides so a change to one end is a type error at the other.
 */

/** Page → encrypt worker. `start` once, then one `pull` per ciphertext piece wanted. */
export type EncryptRequest =
  | { type: 'start'; file: Blob; docKey: Uint8Array; docId: string; chunkSize: number }
  | { type: 'pull' };

/**
 * Encrypt worker → page: the first piece is the blob header followed by the first chunk. Pieces travel as
 * Blobs: Chromium sends a Blob request body several times faster than the same bytes as a Uint8Array
 * (measured: ~100 ms against ~900 ms per 4 MiB PATCH to a local server), and its bytes live in the
 * browser's blob storage rather than on the page's heap.
 */
export type EncryptReply =
  | { type: 'chunk'; blob: Blob; last: boolean }
  | { type: 'error'; message: string };

/** Page → decrypt worker: fetch `url` and decrypt it as it arrives. */
export interface DecryptRequest {
  url: string;
  docKey: Uint8Array;
  docId: string;
  /** Media type of the Blob made at the end. */
  type: string;
}

export type DecryptReply =
  | { type: 'progress'; received: number; total: number }
  | { type: 'done'; blob: Blob }
  | { type: 'error'; kind: 'crypto' | 'http' | 'network' | 'worker'; status?: number; code?: string; message: string };
