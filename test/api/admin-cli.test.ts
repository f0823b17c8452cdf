import { expect } from 'chai';
import { existsSync, readdirSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember } from '../helpers/client.js';
import { filler, makeDocument, upload, type TestDocument } from '../helpers/documents.js';
import { runCli, tempDir } from '../helpers/restore.js';
import { ready } from '../../client/crypto/index.js';

/**
 * heirloom-admin as a person runs it: a separate process (npm run admin) on the data folder of a server
 * that is running, with the same HEIRLOOM_* settings.
 */
describe('heirloom-admin through the real command', function () {
  this.timeout(300_000);
  let t: TestServer;
  let env: Record<string, string>;
  let docs: TestDocument[];
  const scratch = tempDir('admin-cli');
  const admin = (args: string[], extra: Record<string, string> = {}) => runCli('admin', args, { ...env, ...extra });

  before(async () => {
    await ready();
    t = await startTestServer();
    env = { HEIRLOOM_DATA_DIR: t.dataDir, HEIRLOOM_KDF_MEM_MIB: '64' };
    const m = await newMember(t.app, t.services, 'cliff');
    await newMember(t.app, t.services, 'clara');
    docs = [filler(1000, 1), filler(2000, 2)].map((p) => makeDocument(m.account.keys, m.client.userId, p));
    for (const d of docs) expect((await upload(m.client, d)).status).to.equal(204);
  });
  after(async () => {
    await t.close();
    scratch.remove();
  });

  it('says in its help that the admin can never read a document or reset a password, and lists every command', async () => {
    const r = await admin(['--help']);
    expect(r.code).to.equal(0);
    expect(r.stdout.replace(/\s+/g, ' ')).to.include('Nothing here can read a document or reset a password');
    expect(r.stdout).to.include('The admin can never read a document or reset a password.');
    for (const c of ['invite', 'user', 'backup', 'restore', 'verify', 'migrate', 'config', 'stats']) expect(r.stdout).to.match(new RegExp(`^  ${c}\\b`, 'm'));
    const u = await admin(['user', '--help']);
    for (const c of ['list', 'disable', 'enable', 'delete', 'reset-mfa', 'quota']) expect(u.stdout).to.match(new RegExp(`^  ${c}\\b`, 'm'));
    const m = await admin(['migrate', '--help']);
    for (const c of ['status', 'latest', 'rollback']) expect(m.stdout).to.match(new RegExp(`^  ${c}\\b`, 'm'));
  });

  it('prints accounts as JSON for scripts and as a table for people', async () => {
    const r = await admin(['user', 'list', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const list = JSON.parse(r.stdout) as { username: string; documents: number; disabled: boolean; twoStep: boolean }[];
    expect(list.map((u) => u.username)).to.deep.equal(['clara', 'cliff']);
    expect(list.find((u) => u.username === 'cliff')).to.include({ documents: 2, disabled: false, twoStep: true });
    const human = await admin(['user', 'list']);
    expect(human.stdout).to.match(/^USERNAME\s+ROLE\s+STATE\s+TWO-STEP\s+DOCUMENTS\s+STORAGE USED\s+SINCE/m);
    expect(human.stdout).to.match(/^cliff\s+member\s+active\s+on\s+2\s+/m);
  });

  it('fails with exit code 1 and a sentence naming the problem', async () => {
    const r = await admin(['user', 'disable', 'nobody']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.equal('heirloom-admin: There is no account named “nobody”. See the names with: heirloom-admin user list\n');
    const bad = await admin(['stats'], { HEIRLOOM_PORT: 'eighty' });
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/^heirloom-admin: the setting HEIRLOOM_PORT: must be a whole number/);
    const size = await admin(['user', 'quota', 'cliff', 'lots']);
    expect(size.code).to.equal(1);
    expect(size.stderr).to.match(/“lots” is not a size/);
  });

  it('does not delete without a confirmation it can ask for; --yes deletes and says it is for good', async () => {
    const refused = await admin(['user', 'delete', 'clara']);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/nobody is at a terminal to confirm this. Add --yes/);
    expect(await t.db('users').where({ username: 'clara' })).to.have.length(1);
    const r = await admin(['user', 'delete', 'clara', '--yes']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/Deleted clara\. Their 0 documents \(0 bytes\) are gone for good\./);
    expect(await t.db('users').where({ username: 'clara' })).to.have.length(0);
  });

  it('disables, enables and resets two-step login, printing what it did', async () => {
    const d = await admin(['user', 'disable', 'cliff', '--json']);
    expect(JSON.parse(d.stdout)).to.include({ username: 'cliff', alreadyDisabled: false });
    const e = await admin(['user', 'enable', 'cliff']);
    expect(e.stdout).to.equal('cliff can log in again.\n');
    const m = await admin(['user', 'reset-mfa', 'cliff']);
    expect(m.code).to.equal(0);
    expect(m.stdout).to.match(/two-step login of cliff is reset/);
    expect(m.stdout).to.match(/password, keys and documents are unchanged/);
  });

  it('prints statistics, the migration status and the checked configuration', async () => {
    const s = JSON.parse((await admin(['stats', '--json'])).stdout);
    expect(s.documents).to.include({ count: 2 });
    expect(s.users.total).to.equal(1);
    const m = JSON.parse((await admin(['migrate', 'status', '--json'])).stdout);
    expect(m.pending).to.deep.equal([]);
    expect(m.done.length).to.be.greaterThan(1);
    const c = await admin(['config', 'check', '--json'], { HEIRLOOM_SMTP_URL: 'smtp://u:hunter2@mail.example.org:587' });
    expect(c.code).to.equal(0);
    expect(c.stdout).to.not.include('hunter2');
    expect(JSON.parse(c.stdout).ok).to.equal(true);
    const bad = await admin(['config', 'check'], { HEIRLOOM_LOG_LEVEL: 'loud' });
    expect(bad.code).to.equal(1);
    expect(bad.stdout).to.match(/ERROR: HEIRLOOM_LOG_LEVEL/);
  });

  it('backs up the running server, restores into an empty folder, and verifies both', async () => {
    const out = path.join(scratch.dir, 'backups');
    const b = await admin(['backup', '--out', out, '--json']);
    expect(b.code, b.stderr).to.equal(0);
    const backup = JSON.parse(b.stdout) as { dir: string; manifest: { files: { path: string }[] } };
    expect(path.dirname(backup.dir)).to.equal(out);
    expect(backup.manifest.files.map((f) => f.path)).to.include('heirloom.sqlite');
    expect(b.stderr).to.equal(''); // no key, no warning

    const human = await admin(['backup', '--out', out]);
    expect(human.stdout).to.match(/^Backup written to /);
    expect(human.stdout).to.match(/The server key is not in this backup, on purpose/);
    const keyed = await admin(['backup', '--out', out, '--include-server-key']);
    expect(keyed.code).to.equal(0);
    expect(keyed.stderr).to.match(/^\nWarning: this backup contains the server key\. .*guess passwords offline/s);

    const v = await admin(['verify', '--data', backup.dir, '--json']);
    expect(v.code, v.stdout + v.stderr).to.equal(0);
    expect(JSON.parse(v.stdout).checked.manifest).to.equal(true);
    const noRepair = await admin(['verify', '--data', backup.dir, '--repair']);
    expect(noRepair.code).to.equal(1);
    expect(noRepair.stderr).to.match(/is a backup folder; a backup is never repaired in place/);

    const data = path.join(scratch.dir, 'restored');
    const r = await admin(['restore', backup.dir, '--data', data]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^Restored 2 documents/);
    expect(r.stdout).to.match(/The backup has no server key\. Put the old server key back at .*restored\/secrets\/server\.key/);
    expect(readdirSync(data).sort()).to.deep.equal(['blobs', 'heirloom.sqlite', 'uploads']);
    const again = await admin(['restore', backup.dir, '--data', data]);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/^heirloom-admin: The data folder .* is not empty/);

    const clean = await admin(['verify'], { HEIRLOOM_DATA_DIR: data });
    expect(clean.code, clean.stdout).to.equal(0);
    expect(clean.stdout).to.match(/Everything is in order\./);
    expect(existsSync(path.join(data, 'secrets'))).to.equal(false); // verify makes no key
  });

  it('exits 1 from verify when a blob is damaged, and tells what to do', async () => {
    truncateSync(t.services.blobs.pathOf(docs[0]!.id), 5);
    const r = await admin(['verify']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/1 problem:/);
    expect(r.stdout).to.match(/is 5 bytes; its row says/);
    expect(r.stdout).to.match(/Restore blobs\/.* from a backup/);
    const j = await admin(['verify', '--json']);
    expect(j.code).to.equal(1);
    expect(JSON.parse(j.stdout).problems.map((p: { kind: string }) => p.kind)).to.deep.equal(['blob_wrong_size']);
  });
});
