import { expect } from 'chai';
import request from 'supertest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, type TestClient } from '../helpers/client.js';
import { emptyPins, fromB64, openPins, ready, sealPins, toB64, type Pins, type UnlockedKeys } from '../../client/crypto/index.js';

interface Member {
  client: TestClient;
  keys: UnlockedKeys;
  userId: string;
  username: string;
}

const put = (c: TestClient, body: unknown) => c.agent.put('/api/pins').set('X-CSRF-Token', c.csrf).set('Accept', 'application/json').send(body as object);

function pinsWith(userId: string, fp: string): Pins {
  const p = emptyPins();
  p.users[userId] = { fp, verified: true, seen: 1_700_000_000_000, verifiedAt: 1_700_000_100_000 };
  return p;
}

describe('family directory and pins API', function () {
  this.timeout(120_000);
  let t: TestServer;
  let alice: Member;
  let bob: Member;
  let carol: Member;
  before(async () => {
    await ready();
    t = await startTestServer();
    const make = async (name: string): Promise<Member> => {
      const m = await newMember(t.app, t.services, name);
      return { client: m.client, keys: m.account.keys, userId: m.client.userId, username: name };
    };
    // registered out of alphabetical order, so the order of the answer is the server's doing
    carol = await make('carol');
    alice = await make('alice');
    bob = await make('bob');
    await t.services.admin.disable('carol');
  });
  after(() => t.close());

  it('lists every member of the instance by username, with their public keys and whether they are disabled', async () => {
    const res = await alice.client.get('/api/directory');
    expect(res.status).to.equal(200);
    expect(res.headers['cache-control']).to.equal('no-store');
    const users = res.body.users as Record<string, unknown>[];
    expect(users.map((u) => u.username)).to.deep.equal(['alice', 'bob', 'carol']);
    const b = users[1] as Record<string, unknown>;
    expect(Object.keys(b).sort()).to.deep.equal(['boxPk', 'disabled', 'id', 'recoveryAuthPk', 'selfSignature', 'signPk', 'username']);
    expect(b.id).to.equal(bob.userId);
    expect(b.boxPk).to.equal(toB64(bob.keys.boxPk));
    expect(b.signPk).to.equal(toB64(bob.keys.signPk));
    expect(fromB64(b.selfSignature as string)).to.have.length(64);
    expect(fromB64(b.recoveryAuthPk as string)).to.have.length(32);
    expect(users.map((u) => u.disabled)).to.deep.equal([false, false, true]);
  });

  it('answers 401 to anyone not logged in, for the directory, the pins and the page', async () => {
    const anon = request.agent(t.app);
    expect((await anon.get('/api/directory').set('Accept', 'application/json')).status).to.equal(401);
    const pins = await anon.get('/api/pins').set('Accept', 'application/json');
    expect(pins.status).to.equal(401);
    expect(pins.body.error).to.equal('unauthenticated');
    const page = await anon.get('/family');
    expect(page.status).to.equal(302);
    expect(page.headers.location).to.equal('/login?next=%2Ffamily');
  });

  it('keeps a person’s pins round trip: none at first, then the envelope saved, with its version going up by one', async () => {
    const first = await alice.client.get('/api/pins');
    expect(first.status).to.equal(200);
    expect(first.body).to.deep.equal({ pins: null, version: 0 });

    const envelope = toB64(sealPins(alice.keys.accountKey, alice.userId, pinsWith(bob.userId, 'ab'.repeat(32))));
    const saved = await put(alice.client, { pins: envelope, version: 0 });
    expect(saved.status, saved.text).to.equal(200);
    expect(saved.body).to.deep.equal({ version: 1 });

    const back = await alice.client.get('/api/pins');
    expect(back.body.version).to.equal(1);
    expect(back.body.pins).to.equal(envelope);
    const opened = openPins(alice.keys.accountKey, alice.userId, fromB64(back.body.pins));
    expect(opened.users[bob.userId]?.verified).to.equal(true);

    const again = toB64(sealPins(alice.keys.accountKey, alice.userId, emptyPins()));
    expect((await put(alice.client, { pins: again, version: 1 })).body).to.deep.equal({ version: 2 });
    expect((await alice.client.get('/api/pins')).body).to.deep.equal({ pins: again, version: 2 });
  });

  it('refuses a save based on a version that is no longer current, names the current one and keeps what was stored', async () => {
    const stored = (await alice.client.get('/api/pins')).body as { pins: string; version: number };
    const other = toB64(sealPins(alice.keys.accountKey, alice.userId, pinsWith(carol.userId, 'cd'.repeat(32))));
    for (const stale of [0, stored.version - 1, stored.version + 1]) {
      const res = await put(alice.client, { pins: other, version: stale });
      expect(res.status, `version ${stale}`).to.equal(409);
      expect(res.body).to.deep.include({ error: 'pins_changed', version: stored.version });
      expect(res.body.message).to.match(/changed elsewhere/);
    }
    expect((await alice.client.get('/api/pins')).body).to.deep.equal(stored);
  });

  it('refuses what is not an encrypted envelope, and an envelope over the size limit', async () => {
    const cases: [unknown, number, string][] = [
      ['!!not base64', 400, 'bad_pins'],
      [toB64(new Uint8Array(40).fill(1)), 400, 'bad_pins'], // one byte short of a version byte, nonce and tag
      [toB64(Uint8Array.of(2, ...new Uint8Array(60))), 400, 'bad_pins'], // not envelope version 1
      [toB64(new TextEncoder().encode(JSON.stringify(pinsWith(bob.userId, 'ab'.repeat(32))))), 400, 'bad_pins'], // plain JSON
      ['', 400, 'validation'],
      [42, 400, 'validation'],
      ['A'.repeat(256 * 1024 + 4), 413, 'too_large'],
    ];
    const before = (await bob.client.get('/api/pins')).body;
    for (const [pins, status, code] of cases) {
      const res = await put(bob.client, { pins, version: 0 });
      expect(res.status, `${String(pins).slice(0, 20)}: ${res.text}`).to.equal(status);
      expect(res.body.error).to.equal(code);
    }
    expect((await put(bob.client, { version: 0 })).status).to.equal(400);
    expect((await put(bob.client, { pins: toB64(new Uint8Array(41).fill(1)), version: -1 })).status).to.equal(400);
    expect((await bob.client.get('/api/pins')).body).to.deep.equal(before);
    // the largest envelope allowed fits through the body limit and is stored
    const raw = new Uint8Array(196_608);
    raw[0] = 1;
    const big = toB64(raw);
    expect(big.length).to.equal(256 * 1024);
    expect((await put(bob.client, { pins: big, version: 0 })).status).to.equal(200);
  });

  it('never shows one person’s pins to another: each reads and writes only their own', async () => {
    const alicePins = (await alice.client.get('/api/pins')).body as { pins: string; version: number };
    const bobPins = (await bob.client.get('/api/pins')).body as { pins: string; version: number };
    expect(bobPins.pins).to.not.equal(alicePins.pins);
    // bob saving "at alice's version" writes bob's row; alice's stays as it was
    const bobEnv = toB64(sealPins(bob.keys.accountKey, bob.userId, emptyPins()));
    expect((await put(bob.client, { pins: bobEnv, version: bobPins.version })).status).to.equal(200);
    expect((await alice.client.get('/api/pins')).body).to.deep.equal(alicePins);
    // no address takes a user ID
    expect((await bob.client.get(`/api/pins/${alice.userId}`)).status).to.equal(404);
    expect((await bob.client.get(`/api/pins?userId=${alice.userId}`)).body.pins).to.equal(bobEnv);
  });

  it('needs the CSRF token to save pins', async () => {
    const res = await bob.client.agent.put('/api/pins').set('Accept', 'application/json').send({ pins: 'AQ', version: 0 });
    expect(res.status).to.equal(403);
    expect(res.body.error).to.equal('csrf');
  });

  it('serves the Family page with every member and their public keys for the browser to check, and a Family link', async () => {
    const res = await alice.client.agent.get('/family');
    expect(res.status).to.equal(200);
    expect(res.headers['cache-control']).to.equal('no-store');
    expect(res.text).to.include('data-page="family"');
    expect(res.text).to.match(/<a class="user-menu__link" href="\/family"[^>]*aria-current="page"[^>]*>Family<\/a>/);
    for (const m of [alice, bob, carol]) {
      expect(res.text).to.include(`data-member-id="${m.userId}"`);
      expect(res.text).to.include(`data-sign-pk="${toB64(m.keys.signPk)}"`);
      expect(res.text).to.include(`data-box-pk="${toB64(m.keys.boxPk)}"`);
    }
  });
});
