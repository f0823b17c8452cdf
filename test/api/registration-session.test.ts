import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, codeAt, stepNow } from '../helpers/client.js';
import { createAccount, ready, type KdfParams } from '../../client/crypto/index.js';
import { ServerCrypto } from '../../server/auth/serverCrypto.js';
import { readServerKey } from '../../server/storage/serverKey.js';

/**
 * The authenticator secret belongs to the browser session that opened the invitation (issue 8, items 5 and
 * 14): whoever else opens the same link gets a secret of their own, which is no use against the invitee.
 */
describe('registration: the authenticator secret of one registration session', () => {
  let t: TestServer;
  before(async () => {
    await ready();
    t = await startTestServer();
  });
  after(() => t.close());

  /** A browser that opened the invitation link: its session, the start answer and its authenticator. */
  async function opener(token: string, username: string) {
    const client = new TestClient(t.app);
    await client.open('/register');
    const start = await client.post('/api/register/start', { token });
    expect(start.status, JSON.stringify(start.body)).to.equal(200);
    const totp = await client.post('/api/register/totp', { token, username });
    expect(totp.status, JSON.stringify(totp.body)).to.equal(200);
    return { client, start: start.body as { userId: string; kdf: KdfParams }, secret: totp.body.secret as string };
  }

  function finishBody(token: string, username: string, start: { userId: string; kdf: KdfParams }, totpCode: string) {
    const account = createAccount(start.userId, 'a long enough passphrase', start.kdf);
    return { token, username, ...account.registration, totpCode };
  }

  const userCount = async () => Number(((await t.db('users').count({ n: '*' }).first()) as { n: number }).n);

  it('does not hand the invitee’s authenticator secret to somebody else who opens the same link', async () => {
    const inv = await t.services.registration.createInvitation({ isAdmin: false });
    const invitee = await opener(inv.token, 'grace');
    const attacker = await opener(inv.token, 'mallory');
    expect(attacker.secret).to.match(/^[A-Z2-7]{32}$/);
    expect(attacker.secret).to.not.equal(invitee.secret);
    expect(JSON.stringify(attacker.start)).to.not.contain(invitee.secret);
  });

  it('refuses the attacker’s code in the invitee’s session and the invitee’s code in the attacker’s', async () => {
    const inv = await t.services.registration.createInvitation({ isAdmin: false });
    const invitee = await opener(inv.token, 'heidi');
    const attacker = await opener(inv.token, 'trudy');
    const before = await userCount();

    const attackersCode = codeAt(attacker.secret, stepNow());
    const intoInvitee = await invitee.client.post('/api/register/finish', finishBody(inv.token, 'heidi', invitee.start, attackersCode));
    expect(intoInvitee.status).to.equal(400);
    expect(intoInvitee.body.error).to.equal('bad_totp');

    const inviteesCode = codeAt(invitee.secret, stepNow());
    const intoAttacker = await attacker.client.post('/api/register/finish', finishBody(inv.token, 'trudy', attacker.start, inviteesCode));
    expect(intoAttacker.status).to.equal(400);
    expect(intoAttacker.body.error).to.equal('bad_totp');
    expect(await userCount()).to.equal(before);

    // the invitee's own code in the invitee's own session still works, and the account keeps that secret
    const done = await invitee.client.post('/api/register/finish', finishBody(inv.token, 'heidi', invitee.start, inviteesCode));
    expect(done.status, JSON.stringify(done.body)).to.equal(201);
    const row = await t.db('users').where({ username: 'heidi' }).first();
    const crypto = new ServerCrypto(readServerKey(t.config.serverKeyFile));
    expect(crypto.unwrapTotp(row.id, row.totp_secret)).to.equal(invitee.secret);
  });

  it('refuses to finish, or show an authenticator, in a session that never opened the invitation', async () => {
    const inv = await t.services.registration.createInvitation({ isAdmin: false });
    const invitee = await opener(inv.token, 'ivan');
    const stranger = new TestClient(t.app);
    await stranger.open('/register');
    const totp = await stranger.post('/api/register/totp', { token: inv.token, username: 'ivan' });
    expect(totp.status).to.equal(400);
    expect(totp.body.error).to.equal('totp_not_started');
    expect(totp.body.message).to.match(/Open the invitation link again/);
    const finish = await stranger.post('/api/register/finish', finishBody(inv.token, 'ivan', invitee.start, codeAt(invitee.secret, stepNow())));
    expect(finish.status).to.equal(400);
    expect(finish.body.error).to.equal('totp_not_started');
  });

  it('keeps one secret per session: opening the link again in the same browser shows the QR code already scanned', async () => {
    const inv = await t.services.registration.createInvitation({ isAdmin: false });
    const first = await opener(inv.token, 'judy');
    const again = await first.client.post('/api/register/start', { token: inv.token });
    expect(again.status).to.equal(200);
    const totp = await first.client.post('/api/register/totp', { token: inv.token, username: 'judy' });
    expect(totp.body.secret).to.equal(first.secret);
  });

  it('does not keep the authenticator secret with the invitation', async () => {
    const inv = await t.services.registration.createInvitation({ isAdmin: false });
    await opener(inv.token, 'kim');
    const row = await t.db('invitations').where({ id: inv.id }).first();
    expect(row.totp_secret).to.equal(null);
  });

  /** "otpauth://totp/<issuer>:<account>?…" → the parts an authenticator app shows. */
  function labelOf(uri: string): { issuer: string; account: string; issuerParam: string | null } {
    const url = new URL(uri);
    expect(url.protocol).to.equal('otpauth:');
    const parts = decodeURIComponent(url.pathname.replace(/^\/+(totp\/)?/, '')).split(':');
    expect(parts, `one colon between issuer and account in ${uri}`).to.have.length(2);
    return { issuer: parts[0] ?? '', account: parts[1] ?? '', issuerParam: url.searchParams.get('issuer') };
  }

  it('labels the authenticator entry with the username the person chose, not a placeholder', async () => {
    const inv = await t.services.registration.createInvitation({ isAdmin: false });
    const c = new TestClient(t.app);
    await c.open('/register');
    await c.post('/api/register/start', { token: inv.token });
    const totp = await c.post('/api/register/totp', { token: inv.token, username: ' Leo.Smith ' });
    expect(totp.status).to.equal(200);
    expect(totp.body.account).to.equal('leo.smith');
    const label = labelOf(totp.body.uri);
    expect(label.account).to.equal('leo.smith');
    // the test server's address has a port: it must not add a second colon to the label
    expect(label.issuer).to.equal(totp.body.issuer);
    expect(label.issuerParam).to.equal(totp.body.issuer);
    expect(label.issuer).to.match(/^Heirloom \(localhost port \d+\)$/);
    expect(totp.body.uri).to.not.match(/new%20member|new member/);
    expect(totp.body.qrSvg).to.match(/^<svg/);

    // a corrected username relabels the same secret: the app already set up keeps working
    const renamed = await c.post('/api/register/totp', { token: inv.token, username: 'leo' });
    expect(labelOf(renamed.body.uri).account).to.equal('leo');
    expect(renamed.body.secret).to.equal(totp.body.secret);
  });

  it('refuses an authenticator label that is not a valid username', async () => {
    const inv = await t.services.registration.createInvitation({ isAdmin: false });
    const c = new TestClient(t.app);
    await c.open('/register');
    await c.post('/api/register/start', { token: inv.token });
    for (const username of ['ab', 'evil:issuer', '../x', 'x'.repeat(33)]) {
      const res = await c.post('/api/register/totp', { token: inv.token, username });
      expect(res.status, username).to.equal(400);
      expect(res.body.error, username).to.equal('invalid_username');
    }
    const longer = await c.post('/api/register/totp', { token: inv.token, username: 'x'.repeat(65) });
    expect(longer.status).to.equal(400);
  });
});
