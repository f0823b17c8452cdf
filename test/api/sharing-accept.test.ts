import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { filler, makeDocument } from '../helpers/documents.js';
import { person, shareDocument, shareDocuments, tusCreate, type Person } from '../helpers/sharing.js';
import { fromB64, openDocMeta, openGrant, ready, toB64, unwrapDocKeyForOwner, wrapDocKeyForOwner } from '../../client/crypto/index.js';

interface View {
  id: string;
  keyWrap: string | null;
  grant: { sharerId: string; sealed: string; sig: string } | null;
}

describe('accepting documents shared with you (POST /api/grants/accept)', function () {
  this.timeout(180_000);
  let t: TestServer;
  let alice: Person;
  let bob: Person;
  let carol: Person;

  const list = async (p: Person) => (await p.client.get('/api/documents')).body.documents as View[];
  const viewOf = async (p: Person, id: string) => (await list(p)).find((d) => d.id === id);
  const wrapsOf = async (id: string) => (await t.db('grants').where({ document_id: id }).orderBy('recipient_id')).map((g) => g.recipient_wrap as string | null);

  /** A document of alice's shared with the given people; returns its ID. */
  async function shared(...with_: Person[]) {
    const doc = makeDocument(alice.keys, alice.userId, filler(300, 300), 'will.pdf');
    expect((await tusCreate(alice.client, doc)).status).to.equal(201);
    await shareDocuments(alice, [doc.id], with_);
    return doc.id;
  }

  /** What a recipient's browser does once it has checked a grant: wraps its key under their account key. */
  async function ownWrap(p: Person, id: string) {
    const v = (await viewOf(p, id)) as View;
    const grant = v.grant as NonNullable<View['grant']>;
    const key = openGrant({ sealed: fromB64(grant.sealed), sig: fromB64(grant.sig) }, id, p.userId, alice.keys.signPk, p.keys.boxPk, p.keys.boxSk);
    return toB64(wrapDocKeyForOwner(p.keys.accountKey, key, id, p.userId));
  }

  before(async () => {
    await ready();
    t = await startTestServer();
    alice = await person(t.app, t.services, 'alice');
    bob = await person(t.app, t.services, 'bob');
    carol = await person(t.app, t.services, 'carol');
  });
  after(() => t.close());

  it('stores the recipient’s own wrap, which the list then hands to that recipient only as keyWrap', async () => {
    const id = await shared(bob, carol);
    expect((await viewOf(bob, id))?.keyWrap).to.equal(null);
    const wrap = await ownWrap(bob, id);
    const res = await bob.client.post('/api/grants/accept', { accepted: [{ documentId: id, keyWrap: wrap }] });
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.deep.equal({ accepted: 1 });

    const view = (await viewOf(bob, id)) as View & { meta: string };
    expect(view.keyWrap).to.equal(wrap);
    expect(view.grant?.sharerId).to.equal(alice.userId); // still there: who shared it, and the slow way
    // it opens exactly like an own document, with bob's ID in the associated data
    const key = unwrapDocKeyForOwner(bob.keys.accountKey, fromB64(view.keyWrap as string), id, bob.userId);
    expect(openDocMeta(key, id, fromB64(view.meta)).name).to.equal('will.pdf');
    // carol has not accepted: her view has no wrap; alice's is her own wrap, not bob's
    expect((await viewOf(carol, id))?.keyWrap).to.equal(null);
    expect((await viewOf(alice, id))?.keyWrap).to.be.a('string').and.not.equal(wrap);
  });

  it('refuses a grant that is not the caller’s with a 404 and stores nothing of the request', async () => {
    const toBob = await shared(bob);
    const toCarol = await shared(carol);
    const res = await carol.client.post('/api/grants/accept', {
      accepted: [
        { documentId: toCarol, keyWrap: await ownWrap(carol, toCarol) },
        { documentId: toBob, keyWrap: await ownWrap(carol, toCarol) },
      ],
    });
    expect(res.status, res.text).to.equal(404);
    expect(res.body.error).to.equal('grant_not_found');
    expect(await wrapsOf(toBob)).to.deep.equal([null]);
    expect(await wrapsOf(toCarol)).to.deep.equal([null]); // all or nothing: her own one is not kept either
    // nor can the owner accept for their own document
    const own = await alice.client.post('/api/grants/accept', { accepted: [{ documentId: toBob, keyWrap: await ownWrap(bob, toBob) }] });
    expect(own.status).to.equal(404);
    expect(await wrapsOf(toBob)).to.deep.equal([null]);
  });

  it('refuses a wrap that is not a 73-byte encrypted key with a 400', async () => {
    const id = await shared(bob);
    const good = fromB64(await ownWrap(bob, id));
    for (const keyWrap of [toB64(good.subarray(0, 72)), toB64(new Uint8Array([0, ...good.subarray(1)])), 'not base64!']) {
      const res = await bob.client.post('/api/grants/accept', { accepted: [{ documentId: id, keyWrap }] });
      expect(res.status, keyWrap).to.equal(400);
      expect(res.body.error).to.equal('bad_key');
    }
    expect((await bob.client.post('/api/grants/accept', { accepted: [] })).status).to.equal(400);
    expect(await wrapsOf(id)).to.deep.equal([null]);
  });

  it('forgets the accepted wrap when the owner shares the document again', async () => {
    const id = await shared(bob);
    await bob.client.post('/api/grants/accept', { accepted: [{ documentId: id, keyWrap: await ownWrap(bob, id) }] });
    expect(await wrapsOf(id)).to.have.length(1).and.not.include(null);
    await shareDocument(alice, id, bob);
    expect(await wrapsOf(id)).to.deep.equal([null]);
    expect((await viewOf(bob, id))?.keyWrap).to.equal(null);
  });
});
