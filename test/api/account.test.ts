import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { TestClient, newMember } from '../helpers/client.js';
import { filesUnder } from '../helpers/secrets.js';
import {
  changePassword,
  derivePasswordKeys,
  newKdfParams,
  openAccount,
  ready,
  toB64,
  type StoredKeys,
} from '../../client/crypto/index.js';
import { migrationConfig, openDb } from '../../server/db/connection.js';

describe('unlock, password change and sessions', () => {
  let t: TestServer;
  before(async () => {
    await ready();
    t = await startTestServer();
  });
  after(() => t.close());

  it('unlocks a locked tab only with the right password', async () => {
    const m = await newMember(t.app, t.services, 'nora');
    const kdf = (await m.client.get('/api/vault/kdf')).body.kdf;
    const wrong = await m.client.post('/api/vault/unlock', { authKey: toB64(derivePasswordKeys('not it at all', kdf).authKey) });
    expect(wrong.status).to.equal(401);
    const right = await m.client.post('/api/vault/unlock', { authKey: toB64(derivePasswordKeys(m.password, kdf).authKey) });
    expect(right.status).to.equal(200);
    const keys = openAccount(m.password, kdf, m.client.userId, right.body.keys as StoredKeys);
    expect(toB64(keys.accountKey)).to.equal(toB64(m.account.keys.accountKey));
  });

  it('changes the password: only the wrap changes, other sessions end, the old password stops working', async () => {
    const m = await newMember(t.app, t.services, 'oscar');
    const other = m.client.anotherDevice();
    await other.login('oscar', m.password);
    expect((await other.get('/api/vault/kdf')).status).to.equal(200);
    const before = await t.db('users').where({ id: m.client.userId }).first();

    expect((await m.client.changePassword(m.password, 'a brand new passphrase', m.account.keys.accountKey)).status).to.equal(200);

    expect((await other.get('/api/vault/kdf')).status).to.equal(401);
    expect((await m.client.get('/api/vault/kdf')).status).to.equal(200);
    const after = await t.db('users').where({ id: m.client.userId }).first();
    for (const kept of ['enc_private_keys', 'box_pk', 'sign_pk', 'recovery_wrapped_account_key', 'recovery_auth_pk', 'self_signature']) {
      expect(after[kept], kept).to.equal(before[kept]);
    }
    expect(after.auth_hash).to.not.equal(before.auth_hash);

    const third = m.client.anotherDevice();
    expect((await third.passwordStep('oscar', m.password)).status).to.equal(401);
    const keys = await m.client.anotherDevice().login('oscar', 'a brand new passphrase');
    expect(toB64(keys.accountKey)).to.equal(toB64(m.account.keys.accountKey));
    const events = (await t.services.audit.forUser(m.client.userId)).map((e) => e.event);
    expect(events).to.include('password_changed');
  });

  it('refuses a password change with the wrong current password or weak new settings', async () => {
    const m = await newMember(t.app, t.services, 'petra');
    const kdf = (await m.client.get('/api/vault/kdf')).body.kdf;
    const change = changePassword(m.account.keys.accountKey, m.client.userId, 'whatever new thing', newKdfParams({ ops: 3, mem: 64 * 1024 * 1024 }));
    const body = {
      currentAuthKey: toB64(derivePasswordKeys('wrong current one', kdf).authKey),
      newAuthKey: change.newAuthKey,
      newKdf: change.newKdf,
      newPasswordWrappedAccountKey: change.newPasswordWrappedAccountKey,
    };
    expect((await m.client.post('/api/account/password', body)).status).to.equal(401);
    const weak = await m.client.post('/api/account/password', {
      ...body,
      currentAuthKey: toB64(derivePasswordKeys(m.password, kdf).authKey),
      newKdf: { ...change.newKdf, mem: 1024 * 1024 },
    });
    expect(weak.status).to.equal(400);
    expect(weak.body.error).to.equal('weak_kdf');
  });

  it('lists active sessions in settings and ends another one, but not someone else’s', async () => {
    const m = await newMember(t.app, t.services, 'quinn');
    const other = m.client.anotherDevice();
    await other.login('quinn', m.password);
    const page = await m.client.agent.get('/settings');
    expect(page.status).to.equal(200);
    const handles = [...page.text.matchAll(/\/settings\/sessions\/([0-9a-f]{24})\/end/g)].map((x) => x[1]);
    expect(handles).to.have.length(1); // the current session has no End button
    const stranger = await newMember(t.app, t.services, 'rita');
    const foreign = await stranger.client.agent.post(`/settings/sessions/${handles[0]}/end`).set('X-CSRF-Token', stranger.client.csrf).set('HX-Request', 'true');
    expect(foreign.status).to.equal(404);
    expect((await other.get('/api/vault/kdf')).status).to.equal(200);
    const end = await m.client.agent.post(`/settings/sessions/${handles[0]}/end`).set('X-CSRF-Token', m.client.csrf).set('HX-Request', 'true');
    expect(end.status).to.equal(200);
    expect(end.text).to.contain('id="sessions"');
    expect((await other.get('/api/vault/kdf')).status).to.equal(401);
  });

  it('shows the security log in settings', async () => {
    const m = await newMember(t.app, t.services, 'sam');
    await m.client.anotherDevice().passwordStep('sam', 'wrong wrong wrong');
    const page = await m.client.agent.get('/settings');
    expect(page.text).to.match(/registered|Account created/i);
    const events = (await t.services.audit.forUser(m.client.userId)).map((e) => e.event);
    expect(events).to.include.members(['registered', 'login_failed']);
  });

  it('answers /healthz', async () => {
    const res = await new TestClient(t.app).agent.get('/healthz');
    expect(res.status).to.equal(200);
    expect(res.body.status).to.equal('ok');
  });

  it('sends strict security headers', async () => {
    const res = await new TestClient(t.app).agent.get('/login');
    const csp = res.headers['content-security-policy'];
    expect(csp).to.contain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).to.contain("object-src 'none'");
    expect(csp).to.contain("base-uri 'none'");
    expect(csp).to.contain("frame-ancestors 'none'");
    expect(csp).to.not.contain('unsafe-inline');
    expect(csp).to.not.contain("'unsafe-eval'");
    const cookie = (res.headers['set-cookie'] as unknown as string[]).join(';');
    expect(cookie).to.match(/HttpOnly/i).and.match(/SameSite=Lax/i);
  });

  it('answers unknown pages with a friendly 404 and never a stack trace', async () => {
    const res = await new TestClient(t.app).agent.get('/no/such/page');
    expect(res.status).to.equal(404);
    expect(res.text).to.not.match(/at .*\.ts:\d+/);
  });
});

