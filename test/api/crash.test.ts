import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../server/config.js';
import { openDataFolder } from '../../server/bootstrap.js';
import { createServices } from '../../server/app.js';
import { createLogger } from '../../server/logger.js';
import { newMember } from '../helpers/client.js';
import { createUpload, download, filler, makeDocument, upload } from '../helpers/documents.js';
import { ready } from '../../client/crypto/index.js';

const MiB = 1024 * 1024;

/** A port that is free now, so every restart of the server is reachable at the same address. */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts the real server (npm start's entry point) as a child process; resolves with its base URL. */
function startServer(dataDir: string, port: number): Promise<{ proc: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      env: { ...process.env, HEIRLOOM_DATA_DIR: dataDir, HEIRLOOM_PORT: String(port), HEIRLOOM_HOST: '127.0.0.1', HEIRLOOM_KDF_MEM_MIB: '64', HEIRLOOM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /\(port (\d+)\)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: `http://127.0.0.1:${m[1]}` });
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
}

const killed = (proc: ChildProcess) => new Promise((r) => (proc.exitCode !== null || proc.signalCode ? r(null) : proc.once('exit', r)));

describe('a server killed with SIGKILL during uploads', function () {
  this.timeout(300_000);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'heirloom-crash-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('leaves no row without a complete blob and, after the start-up sweep, no blob without a row (many runs)', async () => {
    await ready();
    const config = loadConfig({ HEIRLOOM_DATA_DIR: dataDir, HEIRLOOM_KDF_MEM_MIB: '64' });
    {
      const data = await openDataFolder(config);
      await data.db.destroy();
    }
    const port = await freePort();
    let server = await startServer(dataDir, port);
    const data0 = await openDataFolder(config);
    const services = createServices({ config, db: data0.db, serverKey: data0.serverKey, logger: createLogger('silent') });
    const m = await (async () => {
      // the invitation is made directly; everything else goes through the real server over HTTP
      const inv = services.registration;
      return newMember(server.url, { registration: { createInvitation: (o) => inv.createInvitation(o) } }, 'crashtest');
    })();
    await data0.db.destroy();

    const completed: ReturnType<typeof makeDocument>[] = [];
    const completedSmall: ReturnType<typeof makeDocument>[] = [];
    for (let run = 0; run < 8; run++) {
      // sizes from 1 to 4 MiB, so the uploads finish at different moments
      const docs = [1, 2, 3, 4].map((i) => makeDocument(m.account.keys, m.client.userId, filler(i * MiB + run * 1000 + 777, run * 10 + i)));
      let firstDone: () => void = () => {};
      const oneFinished = new Promise<void>((r) => (firstDone = r));
      const uploads = docs.map((d) =>
        upload(m.client, d, 256 * 1024)
          .then((res) => {
            if (res.status === 204) {
              completed.push(d);
              firstDone();
            }
          })
          .catch(() => null),
      );
      // and meanwhile small documents, each sent whole in its creation request (its reservation is held in
      // memory, its finish is one commit), one after another until the kill
      let killing = false;
      const smallOnes = (async () => {
        for (let i = 0; !killing; i++) {
          const d = makeDocument(m.account.keys, m.client.userId, filler(100_000 + i, run * 1000 + i + 100));
          const res = await createUpload(m.client, d, d.blob.length)
            .set('Content-Type', 'application/offset+octet-stream')
            .send(Buffer.from(d.blob))
            .catch(() => null);
          if (res?.status === 201) completedSmall.push(d);
        }
      })();
      // kill at a random moment, but (timing differs from machine to machine) not before something finished
      // in this run, while the bigger uploads are still in flight
      await Promise.race([oneFinished, new Promise((r) => setTimeout(r, 20_000))]);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 200)));
      killing = true;
      server.proc.kill('SIGKILL');
      await killed(server.proc);
      await Promise.all([...uploads, smallOnes]);

      server = await startServer(dataDir, port); // runs the start-up sweep before it listens
      const check = await openDataFolder(config, { migrate: false });
      try {
        const [integrity] = await check.db.raw('PRAGMA integrity_check');
        expect(integrity.integrity_check).to.equal('ok');
        const rows: { id: string; size: number }[] = await check.db('documents').select('id', 'size');
        const blobs = createServices({ config, db: check.db, serverKey: check.serverKey, logger: createLogger('silent') }).blobs;
        for (const r of rows) expect(await blobs.size(r.id), `blob of ${r.id}`).to.equal(Number(r.size));
        expect((await blobs.list()).sort()).to.deep.equal(rows.map((r) => r.id).sort());
        const live = new Set((await check.db('uploads').select('id')).map((r: { id: string }) => r.id));
        for (const f of readdirSync(path.join(dataDir, 'uploads'))) expect(live.has(f.replace(/\.json$/, '')), f).to.equal(true);
      } finally {
        await check.db.destroy();
      }
    }
    // the kills must have landed both before and after some uploads finished, or this proved little
    expect(completed.length, 'uploads finished before a kill').to.be.within(8, 31);
    expect(completedSmall.length, 'small uploads finished before a kill').to.be.at.least(8);
    // what the server said it stored, it still has, byte for byte
    for (const d of [...completed, ...completedSmall]) {
      const back = await download(m.client, m.account.keys, m.client.userId, d.id);
      expect(Buffer.from(back.plaintext).equals(Buffer.from(d.plaintext))).to.equal(true);
    }
    server.proc.kill('SIGTERM');
    await killed(server.proc);
  });
});
