import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createUpload, filler, makeDocument, patchUpload } from '../helpers/documents.js';
import {
  addMember,
  addMemberBody,
  createSpace,
  makeSpaceDocument,
  moveIntoSpace,
  newSpaceBody,
  person,
  removeMember,
  removeMemberBody,
  spaceKeys,
  spaceView,
  tusCreate,
  uploadIntoSpace,
  type Person,
} from '../helpers/sharing.js';
import {
  decryptBlob,
  fromB64,
  newSpaceKey,
  openDocMeta,
  openSpaceName,
  ready,
  sealSpaceKey,
  sealSpaceName,
  toB64,
  unwrapDocKeyForSpace,
  wrapDocKeyForSpace,
} from '../../client/crypto/index.js';

const put = (p: Person, path: string, body: object) => p.client.agent.put(path).set('X-CSRF-Token', p.client.csrf).set('Accept', 'application/json').send(body);
const ids = (res: { body: { documents: { id: string }[] } }) => res.body.documents.map((d) => d.id);

/** Opens a document of a space as a member would: the space key of its generation, then the blob. */
async function openInSpace(member: Person, docId: string) {
  const view = (await member.client.get(`/api/documents/${docId}`)).body.document;
  if (!view) throw new Error(`no document ${docId} for ${member.username}`);
  const keys = await spaceKeys(member, view.spaceId);
  const key = keys[view.spaceGeneration - 1];
  if (!key) throw new Error('no space key of that generation');
  const docKey = unwrapDocKeyForSpace(key, fromB64(view.spaceKeyWrap), docId, view.spaceId, view.spaceGeneration);
  const blob = await member.client.agent.get(`/api/documents/${docId}/blob`).buffer(true);
  return { view, name: openDocMeta(docKey, docId, fromB64(view.meta)).name, plaintext: decryptBlob(docKey, docId, new Uint8Array(blob.body as Buffer)) };
}

