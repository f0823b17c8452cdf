import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient } from '../helpers/client.js';
import { filler, makeDocument } from '../helpers/documents.js';
import {
  addMember,
  addMemberBody,
  createSpace,
  grantFor,
  moveIntoSpace,
  person,
  removeMember,
  removeMemberBody,
  shareDocument,
  spaceKeys,
  spaceView,
  tusCreate,
  uploadIntoSpace,
  type Person,
} from '../helpers/sharing.js';
import { ready, sealGrant, sealSpaceName, toB64 } from '../../client/crypto/index.js';

/**
 * The authorisation matrix (issue 9): every document and space endpoint, asked by each kind of person.
 * The document belongs to the owner, sits in a space with one other member, and is shared with one
 * recipient who is not in the space. The removed member was in the space until the setup removed them.
 * The disabled user was both a member and a recipient before the admin disabled them.
 */
type Actor = 'anonymous' | 'owner' | 'recipient' | 'member' | 'removed' | 'other' | 'disabled';
const ACTORS: Actor[] = ['anonymous', 'owner', 'recipient', 'member', 'removed', 'other', 'disabled'];

/** 'listed' / 'hidden' for the lists; otherwise the HTTP status. */
type Outcome = number | 'listed' | 'hidden';

//                                      anonymous  owner      recipient  member     removed   other     disabled
const MATRIX: [string, Outcome[]][] = [
  ['list documents',                    [401,      'listed',  'listed',  'listed',  'hidden', 'hidden', 401]],
  ['read',                              [401,      200,       200,       200,       404,      404,      401]],
  ['download',                          [401,      200,       200,       200,       404,      404,      401]],
  ['rename',                            [401,      200,       403,       403,       404,      404,      401]],
  ['trash',                             [401,      200,       403,       403,       404,      404,      401]],
  ['restore',                           [401,      200,       403,       403,       404,      404,      401]],
  ['delete for good',                   [401,      400,       403,       403,       404,      404,      401]],
  ['move out of the space',             [401,      200,       403,       403,       404,      404,      401]],
  ['share',                             [401,      200,       404,       404,       404,      404,      401]],
  ['see who has access',                [401,      200,       403,       403,       404,      404,      401]],
  ['revoke',                            [401,      200,       403,       403,       404,      404,      401]],
  ['list spaces',                       [401,      'listed',  'hidden',  'listed',  'hidden', 'hidden', 401]],
  ['read the space',                    [401,      200,       404,       200,       404,      404,      401]],
  ['upload into the space',             [401,      201,       404,       201,       404,      404,      401]],
  ['rename the space',                  [401,      200,       404,       403,       404,      404,      401]],
  ['add member',                        [401,      200,       404,       403,       404,      404,      401]],
  ['remove member',                     [401,      200,       404,       403,       404,      404,      401]],
  ['change a member’s role',            [401,      200,       404,       403,       404,      404,      401]],
];

