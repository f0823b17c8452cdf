import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { CookieAccessInfo } from 'cookiejar';
import { Upload, type HttpResponse, type UploadOptions } from 'tus-js-client';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, type TestClient } from '../helpers/client.js';
import { createUpload, download, filler, makeDocument, patchUpload, tusMetadata, type TestDocument } from '../helpers/documents.js';
import { ready, type UnlockedKeys } from '../../client/crypto/index.js';

interface Member {
  client: TestClient;
  keys: UnlockedKeys;
  userId: string;
}

interface Finished {
  last: HttpResponse;
  /** every request tus-js-client sent, as "METHOD status" */
  requests: string[];
}

/**
 * The tus client the web pages use, here in Node against a real server, with the session cookie and CSRF
 * token of a logged-in person. No retries: any failed request fails the test.
 */
function tusUpload(base: string, m: Member, doc: TestDocument, options: UploadOptions): Promise<Finished> {
  const jar = (m.client.agent as unknown as { jar: { getCookies(a: CookieAccessInfo): { toValueString(): string } } }).jar;
  const cookie = jar.getCookies(new CookieAccessInfo('127.0.0.1', '/', false, false)).toValueString();
  const requests: string[] = [];
  return new Promise((resolve, reject) => {
    new Upload(Buffer.from(doc.blob), {
      endpoint: `${base}/api/uploads`,
      uploadSize: doc.blob.length,
      metadata: { docId: doc.id, meta: doc.meta, keyWrap: doc.keyWrap },
      headers: { 'X-CSRF-Token': m.client.csrf, Cookie: cookie },
      retryDelays: null,
      storeFingerprintForResuming: false,
      onAfterResponse: (req, res) => {
        requests.push(`${req.getMethod()} ${res.getStatus()}`);
      },
      onSuccess: ({ lastResponse }) => resolve({ last: lastResponse, requests }),
      onError: reject,
      ...options,
    }).start();
  });
}

