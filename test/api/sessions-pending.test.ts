import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, sessionCookie, sidOf } from '../helpers/client.js';
import { ready } from '../../client/crypto/index.js';

describe('sessions: half-done logins and password changes', () => {
  let t: TestServer;
  before(async () => {
    await ready();
    t = await startTestServer();
  });
  after(() => t.close());

  /** Someone who knows the password passes the password step on another device and stops there. */
  async function pendingLogin(username: string) {
    const m = await newMember(t.app, t.services, username);
    const stranger = m.client.anotherDevice();
    const p = await stranger.passwordStep(username, m.password);
    expect(p.status).to.equal(200);
    const cookie = sessionCookie(p);
    if (!cookie) throw new Error('no session cookie after the password step');
    return { m, stranger, sid: sidOf(cookie) };
  }

  it('ends a login waiting for its code when the password changes, so the code no longer logs in', async () => {
    const { m, stranger, sid } = await pendingLogin('carl');
    expect((await m.client.changePassword(m.password, 'carl has a new passphrase', m.account.keys.accountKey)).status).to.equal(200);
    expect(await t.db('sessions').where({ sid })).to.have.length(0);

    const code = await stranger.totpStep();
    expect(code.status).to.equal(401);
    expect(code.body.keys).to.equal(undefined);
    expect((await stranger.get('/api/vault/kdf')).status).to.equal(401);
  });

  it('refuses the code of a login whose password step began before the last password change', async () => {
    const { m, stranger } = await pendingLogin('dora');
    // a password change that committed while this login was under way and did not find its row
    await t.db('users').where({ id: m.client.userId }).update({ password_changed_at: Date.now() + 1 });

    const code = await stranger.totpStep();
    expect(code.status).to.equal(401);
    expect(code.body.error).to.equal('login_expired');
    expect((await stranger.get('/api/vault/kdf')).status).to.equal(401);
  });

  it('lists a login waiting for its code in settings, and ending it there stops it', async () => {
    const { m, stranger, sid } = await pendingLogin('egon');
    const list = await m.client.agent.get('/settings/sessions').set('HX-Request', 'true');
    expect(list.text).to.contain('Waiting for the code');
    const handle = /data-session="([0-9a-f]{24})"[^>]*data-session-pending/.exec(list.text)?.[1];
    if (!handle) throw new Error(`no pending login in the list: ${list.text}`);

    const end = await m.client.agent.post(`/settings/sessions/${handle}/end`).set('X-CSRF-Token', m.client.csrf).set('HX-Request', 'true');
    expect(end.status).to.equal(200);
    expect(end.text).to.not.contain('Waiting for the code');
    expect(await t.db('sessions').where({ sid })).to.have.length(0);
    expect((await stranger.totpStep()).status).to.equal(401);
    expect((await stranger.get('/api/vault/kdf')).status).to.equal(401);
  });

  it('refuses a logged-in session whose password was checked before the last password change, and drops its row', async () => {
    const m = await newMember(t.app, t.services, 'fritz');
    const other = m.client.anotherDevice();
    await other.login('fritz', m.password);
    const sids = (await t.db('sessions').where({ user_id: m.client.userId })).map((r: { sid: string }) => r.sid);
    expect(sids).to.have.length(2);
    expect((await other.get('/api/vault/kdf')).status).to.equal(200);

    // as if a password change had committed without finding these rows (they were being written back)
    await t.db('users').where({ id: m.client.userId }).update({ password_changed_at: Date.now() + 1 });

    expect((await other.get('/api/vault/kdf')).status).to.equal(401);
    expect((await m.client.get('/api/vault/kdf')).status).to.equal(401);
    expect((await other.get('/api/vault/kdf')).status).to.equal(401);
    expect(await t.db('sessions').whereIn('sid', sids)).to.have.length(0);
  });

  it('keeps the session that changed the password logged in, and logs in with the new password', async () => {
    const m = await newMember(t.app, t.services, 'greta');
    expect((await m.client.changePassword(m.password, 'greta has a new passphrase', m.account.keys.accountKey)).status).to.equal(200);
    expect((await m.client.get('/api/vault/kdf')).status).to.equal(200);
    const fresh = m.client.anotherDevice();
    await fresh.login('greta', 'greta has a new passphrase');
    expect((await fresh.get('/api/vault/kdf')).status).to.equal(200);
  });
});
