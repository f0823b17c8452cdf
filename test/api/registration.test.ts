import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, codeAt, stepNow } from '../helpers/client.js';
import { createAccount, ready, type KdfParams } from '../../client/crypto/index.js';

describe('registration by invitation', () => {
  let t: TestServer;
  before(async () => {
    await ready();
    t = await startTestServer();
  });
  after(() => t.close());

  const userCount = async () => Number(((await t.db('users').count({ n: '*' }).first()) as { n: number }).n);

  it('creates an account from an invitation and logs it in', async () => {
    const inv = await t.services.registration.createInvitation({ isAdmin: true });
    const c = new TestClient(t.app);
    const { res } = await c.register(inv.token, 'Alice', 'correct horse battery staple');
    expect(res.status).to.equal(201);
    expect(res.body.user).to.include({ username: 'alice', isAdmin: true });
    const dash = await c.agent.get('/');
    expect(dash.status).to.equal(200);
    expect(dash.text).to.contain('alice');
  });

  it('refuses a used invitation with a clear message', async () => {
    const inv = await t.services.registration.createInvitation({ isAdmin: false });
    await new TestClient(t.app).register(inv.token, 'bob', 'correct horse battery staple');
    const c = new TestClient(t.app);
    await c.open('/register');
    const res = await c.post('/api/register/start', { token: inv.token });
    expect(res.status).to.equal(410);
    expect(res.body.error).to.equal('invite_used');
    expect(res.body.message).to.match(/already been used/);
  });

  it('refuses a forged invitation with a 404 and an expired one with a 410', async () => {
    const c = new TestClient(t.app);
    await c.open('/register');
    const forged = await c.post('/api/register/start', { token: 'x'.repeat(43) });
    expect(forged.status).to.equal(404);
    expect(forged.body.error).to.equal('invite_not_found');
    const inv = await t.services.registration.createInvitation({ isAdmin: false, validHours: -1 });
    const expired = await c.post('/api/register/start', { token: inv.token });
    expect(expired.status).to.equal(410);
    expect(expired.body.error).to.equal('invite_expired');
  });

  it('refuses a taken username and leaves the invitation usable', async () => {
    const inv = await t.services.registration.createInvitation({ isAdmin: false });
    const before = await userCount();
    const c = new TestClient(t.app);
    const { res } = await c.register(inv.token, 'ALICE', 'another good passphrase');
    expect(res.status).to.equal(409);
    expect(res.body.error).to.equal('username_taken');
    expect(await userCount()).to.equal(before);
    const again = await new TestClient(t.app).register(inv.token, 'carol', 'another good passphrase');
    expect(again.res.status).to.equal(201);
  });

  it('creates one account when the same registration is submitted twice at once', async () => {
    await ready();
    const inv = await t.services.registration.createInvitation({ isAdmin: false });
    const c = new TestClient(t.app);
    await c.open('/register');
    const start = await c.post('/api/register/start', { token: inv.token });
    const account = createAccount(start.body.userId, 'twice is once', start.body.kdf as KdfParams);
    const body = (code: string) => ({ token: inv.token, username: 'dave', ...account.registration, totpCode: code });
    const before = await userCount();
    // two browsers with their own sessions (each with its own authenticator secret), submitting the same
    // invitation at the same moment
    const c2 = new TestClient(t.app);
    await c2.open('/register');
    await c2.post('/api/register/start', { token: inv.token });
    const codeIn = async (client: TestClient) =>
      codeAt((await client.post('/api/register/totp', { token: inv.token, username: 'dave' })).body.secret, stepNow());
    const [code, code2] = [await codeIn(c), await codeIn(c2)];
    const [a, b] = await Promise.all([c.post('/api/register/finish', body(code)), c2.post('/api/register/finish', body(code2))]);
    expect([a.status, b.status].sort()).to.deep.equal([201, 410]);
    expect(await userCount()).to.equal(before + 1);
  });

  it('refuses a wrong TOTP code, a bad signature and malformed keys without creating anything', async () => {
    await ready();
    const inv = await t.services.registration.createInvitation({ isAdmin: false });
    const c = new TestClient(t.app);
    await c.open('/register');
    const start = await c.post('/api/register/start', { token: inv.token });
    const totp = await c.post('/api/register/totp', { token: inv.token, username: 'erin' });
    const account = createAccount(start.body.userId, 'a fine passphrase', start.body.kdf as KdfParams);
    const good = { token: inv.token, username: 'erin', ...account.registration, totpCode: codeAt(totp.body.secret, stepNow()) };
    const before = await userCount();

    const wrongCode = await c.post('/api/register/finish', { ...good, totpCode: '000000' === good.totpCode ? '111111' : '000000' });
    expect(wrongCode.status).to.equal(400);
    expect(wrongCode.body.error).to.equal('bad_totp');

    const other = createAccount(start.body.userId, 'another passphrase', start.body.kdf as KdfParams);
    const badSig = await c.post('/api/register/finish', { ...good, selfSignature: other.registration.selfSignature });
    expect(badSig.status).to.equal(400);
    expect(badSig.body.error).to.equal('bad_signature');

    const shortKey = await c.post('/api/register/finish', { ...good, boxPk: 'AAAA' });
    expect(shortKey.status).to.equal(400);
    expect(shortKey.body.message).to.match(/boxPk/);

    const missing = await c.post('/api/register/finish', { token: inv.token });
    expect(missing.status).to.equal(400);

    const badName = await c.post('/api/register/finish', { ...good, username: '../etc' });
    expect(badName.status).to.equal(400);
    expect(badName.body.error).to.equal('invalid_username');

    expect(await userCount()).to.equal(before);
  });

  it('answers bad bodies with a 400 and a sentence, never a 500', async () => {
    const c = new TestClient(t.app);
    await c.open('/register');
    const notJson = await c.agent
      .post('/api/register/start')
      .set('X-CSRF-Token', c.csrf)
      .set('Content-Type', 'application/json')
      .send('{"token": ');
    expect(notJson.status).to.equal(400);
    expect(notJson.body.message).to.be.a('string');
    for (const body of [{}, { token: 5 }, { token: ['a'] }, { token: 'x'.repeat(5000) }]) {
      const res = await c.post('/api/register/start', body);
      expect(res.status, JSON.stringify(body)).to.equal(400);
      expect(res.body.error).to.equal('validation');
    }
    const huge = await c.post('/api/register/start', { token: 'x'.repeat(100_000) });
    expect(huge.status).to.equal(413);
  });

  it('tells whether a username is free before the keys are made', async () => {
    const inv = await t.services.registration.createInvitation({ isAdmin: false });
    const c = new TestClient(t.app);
    await c.open('/register');
    expect((await c.post('/api/register/check-username', { token: inv.token, username: 'Alice' })).status).to.equal(409);
    const free = await c.post('/api/register/check-username', { token: inv.token, username: 'zoe' });
    expect(free.status).to.equal(200);
    expect(free.body.available).to.equal(true);
  });
});
