import { expect } from 'chai';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember, TestClient } from '../helpers/client.js';
import { download, filler, makeDocument, upload, type TestDocument } from '../helpers/documents.js';
import { startServerOn, tempDir } from '../helpers/restore.js';
import { ready, type UnlockedKeys } from '../../client/crypto/index.js';
import { BackupService, checkBackup, restoreBackup, type BackupResult } from '../../server/services/backup.js';
import { VerifyService } from '../../server/services/verify.js';
import { openDbReadOnly } from '../../server/db/connection.js';
import { hashFile } from '../../server/storage/files.js';

const MiB = 1024 * 1024;

interface Member {
  client: TestClient;
  keys: UnlockedKeys;
  userId: string;
  password: string;
  username: string;
}

async function member(t: TestServer, name: string): Promise<Member> {
  const m = await newMember(t.app, t.services, name);
  return { client: m.client, keys: m.account.keys, userId: m.client.userId, password: m.password, username: name };
}

function backupService(t: TestServer) {
  return new BackupService(t.db, t.services.blobs, { serverKeyFile: t.config.serverKeyFile, appVersion: 'test' });
}

async function idsIn(dbFile: string): Promise<string[]> {
  const db = openDbReadOnly(dbFile);
  try {
    return (await db('documents').select('id')).map((r: { id: string }) => r.id).sort();
  } finally {
    await db.destroy();
  }
}

function verifyOf(s: { db: TestServer['db']; services: TestServer['services']; config: TestServer['config'] }) {
  return new VerifyService(s.db, s.services.blobs, s.config.dataDir, s.services.uploads);
}

/** A login on another server (the restored one) for someone whose authenticator we hold. */
async function loginOn(app: TestServer['app'], m: Member): Promise<TestClient> {
  const c = new TestClient(app);
  c.totpSecret = m.client.totpSecret;
  c.lastStep = m.client.lastStep;
  await c.login(m.username, m.password);
  m.client.lastStep = c.lastStep;
  return c;
}

