import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../server/config.js';
import { openDataFolder } from '../../server/bootstrap.js';
import { createServices } from '../../server/app.js';
import { createLogger } from '../../server/logger.js';
import { TestClient } from '../../test/helpers/client.js';
import type { UnlockedKeys } from '../../client/crypto/index.js';

export const MiB = 1024 * 1024;

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (c ?? '').padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return `${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}\n`;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
export const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;
export const mbps = (bytes: number, ms: number) => `${((bytes / 1e6) / (ms / 1000)).toFixed(0)} MB/s`;

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** How a benchmark wants the server process run: under a tracer (`wrapper`, e.g. strace) or with Node flags. */
export interface ServerProcessOptions {
  /** A command the server is started under; the server's own PID is then found among its children. */
  wrapper?: string[];
  nodeArgs?: string[];
}

/**
 * The real server as its own process, so its memory can be measured apart from the benchmark's.
 * BENCH_NODE_ARGS adds Node flags to it, e.g. "--cpu-prof --cpu-prof-dir=prof" to see where its time goes.
 * `pid` is the server's (Node's) own process, also when it runs under a wrapper.
 */
export async function startServerProcess(
  dataDir: string,
  env: Record<string, string> = {},
  options: ServerProcessOptions = {},
): Promise<{ proc: ChildProcess; url: string; pid: number }> {
  const port = await freePort();
  const node = [process.execPath, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), ...(options.nodeArgs ?? []), '--import', 'tsx', 'server/main.ts'];
  const [command = process.execPath, ...args] = [...(options.wrapper ?? []), ...node];
  const proc = spawn(command, args, {
    env: { ...process.env, HEIRLOOM_DATA_DIR: dataDir, HEIRLOOM_PORT: String(port), HEIRLOOM_HOST: '127.0.0.1', HEIRLOOM_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!out.includes('(port ')) return;
      // stop collecting: a benchmark may have the server write a line per request
      proc.stdout?.off('data', onData);
      proc.stderr?.off('data', onData);
      resolve();
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
  const pid = options.wrapper ? (childrenOf(proc.pid ?? 0)[0] ?? 0) : (proc.pid ?? 0);
  if (!pid) throw new Error(`the server's process was not found under ${options.wrapper?.[0] ?? 'node'}`);
  return { proc, url: `http://127.0.0.1:${port}`, pid };
}

/** The direct children of a process (Linux, from /proc). */
export function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** A process and all its descendants, alive now. */
export function processTree(pid: number): number[] {
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...childrenOf(all[i] ?? 0));
  return all;
}

/** CPU time (user + system, all threads) a process has used so far, in ms; NaN once it is gone. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the fields after the command name, which is in parentheses and may itself hold spaces
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** The command line of a process, for telling Chromium's renderer, GPU and utility processes apart. */
export function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Resident memory of a process, from /proc. */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** The whole machine's CPU time so far, busy and total, in clock ticks (from /proc/stat). */
export function cpuTicks(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** How many cores' worth of CPU the machine was busy with, on average, between two readings. */
export function coresBusy(from: { busy: number; total: number }, to: { busy: number; total: number }, cores: number): number {
  return to.total > from.total ? ((to.busy - from.busy) / (to.total - from.total)) * cores : NaN;
}

/**
 * A fresh data folder with one registered person (an admin), the real server on it as its own process,
 * and that person's session cookie, for a browser to use.
 */
export async function benchVault(quotaMiB: number, options: ServerProcessOptions = {}): Promise<{
  dataDir: string;
  server: { proc: ChildProcess; url: string; pid: number };
  client: TestClient;
  keys: UnlockedKeys;
  sid: string;
}> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'heirloom-bench-'));
  const env = { HEIRLOOM_DATA_DIR: dataDir, HEIRLOOM_KDF_MEM_MIB: '64', HEIRLOOM_DEFAULT_QUOTA_MIB: String(quotaMiB) };
  const config = loadConfig(env);
  const data = await openDataFolder(config);
  const services = createServices({ config, db: data.db, serverKey: data.serverKey, logger: createLogger('silent') });
  const invite = await services.registration.createInvitation({ isAdmin: true });
  await data.db.destroy();

  const server = await startServerProcess(dataDir, env, options);
  const client = new TestClient(server.url);
  const { res, account } = await client.register(invite.token, 'bench', 'benchmark passphrase here');
  if (res.status !== 201 || !account) throw new Error(`registration failed: ${res.status}`);
  const cookie = String((await client.agent.get('/')).request.cookies ?? '');
  const sid = /heirloom\.sid=([^;]+)/.exec(cookie)?.[1];
  if (!sid) throw new Error('no session cookie');
  return { dataDir, server, client, keys: account.keys, sid };
}

/** A file of `size` random bytes in `dir` (random, so nothing on the way can compress it). */
export function randomFile(dir: string, name: string, size: number): string {
  const file = path.join(dir, name);
  const fd = openSync(file, 'w');
  for (let done = 0; done < size; done += 64 * MiB) writeSync(fd, randomBytes(Math.min(64 * MiB, size - done)));
  closeSync(fd);
  return file;
}
