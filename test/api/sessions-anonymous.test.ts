import { expect } from 'chai';
import request from 'supertest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, newMember } from '../helpers/client.js';
import { ready } from '../../client/crypto/index.js';

function setCookies(res: { headers: Record<string, unknown> }): string[] {
  return (res.headers['set-cookie'] as string[] | undefined) ?? [];
}

describe('sessions: visitors who have not logged in', () => {
  let t: TestServer;
  before(async () => {
    await ready();
    t = await startTestServer();
  });
  after(() => t.close());

  const sessionRows = async () => Number((await t.db('sessions').count({ n: '*' }).first())?.n);

  it('writes no session row for anonymous page views, 404s, look-ups and failed logins', async () => {
    await newMember(t.app, t.services, 'hilde');
    await t.db('sessions').delete();

    for (let i = 0; i < 100; i++) {
      // a new visitor each time, as a script hammering the server would be
      for (const path of ['/login', '/register', `/no-such-page-${i}`]) {
        const res = await request(t.app).get(path);
        expect(res.status).to.be.oneOf([200, 404]);
      }
    }
    const browser = new TestClient(t.app);
    for (let i = 0; i < 100; i++) await browser.open(i % 2 ? '/login' : '/register');
    for (let i = 0; i < 5; i++) {
      const c = new TestClient(t.app);
      expect((await c.passwordStep(i % 2 ? 'hilde' : `nobody-${i}`, 'not the right password')).status).to.equal(401);
    }

    expect(await sessionRows()).to.equal(0);
  });

  it('hands a client without pages its first token with GET /api/auth/csrf, in a cookie-bound form', async () => {
    const agent = request.agent(t.app);
    const first = await agent.get('/api/auth/csrf');
    expect(first.status).to.equal(200);
    expect(first.headers['cache-control']).to.contain('no-store');
    const token = first.body.csrfToken as string;
    expect(token).to.be.a('string').with.length.greaterThan(20);
    const cookie = setCookies(first).find((c) => c.startsWith('heirloom.csrf='));
    expect(cookie, 'the visitor cookie').to.be.a('string');
    expect(cookie).to.match(/HttpOnly/i).and.match(/SameSite=Lax/i);

    // the same visitor keeps its cookie and token
    const again = await agent.get('/api/auth/csrf');
    expect(again.body.csrfToken).to.equal(token);
    expect(setCookies(again).some((c) => c.startsWith('heirloom.csrf='))).to.equal(false);

    const ok = await agent.post('/api/auth/prelogin').set('X-CSRF-Token', token).send({ username: 'someone' });
    expect(ok.status).to.equal(200);
    expect(await sessionRows()).to.equal(0);
  });

  it('refuses an anonymous request without a token, with another visitor’s token, or without its cookie', async () => {
    const a = new TestClient(t.app);
    await a.open('/login');
    const b = new TestClient(t.app);
    await b.open('/login');
    expect(a.csrf).to.not.equal(b.csrf);

    const none = await a.agent.post('/api/auth/prelogin').set('Accept', 'application/json').send({ username: 'x' });
    expect(none.status).to.equal(403);
    expect(none.body.error).to.equal('csrf');
    const foreign = await a.agent.post('/api/auth/prelogin').set('X-CSRF-Token', b.csrf).send({ username: 'x' });
    expect(foreign.status).to.equal(403);
    const cookieless = await request(t.app).post('/api/auth/prelogin').set('X-CSRF-Token', a.csrf).send({ username: 'x' });
    expect(cookieless.status).to.equal(403);
    const forged = await request(t.app)
      .post('/api/auth/prelogin')
      .set('Cookie', 'heirloom.csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
      .set('X-CSRF-Token', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
      .send({ username: 'x' });
    expect(forged.status).to.equal(403);
    expect((await a.post('/api/auth/prelogin', { username: 'x' })).status).to.equal(200);
  });

  it('takes only the session’s own token once the password step made a session', async () => {
    const m = await newMember(t.app, t.services, 'ines');
    const d = m.client.anotherDevice();
    await d.open('/login');
    const visitorToken = d.csrf;
    expect((await d.passwordStep('ines', m.password)).status).to.equal(200);
    expect(d.csrf).to.not.equal(visitorToken);
    const stale = await d.agent.post('/api/auth/totp').set('X-CSRF-Token', visitorToken).send({ code: await d.nextCode() });
    expect(stale.status).to.equal(403);
    expect((await d.totpStep()).status).to.equal(200);
    // a logged-in page carries the session's token
    const page = await d.agent.get('/settings');
    expect(page.text).to.contain(`<meta name="csrf-token" content="${d.csrf}">`);
  });

  it('tells a client whose session has ended to log in again, and forgets the dead cookie', async () => {
    const m = await newMember(t.app, t.services, 'jonas');
    const other = m.client.anotherDevice();
    await other.login('jonas', m.password);
    await t.db('sessions').where({ user_id: m.client.userId }).delete();
    const res = await other.post('/api/trash/empty', {});
    expect(res.status).to.equal(401);
    expect(res.body.error).to.equal('unauthenticated');
    expect(setCookies(res).some((c) => /^heirloom\.sid=;/.test(c))).to.equal(true);
  });
});