describe('behind a reverse proxy', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ env: { HEIRLOOM_TRUST_PROXY: '1', HEIRLOOM_BASE_URL: 'https://vault.example.org' } });
  });
  after(() => t.close());

  it('marks the session cookie Secure when the proxy says the visitor used HTTPS', async () => {
    const c = new TestClient(t.app);
    const https = await c.agent.get('/login').set('X-Forwarded-Proto', 'https');
    expect((https.headers['set-cookie'] as unknown as string[]).join(';')).to.match(/;\s*Secure/i);
    const plain = await new TestClient(t.app).agent.get('/login');
    expect((plain.headers['set-cookie'] as unknown as string[]).join(';')).to.not.match(/;\s*Secure/i);
  });
});

describe('per-address rate limit', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ rateLimits: { accountFailures: 100, ipFailures: 3, ipLookups: 100, windowSeconds: 60 } });
  });
  after(() => t.close());

  it('refuses further attempts from an address that failed too often, across usernames', async () => {
    const c = new TestClient(t.app);
    await c.open();
    const bad = toB64(new Uint8Array(32));
    for (const name of ['a1a', 'b2b', 'c3c']) {
      expect((await c.post('/api/auth/password', { username: name, authKey: bad })).status).to.equal(401);
    }
    expect((await c.post('/api/auth/password', { username: 'd4d', authKey: bad })).status).to.equal(429);
  });
});

describe('secrets never reach the server’s disk or logs', () => {
  it('finds no password, auth key, account key, recovery words or TOTP code under the data folder or in the log', async () => {
    await ready();
    const t = await startTestServer();
    try {
      const password = 'MARKER-passphrase-7f3a9c';
      const m = await newMember(t.app, t.services, 'tess', password);
      const kdf = (await m.client.get('/api/vault/kdf')).body.kdf;
      const d = m.client.anotherDevice();
      const code = await d.nextCode();
      await d.passwordStep('tess', password);
      await d.totpStep(code);
      const secrets: Record<string, string> = {
        password,
        authKey: toB64(derivePasswordKeys(password, kdf).authKey),
        accountKey: toB64(m.account.keys.accountKey),
        boxSk: toB64(m.account.keys.boxSk),
        recoveryKey: toB64(m.account.recoveryKey),
        recoveryWords: m.account.recoveryWords.split(' ').slice(0, 3).join(' '),
        totpCode: code,
        passwordWrap: m.account.registration.passwordWrappedAccountKey,
      };
      await t.db.raw('PRAGMA wal_checkpoint(FULL)');
      const files = filesUnder(t.dataDir);
      const haystacks = [...files.map((f) => ({ f, text: readFileSync(f).toString('latin1') })), { f: 'log', text: t.logs() }];
      expect(haystacks.length).to.be.greaterThan(2);
      for (const { f, text } of haystacks) {
        for (const [name, value] of Object.entries(secrets)) {
          expect(text.includes(value), `${name} found in ${path.basename(f)}`).to.equal(false);
        }
      }
      // and the log does say something: the grep is not vacuous
      expect(t.logs()).to.contain('/api/auth/totp');
    } finally {
      await t.close();
    }
  });
});

describe('migrations', () => {
  it('go latest → rollback all → latest on a fresh database', async () => {
    const dir = (await import('node:fs')).mkdtempSync(path.join((await import('node:os')).tmpdir(), 'heirloom-mig-'));
    const db = openDb(path.join(dir, 'm.sqlite'));
    try {
      await db.migrate.latest(migrationConfig);
      expect(await db.schema.hasTable('users')).to.equal(true);
      await db.migrate.rollback(migrationConfig, true);
      expect(await db.schema.hasTable('users')).to.equal(false);
      expect(await db.schema.hasTable('sessions')).to.equal(false);
      await db.migrate.latest(migrationConfig);
      expect(await db.schema.hasTable('audit_events')).to.equal(true);
      const [fk] = await db.raw('PRAGMA foreign_keys');
      expect(fk.foreign_keys).to.equal(1);
      const [jm] = await db.raw('PRAGMA journal_mode');
      expect(jm.journal_mode).to.equal('wal');
    } finally {
      await db.destroy();
    }
  });
});
