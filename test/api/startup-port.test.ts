import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs the real server (npm start's entry point) until it exits by itself; its exit code and output. */
function runServer(dataDir: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: root,
      env: { ...process.env, HEIRLOOM_DATA_DIR: dataDir, HEIRLOOM_KDF_MEM_MIB: '64', HEIRLOOM_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    // a server that started after all is a failure of this test, not a hang: stop it and report
    proc.stdout.on('data', () => {
      if (/is running at/.test(out)) proc.kill('SIGKILL');
    });
    proc.on('error', reject);
    proc.on('exit', (code) => resolve({ code, out }));
  });
}

describe('starting on an address it cannot use', function () {
  this.timeout(60_000);
  let dataDir: string;
  let taken: Server;
  let port: number;
  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'heirloom-port-'));
    taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    port = (taken.address() as { port: number }).port;
  });
  after(async () => {
    await new Promise((r) => taken.close(r));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops with a sentence naming HEIRLOOM_PORT and the port when another program holds the port', async () => {
    const { code, out } = await runServer(dataDir, { HEIRLOOM_HOST: '127.0.0.1', HEIRLOOM_PORT: String(port) });
    expect(out).to.include(`port ${port} is already in use`);
    expect(out).to.include('HEIRLOOM_PORT');
    expect(out).not.to.match(/TypeError|\n\s+at /);
    expect(code).to.equal(2);
  });

  it('stops with a sentence naming HEIRLOOM_HOST when the address is not one of this machine', async () => {
    // 192.0.2.1 is reserved for documentation (RFC 5737): never an address of a real machine
    const { code, out } = await runServer(dataDir, { HEIRLOOM_HOST: '192.0.2.1', HEIRLOOM_PORT: '0' });
    expect(out).to.include('HEIRLOOM_HOST');
    expect(out).not.to.match(/TypeError|\n\s+at /);
    expect(code).to.equal(2);
  });
});
