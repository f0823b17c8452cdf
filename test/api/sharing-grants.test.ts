import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { filler, makeDocument } from '../helpers/documents.js';
import { grantFor, person, revoke, shareDocument, shareDocuments, tusCreate, type Person } from '../helpers/sharing.js';
import { decryptBlob, fromB64, newDocKey, openDocMeta, openGrant, ready, sealGrant, toB64 } from '../../client/crypto/index.js';

/** Uploads a small document for `owner` in one request; returns it. */
async function uploaded(owner: Person, name = 'will.pdf', size = 300) {
  const doc = makeDocument(owner.keys, owner.userId, filler(size, size), name);
  const res = await tusCreate(owner.client, doc);
  expect(res.status, res.text).to.equal(201);
  return doc;
}

const put = (p: Person, path: string, body: object) => p.client.agent.put(path).set('X-CSRF-Token', p.client.csrf).set('Accept', 'application/json').send(body);
const del = (p: Person, path: string) => p.client.agent.delete(path).set('X-CSRF-Token', p.client.csrf).set('Accept', 'application/json');
const ids = (res: { body: { documents: { id: string }[] } }) => res.body.documents.map((d) => d.id);

describe('sharing documents: grants', function () {
  this.timeout(180_000);
  let t: TestServer;
  let alice: Person;
  let bob: Person;
  let carol: Person;
  let dave: Person;

  before(async () => {
    await ready();
    t = await startTestServer();
    alice = await person(t.app, t.services, 'alice');
    bob = await person(t.app, t.services, 'bob');
    carol = await person(t.app, t.services, 'carol');
    dave = await person(t.app, t.services, 'dave');
    await t.services.admin.disable('dave');
  });
  after(() => t.close());

  it('lets a recipient list, open and download a shared document, with the sharer’s signature checked first', async () => {
    const doc = await uploaded(alice, 'will.pdf', 5000);
    await shareDocument(alice, doc.id, bob);

    const list = await bob.client.get('/api/documents');
    const view = list.body.documents.find((d: { id: string }) => d.id === doc.id);
    expect(view).to.include({ ownerId: alice.userId, keyWrap: null, spaceId: null, spaceGeneration: null, spaceKeyWrap: null });
    expect(view.grant.sharerId).to.equal(alice.userId);

    const one = (await bob.client.get(`/api/documents/${doc.id}`)).body.document;
    expect(one.grant).to.deep.equal(view.grant);
    const grant = { sealed: fromB64(one.grant.sealed), sig: fromB64(one.grant.sig) };
    const docKey = openGrant(grant, doc.id, bob.userId, alice.keys.signPk, bob.keys.boxPk, bob.keys.boxSk);
    expect(openDocMeta(docKey, doc.id, fromB64(one.meta)).name).to.equal('will.pdf');
    const blob = await bob.client.agent.get(`/api/documents/${doc.id}/blob`).buffer(true);
    expect(blob.status).to.equal(200);
    expect(Buffer.from(decryptBlob(docKey, doc.id, new Uint8Array(blob.body as Buffer))).equals(Buffer.from(doc.plaintext))).to.equal(true);
    // a grant is worthless to anyone else: not signed for them, not sealed to them
    expect(() => openGrant(grant, doc.id, carol.userId, alice.keys.signPk, carol.keys.boxPk, carol.keys.boxSk)).to.throw();
  });

  it('lets the owner see who has access, and answers everyone else as the rules say', async () => {
    const doc = await uploaded(alice);
    await shareDocuments(alice, [doc.id], [bob, carol]);
    const res = await alice.client.get(`/api/documents/${doc.id}/grants`);
    expect(res.status).to.equal(200);
    expect(res.body.grants.map((g: { username: string }) => g.username)).to.deep.equal(['bob', 'carol']);
    expect(res.body.grants[0]).to.have.keys(['recipientId', 'username', 'createdAt']);
    expect((await bob.client.get(`/api/documents/${doc.id}/grants`)).body.error).to.equal('not_owner');
    const other = await person(t.app, t.services, 'erin');
    expect((await other.client.get(`/api/documents/${doc.id}/grants`)).status).to.equal(404);
  });

  it('revokes at once: the next read is a 404 and the document leaves the list', async () => {
    const doc = await uploaded(alice);
    await shareDocument(alice, doc.id, bob);
    expect((await bob.client.get(`/api/documents/${doc.id}/blob`)).status).to.equal(200);
    const res = await revoke(alice, doc.id, bob.userId);
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.deep.equal({ ok: true });
    expect((await bob.client.get(`/api/documents/${doc.id}`)).body.error).to.equal('document_not_found');
    expect((await bob.client.get(`/api/documents/${doc.id}/blob`)).status).to.equal(404);
    expect(ids(await bob.client.get('/api/documents'))).to.not.include(doc.id);
    const again = await revoke(alice, doc.id, bob.userId);
    expect([again.status, again.body.error]).to.deep.equal([404, 'grant_not_found']);
    expect((await revoke(alice, doc.id, 'not-a-uuid')).body.error).to.equal('grant_not_found');
  });

  it('lets a recipient read but not rename, trash, delete, move or share the document (403 not_owner)', async () => {
    const doc = await uploaded(alice);
    await shareDocument(alice, doc.id, bob);
    const answers = [
      await put(bob, `/api/documents/${doc.id}/meta`, { meta: doc.meta }),
      await bob.client.post(`/api/documents/${doc.id}/trash`),
      await bob.client.post(`/api/documents/${doc.id}/restore`),
      await del(bob, `/api/documents/${doc.id}`),
      await put(bob, `/api/documents/${doc.id}/space`, { spaceId: null }),
      await del(bob, `/api/documents/${doc.id}/grants/${bob.userId}`),
    ];
    for (const a of answers) expect([a.status, a.body.error, a.body.message]).to.deep.equal([403, 'not_owner', 'Only the person who added this document can change it.']);
    // re-sharing needs the owner's document: a recipient's grant of it is refused
    const docKey = newDocKey();
    const g = sealGrant(docKey, doc.id, carol.userId, carol.keys.boxPk, bob.keys.signSk);
    const reshare = await bob.client.post('/api/grants', { grants: [{ documentId: doc.id, recipientId: carol.userId, sealed: toB64(g.sealed), sig: toB64(g.sig) }] });
    expect([reshare.status, reshare.body.error]).to.deep.equal([404, 'document_not_found']);
  });

  it('hides a shared document while it is in the owner’s trash, and shows it again once restored', async () => {
    const doc = await uploaded(alice);
    await shareDocument(alice, doc.id, bob);
    expect((await alice.client.post(`/api/documents/${doc.id}/trash`)).status).to.equal(200);
    expect((await bob.client.get(`/api/documents/${doc.id}`)).status).to.equal(404);
    expect((await bob.client.get(`/api/documents/${doc.id}/blob`)).status).to.equal(404);
    expect((await bob.client.post(`/api/documents/${doc.id}/trash`)).status).to.equal(404);
    expect(ids(await bob.client.get('/api/documents'))).to.not.include(doc.id);
    expect(ids(await bob.client.get('/api/documents?view=trash'))).to.not.include(doc.id);
    // nor can a document in the trash be shared
    const res = await shareDocuments(alice, [doc.id], [carol]);
    expect([res.status, res.body.error]).to.deep.equal([404, 'document_not_found']);
    expect((await alice.client.post(`/api/documents/${doc.id}/restore`)).status).to.equal(200);
    expect((await bob.client.get(`/api/documents/${doc.id}`)).status).to.equal(200);
  });

  it('replaces an existing grant for the same document and person', async () => {
    const doc = await uploaded(alice);
    await shareDocument(alice, doc.id, bob);
    const first = (await bob.client.get(`/api/documents/${doc.id}`)).body.document.grant;
    await shareDocument(alice, doc.id, bob);
    const second = (await bob.client.get(`/api/documents/${doc.id}`)).body.document.grant;
    expect(second.sealed).to.not.equal(first.sealed);
    expect((await alice.client.get(`/api/documents/${doc.id}/grants`)).body.grants).to.have.length(1);
  });

  describe('refusals, each leaving nothing behind', () => {
    let doc: Awaited<ReturnType<typeof uploaded>>;
    let good: Awaited<ReturnType<typeof grantFor>>;
    before(async () => {
      doc = await uploaded(alice);
      good = await grantFor(alice, doc.id, carol, doc.docKey);
    });
    afterEach(async () => {
      // the good grant that came with every refused one was not stored either
      expect((await alice.client.get(`/api/documents/${doc.id}/grants`)).body.grants).to.deep.equal([]);
    });

    const send = (items: object[]) => alice.client.post('/api/grants', { grants: [good, ...items] });
    const refused = async (items: object[], status: number, code: string) => {
      const res = await send(items);
      expect([res.status, res.body.error], res.text).to.deep.equal([status, code]);
      expect(res.body.message).to.be.a('string').and.not.equal('');
    };

    it('refuses a document that is not the sharer’s (404 document_not_found)', async () => {
      const bobs = await uploaded(bob);
      const g = sealGrant(bobs.docKey, bobs.id, carol.userId, carol.keys.boxPk, alice.keys.signSk);
      await refused([{ documentId: bobs.id, recipientId: carol.userId, sealed: toB64(g.sealed), sig: toB64(g.sig) }], 404, 'document_not_found');
      await refused([{ ...good, documentId: randomUUID() }], 404, 'document_not_found');
      await refused([{ ...good, documentId: 'nope' }], 404, 'document_not_found');
    });

    it('refuses the sharer themself, an unknown person and a disabled account (400 bad_recipient)', async () => {
      await refused([await grantFor(alice, doc.id, alice, doc.docKey)], 400, 'bad_recipient');
      const ghost = randomUUID();
      const g = sealGrant(doc.docKey, doc.id, ghost, bob.keys.boxPk, alice.keys.signSk);
      await refused([{ documentId: doc.id, recipientId: ghost, sealed: toB64(g.sealed), sig: toB64(g.sig) }], 400, 'bad_recipient');
      await refused([await grantFor(alice, doc.id, dave, doc.docKey)], 400, 'bad_recipient');
    });

    it('refuses a sealed key that is not 80 bytes (400 bad_grant)', async () => {
      await refused([{ ...(await grantFor(alice, doc.id, bob, doc.docKey)), sealed: toB64(new Uint8Array(randomBytes(79))) }], 400, 'bad_grant');
      await refused([{ ...(await grantFor(alice, doc.id, bob, doc.docKey)), sealed: '***' }], 400, 'bad_grant');
    });

    it('refuses a grant signed by someone else, or signed for another person or document (400 bad_signature)', async () => {
      const byBob = sealGrant(doc.docKey, doc.id, bob.userId, bob.keys.boxPk, bob.keys.signSk);
      await refused([{ documentId: doc.id, recipientId: bob.userId, sealed: toB64(byBob.sealed), sig: toB64(byBob.sig) }], 400, 'bad_signature');
      const forCarol = await grantFor(alice, doc.id, carol, doc.docKey);
      await refused([{ ...forCarol, recipientId: bob.userId }], 400, 'bad_signature');
      const other = await uploaded(alice);
      await refused([{ ...forCarol, documentId: other.id }], 400, 'bad_signature');
      await refused([{ ...forCarol, sig: toB64(new Uint8Array(10)) }], 400, 'bad_signature');
    });

    it('refuses an empty list and more than 1,000 grants (400 validation)', async () => {
      expect((await alice.client.post('/api/grants', { grants: [] })).body.error).to.equal('validation');
      const many = Array.from({ length: 1001 }, () => good);
      const res = await alice.client.post('/api/grants', { grants: many });
      expect([res.status, res.body.error]).to.deep.equal([400, 'validation']);
    });
  });

  it('shares 1,000 documents in one request (a bulk share) and lists them for the recipient', async () => {
    const now = Date.now();
    const docs = Array.from({ length: 1000 }, (_, i) => ({ id: randomUUID(), key: newDocKey(), at: now - 1_000_000 - i }));
    const rows = docs.map((d) => ({
      id: d.id,
      owner_id: carol.userId,
      size: 100,
      meta: toB64(new Uint8Array(randomBytes(297))),
      key_wrap: toB64(new Uint8Array(randomBytes(73))),
      created_at: d.at,
      updated_at: d.at,
      deleted_at: null,
    }));
    for (let i = 0; i < rows.length; i += 200) await t.db('documents').insert(rows.slice(i, i + 200));
    const grants = docs.map((d) => {
      const g = sealGrant(d.key, d.id, bob.userId, bob.keys.boxPk, carol.keys.signSk);
      return { documentId: d.id, recipientId: bob.userId, sealed: toB64(g.sealed), sig: toB64(g.sig) };
    });
    const res = await carol.client.post('/api/grants', { grants });
    expect(res.status, res.text).to.equal(200);
    expect(res.body).to.deep.equal({ granted: 1000 });
    const listed = (await bob.client.get('/api/documents')).body.documents.filter((d: { ownerId: string }) => d.ownerId === carol.userId);
    expect(listed.map((d: { id: string }) => d.id)).to.deep.equal(docs.map((d) => d.id));
    // one entry on each side, naming the other person and how many documents
    const carolLog = await t.services.audit.forUser(carol.userId);
    expect(carolLog[0]).to.include({ event: 'document_shared', username: 'bob', documents: 1000, outgoing: true });
    const bobLog = await t.services.audit.forUser(bob.userId);
    expect(bobLog[0]).to.include({ event: 'document_shared', username: 'carol', documents: 1000, outgoing: false });
  });

  it('writes sharing and revoking into both people’s security log without the sharer’s IP address in the other’s, and the settings page says it in words', async () => {
    const doc = await uploaded(alice);
    await shareDocument(alice, doc.id, carol);
    await revoke(alice, doc.id, carol.userId);
    const [revokedA, sharedA] = await t.services.audit.forUser(alice.userId);
    expect(revokedA).to.include({ event: 'share_revoked', username: 'carol', documents: 1, outgoing: true });
    expect(sharedA).to.include({ event: 'document_shared', username: 'carol', documents: 1, outgoing: true });
    const [revokedC] = await t.services.audit.forUser(carol.userId);
    expect(revokedC).to.include({ event: 'share_revoked', username: 'alice', outgoing: false });
    // the entry in carol's log is about alice's action: it names alice, never alice's IP address or browser
    expect(revokedA?.ip).to.be.a('string');
    expect(revokedC).to.include({ ip: null, userAgent: null });
    const page = await carol.client.agent.get('/settings');
    expect(page.text).to.include('alice stopped sharing a document with you');
    expect(page.text).to.include('alice shared a document with you');
  });
});
