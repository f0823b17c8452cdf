import { expect } from 'chai';
import { existsSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, TestClient } from '../helpers/client.js';
import { filler, makeDocument, upload, createUpload, patchUpload } from '../helpers/documents.js';
import { tempDir } from '../helpers/restore.js';
import { ready } from '../../client/crypto/index.js';
import { checkConfig, maskUrl } from '../../server/services/configCheck.js';
import { MigrationService } from '../../server/services/migrations.js';
import { openDb } from '../../server/db/connection.js';
import { NotFound } from '../../server/errors.js';

describe('heirloom-admin services: accounts and statistics', function () {
  this.timeout(120_000);
  let t: TestServer;
  before(async () => {
    await ready();
    t = await startTestServer({ env: { HEIRLOOM_DEFAULT_QUOTA_MIB: '50' } });
  });
  after(() => t.close());

  async function member(name: string) {
    const m = await newMember(t.app, t.services, name);
    return { ...m, keys: m.account.keys, userId: m.client.userId };
  }

  it('lists accounts with their state, two-step login, documents and storage against the quota', async () => {
    const a = await member('lister');
    const docs = [filler(1000, 1), filler(2000, 2), filler(3000, 3)].map((p) => makeDocument(a.keys, a.userId, p));
    for (const d of docs) expect((await upload(a.client, d)).status).to.equal(204);
    expect((await a.client.post(`/api/documents/${docs[2]!.id}/trash`)).status).to.be.oneOf([200, 204]);
    await t.services.admin.setQuota('lister', 20 * 1024 * 1024);
    const list = await t.services.admin.listUsers();
    const me = list.find((u) => u.username === 'lister');
    expect(me).to.include({ isAdmin: false, disabled: false, twoStep: true, documents: 2, quota: 20 * 1024 * 1024, customQuota: true });
    expect(me?.used).to.equal(docs.reduce((n, d) => n + d.blob.length, 0)); // the trash counts against the quota
    const b = await member('lister-two');
    const other = (await t.services.admin.listUsers()).find((u) => u.username === b.username);
    expect(other).to.include({ documents: 0, used: 0, quota: 50 * 1024 * 1024, customQuota: false });
  });

  it('disables an account: its sessions end at once, it cannot log in, and enabling lets it back', async () => {
    const m = await member('dora');
    expect((await m.client.get('/api/documents')).status).to.equal(200);
    const second = new TestClient(t.app);
    second.totpSecret = m.client.totpSecret;
    second.lastStep = m.client.lastStep;
    await second.login('dora', m.password);
    m.client.lastStep = second.lastStep;

    const r = await t.services.admin.disable('Dora');
    expect(r).to.deep.equal({ username: 'dora', alreadyDisabled: false, sessionsEnded: 2 });
    expect(await t.db('sessions').where({ user_id: m.userId })).to.have.length(0);
    expect((await m.client.get('/api/documents')).status).to.equal(401);
    expect((await second.get('/api/documents')).status).to.equal(401);
    const again = new TestClient(t.app);
    expect((await again.passwordStep('dora', m.password)).status).to.equal(401);
    expect((await t.services.admin.listUsers()).find((u) => u.username === 'dora')?.disabled).to.equal(true);
    expect((await t.services.admin.disable('dora')).alreadyDisabled).to.equal(true);

    expect(await t.services.admin.enable('dora')).to.deep.equal({ username: 'dora', wasDisabled: true });
    const back = new TestClient(t.app);
    back.totpSecret = m.client.totpSecret;
    back.lastStep = m.client.lastStep;
    await back.login('dora', m.password);
    const events = (await t.services.audit.forUser(m.userId)).map((e) => e.event);
    expect(events).to.include.members(['account_disabled', 'account_enabled']);
  });

  it('deletes an account with its documents, uploads, sessions and blobs, and nobody else’s', async () => {
    const gone = await member('gone');
    const stays = await member('stays');
    const docs = [filler(5000, 5), filler(6000, 6)].map((p) => makeDocument(gone.keys, gone.userId, p));
    for (const d of docs) expect((await upload(gone.client, d)).status).to.equal(204);
    const inFlight = makeDocument(gone.keys, gone.userId, filler(10_000, 7));
    expect((await createUpload(gone.client, inFlight, inFlight.blob.length)).status).to.equal(201);
    expect((await patchUpload(gone.client, inFlight.id, 0, inFlight.blob.subarray(0, 100))).status).to.equal(204);
    const kept = makeDocument(stays.keys, stays.userId, filler(700, 8));
    expect((await upload(stays.client, kept)).status).to.equal(204);

    const r = await t.services.admin.deleteUser('gone');
    expect(r).to.deep.equal({ username: 'gone', documents: 2, bytes: docs[0]!.blob.length + docs[1]!.blob.length });
    expect(await t.db('users').where({ id: gone.userId })).to.have.length(0);
    expect(await t.db('documents').where({ owner_id: gone.userId })).to.have.length(0);
    expect(await t.db('uploads').where({ owner_id: gone.userId })).to.have.length(0);
    expect(await t.db('sessions').where({ user_id: gone.userId })).to.have.length(0);
    for (const d of docs) expect(existsSync(t.services.blobs.pathOf(d.id))).to.equal(false);
    expect(existsSync(t.services.blobs.uploadPathOf(inFlight.id))).to.equal(false);
    expect((await gone.client.get('/api/documents')).status).to.equal(401);
    expect(existsSync(t.services.blobs.pathOf(kept.id))).to.equal(true);
    expect((await stays.client.get(`/api/documents/${kept.id}`)).status).to.equal(200);
    // and nothing is left for verify to complain about
    expect((await t.services.uploads.sweep()).orphanBlobs).to.equal(0);
  });

  it('names the account when it does not exist', async () => {
    for (const call of [
      () => t.services.admin.disable('nobody'),
      () => t.services.admin.enable('nobody'),
      () => t.services.admin.deleteUser('nobody'),
      () => t.services.admin.resetMfa('nobody'),
    ]) {
      const err = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(NotFound);
      expect((err as Error).message).to.match(/no account named “nobody”/);
    }
  });

  it('counts accounts, documents, bytes, uploads in flight and the database size', async () => {
    const s = await t.services.admin.stats();
    const users = await t.db('users');
    const docs = await t.db('documents');
    expect(s.users.total).to.equal(users.length);
    expect(s.users.disabled).to.equal(users.filter((u) => u.disabled_at).length);
    expect(s.documents.count).to.equal(docs.length);
    expect(s.documents.inTrash).to.equal(docs.filter((d) => d.deleted_at).length);
    expect(s.documents.bytes).to.equal(docs.reduce((n, d) => n + Number(d.size), 0));
    expect(s.uploads.inFlight).to.equal((await t.db('uploads')).length);
    expect(s.database.bytes).to.be.greaterThan(0);
  });
});

