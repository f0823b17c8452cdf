import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, codeAt, newMember, sessionCookie, stepNow } from '../helpers/client.js';
import { LOGIN_FAILED_MESSAGE } from '../../server/errors.js';
import { derivePasswordKeys, ready, toB64 } from '../../client/crypto/index.js';

describe('login: password step, then code step', () => {
  let t: TestServer;
  before(async () => {
    await ready();
    t = await startTestServer();
  });
  after(() => t.close());

  it('opens the vault after both steps, changing the session ID at each', async () => {
    const m = await newMember(t.app, t.services, 'fiona');
    const d = m.client.anotherDevice();
    await d.open();
    const first = await d.agent.get('/login');
    const s0 = sessionCookie(first) ?? 'none';
    const p = await d.passwordStep('fiona', m.password);
    expect(p.status).to.equal(200);
    expect(p.body.next).to.equal('totp');
    const s1 = sessionCookie(p);
    expect(s1).to.be.a('string').and.not.equal(s0);
    // the password alone opens nothing
    expect((await d.get('/api/vault/kdf')).status).to.equal(401);
    const tr = await d.totpStep();
    expect(tr.status).to.equal(200);
    const s2 = sessionCookie(tr);
    expect(s2).to.be.a('string').and.not.equal(s1);
    expect(tr.body.keys).to.have.all.keys('passwordWrappedAccountKey', 'encPrivateKeys', 'boxPk', 'signPk', 'recoveryAuthPk', 'selfSignature');
    expect((await d.get('/api/vault/kdf')).status).to.equal(200);
  });

  it('returns the same answer for an unknown user and a wrong password', async () => {
    await newMember(t.app, t.services, 'gina');
    const a = new TestClient(t.app);
    const unknown = await a.passwordStep('nobody-here', 'whatever it is');
    const b = new TestClient(t.app);
    const wrong = await b.passwordStep('gina', 'not her password');
    expect(unknown.status).to.equal(401);
    expect(wrong.status).to.equal(401);
    expect(unknown.body).to.deep.equal(wrong.body);
    expect(wrong.body.message).to.equal(LOGIN_FAILED_MESSAGE);
  });

  it('gives stable made-up KDF parameters for names nobody has', async () => {
    const c = new TestClient(t.app);
    await c.open();
    const a1 = await c.prelogin('ghost');
    const a2 = await c.prelogin('GHOST');
    const b = await c.prelogin('phantom');
    expect(a1).to.deep.equal(a2);
    expect(a1.salt).to.not.equal(b.salt);
    const real = await c.prelogin('gina');
    expect(Object.keys(a1).sort()).to.deep.equal(Object.keys(real).sort());
    expect(a1.ops).to.equal(real.ops);
    expect(a1.mem).to.equal(real.mem);
  });

  it('refuses a TOTP code used twice', async () => {
    const m = await newMember(t.app, t.services, 'hank');
    const d = m.client.anotherDevice();
    expect((await d.passwordStep('hank', m.password)).status).to.equal(200);
    const code = await d.nextCode();
    expect((await d.totpStep(code)).status).to.equal(200);
    const e = d.anotherDevice();
    expect((await e.passwordStep('hank', m.password)).status).to.equal(200);
    const replay = await e.totpStep(code);
    expect(replay.status).to.equal(401);
    expect(replay.body.message).to.equal(LOGIN_FAILED_MESSAGE);
    const events = await t.services.audit.forUser(m.client.userId);
    expect(events.map((x) => x.event)).to.include('totp_replay');
  });

  it('lets only one of two parallel submissions of one code through', async () => {
    const m = await newMember(t.app, t.services, 'iris');
    const [a, b] = [m.client.anotherDevice(), m.client.anotherDevice()];
    expect((await a.passwordStep('iris', m.password)).status).to.equal(200);
    expect((await b.passwordStep('iris', m.password)).status).to.equal(200);
    const code = await a.nextCode();
    const results = await Promise.all([a.totpStep(code), b.totpStep(code)]);
    expect(results.map((r) => r.status).sort()).to.deep.equal([200, 401]);
  });

  it('drops the pending login after five wrong codes', async () => {
    const m = await newMember(t.app, t.services, 'jack');
    const d = m.client.anotherDevice();
    expect((await d.passwordStep('jack', m.password)).status).to.equal(200);
    const good = codeAt(d.totpSecret, stepNow() + 1);
    const wrong = good === '123456' ? '654321' : '123456';
    for (let i = 1; i <= 4; i++) {
      const r = await d.totpStep(wrong);
      expect(r.status).to.equal(401);
      expect(r.body.error).to.equal('login_failed');
    }
    const fifth = await d.totpStep(wrong);
    expect(fifth.body.error).to.equal('login_expired');
    const after = await d.totpStep(good);
    expect(after.status).to.equal(401);
    expect(after.body.error).to.equal('login_expired');
  });

  it('refuses a code step with no password step before it', async () => {
    const c = new TestClient(t.app);
    await c.open();
    const r = await c.post('/api/auth/totp', { code: '123456' });
    expect(r.status).to.equal(401);
    expect(r.body.error).to.equal('login_expired');
  });

  it('limits wrong passwords per account with a 429 and Retry-After', async () => {
    const m = await newMember(t.app, t.services, 'kate');
    const c = new TestClient(t.app);
    await c.open();
    const bad = toB64(new Uint8Array(32).fill(7));
    for (let i = 0; i < 10; i++) {
      const r = await c.post('/api/auth/password', { username: 'kate', authKey: bad });
      expect(r.status).to.equal(401);
    }
    const limited = await c.post('/api/auth/password', { username: 'kate', authKey: bad });
    expect(limited.status).to.equal(429);
    expect(limited.headers['retry-after']).to.match(/^\d+$/);
    expect(limited.body.message).to.match(/Too many attempts/);
    // even the right password waits now
    const kdf = await c.prelogin('kate');
    const right = await c.post('/api/auth/password', { username: 'kate', authKey: toB64(derivePasswordKeys(m.password, kdf).authKey) });
    expect(right.status).to.equal(429);
    // the owner sees it once in the security log
    const events = (await t.services.audit.forUser(m.client.userId)).map((e) => e.event);
    expect(events.filter((e) => e === 'rate_limited')).to.have.length(1);
  });

  it('refuses requests without the CSRF token', async () => {
    const c = new TestClient(t.app);
    await c.open();
    const none = await c.agent.post('/api/auth/prelogin').set('Accept', 'application/json').send({ username: 'x' });
    expect(none.status).to.equal(403);
    expect(none.body.error).to.equal('csrf');
    const wrong = await c.agent.post('/api/auth/prelogin').set('X-CSRF-Token', 'forged').send({ username: 'x' });
    expect(wrong.status).to.equal(403);
    const form = await c.agent.post('/logout').type('form').send({ _csrf: 'forged' });
    expect(form.status).to.equal(403);
  });

  it('logs out: the session row is gone and the old cookie opens nothing', async () => {
    const m = await newMember(t.app, t.services, 'liam');
    const cookie = (await m.client.agent.get('/')).request.cookies;
    const before = await t.db('sessions').where({ user_id: m.client.userId }).count({ n: '*' }).first();
    expect(Number((before as { n: number }).n)).to.be.greaterThan(0);
    const out = await m.client.agent.post('/logout').type('form').send({ _csrf: m.client.csrf });
    expect(out.status).to.equal(303);
    expect(out.headers.location).to.equal('/login');
    const after = await t.db('sessions').where({ user_id: m.client.userId }).count({ n: '*' }).first();
    expect(Number((after as { n: number }).n)).to.equal(0);
    const replay = await (await import('supertest')).default(t.app).get('/api/vault/kdf').set('Cookie', cookie).set('Accept', 'application/json');
    expect(replay.status).to.equal(401);
  });

  it('ends a session older than the absolute limit however active it is', async () => {
    const m = await newMember(t.app, t.services, 'mona');
    expect((await m.client.get('/api/vault/kdf')).status).to.equal(200);
    const row = await t.db('sessions').where({ user_id: m.client.userId }).first();
    const data = JSON.parse(row.data);
    data.meta.authAt = Date.now() - 13 * 3600_000;
    await t.db('sessions').where({ sid: row.sid }).update({ data: JSON.stringify(data) });
    expect((await m.client.get('/api/vault/kdf')).status).to.equal(401);
  });
});
