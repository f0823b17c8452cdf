import { expect } from 'chai';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ready } from '../../client/crypto/index.js';
import { newMember } from '../helpers/client.js';
import { makeDocument, upload } from '../helpers/documents.js';
import { runCli } from '../helpers/restore.js';
import { startServerProcess, stopServerProcess } from '../helpers/serverProcess.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Permission bits of a path, as an octal string ('700'), so a failure shows what it was. */
const modeOf = (p: string) => (statSync(p).mode & 0o777).toString(8);


describe('files the server creates on disk', function () {
  this.timeout(120_000);
  let parent: string;
  beforeEach(() => {
    parent = mkdtempSync(path.join(tmpdir(), 'heirloom-startup-'));
  });
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('keeps the data folder, the database, its WAL, the server key and every blob to the server user alone', async () => {
    await ready();
    const dataDir = path.join(parent, 'data');
    const server = await startServerProcess(root, ['--import', 'tsx', 'server/main.ts'], dataDir);
    try {
      expect(server.setupToken, 'the first start prints a setup link').to.be.a('string');
      const token = server.setupToken as string;
      const m = await newMember(server.url, { registration: { createInvitation: async () => ({ token }) } }, 'modes');
      const doc = makeDocument(m.account.keys, m.client.userId, new TextEncoder().encode('the deed to the house'));
      expect((await upload(m.client, doc)).status).to.equal(204);

      const blobDir = path.join(dataDir, 'blobs', doc.id.slice(0, 2));
      const blob = path.join(blobDir, doc.id);
      for (const dir of [dataDir, path.join(dataDir, 'blobs'), blobDir, path.join(dataDir, 'uploads'), path.join(dataDir, 'secrets')]) {
        expect(modeOf(dir), dir).to.equal('700');
      }
      const files = [blob, path.join(dataDir, 'secrets', 'server.key')];
      for (const f of readdirSync(dataDir)) if (f.startsWith('heirloom.sqlite')) files.push(path.join(dataDir, f));
      expect(files.map((f) => path.basename(f))).to.include.members(['heirloom.sqlite', 'heirloom.sqlite-wal', 'heirloom.sqlite-shm']);
      for (const f of files) expect(modeOf(f), f).to.equal('600');
    } finally {
      await stopServerProcess(server.proc);
    }
  });

  it('closes an existing data folder that other users could open', async () => {
    const dataDir = path.join(parent, 'data');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    const server = await startServerProcess(root, ['--import', 'tsx', 'server/main.ts'], dataDir);
    await stopServerProcess(server.proc);
    expect(modeOf(dataDir)).to.equal('700');
  });

  it('makes the admin tool create the database for its user alone, too', async () => {
    const dataDir = path.join(parent, 'data');
    const r = await runCli('admin', ['invite', 'create'], { HEIRLOOM_DATA_DIR: dataDir });
    expect(r.code, r.stderr).to.equal(0);
    expect(modeOf(dataDir)).to.equal('700');
    expect(modeOf(path.join(dataDir, 'heirloom.sqlite'))).to.equal('600');
  });
});
