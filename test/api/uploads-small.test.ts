import { expect } from 'chai';
import { existsSync, readdirSync, statSync, watch } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, type TestClient } from '../helpers/client.js';
import { createUpload, filler, makeDocument, tusMetadata, type TestDocument } from '../helpers/documents.js';
import { ready } from '../../client/crypto/index.js';

const OCTETS = 'application/offset+octet-stream';

/** Resolves once `check` holds, looking again whenever something in `dir` changes. */
async function until(dir: string, check: () => boolean): Promise<void> {
  const watcher = watch(dir);
  try {
    for (;;) {
      const next = new Promise<void>((resolve) => watcher.once('change', () => resolve()));
      if (check()) return;
      await next;
    }
  } finally {
    watcher.close();
  }
}

/** The server has read at least `bytes` bytes of the request body into `file`. */
const holds = (file: string, bytes: number) => () => existsSync(file) && statSync(file).size >= bytes;

/** The session cookie of a client, as a Cookie header. */
function cookieOf(c: TestClient): string {
  const jar = (c.agent as unknown as { jar: { getCookies(o: object): { toValueString(): string } } }).jar;
  return jar.getCookies({ domain: '127.0.0.1', path: '/', secure: false, script: false }).toValueString();
}

/**
 * A creation request that carries the whole blob (creation-with-upload), written in two parts over a raw
 * connection, so a test can look while the server holds it in flight.
 */
function slowCreation(base: string, c: TestClient, doc: TestDocument, firstPart: number) {
  const req = http.request(new URL('/api/uploads', base), {
    method: 'POST',
    headers: {
      Cookie: cookieOf(c),
      'X-CSRF-Token': c.csrf,
      'Tus-Resumable': '1.0.0',
      'Upload-Length': String(doc.blob.length),
      'Upload-Metadata': tusMetadata({ docId: doc.id, meta: doc.meta, keyWrap: doc.keyWrap }),
      'Content-Type': OCTETS,
      'Content-Length': String(doc.blob.length),
    },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  req.write(Buffer.from(doc.blob.subarray(0, firstPart)));
  return {
    finish: () => {
      req.end(Buffer.from(doc.blob.subarray(firstPart)));
      return answer;
    },
    /** Drops the connection before the rest is sent. */
    drop: () => {
      req.destroy();
      answer.catch(() => undefined);
    },
  };
}

describe('uploads that arrive whole in their creation request', () => {
  let t: TestServer;
  let base: string;
  before(async () => {
    await ready();
    // 1 MiB each: two documents of 600 kB do not both fit
    t = await startTestServer({ env: { HEIRLOOM_DEFAULT_QUOTA_MIB: '1' } });
    base = await t.listen();
  });
  after(() => t.close());

  const uploadsDir = () => path.join(t.dataDir, 'uploads');
  const uploadFile = (id: string) => path.join(uploadsDir(), id);

  it('reserves their space without writing a reservation row, and still counts it against the quota', async () => {
    const m = await newMember(base, t.services, 'quentin');
    const first = makeDocument(m.account.keys, m.client.userId, filler(600_000, 1));
    const second = makeDocument(m.account.keys, m.client.userId, filler(600_000, 2));
    const sending = slowCreation(base, m.client, first, 100_000);
    await until(uploadsDir(), holds(uploadFile(first.id), 100_000));
    // in flight: no row in the database, no description file next to its bytes
    expect(await t.db('uploads').where({ id: first.id }).first()).to.equal(undefined);
    expect(existsSync(`${uploadFile(first.id)}.json`)).to.equal(false);
    // but its 600 kB are taken: another one, sent whole or in parts, does not fit
    const whole = await createUpload(m.client, second, second.blob.length).set('Content-Type', OCTETS).send(Buffer.from(second.blob));
    expect(whole.status).to.equal(413);
    expect(whole.body.error).to.equal('quota_exceeded');
    expect((await createUpload(m.client, second, second.blob.length)).status).to.equal(413);
    const done = await sending.finish();
    expect(done.status).to.equal(201);
    expect(JSON.parse(done.body).document).to.include({ id: first.id, size: first.blob.length, meta: first.meta });
    expect(await t.db('documents').where({ id: first.id }).first()).to.include({ id: first.id });
    expect(readdirSync(uploadsDir())).to.deep.equal([]);
  });

  it('leaves nothing behind and frees the space when the connection drops half-way', async () => {
    const m = await newMember(base, t.services, 'rosalind');
    const doc = makeDocument(m.account.keys, m.client.userId, filler(900_000, 3));
    const sending = slowCreation(base, m.client, doc, 300_000);
    await until(uploadsDir(), holds(uploadFile(doc.id), 300_000));
    sending.drop();
    await until(uploadsDir(), () => !existsSync(uploadFile(doc.id)));
    // the same document fits again: nothing of the first attempt is counted
    const again = await createUpload(m.client, doc, doc.blob.length).set('Content-Type', OCTETS).send(Buffer.from(doc.blob));
    expect(again.status).to.equal(201);
    expect(readdirSync(uploadsDir())).to.deep.equal([]);
  });
});
