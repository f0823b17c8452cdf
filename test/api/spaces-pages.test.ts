import { expect } from 'chai';
import request from 'supertest';
import { ready } from '../../client/crypto/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { addMember, createSpace, person, removeMember, type Person } from '../helpers/sharing.js';

type Who = 'anonymous' | 'manager' | 'member' | 'removed member' | 'other user';

/** What each person gets from the Spaces pages of one space (a page's 302 goes to the login page). */
const MATRIX: { route: string; expect: Record<Who, number> }[] = [
  { route: '/spaces', expect: { anonymous: 302, manager: 200, member: 200, 'removed member': 200, 'other user': 200 } },
  { route: '/spaces/:id', expect: { anonymous: 302, manager: 200, member: 200, 'removed member': 404, 'other user': 404 } },
  { route: '/spaces/:id/members', expect: { anonymous: 401, manager: 200, member: 200, 'removed member': 404, 'other user': 404 } },
];

describe('spaces pages: who sees what', function () {
  this.timeout(120_000);
  let t: TestServer;
  let ann: Person;
  let ben: Person;
  let cat: Person;
  let dan: Person;
  let spaceId: string;
  const NAME = 'Holiday plans';

  before(async () => {
    await ready();
    t = await startTestServer();
    ann = await person(t.app, t.services, 'ann');
    ben = await person(t.app, t.services, 'ben');
    cat = await person(t.app, t.services, 'cat');
    dan = await person(t.app, t.services, 'dan');
    spaceId = await createSpace(ann, NAME);
    await addMember(ann, spaceId, ben);
    await addMember(ann, spaceId, cat);
    await removeMember(ann, spaceId, cat.userId);
  });
  after(async () => {
    await t?.close();
  });

  const get = (who: Who, path: string) => {
    const people: Record<Exclude<Who, 'anonymous'>, Person> = { manager: ann, member: ben, 'removed member': cat, 'other user': dan };
    const agent = who === 'anonymous' ? request(t.app) : people[who].client.agent;
    return agent.get(path).set('Accept', 'text/html');
  };

  for (const row of MATRIX) {
    for (const [who, status] of Object.entries(row.expect) as [Who, number][]) {
      it(`answers ${status} to ${who === 'anonymous' ? 'an anonymous visitor' : `the ${who}`} on GET ${row.route}`, async () => {
        const res = await get(who, row.route.replace(':id', spaceId));
        expect(res.status).to.equal(status);
        if (status === 302) expect(res.headers.location).to.match(/^\/login\?next=/);
      });
    }
  }

  it('lists the space only for its members, and never with its name in the clear', async () => {
    const rows = (html: string) => [...html.matchAll(/data-space-row="([^"]+)"/g)].map((m) => m[1]);
    for (const [who, listed] of [['manager', true], ['member', true], ['removed member', false], ['other user', false]] as [Who, boolean][]) {
      const res = await get(who, '/spaces');
      expect(rows(res.text), who).to.deep.equal(listed ? [spaceId] : []);
      expect(res.text).to.not.contain(NAME);
    }
  });

  it('gives managers the buttons to change people, and members none', async () => {
    const manager = (await get('manager', `/spaces/${spaceId}`)).text;
    expect(manager).to.contain(`data-space-remove="${ben.userId}"`);
    expect(manager).to.contain(`data-space-promote="${ben.userId}"`);
    expect(manager).to.contain('data-space-rename-form');
    expect(manager).to.not.contain(NAME);
    const member = (await get('member', `/spaces/${spaceId}`)).text;
    expect(member).to.not.contain('data-space-remove=');
    expect(member).to.not.contain('data-space-rename-form');
  });

  it('answers the members list alone as a fragment: the people in the space now and its key generation', async () => {
    const res = await get('member', `/spaces/${spaceId}/members`);
    expect(res.text).to.not.contain('<html');
    expect(res.text).to.match(/^<section id="space-members"/);
    expect(res.text).to.contain('data-space-generation="2"');
    const ids = [...res.text.matchAll(/data-member-id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).to.have.members([ann.userId, ben.userId]);
  });

  it('answers 404 for a space ID that is not a UUID', async () => {
    expect((await get('manager', '/spaces/not-a-space')).status).to.equal(404);
    expect((await get('manager', '/spaces/not-a-space/members')).status).to.equal(404);
  });
});
