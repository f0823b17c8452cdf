import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { newMember } from '../helpers/client.js';
import { filler, makeDocument, upload, type TestDocument } from '../helpers/documents.js';
import { runCli, tempDir } from '../helpers/restore.js';
import { ready } from '../../client/crypto/index.js';
import { BackupService, type BackupResult } from '../../server/services/backup.js';
import { rescue, RescueError } from '../../scripts/rescue-lib.js';

const MiB = 1024 * 1024;

/** Every file under a folder, relative, with its bytes. */
function tree(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of readdirSync(path.join(dir, rel))) {
    const p = rel ? `${rel}/${name}` : name;
    if (statSync(path.join(dir, p)).isDirectory()) for (const [k, v] of tree(dir, p)) out.set(k, v);
    else out.set(p, readFileSync(path.join(dir, p)));
  }
  return out;
}

describe('heirloom-rescue: documents out of a backup with no server', function () {
  this.timeout(300_000);
  let t: TestServer;
  let words: string;
  let otherWords: string;
  let password: string;
  let backup: BackupResult;
  const scratch = tempDir('rescue');
  /** what the folder must hold afterwards: file name → original bytes */
  const expected = new Map<string, Uint8Array>();
  let trashedDoc: TestDocument;

  before(async () => {
    await ready();
    t = await startTestServer({ env: { HEIRLOOM_DEFAULT_QUOTA_MIB: '200' } });
    const rosa = await newMember(t.app, t.services, 'rosa');
    const other = await newMember(t.app, t.services, 'otto');
    words = rosa.account.recoveryWords;
    otherWords = other.account.recoveryWords;
    password = rosa.password;
    const keys = rosa.account.keys;
    const id = rosa.client.userId;
    const docs: [string, Uint8Array, string][] = [
      ['report.pdf', filler(20_000, 1), 'report.pdf'],
      ['report.pdf', filler(30_000, 2), 'report (2).pdf'], // same name: de-duplicated
      ['REPORT.pdf', filler(100, 3), 'REPORT (3).pdf'], // same on a case-insensitive disk
      ['../../etc/passwd', filler(50, 4), '.._.._etc_passwd'.replace(/^\./, '_')], // no way out of the folder
      ['a/b\\c:d.txt', filler(60, 5), 'a_b_c_d.txt'],
      ['..', filler(70, 6), 'document'],
      ['Trash', filler(80, 7), 'Trash (2)'], // the trash folder's name is taken
      ['empty.txt', new Uint8Array(0), 'empty.txt'],
      ['big scan.tiff', filler(4 * MiB + 1, 8), 'big scan.tiff'],
      ['Grand-mère’s letter.txt', filler(123, 9), 'Grand-mère’s letter.txt'],
    ];
    for (const [name, bytes, out] of docs) {
      const d = makeDocument(keys, id, bytes, name);
      expect((await upload(rosa.client, d)).status).to.equal(204);
      expected.set(out, bytes);
    }
    trashedDoc = makeDocument(keys, id, filler(4321, 10), 'report.pdf');
    expect((await upload(rosa.client, trashedDoc)).status).to.equal(204);
    expect((await rosa.client.post(`/api/documents/${trashedDoc.id}/trash`)).status).to.be.oneOf([200, 204]);
    expected.set('Trash/report.pdf', trashedDoc.plaintext);
    // someone else's documents never come out
    const foreign = makeDocument(other.account.keys, other.client.userId, filler(999, 11), 'otto.txt');
    expect((await upload(other.client, foreign)).status).to.equal(204);

    backup = await new BackupService(t.db, t.services.blobs, { serverKeyFile: t.config.serverKeyFile, appVersion: 'test' }).create({
      outDir: path.join(scratch.dir, 'backups'),
    });
  });
  after(async () => {
    await t.close();
    scratch.remove();
  });

  const expectAll = (out: string) => {
    const got = tree(out);
    expect([...got.keys()].sort()).to.deep.equal([...expected.keys()].sort());
    for (const [name, bytes] of expected) expect(Buffer.from(bytes).equals(got.get(name) as Buffer), name).to.equal(true);
  };

  it('decrypts every document of the person from a backup with the 24 words, byte for byte, under their names', async () => {
    const out = path.join(scratch.dir, 'words');
    const s = await rescue({ dataDir: backup.dir, username: 'Rosa', words: words.toUpperCase().replace(/ /g, '  '), outDir: out });
    expect(s.damaged).to.deep.equal([]);
    expect(s.documents).to.equal(expected.size);
    expect(s.inTrash).to.equal(1);
    expect(s.bytes).to.equal([...expected.values()].reduce((n, b) => n + b.length, 0));
    expectAll(out);
    expect(statSync(path.join(out, 'report.pdf')).mode & 0o077).to.equal(0); // plaintext is private to its owner
  });

  it('does the same with the password and the server key', async () => {
    const out = path.join(scratch.dir, 'password');
    const s = await rescue({ dataDir: backup.dir, username: 'rosa', password, serverKeyFile: t.config.serverKeyFile, outDir: out });
    expect(s.damaged).to.deep.equal([]);
    expectAll(out);
  });

  it('reads the live data folder of a running server too (the key at its default place)', async () => {
    const out = path.join(scratch.dir, 'live');
    const s = await rescue({ dataDir: t.dataDir, username: 'rosa', password, outDir: out });
    expect(s.documents).to.equal(expected.size);
    expectAll(out);
  });

  it('refuses wrong words, other people’s words, a wrong password and a wrong server key, writing nothing', async () => {
    const cases: [string, Partial<Parameters<typeof rescue>[0]>, RegExp][] = [
      ['typo', { words: words.replace(/^\S+/, 'notaword') }, /Word 1 is not on the recovery word list/],
      ['short', { words: words.split(' ').slice(0, 23).join(' ') }, /24 words; 23 words were given/],
      ['someone else’s', { words: otherWords }, /do not belong to rosa's account/],
      ['wrong password', { password: 'not the password', serverKeyFile: t.config.serverKeyFile }, /That password is not right for rosa/],
      ['no server key', { password }, /no server key file .* needs the server's key/],
      ['wrong server key', { password, serverKeyFile: path.join(scratch.dir, 'other.key') }, /is not the key of the server/],
      ['no such person', { username: 'nobody', words }, /no account named “nobody”/],
    ];
    writeFileSync(path.join(scratch.dir, 'other.key'), 'ef'.repeat(32));
    for (const [what, opts, message] of cases) {
      const out = path.join(scratch.dir, `refused-${what.replace(/\W/g, '')}`);
      const err = await rescue({ dataDir: backup.dir, username: 'rosa', outDir: out, ...opts }).catch((e: Error) => e);
      expect(err, what).to.be.instanceOf(RescueError);
      expect((err as Error).message, what).to.match(message);
      expect(existsSync(out), what).to.equal(false);
    }
  });

  it('reports a tampered or missing blob, skips it and rescues the rest', async () => {
    const copy = tempDir('rescue-tampered');
    try {
      // a copy of the backup, with one blob changed and one gone
      const { cpSync, unlinkSync } = await import('node:fs');
      cpSync(backup.dir, copy.dir, { recursive: true });
      const tampered = path.join(copy.dir, 'blobs', trashedDoc.id.slice(0, 2), trashedDoc.id);
      const bytes = readFileSync(tampered);
      bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 1;
      writeFileSync(tampered, bytes);
      const big = backup.manifest.files.filter((f) => f.path.startsWith('blobs/')).sort((a, b) => b.size - a.size)[0]!;
      unlinkSync(path.join(copy.dir, big.path));

      const out = path.join(scratch.dir, 'tampered');
      const s = await rescue({ dataDir: copy.dir, username: 'rosa', words, outDir: out });
      expect(s.damaged.map((d) => d.name).sort()).to.deep.equal(['big scan.tiff', 'report.pdf']);
      expect(s.damaged.find((d) => d.name === 'report.pdf')?.damaged).to.match(/tampered with or damaged/);
      expect(s.damaged.find((d) => d.name === 'big scan.tiff')?.damaged).to.match(/encrypted file is missing/);
      expect(s.documents).to.equal(expected.size - 2);
      const got = tree(out);
      expect(got.has('Trash/report.pdf')).to.equal(false);
      expect(got.has('big scan.tiff')).to.equal(false);
      expect([...got.keys()].filter((k) => k.includes('.part'))).to.deep.equal([]); // no half-written file left
      expect(Buffer.from(expected.get('report.pdf') as Uint8Array).equals(got.get('report.pdf') as Buffer)).to.equal(true);
    } finally {
      copy.remove();
    }
  });

  it('refuses an output folder that already holds files', async () => {
    const out = path.join(scratch.dir, 'full');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(out);
    writeFileSync(path.join(out, 'mine.txt'), 'keep me');
    const err = await rescue({ dataDir: backup.dir, username: 'rosa', words, outDir: out }).catch((e: Error) => e);
    expect((err as Error).message).to.match(/not empty/);
    expect(readdirSync(out)).to.deep.equal(['mine.txt']);
  });

  describe('through the real command (npm run rescue)', () => {
    it('rescues with the words and prints a JSON summary', async () => {
      const out = path.join(scratch.dir, 'cli-words');
      const r = await runCli('rescue', ['--data', backup.dir, '--username', 'rosa', '--words', words, '--out', out, '--json']);
      expect(r.code, r.stderr).to.equal(0);
      const summary = JSON.parse(r.stdout);
      expect(summary).to.include({ username: 'rosa', documents: expected.size, inTrash: 1 });
      expectAll(out);
    });

    it('reads the password from HEIRLOOM_RESCUE_PASSWORD when --password has no value', async () => {
      const out = path.join(scratch.dir, 'cli-password');
      const r = await runCli('rescue', ['--data', backup.dir, '--username', 'rosa', '--password', '--server-key', t.config.serverKeyFile, '--out', out], {
        HEIRLOOM_RESCUE_PASSWORD: password,
      });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(new RegExp(`Rescued ${expected.size} documents of rosa`));
      expectAll(out);
    });

    it('exits 1 with a sentence and writes nothing on wrong words', async () => {
      const out = path.join(scratch.dir, 'cli-wrong');
      const r = await runCli('rescue', ['--data', backup.dir, '--username', 'rosa', '--words', otherWords, '--out', out]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^heirloom-rescue: These recovery words do not belong to rosa's account/);
      expect(existsSync(out)).to.equal(false);
    });
  });
});
