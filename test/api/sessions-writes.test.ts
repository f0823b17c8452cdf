import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, sidOf, type TestClient } from '../helpers/client.js';
import type { Clock } from '../../server/clock.js';
import { ready } from '../../client/crypto/index.js';

/** Real time, moved on by hand. */
class MovableClock implements Clock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

describe('session writes', () => {
  let t: TestServer;
  const clock = new MovableClock();
  before(async () => {
    await ready();
    t = await startTestServer({ clock });
  });
  after(() => t.close());

  /** The session row of a client, read straight from the database. */
  async function rowOf(c: TestClient) {
    const cookie = (c.agent as unknown as { jar: { getCookie(name: string, opts: object): { value: string } | undefined } }).jar.getCookie('heirloom.sid', {
      domain: '127.0.0.1',
      path: '/',
      secure: false,
      script: false,
    });
    if (!cookie) throw new Error('the client has no session cookie');
    const row = (await t.db('sessions').where({ sid: sidOf(cookie.value) }).first()) as
      | { last_seen_at: number; expires_at: number; user_agent: string | null; data: string }
      | undefined;
    if (!row) throw new Error('the session has no row');
    return row;
  }

  it('writes the session row at most once a minute while requests only use it', async () => {
    const { client } = await newMember(t.app, t.services, 'wanda');
    const before = await rowOf(client);
    for (let i = 0; i < 20; i++) expect((await client.get('/api/documents')).status).to.equal(200);
    const after = await rowOf(client);
    expect(after.last_seen_at).to.equal(before.last_seen_at);
    expect(after.expires_at).to.equal(before.expires_at);
  });

  it('moves the idle deadline on once a minute has passed since the row was written', async () => {
    const { client } = await newMember(t.app, t.services, 'xavier');
    const before = await rowOf(client);
    clock.advance(61_000);
    expect((await client.get('/api/documents')).status).to.equal(200);
    const touched = await rowOf(client);
    expect(touched.last_seen_at).to.be.at.least(before.last_seen_at + 61_000);
    expect(touched.expires_at).to.be.above(before.expires_at);
    // and then not again within that minute
    for (let i = 0; i < 5; i++) await client.get('/api/documents');
    expect((await rowOf(client)).last_seen_at).to.equal(touched.last_seen_at);
  });

  it('still saves a session that a request changed, within the minute', async () => {
    const { client } = await newMember(t.app, t.services, 'yvonne');
    const res = await client.get('/api/documents').set('User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0');
    expect(res.status).to.equal(200);
    const row = await rowOf(client);
    expect(row.user_agent).to.equal('Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0');
    // the time of the last write lives in its column, never inside the saved session
    expect(JSON.parse(row.data)).to.not.have.property('_writtenAt');
  });
});
