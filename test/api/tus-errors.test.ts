import { expect } from 'chai';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, type TestClient } from '../helpers/client.js';
import { createUpload, filler, makeDocument, patchUpload, tusMetadata, type TestDocument } from '../helpers/documents.js';
import { ready, type UnlockedKeys } from '../../client/crypto/index.js';

type Answer = { status: number; headers: Record<string, string>; body: { error?: unknown; message?: unknown }; text: string };

describe('tus refusals are JSON', function () {
  this.timeout(60_000);
  let t: TestServer;
  let c: TestClient;
  let inFlight: TestDocument;
  let fresh: TestDocument;
  let keys: UnlockedKeys;

  const post = () => c.agent.post('/api/uploads').set('X-CSRF-Token', c.csrf);
  const meta = (d: TestDocument) => tusMetadata({ docId: d.id, meta: d.meta, keyWrap: d.keyWrap });

  before(async () => {
    await ready();
    t = await startTestServer();
    const m = await newMember(t.app, t.services, 'alice');
    c = m.client;
    keys = m.account.keys;
    inFlight = makeDocument(m.account.keys, c.userId, filler(1000, 1));
    fresh = makeDocument(m.account.keys, c.userId, filler(1000, 2));
    expect((await createUpload(c, inFlight, inFlight.blob.length)).status).to.equal(201);
  });
  after(() => t.close());

  const cases: Array<[string, () => PromiseLike<Answer>, number, string]> = [
    ['a creation without Tus-Resumable', () => post().set('Upload-Length', '100'), 412, 'tus_version'],
    ['a creation with a length that is not a number', () => post().set('Tus-Resumable', '1.0.0').set('Upload-Length', 'ten'), 400, 'bad_header'],
    ['a creation without a length', () => post().set('Tus-Resumable', '1.0.0').set('Upload-Metadata', meta(fresh)), 400, 'bad_length'],
    [
      'a creation with metadata that is not key-value pairs',
      () => post().set('Tus-Resumable', '1.0.0').set('Upload-Length', '100').set('Upload-Metadata', 'docId a b c,,'),
      400,
      'bad_header',
    ],
    [
      'a creation of a parallel (concatenated) upload',
      () => post().set('Tus-Resumable', '1.0.0').set('Upload-Length', '100').set('Upload-Concat', 'partial'),
      400,
      'unsupported',
    ],
    [
      'a creation with a document ID that is not a UUID',
      () =>
        post()
          .set('Tus-Resumable', '1.0.0')
          .set('Upload-Length', '100')
          .set('Upload-Metadata', tusMetadata({ docId: 'x', meta: fresh.meta, keyWrap: fresh.keyWrap })),
      400,
      'bad_document_id',
    ],
    ['a PATCH of an unknown upload', () => patchUpload(c, fresh.id, 0, new Uint8Array(10)), 404, 'upload_not_found'],
    ['a PATCH at the wrong offset', () => patchUpload(c, inFlight.id, 5, new Uint8Array(10)), 409, 'offset_conflict'],
    ['a PATCH with more bytes than the upload has left', () => patchUpload(c, inFlight.id, 0, new Uint8Array(5000)), 413, 'too_large'],
    [
      'a PATCH without Upload-Offset',
      () =>
        c.agent
          .patch(`/api/uploads/${inFlight.id}`)
          .set('X-CSRF-Token', c.csrf)
          .set('Tus-Resumable', '1.0.0')
          .set('Content-Type', 'application/offset+octet-stream')
          .send(Buffer.alloc(10)),
      403,
      'bad_offset',
    ],
    [
      'a PATCH with the wrong content type',
      () =>
        c.agent
          .patch(`/api/uploads/${inFlight.id}`)
          .set('X-CSRF-Token', c.csrf)
          .set('Tus-Resumable', '1.0.0')
          .set('Upload-Offset', '0')
          .set('Content-Type', 'text/plain')
          .send('hello'),
      400,
      'bad_header',
    ],
    ['a cancel of an unknown upload', () => c.agent.delete(`/api/uploads/${fresh.id}`).set('X-CSRF-Token', c.csrf).set('Tus-Resumable', '1.0.0'), 404, 'upload_not_found'],
  ];

  for (const [what, send, status, code] of cases) {
    it(`answers ${what} with ${status} ${code} as application/json`, async () => {
      const res = await send();
      expect(res.status, res.text).to.equal(status);
      expect(res.headers['content-type']).to.match(/^application\/json\b/);
      expect(res.body.error).to.equal(code);
      expect(res.body.message).to.be.a('string').and.match(/\.$/);
    });
  }

  it('labels a HEAD of an unknown upload application/json', async () => {
    const res = await c.agent.head(`/api/uploads/${fresh.id}`).set('Tus-Resumable', '1.0.0');
    expect(res.status).to.equal(404);
    expect(res.headers['content-type']).to.match(/^application\/json\b/);
  });

  it('answers an unexpected failure with a JSON 500 that tells nothing of the server, and logs its cause', async () => {
    const blocked = makeDocument(keys, c.userId, filler(1000, 3));
    // a folder where the upload's file must go: the disk refuses, as a full or broken disk would
    mkdirSync(path.join(t.dataDir, 'uploads', blocked.id));
    const res = await createUpload(c, blocked, blocked.blob.length);
    expect(res.status).to.equal(500);
    expect(res.headers['content-type']).to.match(/^application\/json\b/);
    expect(res.body).to.deep.equal({ error: 'internal', message: 'The upload failed on the server.' });
    const logged = t.logs().split('\n').find((l) => l.includes('"upload failed"'));
    expect(logged).to.be.a('string').and.match(/"level":50/).and.match(/EISDIR/);
    rmSync(path.join(t.dataDir, 'uploads', blocked.id), { recursive: true });
    expect(await t.db('uploads').where({ id: blocked.id }).first()).to.equal(undefined);
  });

  it('keeps the upload in flight usable after all these refusals', async () => {
    const res = await patchUpload(c, inFlight.id, 0, inFlight.blob);
    expect(res.status).to.equal(204);
    expect(res.headers['heirloom-document-id']).to.equal(inFlight.id);
  });
});
