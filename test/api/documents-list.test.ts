import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, type TestClient } from '../helpers/client.js';
import { ready } from '../../client/crypto/index.js';
import type { DocumentView } from '../../server/services/documents.js';

type View = DocumentView;

/** The JSON in the page's data island (views/pages/documents/index.ejs). */
function island(html: string): string {
  const m = /<script type="application\/json" id="documents-data">([\s\S]*?)<\/script>/.exec(html);
  if (!m || m[1] === undefined) throw new Error('the page has no documents data island');
  return m[1];
}

describe('documents: the list (GET /documents and GET /api/documents)', function () {
  this.timeout(60_000);
  let t: TestServer;
  let alice: TestClient;
  let bob: TestClient;
  const rows: View[] = [];

  /** A row as the upload would store it (envelopes of the right shape; the server cannot open them anyway). */
  async function insert(ownerId: string, createdAt: number, deletedAt: number | null = null, meta?: string): Promise<View> {
    const row = {
      id: randomUUID(),
      owner_id: ownerId,
      size: 1000 + createdAt % 997,
      meta: meta ?? randomBytes(297).toString('base64url'),
      key_wrap: randomBytes(73).toString('base64url'),
      created_at: createdAt,
      updated_at: createdAt + 5,
      deleted_at: deletedAt,
    };
    await t.db('documents').insert(row);
    return {
      id: row.id,
      ownerId,
      size: row.size,
      meta: row.meta,
      keyWrap: row.key_wrap,
      createdAt,
      updatedAt: createdAt + 5,
      deletedAt,
      spaceId: null,
      spaceGeneration: null,
      spaceKeyWrap: null,
      grant: null,
    };
  }

  before(async () => {
    await ready();
    t = await startTestServer();
    alice = (await newMember(t.app, t.services, 'alice')).client;
    bob = (await newMember(t.app, t.services, 'bob')).client;
    // inserted out of order: the list must come back newest first all the same
    for (const createdAt of [1_700_000_003_000, 1_700_000_001_000, 1_700_000_009_000, 1_700_000_005_000]) {
      rows.push(await insert(alice.userId, createdAt));
    }
    rows.push(await insert(alice.userId, 1_700_000_004_000, 1_700_000_100_000));
    await insert(bob.userId, 1_700_000_002_000);
  });
  after(() => t.close());

  const newestFirst = (views: View[]) => [...views].sort((a, b) => b.createdAt - a.createdAt);

  it('answers every document outside the trash, newest first, as GET /api/documents/:id describes each', async () => {
    const res = await alice.get('/api/documents');
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^application\/json/);
    expect(res.headers['cache-control']).to.equal('no-store');
    const live = newestFirst(rows.filter((r) => r.deletedAt === null));
    expect(res.body.documents).to.deep.equal(live);
    for (const d of res.body.documents as View[]) {
      expect((await alice.get(`/api/documents/${d.id}`)).body.document).to.deep.equal(d);
    }
  });

  it('answers the trash on its own with ?view=trash, and nobody else’s documents either way', async () => {
    const trash = await alice.get('/api/documents?view=trash');
    expect(trash.body.documents).to.deep.equal(rows.filter((r) => r.deletedAt !== null));
    const theirs = await bob.get('/api/documents');
    expect(theirs.body.documents).to.have.length(1);
    expect(theirs.body.documents.map((d: View) => d.id)).to.not.have.members(rows.map((r) => r.id));
    const empty = await bob.get('/api/documents?view=trash');
    expect(empty.body).to.deep.equal({ documents: [] });
  });

  it('puts the same list in the page’s data island, with a correct length and never cached', async () => {
    for (const [path, api] of [
      ['/documents', '/api/documents'],
      ['/documents?view=trash', '/api/documents?view=trash'],
    ] as const) {
      const res = await alice.agent.get(path);
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.equal('text/html; charset=utf-8');
      expect(res.headers['cache-control']).to.equal('no-store');
      expect(Number(res.headers['content-length'])).to.equal(Buffer.byteLength(res.text));
      expect(res.headers['server-timing']).to.match(/^render;dur=\d+(\.\d)?$/);
      expect(res.text).to.not.include('<!--documents-list-->');
      expect(res.text).to.match(/<\/html>\s*$/);
      expect(JSON.parse(island(res.text))).to.deep.equal((await alice.get(api)).body.documents);
    }
    const empty = await bob.agent.get('/documents?view=trash');
    expect(island(empty.text)).to.equal('[]');
  });

  it('cannot be made to close its <script> element by what is stored', async () => {
    // the server checks envelopes are base64 before storing them; this row skips that check on purpose
    const nasty = '</script><script>alert(1)</script><!--';
    const carol = (await newMember(t.app, t.services, 'carol')).client;
    const row = await insert(carol.userId, 1_700_000_000_000, null, nasty);
    const page = await carol.agent.get('/documents');
    expect(page.text).to.not.include(nasty);
    expect(page.text.match(/<script type="application\/json"/g)).to.have.length(1);
    expect(JSON.parse(island(page.text))).to.deep.equal([row]);
    expect((await carol.get('/api/documents')).body.documents).to.deep.equal([row]);
  });
});