describe('backup while uploads and logins run, then the restore drill (docs/backup-restore.md)', function () {
  this.timeout(300_000);
  let t: TestServer;
  const scratch = tempDir('drill');
  before(async () => {
    await ready();
    t = await startTestServer({ env: { HEIRLOOM_DEFAULT_QUOTA_MIB: '500' }, rateLimits: { pairFailures: 100, accountFailures: 100, ipFailures: 100, ipLookups: 1000, windowSeconds: 60 } });
  });
  after(async () => {
    await t.close();
    scratch.remove();
  });

  it('restores every document that was complete at backup time, byte for byte, and verify is clean', async () => {
    const alice = await member(t, 'alice');
    const bob = await member(t, 'bob');
    const carol = await member(t, 'carol');
    const owner = new Map<string, Member>();
    const all = new Map<string, TestDocument>();
    const put = async (m: Member, doc: TestDocument, step?: number) => {
      const res = await upload(m.client, doc, step);
      expect(res.status, res.text).to.equal(204);
      owner.set(doc.id, m);
      all.set(doc.id, doc);
    };

    // 1. documents that are there before anything else happens (an empty one, chunk edges, one in the trash)
    const firstOnes: [Member, number, string][] = [
      [alice, 0, 'empty.txt'],
      [alice, 4 * MiB + 1, 'scan.pdf'],
      [bob, 12_345, 'will.odt'],
      [bob, 999, 'old.txt'],
    ];
    const before: TestDocument[] = [];
    for (const [m, size, name] of firstOnes) {
      const d = makeDocument(m.keys, m.userId, filler(size, before.length + 1), name);
      await put(m, d);
      before.push(d);
    }
    expect((await bob.client.post(`/api/documents/${before[3]!.id}/trash`)).status).to.be.oneOf([200, 204]);
    // an orphan blob (a crash between blob and row) is not copied
    const orphan = randomUUID();
    mkdirSync(path.dirname(t.services.blobs.pathOf(orphan)), { recursive: true });
    writeFileSync(t.services.blobs.pathOf(orphan), Buffer.from(before[2]!.blob));

    // 2. uploads and logins in parallel; the backup is taken in the middle
    const parallel = [1, 2, 3, 4, 5].map((i) => {
      const m = i % 2 ? alice : bob;
      return { m, doc: makeDocument(m.keys, m.userId, filler(i * 1024 * 1024 + i * 77, 10 + i), `parallel-${i}.bin`) };
    });
    const finished: string[] = [];
    let firstDone: () => void = () => {};
    const oneFinished = new Promise<void>((r) => (firstDone = r));
    const uploads = parallel.map(({ m, doc }, i) =>
      // small PATCHes so that they take a while, the first one smaller so it ends first
      put(m, doc, i === 0 ? 512 * 1024 : 128 * 1024).then(() => {
        finished.push(doc.id);
        firstDone();
      }),
    );
    let stopLogins = false;
    const logins = (async () => {
      let n = 0;
      while (!stopLogins) {
        const c = new TestClient(t.app);
        const r = await c.passwordStep('carol', n % 2 ? carol.password : 'not carol’s password');
        expect(r.status).to.equal(n % 2 ? 200 : 401);
        n++;
      }
      return n;
    })();

    await oneFinished;
    const completeAtStart = [...before.map((d) => d.id), ...finished];
    let backup: BackupResult | undefined;
    try {
      backup = await backupService(t).create({ outDir: path.join(scratch.dir, 'backups') });
    } finally {
      await Promise.all(uploads);
      stopLogins = true;
    }
    expect(await logins).to.be.greaterThan(0);

    // what the backup holds: everything complete when it started, nothing that was not a document
    const inBackup = await idsIn(path.join(backup.dir, 'heirloom.sqlite'));
    expect(inBackup).to.include.members(completeAtStart);
    for (const id of inBackup) expect(all.has(id), id).to.equal(true);
    expect(inBackup).to.not.include(orphan);
    expect(backup.manifest.files.map((f) => f.path)).to.not.include(`blobs/${orphan.slice(0, 2)}/${orphan}`);
    expect(backup.manifest.serverKeyIncluded).to.equal(false);
    expect(existsSync(path.join(backup.dir, 'secrets'))).to.equal(false);
    expect(backup.manifest.rowCounts.documents).to.equal(inBackup.length);
    expect(backup.manifest.rowCounts.uploads).to.equal(0);
    // it really was taken in the middle: uploads were in flight, and left out
    expect(backup.manifest.uploadsLeftOut).to.be.greaterThan(0);
    expect(inBackup.length).to.be.lessThan(all.size);
    expect(backup.manifest.rowCounts.users).to.equal(3);
    expect(path.basename(backup.dir)).to.match(/^heirloom-backup-\d{8}T\d{6}Z$/);
    // nothing but the data-folder layout and the manifest, and each file as the manifest says
    expect(readdirSync(backup.dir).sort()).to.deep.equal(['blobs', 'heirloom.sqlite', 'manifest.json']);
    for (const f of backup.manifest.files) expect(await hashFile(path.join(backup.dir, f.path)), f.path).to.deep.equal({ size: f.size, sha256: f.sha256 });

    // The restore drill, step by step as docs/backup-restore.md says.
    // 1–2. the server is stopped and a new, empty data folder is made
    const data = path.join(scratch.dir, 'restored-data');
    // 3. the server key, kept apart from the backups, is put back first
    mkdirSync(path.join(data, 'secrets'), { recursive: true, mode: 0o700 });
    copyFileSync(t.config.serverKeyFile, path.join(data, 'secrets', 'server.key'));
    chmodSync(path.join(data, 'secrets', 'server.key'), 0o600);
    // 4. heirloom-admin restore <backup> --data <folder>
    const restored = await restoreBackup({ from: backup.dir, dataDir: data, serverKeyFile: path.join(data, 'secrets', 'server.key') });
    expect(restored.serverKey).to.equal('kept');
    expect(restored.documents).to.equal(inBackup.length);
    // 5. start Heirloom on it
    const s = await startServerOn(data);
    try {
      // 6. heirloom-admin verify: everything is in order
      const report = await verifyOf(s).run();
      expect(report.problems, JSON.stringify(report.problems)).to.deep.equal([]);
      expect(report.ok).to.equal(true);
      const withManifest = await verifyOf(s).run({ manifest: backup.manifest });
      expect(withManifest.ok).to.equal(true);
      expect(withManifest.checked.hashed).to.equal(inBackup.length);
      // 7. log in and open the documents: every one decrypts to the original bytes, under its name
      const clients = new Map<Member, TestClient>();
      for (const m of [alice, bob]) clients.set(m, await loginOn(s.app, m));
      for (const id of inBackup) {
        const m = owner.get(id) as Member;
        const doc = all.get(id) as TestDocument;
        const back = await download(clients.get(m) as TestClient, m.keys, m.userId, id);
        expect(back.meta.name).to.equal(doc.name);
        expect(Buffer.from(back.plaintext).equals(Buffer.from(doc.plaintext)), doc.name).to.equal(true);
      }
      const trash = await (clients.get(bob) as TestClient).get('/api/documents?view=trash');
      expect(JSON.stringify(trash.body)).to.include(before[3]!.id);
      // and the people's own view of their storage is back too
      expect((await s.services.admin.usage('alice')).documents).to.equal(inBackup.filter((id) => owner.get(id) === alice).length);
    } finally {
      await s.close();
    }
  });
});