describe('spaces: shared folders', function () {
  this.timeout(180_000);
  let t: TestServer;
  let alice: Person;
  let bob: Person;
  let carol: Person;
  let dave: Person;
  let erin: Person;

  before(async () => {
    await ready();
    t = await startTestServer({ env: { HEIRLOOM_DEFAULT_QUOTA_MIB: '1' } });
    alice = await person(t.app, t.services, 'alice');
    bob = await person(t.app, t.services, 'bob');
    carol = await person(t.app, t.services, 'carol');
    dave = await person(t.app, t.services, 'dave');
    erin = await person(t.app, t.services, 'erin');
    await t.services.admin.disable('dave');
  });
  after(() => t.close());

  it('creates a space whose key and name only its members can open', async () => {
    const id = await createSpace(alice, 'Taxes');
    const space = await spaceView(alice, id);
    expect(space).to.include({ id, nameGeneration: 1, generation: 1, role: 'manager', createdBy: alice.userId });
    expect(space.members).to.deep.equal([{ userId: alice.userId, username: 'alice', role: 'manager', addedBy: alice.userId, addedAt: space.createdAt }]);
    expect(space.keys).to.have.length(1);
    const [key] = await spaceKeys(alice, id);
    expect(openSpaceName(key as Uint8Array, id, 1, fromB64(space.name))).to.equal('Taxes');
    expect((await alice.client.get('/api/spaces')).body.spaces.map((s: { id: string }) => s.id)).to.include(id);
    // to anyone else the space does not exist
    expect((await bob.client.get(`/api/spaces/${id}`)).body.error).to.equal('space_not_found');
    expect((await bob.client.get('/api/spaces')).body.spaces).to.deep.equal([]);
    expect((await t.services.audit.forUser(alice.userId))[0]).to.include({ event: 'space_created' });
  });

  it('refuses a space it cannot trust: a taken ID, a bad ID, a bad name, a key not signed by the creator', async () => {
    const first = newSpaceBody(alice, 'Family');
    expect((await alice.client.post('/api/spaces', first.body)).status).to.equal(201);
    const again = await alice.client.post('/api/spaces', first.body);
    expect([again.status, again.body.error]).to.deep.equal([409, 'space_exists']);
    const cases: [object, number, string][] = [];
    const b = () => newSpaceBody(alice, 'Photos');
    const x = b();
    cases.push([{ ...x.body, id: 'NOT-A-UUID' }, 400, 'bad_space_id']);
    cases.push([{ ...b().body, name: toB64(new Uint8Array(40)) }, 400, 'bad_name']);
    const y = b();
    cases.push([{ ...y.body, keys: [{ ...y.body.keys[0], generation: 2 }] }, 400, 'bad_space_key']);
    const z = b();
    cases.push([{ ...z.body, keys: [{ ...z.body.keys[0], sealed: toB64(new Uint8Array(79)) }] }, 400, 'bad_space_key']);
    // sealed and signed by bob for alice: not the caller's signature
    const w = b();
    const byBob = sealSpaceKey(w.key, w.id, alice.userId, 1, alice.keys.boxPk, bob.keys.signSk);
    cases.push([{ ...w.body, keys: [{ generation: 1, sealed: toB64(byBob.sealed), sig: toB64(byBob.sig) }] }, 400, 'bad_signature']);
    // signed by alice, but for bob
    const v = b();
    const forBob = sealSpaceKey(v.key, v.id, bob.userId, 1, alice.keys.boxPk, alice.keys.signSk);
    cases.push([{ ...v.body, keys: [{ generation: 1, sealed: toB64(forBob.sealed), sig: toB64(forBob.sig) }] }, 400, 'bad_signature']);
    cases.push([{ ...b().body, keys: [] }, 400, 'validation']);
    for (const [body, status, code] of cases) {
      const res = await alice.client.post('/api/spaces', body);
      expect([res.status, res.body.error], JSON.stringify(body).slice(0, 80)).to.deep.equal([status, code]);
    }
    // none of the refused ones left a space behind
    expect((await alice.client.get('/api/spaces')).body.spaces.filter((s: { id: string }) => s.id !== first.id && cases.some(([c]) => (c as { id: string }).id === s.id))).to.deep.equal([]);
  });

  it('lets A, B and C each upload into a space and each open the others’ documents', async () => {
    const id = await createSpace(alice, 'Family');
    await addMember(alice, id, bob);
    await addMember(alice, id, carol);
    const docs = [];
    for (const [i, p] of [alice, bob, carol].entries()) {
      const up = await uploadIntoSpace(p, id, filler(2000 + i, i + 1), `from-${p.username}.pdf`);
      expect(up.res.status, up.res.text).to.equal(201);
      expect(up.res.body.document).to.include({ spaceId: id, spaceGeneration: 1, ownerId: p.userId });
      docs.push({ id: up.doc.id, owner: p, plaintext: up.doc.plaintext, meta: up.doc.meta });
    }
    for (const reader of [alice, bob, carol]) {
      const listed = (await reader.client.get('/api/documents')).body.documents;
      for (const d of docs) {
        const v = listed.find((x: { id: string }) => x.id === d.id);
        expect(v, `${reader.username} lists ${d.owner.username}'s`).to.include({ spaceId: id, spaceGeneration: 1, grant: null });
        expect(v.keyWrap === null).to.equal(d.owner !== reader);
        const opened = await openInSpace(reader, d.id);
        expect(opened.name).to.equal(`from-${d.owner.username}.pdf`);
        expect(Buffer.from(opened.plaintext).equals(Buffer.from(d.plaintext))).to.equal(true);
      }
    }
    // a member can read the others' documents, not change them
    const res = await put(bob, `/api/documents/${docs[0]?.id}/meta`, { meta: docs[0]?.meta });
    expect([res.status, res.body.error]).to.deep.equal([403, 'not_owner']);
    // someone outside sees nothing
    expect(ids(await erin.client.get('/api/documents'))).to.not.include.members(docs.map((d) => d.id));
    expect((await erin.client.get(`/api/documents/${docs[0]?.id}`)).status).to.equal(404);
  });

  it('counts an upload into a space against the uploader’s quota, not the space creator’s', async () => {
    const id = await createSpace(alice, 'Quota');
    await addMember(alice, id, erin);
    const before = (await alice.client.get('/api/usage')).body.used;
    const erinBefore = (await erin.client.get('/api/usage')).body.used;
    const up = await uploadIntoSpace(erin, id, filler(300_000, 5));
    expect(up.res.status).to.equal(201);
    expect((await alice.client.get('/api/usage')).body.used).to.equal(before);
    expect((await erin.client.get('/api/usage')).body.used).to.equal(erinBefore + up.doc.blob.length);
    // erin's quota (1 MiB) is hers alone: a file that does not fit hers is refused even though alice has room
    const big = await uploadIntoSpace(erin, id, filler(900_000, 6));
    expect([big.res.status, big.res.body.error]).to.deep.equal([413, 'quota_exceeded']);
  });

  it('adds a member only with every generation sealed by a manager, and refuses the rest', async () => {
    const id = await createSpace(alice, 'Rules');
    await addMember(alice, id, bob);
    const refuse = async (by: Person, body: object, status: number, code: string) => {
      const res = await by.client.post(`/api/spaces/${id}/members`, body);
      expect([res.status, res.body.error], res.text).to.deep.equal([status, code]);
    };
    await refuse(bob, await addMemberBody(bob, id, carol), 403, 'not_manager');
    await refuse(erin, await addMemberBody(alice, id, carol), 404, 'space_not_found');
    await refuse(alice, await addMemberBody(alice, id, bob), 409, 'already_member');
    await refuse(alice, await addMemberBody(alice, id, dave), 400, 'bad_recipient');
    await refuse(alice, { ...(await addMemberBody(alice, id, carol)), userId: randomUUID() }, 400, 'bad_recipient');
    const good = await addMemberBody(alice, id, carol);
    await refuse(alice, { ...good, keys: [{ ...good.keys[0], generation: 2 }] }, 400, 'bad_space_key');
    await refuse(alice, { ...good, keys: [good.keys[0], good.keys[0]] }, 400, 'bad_space_key');
    await refuse(alice, { ...good, keys: [{ ...good.keys[0], sealed: toB64(new Uint8Array(80)) }] }, 400, 'bad_signature');
    // sealed by bob (a member, but not the caller): the caller's signature is what the server checks
    const [key] = await spaceKeys(alice, id);
    const byBob = sealSpaceKey(key as Uint8Array, id, carol.userId, 1, carol.keys.boxPk, bob.keys.signSk);
    await refuse(alice, { userId: carol.userId, keys: [{ generation: 1, sealed: toB64(byBob.sealed), sig: toB64(byBob.sig) }] }, 400, 'bad_signature');
    // after a rotation, one generation is not enough: the client is behind
    await removeMember(alice, id, bob.userId);
    await refuse(alice, good, 409, 'stale_generation');
    await addMember(alice, id, carol);
    const space = await spaceView(carol, id);
    expect(space.keys.map((k) => k.generation)).to.deep.equal([1, 2]);
    expect(space.role).to.equal('member');
    const logs = [(await t.services.audit.forUser(alice.userId))[0], (await t.services.audit.forUser(carol.userId))[0]];
    expect(logs[0]).to.include({ event: 'space_member_added', username: 'carol', outgoing: true });
    expect(logs[1]).to.include({ event: 'space_member_added', username: 'alice', outgoing: false });
  });

  it('cuts a removed member off at once and rotates the key for what is added afterwards', async () => {
    const id = await createSpace(alice, 'Household');
    await addMember(alice, id, bob);
    await addMember(alice, id, carol);
    const old = await uploadIntoSpace(bob, id, filler(500, 9), 'old.pdf');
    expect(old.res.status).to.equal(201);
    const carolsOwn = await uploadIntoSpace(carol, id, filler(500, 10), 'carols.pdf');
    expect((await carol.client.get(`/api/documents/${old.doc.id}/blob`)).status).to.equal(200);
    // an upload under way while the member is removed
    const slow = await makeSpaceDocument(bob, id, filler(3000, 11), 'slow.pdf');
    const started = await createUpload(bob.client, slow.doc, slow.doc.blob.length).set(
      'Upload-Metadata',
      `docId ${b64s(slow.doc.id)},meta ${b64s(slow.doc.meta)},keyWrap ${b64s(slow.doc.keyWrap)},spaceId ${b64s(id)},spaceGeneration ${b64s('1')},spaceKeyWrap ${b64s(slow.spaceKeyWrap)}`,
    );
    expect(started.status, started.text).to.equal(201);

    await removeMember(alice, id, carol.userId);
    // carol: nothing of the space, from the next request on (her own document stays hers)
    expect((await carol.client.get(`/api/documents/${old.doc.id}`)).status).to.equal(404);
    expect((await carol.client.get(`/api/documents/${old.doc.id}/blob`)).status).to.equal(404);
    expect((await carol.client.get(`/api/spaces/${id}`)).body.error).to.equal('space_not_found');
    expect(ids(await carol.client.get('/api/documents'))).to.not.include(old.doc.id);
    expect((await carol.client.get(`/api/documents/${carolsOwn.doc.id}`)).status).to.equal(200);
    expect(await t.db('space_keys').where({ space_id: id, member_id: carol.userId }).count({ n: '*' }).first()).to.deep.equal({ n: 0 });
    // everyone else has generation 2, sealed and signed by the manager who removed carol; the name is sealed again
    const space = await spaceView(bob, id);
    expect(space).to.include({ generation: 2, nameGeneration: 2 });
    expect(space.members.map((m) => m.username)).to.deep.equal(['alice', 'bob']);
    const keys = await spaceKeys(bob, id);
    expect(keys).to.have.length(2);
    expect(openSpaceName(keys[1] as Uint8Array, id, 2, fromB64(space.name))).to.equal('Household');
    expect((await openInSpace(bob, old.doc.id)).name).to.equal('old.pdf');
    // uploading under the old generation is refused; under the new one it works
    const stale = await tusCreate(bob.client, makeDocument(bob.keys, bob.userId, filler(10, 1)), {
      spaceId: id,
      spaceGeneration: '1',
      spaceKeyWrap: old.spaceKeyWrap,
    });
    expect([stale.status, stale.body.error]).to.deep.equal([409, 'stale_generation']);
    const fresh = await uploadIntoSpace(bob, id, filler(10, 2));
    expect(fresh.res.body.document).to.include({ spaceGeneration: 2 });
    // the upload that was under way finishes outside the space: its key was wrapped under generation 1
    const done = await patchUpload(bob.client, slow.doc.id, 0, slow.doc.blob);
    expect(done.status, done.text).to.equal(204);
    expect((await bob.client.get(`/api/documents/${slow.doc.id}`)).body.document).to.include({ spaceId: null, spaceKeyWrap: null });
    expect((await alice.client.get(`/api/documents/${slow.doc.id}`)).status).to.equal(404);
    // both sides are in the security log
    expect((await t.services.audit.forUser(alice.userId))[0]).to.include({ event: 'space_member_removed', username: 'carol', outgoing: true });
    expect((await t.services.audit.forUser(carol.userId))[0]).to.include({ event: 'space_member_removed', username: 'alice', outgoing: false });
  });

  it('refuses a removal that would leave the space inconsistent', async () => {
    const id = await createSpace(alice, 'Careful');
    await addMember(alice, id, bob);
    await addMember(alice, id, carol, 'manager');
    const path = (who: string) => `/api/spaces/${id}/members/${who}/remove`;
    const refuse = async (by: Person, who: string, body: object, status: number, code: string) => {
      const res = await by.client.post(path(who), body);
      expect([res.status, res.body.error], res.text).to.deep.equal([status, code]);
    };
    const body = await removeMemberBody(alice, id, bob.userId);
    await refuse(bob, carol.userId, await removeMemberBody(alice, id, carol.userId), 403, 'not_manager');
    await refuse(alice, alice.userId, await removeMemberBody(alice, id, alice.userId), 400, 'cannot_remove_self');
    await refuse(alice, erin.userId, body, 404, 'member_not_found');
    await refuse(alice, bob.userId, { ...body, generation: 1 }, 409, 'stale_generation');
    await refuse(alice, bob.userId, { ...body, generation: 3 }, 409, 'stale_generation');
    await refuse(alice, bob.userId, { ...body, keys: body.keys.slice(1) }, 400, 'bad_space_key');
    await refuse(alice, bob.userId, { ...body, keys: [...body.keys, body.keys[0]] }, 400, 'bad_space_key');
    // a key for bob himself, the one being removed, is not a key for "every remaining member"
    const withBob = await removeMemberBody(alice, id, erin.userId);
    await refuse(alice, bob.userId, { ...body, keys: withBob.keys.slice(0, body.keys.length) }, 400, 'bad_space_key');
    await refuse(alice, bob.userId, { ...body, name: 'x' }, 400, 'bad_name');
    // a new key sealed by another manager: valid for carol, but not the caller's signature
    const mine = await removeMemberBody(carol, id, bob.userId);
    await refuse(alice, bob.userId, { ...body, keys: mine.keys }, 400, 'bad_signature');
    // nothing changed
    const space = await spaceView(alice, id);
    expect(space.generation).to.equal(1);
    expect(space.members).to.have.length(3);
    // and another manager may remove alice
    await removeMember(carol, id, alice.userId);
    expect((await alice.client.get(`/api/spaces/${id}`)).status).to.equal(404);
  });

  it('renames with the current generation only, and only by a manager', async () => {
    const id = await createSpace(alice, 'Old name');
    await addMember(alice, id, bob);
    const [key] = await spaceKeys(alice, id);
    const name = toB64(sealSpaceName(key as Uint8Array, id, 1, 'New name'));
    expect((await put(bob, `/api/spaces/${id}/name`, { name, generation: 1 })).body.error).to.equal('not_manager');
    expect((await put(erin, `/api/spaces/${id}/name`, { name, generation: 1 })).body.error).to.equal('space_not_found');
    expect((await put(alice, `/api/spaces/${id}/name`, { name, generation: 2 })).body.error).to.equal('stale_generation');
    expect((await put(alice, `/api/spaces/${id}/name`, { name: 'abc', generation: 1 })).body.error).to.equal('bad_name');
    const res = await put(alice, `/api/spaces/${id}/name`, { name, generation: 1 });
    expect(res.status, res.text).to.equal(200);
    expect(openSpaceName(key as Uint8Array, id, 1, fromB64(res.body.space.name))).to.equal('New name');
    expect((await t.services.audit.forUser(alice.userId))[0]).to.include({ event: 'space_renamed' });
  });

  it('promotes and demotes members, and always keeps a manager', async () => {
    const id = await createSpace(alice, 'Roles');
    await addMember(alice, id, bob);
    const role = (by: Person, who: string, r: string) => put(by, `/api/spaces/${id}/members/${who}/role`, { role: r });
    expect((await role(bob, bob.userId, 'manager')).body.error).to.equal('not_manager');
    expect((await role(alice, alice.userId, 'member')).body.error).to.equal('last_manager');
    expect((await role(alice, erin.userId, 'manager')).body.error).to.equal('member_not_found');
    expect((await role(alice, bob.userId, 'boss')).body.error).to.equal('validation');
    const res = await role(alice, bob.userId, 'manager');
    expect(res.status).to.equal(200);
    expect(res.body.space.members.map((m: { role: string }) => m.role)).to.deep.equal(['manager', 'manager']);
    // bob, now a manager, can add people
    await addMember(bob, id, carol);
    expect((await role(alice, alice.userId, 'member')).status).to.equal(200);
    expect((await spaceView(alice, id)).role).to.equal('member');
  });

  it('moves an own document into a space and out again, and the members’ access follows', async () => {
    const id = await createSpace(alice, 'Moves');
    await addMember(alice, id, bob);
    const doc = makeDocument(alice.keys, alice.userId, filler(400, 3), 'deed.pdf');
    expect((await tusCreate(alice.client, doc)).status).to.equal(201);
    expect((await bob.client.get(`/api/documents/${doc.id}`)).status).to.equal(404);
    const moved = await moveIntoSpace(alice, doc.id, id);
    expect(moved.status, moved.text).to.equal(200);
    expect(moved.body.document).to.include({ spaceId: id, spaceGeneration: 1, keyWrap: doc.keyWrap });
    expect((await openInSpace(bob, doc.id)).name).to.equal('deed.pdf');
    const out = await put(alice, `/api/documents/${doc.id}/space`, { spaceId: null });
    expect(out.body.document).to.include({ spaceId: null, spaceGeneration: null, spaceKeyWrap: null });
    expect((await bob.client.get(`/api/documents/${doc.id}`)).status).to.equal(404);
    // refusals
    const [key] = await spaceKeys(alice, id);
    const wrap = toB64(wrapDocKeyForSpace(key as Uint8Array, doc.docKey, doc.id, id, 1));
    const refuse = async (by: Person, body: object, status: number, code: string) => {
      const res = await put(by, `/api/documents/${doc.id}/space`, body);
      expect([res.status, res.body.error], res.text).to.deep.equal([status, code]);
    };
    await refuse(alice, { spaceId: id, generation: 2, keyWrap: wrap }, 409, 'stale_generation');
    await refuse(alice, { spaceId: randomUUID(), generation: 1, keyWrap: wrap }, 404, 'space_not_found');
    await refuse(alice, { spaceId: id, generation: 1, keyWrap: toB64(new Uint8Array(72)) }, 400, 'bad_key');
    await refuse(alice, { spaceId: id }, 400, 'validation');
    await refuse(erin, { spaceId: null }, 404, 'document_not_found');
    const other = await createSpace(erin, 'Not alice’s');
    const [ekey] = await spaceKeys(erin, other);
    await refuse(alice, { spaceId: other, generation: 1, keyWrap: toB64(wrapDocKeyForSpace(ekey as Uint8Array, doc.docKey, doc.id, other, 1)) }, 404, 'space_not_found');
  });

  it('refuses an upload into a space the uploader is not in, or with the space fields incomplete', async () => {
    const id = await createSpace(alice, 'Closed');
    const doc = makeDocument(erin.keys, erin.userId, filler(10, 4));
    const key = newSpaceKey();
    const wrap = toB64(wrapDocKeyForSpace(key, doc.docKey, doc.id, id, 1));
    const outsider = await tusCreate(erin.client, doc, { spaceId: id, spaceGeneration: '1', spaceKeyWrap: wrap });
    expect([outsider.status, outsider.body.error]).to.deep.equal([404, 'space_not_found']);
    const partial = await tusCreate(alice.client, makeDocument(alice.keys, alice.userId, filler(10, 4)), { spaceId: id });
    expect([partial.status, partial.body.error]).to.deep.equal([400, 'bad_metadata']);
    const badGen = await tusCreate(alice.client, makeDocument(alice.keys, alice.userId, filler(10, 4)), { spaceId: id, spaceGeneration: 'one', spaceKeyWrap: wrap });
    expect([badGen.status, badGen.body.error]).to.deep.equal([400, 'bad_metadata']);
    const badWrap = await tusCreate(alice.client, makeDocument(alice.keys, alice.userId, filler(10, 4)), { spaceId: id, spaceGeneration: '1', spaceKeyWrap: 'AAAA' });
    expect([badWrap.status, badWrap.body.error]).to.deep.equal([400, 'bad_key']);
    expect(await t.db('documents').where({ id: doc.id }).first()).to.equal(undefined);
  });

  it('never shows members a document its owner has put in the trash', async () => {
    const id = await createSpace(alice, 'Trash');
    await addMember(alice, id, bob);
    const up = await uploadIntoSpace(alice, id, filler(100, 1));
    expect((await alice.client.post(`/api/documents/${up.doc.id}/trash`)).status).to.equal(200);
    expect((await bob.client.get(`/api/documents/${up.doc.id}`)).status).to.equal(404);
    expect(ids(await bob.client.get('/api/documents'))).to.not.include(up.doc.id);
    expect(ids(await alice.client.get('/api/documents?view=trash'))).to.include(up.doc.id);
  });
});

function b64s(s: string): string {
  return Buffer.from(s).toString('base64');
}
