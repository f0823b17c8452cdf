import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { addMember, createSpace, person, type Person } from '../helpers/sharing.js';
import { ready } from '../../client/crypto/index.js';

const b64 = (n: number) => randomBytes(n).toString('base64url');

describe('the documents list with shared documents and spaces', function () {
  this.timeout(120_000);
  let t: TestServer;
  let alice: Person;
  let bob: Person;
  let carol: Person;
  let family: string;
  let elsewhere: string;

  /** A document row written straight into the database, at a chosen time. */
  async function doc(owner: Person, at: number, opts: { space?: string; deleted?: boolean } = {}) {
    const id = randomUUID();
    await t.db('documents').insert({
      id,
      owner_id: owner.userId,
      size: 100,
      meta: b64(297),
      key_wrap: b64(73),
      created_at: at,
      updated_at: at,
      deleted_at: opts.deleted ? at + 1 : null,
      space_id: opts.space ?? null,
      space_generation: opts.space ? 1 : null,
      space_key_wrap: opts.space ? b64(73) : null,
    });
    return id;
  }
  async function grant(docId: string, sharer: Person, recipient: Person, at: number) {
    await t.db('grants').insert({ document_id: docId, recipient_id: recipient.userId, sharer_id: sharer.userId, sealed: b64(80), sig: b64(64), created_at: at });
  }

  before(async () => {
    await ready();
    t = await startTestServer();
    alice = await person(t.app, t.services, 'alice');
    bob = await person(t.app, t.services, 'bob');
    carol = await person(t.app, t.services, 'carol');
    family = await createSpace(bob, 'Family');
    await addMember(bob, family, alice);
    elsewhere = await createSpace(carol, 'Carol only');
  });
  after(() => t.close());

  it('holds own, space and shared documents once each, newest first, each with the key fields its reader needs', async () => {
    const T = 1_800_000_000_000;
    const own = await doc(alice, T + 1);
    const ownInSpace = await doc(alice, T + 7, { space: family });
    const bobsInSpace = await doc(bob, T + 5, { space: family });
    const sharedAndInSpace = await doc(bob, T + 3, { space: family });
    await grant(sharedAndInSpace, bob, alice, T + 10);
    const carolsShared = await doc(carol, T + 6);
    await grant(carolsShared, carol, alice, T + 11);
    const sharedFromOtherSpace = await doc(carol, T + 2, { space: elsewhere });
    await grant(sharedFromOtherSpace, carol, alice, T + 12);
    // never listed for alice: trashed by their owners, or nothing to do with her
    await grant(await doc(carol, T + 8, { deleted: true }), carol, alice, T);
    await doc(bob, T + 9, { space: family, deleted: true });
    await doc(carol, T + 4, { space: elsewhere });
    await doc(carol, T + 4);
    const ownTrashed = await doc(alice, T + 4, { deleted: true });

    const res = await alice.client.get('/api/documents');
    const got = res.body.documents as Record<string, unknown>[];
    const kind = (d: Record<string, unknown>) =>
      d.keyWrap ? (d.spaceId ? 'own in space' : 'own') : d.grant ? `grant${d.spaceId === null ? '' : ' with space'}` : d.spaceId ? 'space' : '?';
    expect(got.map((d) => [d.id, kind(d)])).to.deep.equal([
      [ownInSpace, 'own in space'],
      [carolsShared, 'grant'],
      [bobsInSpace, 'space'],
      [sharedAndInSpace, 'space'],
      [sharedFromOtherSpace, 'grant'],
      [own, 'own'],
    ]);
    const byId = new Map(got.map((d) => [d.id, d]));
    expect(byId.get(carolsShared)).to.have.all.keys(
      'id', 'ownerId', 'size', 'meta', 'keyWrap', 'createdAt', 'updatedAt', 'deletedAt', 'spaceId', 'spaceGeneration', 'spaceKeyWrap', 'grant',
    );
    const row = await t.db('grants').where({ document_id: carolsShared }).first();
    expect(byId.get(carolsShared)?.grant).to.deep.equal({ sharerId: carol.userId, sealed: row.sealed, sig: row.sig, createdAt: T + 11 });
    expect(byId.get(bobsInSpace)).to.include({ ownerId: bob.userId, keyWrap: null, spaceId: family, spaceGeneration: 1, grant: null });
    // the trash is the caller's own only
    const trash = (await alice.client.get('/api/documents?view=trash')).body.documents as { id: string; grant: null }[];
    expect(trash.map((d) => d.id)).to.deep.equal([ownTrashed]);
    // the page carries the same list in its data island
    const page = await alice.client.agent.get('/documents');
    const island = /<script type="application\/json" id="documents-data">([\s\S]*?)<\/script>/.exec(page.text)?.[1];
    expect(JSON.parse(island ?? 'null')).to.deep.equal(got);
  });
});