describe('tus uploads from tus-js-client', function () {
  this.timeout(120_000);
  let t: TestServer;
  let base: string;
  let alice: Member;
  let bob: Member;

  async function member(name: string): Promise<Member> {
    const m = await newMember(base, t.services, name);
    return { client: m.client, keys: m.account.keys, userId: m.client.userId };
  }

  /** The document lists, downloads byte for byte, and nothing of its upload is left. */
  async function expectStored(m: Member, doc: TestDocument): Promise<void> {
    const list = await m.client.get('/api/documents');
    expect(list.body.documents.map((d: { id: string }) => d.id)).to.include(doc.id);
    const back = await download(m.client, m.keys, m.userId, doc.id);
    expect(Buffer.from(back.plaintext).equals(Buffer.from(doc.plaintext))).to.equal(true);
    expect(readdirSync(path.join(t.dataDir, 'uploads')).filter((f) => f.startsWith(doc.id))).to.deep.equal([]);
    expect(await t.db('uploads').where({ id: doc.id }).first()).to.equal(undefined);
  }

  before(async () => {
    await ready();
    t = await startTestServer();
    base = await t.listen();
    alice = await member('alice');
    bob = await member('bob');
  });
  after(() => t.close());

  it('uploads a whole document inside its creation request and answers 201 with the document ID', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(300_000, 11));
    const done = await tusUpload(base, alice, doc, { uploadDataDuringCreation: true });
    expect(done.requests).to.deep.equal(['POST 201']);
    expect(done.last.getHeader('Heirloom-Document-Id')).to.equal(doc.id);
    expect(done.last.getHeader('Upload-Offset')).to.equal(String(doc.blob.length));
    expect(done.last.getHeader('Content-Type')).to.match(/^application\/json\b/);
    const { document } = JSON.parse(done.last.getBody()) as { document: Record<string, unknown> };
    expect(document).to.include({ id: doc.id, size: doc.blob.length, meta: doc.meta, keyWrap: doc.keyWrap, deletedAt: null });
    await expectStored(alice, doc);
  });

  it('uploads the first part inside the creation request and the rest with PATCH', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(300_000, 12));
    const done = await tusUpload(base, alice, doc, { uploadDataDuringCreation: true, chunkSize: 128 * 1024 });
    expect(done.requests).to.deep.equal(['POST 201', 'PATCH 204', 'PATCH 204']);
    expect(done.last.getHeader('Heirloom-Document-Id')).to.equal(doc.id);
    await expectStored(alice, doc);
  });

  it('uploads with an empty creation request and PATCHes when data during creation is off', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(300_000, 13));
    const done = await tusUpload(base, alice, doc, { uploadDataDuringCreation: false });
    expect(done.requests).to.deep.equal(['POST 201', 'PATCH 204']);
    expect(done.last.getHeader('Heirloom-Document-Id')).to.equal(doc.id);
    await expectStored(alice, doc);
  });

  it('lets a client that lost the last answer resume and learn that its document exists', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(50_000, 14));
    expect((await createUpload(alice.client, doc, doc.blob.length)).status).to.equal(201);
    expect((await patchUpload(alice.client, doc.id, 0, doc.blob)).status).to.equal(204);
    // the answer to that PATCH never reached the client: it asks where the upload stands
    const done = await tusUpload(base, alice, doc, { uploadUrl: `${base}/api/uploads/${doc.id}` });
    expect(done.requests).to.deep.equal(['HEAD 200']);
    expect(done.last.getHeader('Heirloom-Document-Id')).to.equal(doc.id);
    await expectStored(alice, doc);
  });

  it('answers HEAD on a finished upload with its whole length to the owner, and 404 to anyone else', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(20_000, 15));
    await tusUpload(base, alice, doc, { uploadDataDuringCreation: true });
    const head = await alice.client.agent.head(`/api/uploads/${doc.id}`).set('Tus-Resumable', '1.0.0');
    expect(head.status).to.equal(200);
    expect(head.headers['upload-offset']).to.equal(String(doc.blob.length));
    expect(head.headers['upload-length']).to.equal(String(doc.blob.length));
    expect(head.headers['heirloom-document-id']).to.equal(doc.id);
    expect(head.headers['cache-control']).to.equal('no-store');
    const other = await bob.client.agent.head(`/api/uploads/${doc.id}`).set('Tus-Resumable', '1.0.0');
    expect(other.status).to.equal(404);
    expect(other.headers['heirloom-document-id']).to.equal(undefined);
  });

  it('refuses to PATCH or cancel a finished upload with 409 upload_finished, keeping the document', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(20_000, 16));
    await tusUpload(base, alice, doc, { uploadDataDuringCreation: true });
    const patch = await patchUpload(alice.client, doc.id, doc.blob.length, new Uint8Array(0));
    expect(patch.status).to.equal(409);
    expect(patch.body.error).to.equal('upload_finished');
    const del = await alice.client.agent.delete(`/api/uploads/${doc.id}`).set('X-CSRF-Token', alice.client.csrf).set('Tus-Resumable', '1.0.0');
    expect(del.status).to.equal(409);
    expect(del.body.error).to.equal('upload_finished');
    await expectStored(alice, doc);
  });

  it('advertises creation-with-upload and not creation-defer-length', async () => {
    const res = await alice.client.agent.options('/api/uploads').set('X-CSRF-Token', alice.client.csrf);
    expect(res.status).to.equal(204);
    expect(res.headers['tus-version']).to.equal('1.0.0');
    const extensions = String(res.headers['tus-extension']).split(',');
    expect(extensions).to.include.members(['creation', 'creation-with-upload', 'termination', 'expiration']);
    expect(extensions).not.to.include('creation-defer-length');
  });

  it('refuses Upload-Defer-Length with 400 length_required and keeps nothing', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(1000, 17));
    const res = await alice.client.agent
      .post('/api/uploads')
      .set('X-CSRF-Token', alice.client.csrf)
      .set('Tus-Resumable', '1.0.0')
      .set('Upload-Defer-Length', '1')
      .set('Upload-Metadata', tusMetadata({ docId: doc.id, meta: doc.meta, keyWrap: doc.keyWrap }));
    expect(res.status).to.equal(400);
    expect(res.body.error).to.equal('length_required');
    expect(await t.db('uploads').where({ id: doc.id }).first()).to.equal(undefined);
  });

  it('drops an upload whose creation request sent more bytes than its length, so the same request can be retried', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(1000, 18));
    const tooMany = await createUpload(alice.client, doc, doc.blob.length)
      .set('Content-Type', 'application/offset+octet-stream')
      .send(Buffer.concat([Buffer.from(doc.blob), Buffer.from('extra')]));
    expect(tooMany.status).to.equal(413);
    expect(tooMany.body.error).to.equal('too_large');
    expect(await t.db('uploads').where({ id: doc.id }).first()).to.equal(undefined);
    const again = await createUpload(alice.client, doc, doc.blob.length).set('Content-Type', 'application/offset+octet-stream').send(Buffer.from(doc.blob));
    expect(again.status).to.equal(201);
    expect(again.headers['heirloom-document-id']).to.equal(doc.id);
    await expectStored(alice, doc);
  });

  it('starts an unfinished upload over when its owner sends the same creation request again', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(5000, 20));
    const octets = 'application/offset+octet-stream';
    const first = await createUpload(alice.client, doc, doc.blob.length).set('Content-Type', octets).send(Buffer.from(doc.blob.subarray(0, 1000)));
    expect(first.status).to.equal(201);
    expect(first.headers['upload-offset']).to.equal('1000');
    // its answer was lost: the client sends the same request again, now with every byte
    const again = await createUpload(alice.client, doc, doc.blob.length).set('Content-Type', octets).send(Buffer.from(doc.blob));
    expect(again.status).to.equal(201);
    expect(again.headers['heirloom-document-id']).to.equal(doc.id);
    await expectStored(alice, doc);
  });

  it('does not let anyone else start somebody’s upload over, nor send a different creation under its ID', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(5000, 21));
    expect((await createUpload(alice.client, doc, doc.blob.length)).status).to.equal(201);
    expect((await patchUpload(alice.client, doc.id, 0, doc.blob.subarray(0, 1000))).status).to.equal(204);
    const byBob = await createUpload(bob.client, doc, doc.blob.length);
    expect(byBob.status).to.equal(409);
    expect(byBob.body.error).to.equal('document_exists');
    const longer = await createUpload(alice.client, doc, doc.blob.length + 1);
    expect(longer.status).to.equal(409);
    const head = await alice.client.agent.head(`/api/uploads/${doc.id}`).set('Tus-Resumable', '1.0.0');
    expect(head.headers['upload-offset']).to.equal('1000');
  });

  it('drops an upload whose creation request carried bytes that are not a Heirloom blob', async () => {
    const doc = makeDocument(alice.keys, alice.userId, filler(1000, 19));
    const junk = filler(doc.blob.length, 99);
    const res = await createUpload(alice.client, doc, doc.blob.length).set('Content-Type', 'application/offset+octet-stream').send(Buffer.from(junk));
    expect(res.status).to.equal(400);
    expect(res.body.error).to.equal('bad_blob');
    expect((await alice.client.get(`/api/documents/${doc.id}`)).status).to.equal(404);
    expect(await t.db('uploads').where({ id: doc.id }).first()).to.equal(undefined);
    expect(readdirSync(path.join(t.dataDir, 'uploads')).filter((f) => f.startsWith(doc.id))).to.deep.equal([]);
  });
});
