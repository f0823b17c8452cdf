/**
 * Messages between the page and the document workers (client/worker/encrypt.ts, decrypt.ts). Shared by both
 * sides so a change to one end is a type error at the other.
 */

/** Page → encrypt worker. `start` once, then one `pull` per ciphertext piece wanted. */
export type EncryptRequest =
  | { type: 'start'; file: Blob; docKey: Uint8Array; docId: string; chunkSize: number }
  | { type: 'pull' };

/** Encrypt worker → page: the first piece is the blob header followed by the first chunk (buffer transferred). */
export type EncryptReply =
  | { type: 'chunk'; bytes: Uint8Array; last: boolean }
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
