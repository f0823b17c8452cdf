import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { codeAt, newMember, stepNow, TestClient } from '../helpers/client.js';
import { openAccount, ready, type StoredKeys } from '../../client/crypto/index.js';
import { ServerCrypto } from '../../server/auth/serverCrypto.js';
import { readServerKey } from '../../server/storage/serverKey.js';

/** Six digits that are no code of `secret` anywhere near now. */
function wrongCode(secret: string): string {
  const near = new Set([-2, -1, 0, 1, 2].map((d) => codeAt(secret, stepNow() + d)));
  for (let n = 246_813; ; n = (n + 7_919) % 1_000_000) {
    const code = String(n).padStart(6, '0');
    if (!near.has(code)) return code;
  }
}

describe('heirloom-admin user reset-mfa', function () {
  this.timeout(180_000);
  let t: TestServer;
  before(async () => {
    await ready();
    t = await startTestServer();
  });
  after(() => t.close());

  it('clears only the authenticator: the person is told, sets up a new one after the password step, and logs in', async () => {
    const m = await newMember(t.app, t.services, 'phoebe');
    const before = await t.db('users').where({ username: 'phoebe' }).first();
    expect((await m.client.get('/api/documents')).status).to.equal(200);

    const r = await t.services.admin.resetMfa('phoebe');
    expect(r).to.deep.equal({ username: 'phoebe', sessionsEnded: 1 });
    expect((await m.client.get('/api/documents')).status).to.equal(401); // a lost phone may be in someone's hands
    const cleared = await t.db('users').where({ username: 'phoebe' }).first();
    expect(cleared.totp_secret).to.equal(null);
    for (const col of ['auth_hash', 'account_key_wrapped', 'enc_private_keys', 'recovery_wrapped_account_key', 'self_signature', 'kdf_salt']) {
      expect(cleared[col], col).to.equal(before[col]);
    }

    const c = new TestClient(t.app);
    c.lastStep = m.client.lastStep;
    const p = await c.passwordStep('phoebe', m.password);
    expect(p.status).to.equal(200);
    expect(p.body.next).to.equal('enroll-totp');
    expect(p.body.totp.secret).to.match(/^[A-Z2-7]{32}$/);
    expect(p.body.totp.uri).to.match(/^otpauth:\/\/totp\/.*phoebe/);
    expect(p.body.totp.qrSvg).to.match(/^<svg/);
    expect(p.body.csrfToken).to.be.a('string');
    c.totpSecret = p.body.totp.secret;
    // the plain secret is never written down before it is proven, not even in the session row
    const sessionRows = await t.db('sessions').select('data');
    expect(JSON.stringify(sessionRows)).to.not.include(c.totpSecret);

    // the usual code step does not work without a secret
    expect((await c.post('/api/auth/totp', { code: codeAt(c.totpSecret, stepNow()) })).status).to.equal(401);

    // a wrong code stores nothing
    const wrong = await c.post('/api/auth/totp-enroll', { code: wrongCode(c.totpSecret) });
    expect(wrong.status).to.equal(401);
    expect(wrong.body.error).to.equal('bad_totp');
    expect((await t.db('users').where({ username: 'phoebe' }).first()).totp_secret).to.equal(null);

    // the right code stores the secret and logs in exactly like the code step
    const ok = await c.post('/api/auth/totp-enroll', { code: await c.nextCode() });
    expect(ok.status, ok.text).to.equal(200);
    if (ok.body.csrfToken) c.csrf = ok.body.csrfToken;
    expect(ok.body.user).to.deep.include({ username: 'phoebe' });
    const kdf = await c.prelogin('phoebe');
    const keys = openAccount(m.password, kdf, ok.body.user.id, ok.body.keys as StoredKeys);
    expect(Buffer.from(keys.accountKey).equals(Buffer.from(m.account.keys.accountKey))).to.equal(true);
    expect((await c.get('/api/documents')).status).to.equal(200);

    const stored = await t.db('users').where({ username: 'phoebe' }).first();
    const crypto = new ServerCrypto(readServerKey(t.config.serverKeyFile));
    expect(crypto.unwrapTotp(stored.id, stored.totp_secret)).to.equal(c.totpSecret);
    for (const col of ['auth_hash', 'account_key_wrapped', 'enc_private_keys', 'recovery_wrapped_account_key', 'self_signature']) {
      expect(stored[col], col).to.equal(before[col]);
    }

    // the person sees it in Settings
    const page = await c.agent.get('/settings');
    expect(page.text).to.include('data-audit-event="mfa_reset"');
    expect(page.text).to.include('admin reset your two-step login');
    const events = (await t.services.audit.forUser(stored.id)).map((e) => e.event);
    expect(events).to.include.members(['mfa_reset', 'totp_failed', 'totp_enrolled', 'login_success']);

    // from now on the new authenticator is the one: the normal code step, and the old app's codes fail
    const again = new TestClient(t.app);
    again.totpSecret = m.client.totpSecret; // the old phone
    again.lastStep = c.lastStep;
    const p2 = await again.passwordStep('phoebe', m.password);
    expect(p2.body.next).to.equal('totp');
    expect((await again.totpStep()).status).to.equal(401);
    again.totpSecret = c.totpSecret;
    expect((await again.totpStep()).status).to.equal(200);
  });

  it('refuses an enrolment without the password step, or after the login expired', async () => {
    const c = new TestClient(t.app);
    await c.open();
    const r = await c.post('/api/auth/totp-enroll', { code: '123456' });
    expect(r.status).to.equal(401);
    expect(r.body.error).to.equal('login_expired');
  });

  it('drops the half-done login after five wrong codes, storing nothing', async () => {
    const m = await newMember(t.app, t.services, 'quentin');
    await t.services.admin.resetMfa('quentin');
    const c = new TestClient(t.app);
    c.lastStep = m.client.lastStep;
    const p = await c.passwordStep('quentin', m.password);
    expect(p.body.next).to.equal('enroll-totp');
    const secret = p.body.totp.secret as string;
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await c.post('/api/auth/totp-enroll', { code: wrongCode(secret) })).status);
    expect(codes).to.deep.equal([401, 401, 401, 401, 401]);
    const after = await c.post('/api/auth/totp-enroll', { code: codeAt(secret, stepNow()) });
    expect(after.body.error).to.equal('login_expired');
    expect((await t.db('users').where({ username: 'quentin' }).first()).totp_secret).to.equal(null);
  });

  it('does not let a disabled account enrol', async () => {
    const m = await newMember(t.app, t.services, 'rupert');
    await t.services.admin.resetMfa('rupert');
    const c = new TestClient(t.app);
    c.lastStep = m.client.lastStep;
    const p = await c.passwordStep('rupert', m.password);
    expect(p.body.next).to.equal('enroll-totp');
    await t.services.admin.disable('rupert');
    const r = await c.post('/api/auth/totp-enroll', { code: codeAt(p.body.totp.secret, stepNow()) });
    expect(r.status).to.equal(401);
    expect((await t.db('users').where({ username: 'rupert' }).first()).totp_secret).to.equal(null);
  });
});