describe('heirloom-admin config check', () => {
  it('prints effective settings with where they came from, and masks the SMTP password', async () => {
    const { dir, remove } = tempDir('config');
    try {
      const r = await checkConfig({ HEIRLOOM_DATA_DIR: dir, HEIRLOOM_SMTP_URL: 'smtps://rose:s3cret-pass@mail.example.org:465', HEIRLOOM_PORT: '9000' });
      expect(r.ok).to.equal(true);
      const by = Object.fromEntries(r.settings.map((s) => [s.env, s]));
      expect(by.HEIRLOOM_PORT).to.include({ value: '9000', source: 'environment' });
      expect(by.HEIRLOOM_LOG_LEVEL).to.include({ value: 'info', source: 'default' });
      expect(by.HEIRLOOM_SMTP_URL?.value).to.equal('smtps://rose:****@mail.example.org:465');
      expect(JSON.stringify(r)).to.not.include('s3cret-pass');
      // no key yet: a warning that the server would make a new one, which matters when restoring
      expect(r.problems.map((p) => p.env)).to.include('HEIRLOOM_SERVER_KEY_FILE');
      expect(existsSync(path.join(dir, 'secrets'))).to.equal(false); // a check creates nothing
    } finally {
      remove();
    }
  });

  it('names every bad value and unknown HEIRLOOM_ variable, and fails', async () => {
    const r = await checkConfig({ HEIRLOOM_PORT: 'eighty', HEIRLOOM_KDF_OPS: '1', HEIRLOOM_DATADIR: '/tmp/x' });
    expect(r.ok).to.equal(false);
    const named = r.problems.map((p) => `${p.level} ${p.env}`);
    expect(named).to.include.members(['error HEIRLOOM_PORT', 'error HEIRLOOM_KDF_OPS', 'warning HEIRLOOM_DATADIR']);
  });

  it('refuses a malformed server key and warns about one others can read, and about plain HTTP', async () => {
    const { dir, remove } = tempDir('config-key');
    try {
      mkdirSync(path.join(dir, 'secrets'));
      const key = path.join(dir, 'secrets', 'server.key');
      writeFileSync(key, 'not a key');
      let r = await checkConfig({ HEIRLOOM_DATA_DIR: dir });
      expect(r.ok).to.equal(false);
      expect(r.problems.find((p) => p.env === 'HEIRLOOM_SERVER_KEY_FILE')?.message).to.match(/32 bytes/);
      writeFileSync(key, 'ab'.repeat(32));
      chmodSync(key, 0o644);
      r = await checkConfig({ HEIRLOOM_DATA_DIR: dir, HEIRLOOM_BASE_URL: 'http://vault.example.org' });
      expect(r.ok).to.equal(true);
      const messages = r.problems.map((p) => p.message).join('\n');
      expect(messages).to.match(/0600/);
      expect(messages).to.match(/plain HTTP/);
    } finally {
      remove();
    }
  });

  it('masks anything unparsable as a URL whole', () => {
    expect(maskUrl('smtp://host:25')).to.equal('smtp://host:25');
    expect(maskUrl('no url at all: secret')).to.equal('****');
  });
});

describe('heirloom-admin migrate', () => {
  it('reports status, rolls back the last batch and runs it again', async () => {
    const { dir, remove } = tempDir('migrate');
    const db = openDb(path.join(dir, 'heirloom.sqlite'));
    try {
      const m = new MigrationService(db);
      const fresh = await m.status();
      expect(fresh.done).to.have.length(0);
      expect(fresh.pending.length).to.be.greaterThan(1);
      const up = await m.latest();
      expect(up.applied).to.have.length(fresh.pending.length);
      expect((await m.status()).pending).to.have.length(0);
      expect((await m.latest()).applied).to.have.length(0);
      const down = await m.rollback();
      expect(down.undone).to.have.length(fresh.pending.length);
      expect(await db.schema.hasTable('documents')).to.equal(false);
      await m.latest();
      expect(await db.schema.hasTable('documents')).to.equal(true);
    } finally {
      await db.destroy();
      remove();
    }
  });

  it('refuses to work on a database from a newer Heirloom', async () => {
    const { dir, remove } = tempDir('migrate-new');
    const db = openDb(path.join(dir, 'heirloom.sqlite'));
    try {
      const m = new MigrationService(db);
      await m.latest();
      await db('knex_migrations').insert({ name: '29990101000000_from_the_future.ts', batch: 2, migration_time: new Date() });
      const err = await m.status().then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).to.match(/newer Heirloom/);
    } finally {
      await db.destroy();
      remove();
    }
  });
});