describe('backup and restore: the edges', function () {
  this.timeout(180_000);
  let t: TestServer;
  let m: Member;
  let docs: TestDocument[];
  const scratch = tempDir('backup-edges');
  before(async () => {
    await ready();
    t = await startTestServer();
    m = await member(t, 'edith');
    docs = [filler(3000, 1), filler(40_000, 2), filler(500, 3), filler(800, 4)].map((p, i) => makeDocument(m.keys, m.userId, p, `doc-${i}.txt`));
    for (const d of docs) expect((await upload(m.client, d)).status).to.equal(204);
  });
  after(async () => {
    await t.close();
    scratch.remove();
  });

  it('does not fail when blobs go away during the backup: a deletion is left out, a missing blob is noted', async () => {
    const [trashed, damaged] = [docs[2]!, docs[3]!];
    expect((await m.client.post(`/api/documents/${trashed.id}/trash`)).status).to.be.oneOf([200, 204]);
    const b = await backupService(t).create({
      outDir: path.join(scratch.dir, 'during'),
      onProgress: async (p) => {
        if (p.step !== 'database') return;
        // after the database snapshot: one document is deleted for good, another loses its blob
        await t.services.documents.deleteForever(m.userId, trashed.id);
        unlinkSync(t.services.blobs.pathOf(damaged.id));
      },
    });
    expect(b.manifest.deletedDuringBackup).to.deep.equal([trashed.id]);
    expect(b.manifest.missingAtBackup).to.deep.equal([{ documentId: damaged.id, path: `blobs/${damaged.id.slice(0, 2)}/${damaged.id}` }]);
    const ids = await idsIn(path.join(b.dir, 'heirloom.sqlite'));
    expect(ids).to.not.include(trashed.id); // it was deleted: the backup does not bring it back half
    expect(ids).to.include(damaged.id); // the live row is still there: verify will report it
    expect(b.manifest.rowCounts.documents).to.equal(ids.length);
    // the backup as a whole is sound
    await checkBackup(b.dir);
    // put the blob back for the next tests
    writeFileSync(t.services.blobs.pathOf(damaged.id), Buffer.from(damaged.blob));
    docs.splice(2, 1);
  });

  it('says so when it cannot write where it was told to', async () => {
    const file = path.join(scratch.dir, 'a-file');
    writeFileSync(file, 'not a folder');
    const err = await backupService(t).create({ outDir: path.join(file, 'backups') }).catch((e: Error) => e);
    expect((err as Error).message).to.match(/cannot make or write the folder .*a-file\/backups .*--out/);
  });

  it('refuses to restore into a folder that is not empty, and writes nothing', async () => {
    const b = await backupService(t).create({ outDir: path.join(scratch.dir, 'nonempty') });
    const data = path.join(scratch.dir, 'busy-data');
    mkdirSync(data);
    writeFileSync(path.join(data, 'heirloom.sqlite'), 'an old database');
    const err = await restoreBackup({ from: b.dir, dataDir: data, serverKeyFile: path.join(data, 'secrets', 'server.key') }).catch((e: Error) => e);
    expect((err as Error).message).to.match(/is not empty \(it holds heirloom\.sqlite\)/);
    expect(readdirSync(data)).to.deep.equal(['heirloom.sqlite']);
    expect(readFileSync(path.join(data, 'heirloom.sqlite'), 'utf8')).to.equal('an old database');
  });

  it('refuses a damaged backup, naming the file, before writing anything', async () => {
    const damage: [string, (dir: string, blob: string) => void, RegExp][] = [
      ['a changed byte', (_dir, blob) => {
        const bytes = readFileSync(blob);
        bytes[100] = (bytes[100] ?? 0) ^ 1;
        writeFileSync(blob, bytes);
      }, /blobs\/[0-9a-f]{2}\/[0-9a-f-]{36} does not match its SHA-256/],
      ['a cut-off blob', (_dir, blob) => truncateSync(blob, 10), /blobs\/[0-9a-f]{2}\/[0-9a-f-]{36} is 10 bytes, the manifest says/],
      ['a lost blob', (_dir, blob) => unlinkSync(blob), /blobs\/[0-9a-f]{2}\/[0-9a-f-]{36} is missing/],
      ['a changed database', (dir) => writeFileSync(path.join(dir, 'heirloom.sqlite'), 'x', { flag: 'a' }), /heirloom\.sqlite is \d+ bytes/],
      ['no manifest', (dir) => unlinkSync(path.join(dir, 'manifest.json')), /not a Heirloom backup: it has no manifest\.json/],
      ['a manifest pointing outside', (dir) => {
        const man = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
        man.files[1].path = '../../etc/passwd';
        writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(man));
      }, /manifest\.json .* is not a Heirloom backup manifest/],
    ];
    for (const [what, hurt, message] of damage) {
      const b = await backupService(t).create({ outDir: path.join(scratch.dir, `damaged-${what.replace(/\W/g, '-')}`) });
      const blob = path.join(b.dir, b.manifest.files.find((f) => f.path.startsWith('blobs/'))!.path);
      hurt(b.dir, blob);
      const data = path.join(scratch.dir, `target-${what.replace(/\W/g, '-')}`);
      const err = await restoreBackup({ from: b.dir, dataDir: data, serverKeyFile: path.join(data, 'secrets', 'server.key') }).catch((e: Error) => e);
      expect((err as Error).message, what).to.match(message);
      expect(existsSync(data), what).to.equal(false);
    }
  });

  it('refuses a backup made by a newer Heirloom', async () => {
    const b = await backupService(t).create({ outDir: path.join(scratch.dir, 'newer') });
    const man = JSON.parse(readFileSync(path.join(b.dir, 'manifest.json'), 'utf8'));
    man.migrations.push('29990101000000_from_the_future.ts');
    writeFileSync(path.join(b.dir, 'manifest.json'), JSON.stringify(man));
    const data = path.join(scratch.dir, 'target-newer');
    const err = await restoreBackup({ from: b.dir, dataDir: data, serverKeyFile: path.join(data, 'secrets', 'server.key') }).catch((e: Error) => e);
    expect((err as Error).message).to.match(/newer Heirloom .*29990101000000_from_the_future/);
  });

  it('includes the server key only when asked, restores it with mode 0600, and never overwrites a different one', async () => {
    const b = await backupService(t).create({ outDir: path.join(scratch.dir, 'with-key'), includeServerKey: true });
    expect(b.manifest.serverKeyIncluded).to.equal(true);
    expect(statSync(path.join(b.dir, 'secrets', 'server.key')).mode & 0o777).to.equal(0o600);
    const data = path.join(scratch.dir, 'target-with-key');
    const r = await restoreBackup({ from: b.dir, dataDir: data, serverKeyFile: path.join(data, 'secrets', 'server.key') });
    expect(r.serverKey).to.equal('restored');
    expect(readFileSync(path.join(data, 'secrets', 'server.key')).equals(readFileSync(t.config.serverKeyFile))).to.equal(true);
    expect(statSync(path.join(data, 'secrets', 'server.key')).mode & 0o777).to.equal(0o600);

    const other = path.join(scratch.dir, 'target-other-key');
    mkdirSync(path.join(other, 'secrets'), { recursive: true });
    writeFileSync(path.join(other, 'secrets', 'server.key'), 'cd'.repeat(32));
    const err = await restoreBackup({ from: b.dir, dataDir: other, serverKeyFile: path.join(other, 'secrets', 'server.key') }).catch((e: Error) => e);
    expect((err as Error).message).to.match(/A different server key is already at/);
    expect(readdirSync(other)).to.deep.equal(['secrets']);

    // without a key anywhere, restore says so (and the server must not be started before it is back)
    const b2 = await backupService(t).create({ outDir: path.join(scratch.dir, 'without-key') });
    const bare = path.join(scratch.dir, 'target-no-key');
    expect((await restoreBackup({ from: b2.dir, dataDir: bare, serverKeyFile: path.join(bare, 'secrets', 'server.key') })).serverKey).to.equal('missing');
  });
});

