import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, type TestClient } from '../helpers/client.js';
import { filesUnder } from '../helpers/secrets.js';
import { createUpload, download, filler, makeDocument, patchUpload, upload } from '../helpers/documents.js';
import { ready, sealDocMeta, toB64, utf8, type UnlockedKeys } from '../../client/crypto/index.js';

const MiB = 1024 * 1024;

interface Member {
  client: TestClient;
  keys: UnlockedKeys;
  userId: string;
}

async function member(t: TestServer, name: string): Promise<Member> {
  const m = await newMember(t.app, t.services, name);
  return { client: m.client, keys: m.account.keys, userId: m.client.userId };
}

describe('documents: upload, download, trash', function () {
  this.timeout(180_000);
  let t: TestServer;
  let alice: Member;
  let bob: Member;
  before(async () => {
    await ready();
    t = await startTestServer({ env: { HEIRLOOM_DEFAULT_QUOTA_MIB: '200' } });
    alice = await member(t, 'alice');
    bob = await member(t, 'bob');
  });
  after(() => t.close());

  for (const size of [0, 1, 4 * MiB - 1, 4 * MiB, 4 * MiB + 1, 3 * 4 * MiB + 5, 50 * MiB]) {
    it(`uploads and downloads ${size} bytes byte for byte`, async () => {
      const doc = makeDocument(alice.keys, alice.userId, filler(size, size + 7), `file-${size}.bin`);
      const res = await upload(alice.client, doc, 4 * MiB + 17);
      expect(res.status, res.text).to.equal(204);
      expect(res.headers['heirloom-document-id']).to.equal(doc.id);
      const back = await download(alice.client, alice.keys, alice.userId, doc.id);
      expect(back.meta.name).to.equal(`file-${size}.bin`);
      expect(Buffer.from(back.plaintext).equals(Buffer.from(doc.plaintext))).to.equal(true);
    });
  }

  it('serves blobs as opaque bytes that are never cached, with Range support', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(1000, 3));
    expect((await upload(alice.client, doc)).status).to.equal(204);
    const res = await alice.client.agent.get(`/api/documents/${doc.id}/blob`);
    expect(res.headers['content-type']).to.equal('application/octet-stream');
    expect(res.headers['x-content-type-options']).to.equal('nosniff');
    expect(res.headers['cache-control']).to.equal('no-store');
    const part = await alice.client.agent.get(`/api/documents/${doc.id}/blob`).set('Range', 'bytes=10-19').buffer(true);
    expect(part.status).to.equal(206);
    expect(Buffer.from(part.body as Buffer).equals(Buffer.from(doc.blob.subarray(10, 20)))).to.equal(true);
  });

  it('keeps another user out: their document is a 404 for every operation', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(100, 9));
    expect((await upload(alice.client, doc)).status).to.equal(204);
    const b = bob.client;
    expect((await b.get(`/api/documents/${doc.id}`)).status).to.equal(404);
    expect((await b.get(`/api/documents/${doc.id}/blob`)).status).to.equal(404);
    expect((await b.agent.put(`/api/documents/${doc.id}/meta`).set('X-CSRF-Token', b.csrf).send({ meta: doc.meta })).status).to.equal(404);
    expect((await b.post(`/api/documents/${doc.id}/trash`)).status).to.equal(404);
    expect((await b.agent.delete(`/api/documents/${doc.id}`).set('X-CSRF-Token', b.csrf)).status).to.equal(404);
    const list = await b.get('/api/documents');
    expect(list.body.documents.map((d: { id: string }) => d.id)).to.not.include(doc.id);
    // and the document is untouched
    expect((await alice.client.get(`/api/documents/${doc.id}`)).body.document.deletedAt).to.equal(null);
  });

  it('keeps another user out of an upload in flight', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(2 * MiB, 4));
    expect((await createUpload(alice.client, doc, doc.blob.length)).status).to.equal(201);
    const b = bob.client;
    expect((await patchUpload(b, doc.id, 0, doc.blob)).status).to.equal(404);
    expect((await b.agent.head(`/api/uploads/${doc.id}`).set('Tus-Resumable', '1.0.0')).status).to.equal(404);
    expect((await b.agent.delete(`/api/uploads/${doc.id}`).set('X-CSRF-Token', b.csrf).set('Tus-Resumable', '1.0.0')).status).to.equal(404);
    expect((await patchUpload(alice.client, doc.id, 0, doc.blob)).status).to.equal(204);
  });

  it('refuses IDs that are not UUIDs and path tricks before touching the disk', async () => {
    const c = alice.client;
    for (const id of ['nope', '..%2f..%2fsecrets%2fserver.key', '%2e%2e', '..', 'a%00b', 'AAAAAAAA-0000-0000-0000-000000000000']) {
      const res = await c.get(`/api/documents/${id}/blob`);
      expect(res.status, id).to.equal(404);
      expect(res.text).to.not.contain('server.key');
    }
    const doc = makeDocument(alice.keys, alice.userId, filler(10));
    const bad = await createUpload(c, { ...doc, id: '../../secrets/x' }, doc.blob.length);
    expect(bad.status).to.equal(400);
    expect(JSON.parse(bad.text).message).to.match(/UUID/);
    expect(existsSync(path.join(t.dataDir, 'secrets', 'x'))).to.equal(false);
  });

  it('refuses a second document with the same ID', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(10));
    expect((await upload(alice.client, doc)).status).to.equal(204);
    const again = await createUpload(bob.client, doc, doc.blob.length);
    expect(again.status).to.equal(409);
  });

  it('refuses an upload over the quota with a sentence, and reserves nothing', async () => {
    const before = (await alice.client.get('/api/usage')).body;
    const doc = makeDocument(alice.keys, alice.userId, new Uint8Array(1));
    const res = await createUpload(alice.client, doc, 300 * MiB);
    expect(res.status).to.equal(413);
    expect(JSON.parse(res.text).message).to.match(/does not fit/);
    expect((await alice.client.get('/api/usage')).body.used).to.equal(before.used);
  });

  it('follows the quota the admin sets with heirloom-admin user quota, and back to the default', async () => {
    const { execFile } = await import('node:child_process');
    const run = (...args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) =>
        execFile('npm', ['run', '-s', 'admin', '--', ...args], { env: { ...process.env, HEIRLOOM_DATA_DIR: t.dataDir, HEIRLOOM_DEFAULT_QUOTA_MIB: '200' } }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
        ),
      );
    const set = await run('user', 'quota', 'carol-not-here', '1MiB');
    expect(set.code).to.not.equal(0);
    expect(set.out).to.contain('There is no account named');
    const tight = await run('user', 'quota', 'bob', '2MiB', '--json');
    expect(tight.code, tight.out).to.equal(0);
    expect(JSON.parse(tight.out)).to.include({ quota: 2 * MiB, custom: true });
    const doc = makeDocument(bob.keys, bob.userId, new Uint8Array(1));
    const refused = await createUpload(bob.client, doc, 3 * MiB);
    expect(refused.status).to.equal(413);
    expect((await bob.client.get('/api/usage')).body.quota).to.equal(2 * MiB);
    const back = await run('user', 'quota', 'bob', 'default');
    expect(back.out).to.match(/used of 200 MiB \(the default\)/);
    expect((await createUpload(bob.client, doc, 3 * MiB)).status).to.equal(201);
    await bob.client.agent.delete(`/api/uploads/${doc.id}`).set('X-CSRF-Token', bob.client.csrf).set('Tus-Resumable', '1.0.0');
  });

  it('resumes an interrupted upload from the offset the server reports', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(9 * MiB, 5));
    expect((await createUpload(alice.client, doc, doc.blob.length)).status).to.equal(201);
    expect((await patchUpload(alice.client, doc.id, 0, doc.blob.subarray(0, 3 * MiB))).status).to.equal(204);
    const head = await alice.client.agent.head(`/api/uploads/${doc.id}`).set('Tus-Resumable', '1.0.0');
    expect(Number(head.headers['upload-offset'])).to.equal(3 * MiB);
    expect((await patchUpload(alice.client, doc.id, 1 * MiB, doc.blob.subarray(MiB, 2 * MiB))).status).to.equal(409);
    const rest = await patchUpload(alice.client, doc.id, 3 * MiB, doc.blob.subarray(3 * MiB));
    expect(rest.status).to.equal(204);
    const back = await download(alice.client, alice.keys, alice.userId, doc.id);
    expect(Buffer.from(back.plaintext).equals(Buffer.from(doc.plaintext))).to.equal(true);
  });

  it('leaves nothing behind when an upload is cancelled', async () => {
    const before = (await alice.client.get('/api/usage')).body.used;
    const doc = makeDocument(alice.keys, alice.userId, filler(3 * MiB, 6));
    expect((await createUpload(alice.client, doc, doc.blob.length)).status).to.equal(201);
    expect((await patchUpload(alice.client, doc.id, 0, doc.blob.subarray(0, MiB))).status).to.equal(204);
    expect((await alice.client.get('/api/usage')).body.used).to.equal(before + doc.blob.length);
    const del = await alice.client.agent.delete(`/api/uploads/${doc.id}`).set('X-CSRF-Token', alice.client.csrf).set('Tus-Resumable', '1.0.0');
    expect(del.status).to.equal(204);
    await new Promise((r) => setTimeout(r, 50));
    expect((await alice.client.get('/api/usage')).body.used).to.equal(before);
    expect(readdirSync(path.join(t.dataDir, 'uploads')).filter((f) => f.startsWith(doc.id))).to.deep.equal([]);
    expect(await t.db('uploads').where({ id: doc.id }).first()).to.equal(undefined);
  });

  it('refuses a finished upload that is not an encrypted Heirloom document and keeps nothing', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(100, 8));
    const plain = filler(doc.blob.length, 99);
    expect((await createUpload(alice.client, doc, plain.length)).status).to.equal(201);
    const res = await patchUpload(alice.client, doc.id, 0, plain);
    expect(res.status).to.equal(400);
    expect(JSON.parse(res.text).error).to.equal('bad_blob');
    expect((await alice.client.get(`/api/documents/${doc.id}`)).status).to.equal(404);
    expect(await t.db('uploads').where({ id: doc.id }).first()).to.equal(undefined);
    expect(existsSync(t.services.blobs.pathOf(doc.id))).to.equal(false);
  });

  it('renames by swapping the metadata envelope, and refuses one that is not an envelope', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(10, 2), 'old name.txt');
    expect((await upload(alice.client, doc)).status).to.equal(204);
    const meta = toB64(sealDocMeta(doc.docKey, doc.id, { name: 'new name.txt', type: 'text/plain', size: 10, modified: 1, tags: ['tax'] }));
    const put = await alice.client.agent.put(`/api/documents/${doc.id}/meta`).set('X-CSRF-Token', alice.client.csrf).send({ meta });
    expect(put.status).to.equal(200);
    const back = await download(alice.client, alice.keys, alice.userId, doc.id);
    expect(back.meta.name).to.equal('new name.txt');
    expect(back.meta.tags).to.deep.equal(['tax']);
    const bad = await alice.client.agent.put(`/api/documents/${doc.id}/meta`).set('X-CSRF-Token', alice.client.csrf).send({ meta: toB64(utf8('just a name')) });
    expect(bad.status).to.equal(400);
  });

  it('moves to the trash, restores, deletes for good, and purges after 30 days', async () => {
    const [a, b, c] = [1, 2, 3].map((i) => makeDocument(alice.keys, alice.userId, filler(50, i)));
    for (const d of [a, b, c]) expect((await upload(alice.client, d)).status).to.equal(204);
    const ids = async (view = '') => (await alice.client.get(`/api/documents${view}`)).body.documents.map((d: { id: string }) => d.id);

    for (const d of [a, b, c]) expect((await alice.client.post(`/api/documents/${d.id}/trash`)).status).to.equal(200);
    expect(await ids()).to.not.include.members([a.id]);
    expect(await ids('?view=trash')).to.include.members([a.id, b.id, c.id]);

    expect((await alice.client.post(`/api/documents/${a.id}/restore`)).status).to.equal(200);
    expect(await ids()).to.include(a.id);

    const del = await alice.client.agent.delete(`/api/documents/${b.id}`).set('X-CSRF-Token', alice.client.csrf);
    expect(del.status).to.equal(200);
    expect(existsSync(t.services.blobs.pathOf(b.id))).to.equal(false);
    const notTrashed = await alice.client.agent.delete(`/api/documents/${a.id}`).set('X-CSRF-Token', alice.client.csrf);
    expect(notTrashed.status).to.equal(400);

    expect(await t.services.documents.purgeExpired(Date.now() + 29 * 86_400_000)).to.equal(0);
    expect(await t.services.documents.purgeExpired(Date.now() + 31 * 86_400_000)).to.be.greaterThan(0);
    expect(existsSync(t.services.blobs.pathOf(c.id))).to.equal(false);
    expect((await alice.client.get(`/api/documents/${c.id}`)).status).to.equal(404);
  });

  it('empties the trash', async () => {
    const d = makeDocument(alice.keys, alice.userId, filler(50, 11));
    expect((await upload(alice.client, d)).status).to.equal(204);
    await alice.client.post(`/api/documents/${d.id}/trash`);
    const res = await alice.client.post('/api/trash/empty');
    expect(res.body.deleted).to.be.greaterThan(0);
    expect((await alice.client.get('/api/documents?view=trash')).body.documents).to.deep.equal([]);
  });

  it('takes parallel uploads from two users', async () => {
    const docs = [
      ...[1, 2, 3].map((i) => ({ m: alice, d: makeDocument(alice.keys, alice.userId, filler(MiB + i, 20 + i)) })),
      ...[1, 2, 3].map((i) => ({ m: bob, d: makeDocument(bob.keys, bob.userId, filler(MiB + i, 30 + i)) })),
    ];
    const results = await Promise.all(docs.map(({ m, d }) => upload(m.client, d, 256 * 1024)));
    expect(results.map((r) => r.status)).to.deep.equal([204, 204, 204, 204, 204, 204]);
    for (const { m, d } of docs) {
      const back = await download(m.client, m.keys, m.userId, d.id);
      expect(Buffer.from(back.plaintext).equals(Buffer.from(d.plaintext))).to.equal(true);
    }
  });

  it('sweeps orphan blobs, stray upload files and abandoned uploads', async () => {
    const orphan = '0a0a0a0a-0000-4000-8000-000000000001';
    const blobPath = t.services.blobs.pathOf(orphan);
    (await import('node:fs')).mkdirSync(path.dirname(blobPath), { recursive: true });
    writeFileSync(blobPath, 'HLB\x01 left by a crash');
    writeFileSync(path.join(t.dataDir, 'uploads', '0b0b0b0b-0000-4000-8000-000000000002'), 'stray');
    const doc = makeDocument(alice.keys, alice.userId, filler(10, 12));
    expect((await createUpload(alice.client, doc, doc.blob.length)).status).to.equal(201);
    await t.db('uploads').where({ id: doc.id }).update({ created_at: Date.now() - 25 * 3600_000 });
    const result = await t.services.uploads.sweep();
    expect(result.orphanBlobs).to.equal(1);
    expect(result.strayFiles).to.equal(1);
    expect(result.staleUploads).to.equal(1);
    expect(existsSync(blobPath)).to.equal(false);
    // every remaining blob has its row, every row its blob of the right size
    const rows = await t.db('documents').select('id', 'size');
    const onDisk = await t.services.blobs.list();
    expect(onDisk.sort()).to.deep.equal(rows.map((r: { id: string }) => r.id).sort());
    for (const r of rows) expect(await t.services.blobs.size(r.id)).to.equal(Number(r.size));
  });

  it('never writes a marker from a file’s content or name to the data folder or the logs', async () => {
    const marker = 'HEIRLOOM-MARKER-4f1d2c';
    const content = new Uint8Array(Buffer.from(`${marker} `.repeat(1000)));
    const doc = makeDocument(alice.keys, alice.userId, content, `${marker}.txt`);
    expect((await upload(alice.client, doc)).status).to.equal(204);
    await t.db.raw('PRAGMA wal_checkpoint(FULL)');
    for (const f of filesUnder(t.dataDir)) {
      expect(readFileSync(f).includes(Buffer.from(marker)), f).to.equal(false);
    }
    expect(t.logs()).to.not.contain(marker);
    expect(t.logs()).to.contain('/api/uploads');
  });
});
