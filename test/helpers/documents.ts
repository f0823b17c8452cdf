import { randomUUID } from 'node:crypto';
import {
  decryptBlob,
  encryptBlob,
  newDocKey,
  openDocMeta,
  sealDocMeta,
  toB64,
  fromB64,
  unwrapDocKeyForOwner,
  wrapDocKeyForOwner,
  type DocMeta,
  type UnlockedKeys,
} from '../../client/crypto/index.js';
import type { TestClient } from './client.js';

export interface TestDocument {
  id: string;
  docKey: Uint8Array;
  plaintext: Uint8Array;
  blob: Uint8Array;
  meta: string;
  keyWrap: string;
  name: string;
}

/** Encrypts a document exactly as the browser does, with the crypto core. */
export function makeDocument(keys: UnlockedKeys, userId: string, plaintext: Uint8Array, name = 'passport.pdf', chunkSize?: number): TestDocument {
  const id = randomUUID();
  const docKey = newDocKey();
  const meta: DocMeta = { name, type: 'application/pdf', size: plaintext.length, modified: Date.now(), tags: ['id'] };
  return {
    id,
    docKey,
    plaintext,
    name,
    blob: encryptBlob(docKey, id, plaintext, chunkSize),
    meta: toB64(sealDocMeta(docKey, id, meta)),
    keyWrap: toB64(wrapDocKeyForOwner(keys.accountKey, docKey, id, userId)),
  };
}

/** tus's Upload-Metadata: comma-separated "key base64(value)". */
export function tusMetadata(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

/** Starts a tus upload (POST). */
export function createUpload(c: TestClient, doc: Pick<TestDocument, 'id' | 'meta' | 'keyWrap'>, length: number) {
  return c.agent
    .post('/api/uploads')
    .set('X-CSRF-Token', c.csrf)
    .set('Tus-Resumable', '1.0.0')
    .set('Upload-Length', String(length))
    .set('Upload-Metadata', tusMetadata({ docId: doc.id, meta: doc.meta, keyWrap: doc.keyWrap }));
}

export function patchUpload(c: TestClient, id: string, offset: number, bytes: Uint8Array) {
  return c.agent
    .patch(`/api/uploads/${id}`)
    .set('X-CSRF-Token', c.csrf)
    .set('Tus-Resumable', '1.0.0')
    .set('Upload-Offset', String(offset))
    .set('Content-Type', 'application/offset+octet-stream')
    .send(Buffer.from(bytes));
}

/** The whole upload, in PATCHes of `step` bytes. Returns the last response. */
export async function upload(c: TestClient, doc: TestDocument, step = 5 * 1024 * 1024) {
  const created = await createUpload(c, doc, doc.blob.length);
  if (created.status !== 201) return created;
  let offset = 0;
  let res = created;
  while (offset < doc.blob.length) {
    res = await patchUpload(c, doc.id, offset, doc.blob.subarray(offset, offset + step));
    if (res.status !== 204) return res;
    offset = Number(res.headers['upload-offset']);
  }
  return res;
}

/** Downloads and decrypts a document as its owner's client would. */
export async function download(c: TestClient, keys: UnlockedKeys, userId: string, id: string) {
  const info = await c.get(`/api/documents/${id}`);
  if (info.status !== 200) throw new Error(`document ${id}: ${info.status}`);
  const res = await c.agent.get(`/api/documents/${id}/blob`).buffer(true).parse((r, cb) => {
    const parts: Buffer[] = [];
    r.on('data', (d: Buffer) => parts.push(d));
    r.on('end', () => cb(null, Buffer.concat(parts)));
  });
  const docKey = unwrapDocKeyForOwner(keys.accountKey, fromB64(info.body.document.keyWrap), id, userId);
  const meta = openDocMeta(docKey, id, fromB64(info.body.document.meta));
  return { meta, plaintext: decryptBlob(docKey, id, new Uint8Array(res.body as Buffer)), res };
}

/** Bytes that are quick to make and not all alike. */
export function filler(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