describe('verify', function () {
  this.timeout(180_000);
  let t: TestServer;
  let m: Member;
  let docs: TestDocument[];
  const scratch = tempDir('verify');
  before(async () => {
    await ready();
    t = await startTestServer();
    m = await member(t, 'vera');
    docs = [filler(2000, 1), filler(3000, 2), filler(4000, 3), filler(5000, 4)].map((p, i) => makeDocument(m.keys, m.userId, p, `v-${i}.txt`));
    for (const d of docs) expect((await upload(m.client, d)).status).to.equal(204);
  });
  after(async () => {
    await t.close();
    scratch.remove();
  });

  it('reports a clean folder as clean', async () => {
    const r = await verifyOf(t).run();
    expect(r.ok).to.equal(true);
    expect(r.problems).to.deep.equal([]);
    expect(r.checked).to.include({ documents: 4, blobs: 4, uploads: 0, manifest: false });
  });

  it('checks a backup folder against its own manifest without changing a byte of it', async () => {
    const b = await backupService(t).create({ outDir: path.join(scratch.dir, 'b') });
    const before = await hashFile(path.join(b.dir, 'heirloom.sqlite'));
    const db = openDbReadOnly(path.join(b.dir, 'heirloom.sqlite'));
    try {
      const { BlobStore } = await import('../../server/storage/blobs.js');
      const v = new VerifyService(db, new BlobStore(b.dir), b.dir);
      const r = await v.run({ manifest: b.manifest, ownManifest: true });
      expect(r.problems).to.deep.equal([]);
      expect(r.checked.hashed).to.equal(4 + 1); // the blobs and the database
      const blob = path.join(b.dir, b.manifest.files[1]!.path);
      const bytes = readFileSync(blob);
      bytes[50] = (bytes[50] ?? 0) ^ 0xff; // same size, other bytes: only the hash can tell
      writeFileSync(blob, bytes);
      const r2 = await v.run({ manifest: b.manifest, ownManifest: true });
      expect(r2.problems.map((p) => p.kind)).to.deep.equal(['blob_changed']);
    } finally {
      await db.destroy();
    }
    expect(await hashFile(path.join(b.dir, 'heirloom.sqlite'))).to.deep.equal(before);
    expect(readdirSync(b.dir).sort()).to.deep.equal(['blobs', 'heirloom.sqlite', 'manifest.json']);
  });

  it('reports a deleted blob, a truncated blob, an orphan and a stray upload; --repair removes only the garbage', async () => {
    const [deleted, truncated] = [docs[0]!, docs[1]!];
    unlinkSync(t.services.blobs.pathOf(deleted.id));
    truncateSync(t.services.blobs.pathOf(truncated.id), 100);
    const orphan = randomUUID();
    const orphanFile = t.services.blobs.pathOf(orphan);
    mkdirSync(path.dirname(orphanFile), { recursive: true });
    writeFileSync(orphanFile, Buffer.from(docs[2]!.blob));
    const stray = t.services.blobs.uploadsPath(randomUUID());
    writeFileSync(stray, 'half an upload');
    const fresh = randomUUID(); // an orphan written a moment ago: maybe an upload finishing right now
    mkdirSync(path.dirname(t.services.blobs.pathOf(fresh)), { recursive: true });
    writeFileSync(t.services.blobs.pathOf(fresh), 'just now');
    // the other two as a crash left them, an hour ago
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(orphanFile, hourAgo, hourAgo);
    utimesSync(stray, hourAgo, hourAgo);

    const r = await verifyOf(t).run();
    expect(r.ok).to.equal(false);
    const kinds = r.problems.map((p) => `${p.kind} ${p.documentId ?? p.path}`);
    expect(kinds).to.include.members([
      `blob_missing ${deleted.id}`,
      `blob_wrong_size ${truncated.id}`,
      `orphan_blob ${orphan}`,
      `orphan_blob ${fresh}`,
      `stray_upload uploads/${path.basename(stray)}`,
    ]);
    expect(r.problems).to.have.length(5);
    expect(r.problems.find((p) => p.kind === 'blob_missing')?.advice).to.match(/Restore blobs\/.* from a backup/);

    const rowsBefore = await t.db('documents').count({ n: '*' }).first();
    const fixed = await verifyOf(t).run({ repair: true });
    const repaired = fixed.problems.filter((p) => p.repaired).map((p) => p.kind).sort();
    expect(repaired).to.deep.equal(['orphan_blob', 'stray_upload']);
    expect(existsSync(orphanFile)).to.equal(false);
    expect(existsSync(stray)).to.equal(false);
    expect(existsSync(t.services.blobs.pathOf(fresh))).to.equal(true); // left alone: too recent
    expect(await t.db('documents').count({ n: '*' }).first()).to.deep.equal(rowsBefore); // never a row
    expect(fixed.ok).to.equal(false);
    const after = await verifyOf(t).run();
    expect(after.problems.map((p) => p.kind).sort()).to.deep.equal(['blob_missing', 'blob_wrong_size', 'orphan_blob']);

    // put things right again: the blobs back from "a backup", the fresh file gone
    writeFileSync(t.services.blobs.pathOf(deleted.id), Buffer.from(deleted.blob));
    writeFileSync(t.services.blobs.pathOf(truncated.id), Buffer.from(truncated.blob));
    rmSync(t.services.blobs.pathOf(fresh));
    expect((await verifyOf(t).run()).ok).to.equal(true);
  });

  it('reports an abandoned upload and --repair gives its reservation back', async () => {
    const doc = makeDocument(m.keys, m.userId, filler(9000, 9));
    await t.services.uploads.reserve(m.userId, { id: doc.id, length: doc.blob.length, meta: doc.meta, keyWrap: doc.keyWrap });
    await t.db('uploads').where({ id: doc.id }).update({ created_at: Date.now() - 2 * 24 * 3600_000 });
    const r = await verifyOf(t).run();
    expect(r.problems.map((p) => p.kind)).to.deep.equal(['stale_upload']);
    const fixed = await verifyOf(t).run({ repair: true });
    expect(fixed.ok).to.equal(true);
    expect(await t.db('uploads').where({ id: doc.id })).to.have.length(0);
  });
});
