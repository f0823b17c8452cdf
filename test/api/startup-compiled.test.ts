import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import request from 'supertest';
import { ready } from '../../client/crypto/index.js';
import { newMember } from '../helpers/client.js';
import { makeDocument, upload } from '../helpers/documents.js';
import { runCli } from '../helpers/restore.js';
import { startServerProcess, stopServerProcess } from '../helpers/serverProcess.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = promisify(execFile);

/** Every file under a folder, not following links (the linked node_modules, views and public). */
function ownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}


/**
 * The Docker image runs the server compiled to JavaScript (npm run build:server), laid out as the image
 * lays it out: the compiled tree at the top, views/, public/ and node_modules/ beside it, no TypeScript.
 */
describe('the server compiled to JavaScript, as the image runs it', function () {
  this.timeout(120_000);
  let tmp: string;
  let appDir: string;
  let dataDir: string;
  before(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'heirloom-compiled-'));
    appDir = path.join(tmp, 'app');
    dataDir = path.join(tmp, 'data');
    await run(process.execPath, [path.join(root, 'scripts', 'build-server.mjs'), appDir]);
    for (const name of ['node_modules', 'views', 'public', 'package.json']) symlinkSync(path.join(root, name), path.join(appDir, name));
    // copied, not linked: the scripts find the code relative to where they really are
    mkdirSync(path.join(appDir, 'bin'));
    for (const name of ['heirloom-admin', 'heirloom-rescue']) copyFileSync(path.join(root, 'bin', name), path.join(appDir, 'bin', name));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('holds JavaScript only', () => {
    const files = ownFiles(appDir).map((f) => path.relative(appDir, f));
    expect(files).to.include.members(['server/main.js', 'scripts/admin.js', 'scripts/rescue.js', 'migrations/20261126000000_foundation.js']);
    expect(files.filter((f) => f.endsWith('.ts'))).to.deep.equal([]);
  });

  it('serves pages, registers a person and stores a document', async () => {
    await ready();
    const server = await startServerProcess(appDir, ['server/main.js'], dataDir);
    try {
      expect((await request(server.url).get('/healthz')).status).to.equal(200);
      const page = await request(server.url).get('/login');
      expect(page.status).to.equal(200);
      expect(page.text).to.include('csrf-token');
      const m = await newMember(server.url, { registration: { createInvitation: async () => ({ token: server.setupToken as string }) } }, 'compiled');
      const doc = makeDocument(m.account.keys, m.client.userId, new TextEncoder().encode('a will, compiled'));
      expect((await upload(m.client, doc)).status).to.equal(204);
    } finally {
      await stopServerProcess(server.proc);
    }
  });

  it('runs heirloom-admin from the compiled scripts, and its database opens from a checkout too', async () => {
    const env = { ...process.env, HEIRLOOM_DATA_DIR: dataDir };
    const compiled = await run(path.join(appDir, 'bin', 'heirloom-admin'), ['migrate', 'status'], { env });
    expect(compiled.stdout).to.match(/Done: +20261126000000_foundation\.ts/);
    expect(compiled.stdout).to.match(/Pending: none/);
    // the same database, handed to the TypeScript code (npm run admin): the same migrations, none missing
    const checkout = await runCli('admin', ['migrate', 'status'], { HEIRLOOM_DATA_DIR: dataDir });
    expect(checkout.code, checkout.stderr).to.equal(0);
    expect(checkout.stdout).to.match(/Pending: none/);
  });
});