describe('sharing: the authorisation matrix', function () {
  this.timeout(180_000);
  let t: TestServer;
  const people = {} as Record<Exclude<Actor, 'anonymous'>, Person>;
  let anonymous: TestClient;
  let extra: Person; // someone outside the matrix whom the cells share with, add and remove
  let spaceId: string;
  let doc: ReturnType<typeof makeDocument>;

  before(async () => {
    await ready();
    t = await startTestServer();
    for (const [actor, name] of [
      ['owner', 'olivia'],
      ['recipient', 'rita'],
      ['member', 'max'],
      ['removed', 'rex'],
      ['other', 'otto'],
      ['disabled', 'dora'],
    ] as const) {
      people[actor] = await person(t.app, t.services, name);
    }
    extra = await person(t.app, t.services, 'xena');
    anonymous = new TestClient(t.app);
    await anonymous.open('/login');

    const owner = people.owner;
    spaceId = await createSpace(owner, 'Family');
    for (const p of [people.member, people.removed, people.disabled]) await addMember(owner, spaceId, p);
    doc = makeDocument(owner.keys, owner.userId, filler(1000, 1), 'will.pdf');
    expect((await tusCreate(owner.client, doc)).status).to.equal(201);
    expect((await moveIntoSpace(owner, doc.id, spaceId)).status).to.equal(200);
    await shareDocument(owner, doc.id, people.recipient);
    await shareDocument(owner, doc.id, people.disabled);
    await removeMember(owner, spaceId, people.removed.userId);
    await t.services.admin.disable('dora');
  });
  after(() => t.close());

  const clientOf = (a: Actor) => (a === 'anonymous' ? anonymous : people[a].client);
  const send = (a: Actor, method: 'put' | 'post' | 'delete', path: string, body?: object) => {
    const c = clientOf(a);
    return c.agent[method](path).set('X-CSRF-Token', c.csrf).set('Accept', 'application/json').send(body ?? {});
  };
  /** Someone who cannot make real keys for the space still sends well-formed bytes (envelopes start with 0x01). */
  const fake = (n: number) => {
    const bytes = new Uint8Array(randomBytes(n));
    bytes[0] = 1;
    return toB64(bytes);
  };

  type Answer = { status: number; body: { error?: string; documents?: { id: string }[]; spaces?: { id: string }[] } };
  const calls: Record<string, (a: Actor) => Promise<Answer>> = {
    'list documents': (a) => clientOf(a).get('/api/documents'),
    read: (a) => clientOf(a).get(`/api/documents/${doc.id}`),
    download: (a) => clientOf(a).agent.get(`/api/documents/${doc.id}/blob`),
    rename: (a) => send(a, 'put', `/api/documents/${doc.id}/meta`, { meta: doc.meta }),
    trash: async (a) => {
      const res = await send(a, 'post', `/api/documents/${doc.id}/trash`);
      // put it back for the next cells
      if (a === 'owner') expect((await send('owner', 'post', `/api/documents/${doc.id}/restore`)).status).to.equal(200);
      return res;
    },
    restore: (a) => send(a, 'post', `/api/documents/${doc.id}/restore`),
    'delete for good': (a) => send(a, 'delete', `/api/documents/${doc.id}`),
    'move out of the space': async (a) => {
      const res = await send(a, 'put', `/api/documents/${doc.id}/space`, { spaceId: null });
      if (a === 'owner') expect((await moveIntoSpace(people.owner, doc.id, spaceId)).status).to.equal(200);
      return res;
    },
    share: async (a) => {
      if (a === 'anonymous') return send(a, 'post', '/api/grants', { grants: [{ documentId: doc.id, recipientId: extra.userId, sealed: fake(80), sig: fake(64) }] });
      // each signs a grant with their own key: the server must refuse everyone but the owner
      const p = people[a];
      const g = a === 'owner' ? await grantFor(p, doc.id, extra, doc.docKey) : sealedBy(p);
      return send(a, 'post', '/api/grants', { grants: [g] });
    },
    'see who has access': (a) => clientOf(a).get(`/api/documents/${doc.id}/grants`),
    revoke: async (a) => {
      if (a === 'owner') await shareDocument(people.owner, doc.id, extra);
      return send(a, 'delete', `/api/documents/${doc.id}/grants/${extra.userId}`);
    },
    'list spaces': (a) => clientOf(a).get('/api/spaces'),
    'read the space': (a) => clientOf(a).get(`/api/spaces/${spaceId}`),
    'upload into the space': async (a) => {
      if (a === 'owner' || a === 'member') return (await uploadIntoSpace(people[a], spaceId, filler(100, 2))).res;
      const c = clientOf(a);
      const d = a === 'anonymous' ? makeDocument(people.other.keys, people.other.userId, filler(100, 3)) : makeDocument(people[a].keys, people[a].userId, filler(100, 3));
      return tusCreate(c, d, { spaceId, spaceGeneration: '1', spaceKeyWrap: fake(73) });
    },
    'rename the space': async (a) => {
      if (a !== 'owner') return send(a, 'put', `/api/spaces/${spaceId}/name`, { name: fake(105), generation: 1 });
      const space = await spaceView(people.owner, spaceId);
      const key = (await spaceKeys(people.owner, spaceId))[space.generation - 1] as Uint8Array;
      return send(a, 'put', `/api/spaces/${spaceId}/name`, { name: toB64(sealSpaceName(key, spaceId, space.generation, 'Family')), generation: space.generation });
    },
    'add member': async (a) => {
      const body = a === 'owner' ? await addMemberBody(people.owner, spaceId, extra) : { userId: extra.userId, keys: [{ generation: 1, sealed: fake(80), sig: fake(64) }] };
      const res = await send(a, 'post', `/api/spaces/${spaceId}/members`, body);
      if (a === 'owner') await removeMember(people.owner, spaceId, extra.userId);
      return res;
    },
    'remove member': async (a) => {
      if (a !== 'owner') return send(a, 'post', `/api/spaces/${spaceId}/members/${people.member.userId}/remove`, { generation: 9, name: fake(105), keys: [] });
      await addMember(people.owner, spaceId, extra);
      const res = await send(a, 'post', `/api/spaces/${spaceId}/members/${extra.userId}/remove`, await removeMemberBody(people.owner, spaceId, extra.userId));
      return res;
    },
    'change a member’s role': (a) => send(a, 'put', `/api/spaces/${spaceId}/members/${people.member.userId}/role`, { role: 'member' }),
  };

  function sealedBy(p: Person) {
    const g = sealGrant(doc.docKey, doc.id, extra.userId, extra.keys.boxPk, p.keys.signSk);
    return { documentId: doc.id, recipientId: extra.userId, sealed: toB64(g.sealed), sig: toB64(g.sig) };
  }


  function outcome(row: string, res: Answer): Outcome {
    if (res.status !== 200 || !(row === 'list documents' || row === 'list spaces')) return res.status;
    const listed = row === 'list documents' ? res.body.documents?.some((d) => d.id === doc.id) : res.body.spaces?.some((s) => s.id === spaceId);
    return listed ? 'listed' : 'hidden';
  }

  for (const [row, expected] of MATRIX) {
    it(`${row}: ${ACTORS.map((a, i) => `${a} ${expected[i]}`).join(', ')}`, async () => {
      const got: Outcome[] = [];
      for (const a of ACTORS) {
        // whoever has no session holds a visitor's CSRF token, so the answer is about the route, not the token
        if (a === 'anonymous' || a === 'disabled') await clientOf(a).open('/login');
        const res = await calls[row]!(a);
        got.push(outcome(row, res));
        // a refusal says why in the stable codes docs/api.md lists
        const error = res.body?.error;
        if (res.status === 401) expect(error).to.equal('unauthenticated');
        if (res.status === 403) expect(error, `${a}: ${JSON.stringify(res.body)}`).to.be.oneOf(['not_owner', 'not_manager']);
        if (res.status === 404 && row !== 'download') expect(error).to.be.oneOf(['document_not_found', 'space_not_found']);
      }
      expect(got).to.deep.equal(expected);
    });
  }

  it('leaves the document and the space as they were, for their owner', async () => {
    const view = (await people.owner.client.get(`/api/documents/${doc.id}`)).body.document;
    expect(view).to.include({ deletedAt: null, spaceId, meta: doc.meta });
    const space = await spaceView(people.owner, spaceId);
    expect(space.members.map((m) => m.username)).to.deep.equal(['dora', 'max', 'olivia']);
  });
});
