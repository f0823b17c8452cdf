/**
 * `npm run bench -- many`: many documents at once, as a family drops them. Each drop of many small files goes
 * through the real documents page (all the files set on its own upload input in one go, as a person choosing
 * them) and is compared, in the same run, with one file of the same total size uploaded the same way:
 *
 *   drop A: 1,000 files × 100 KB against one 100 MB file (goal: ≥ 0.12 × its rate)
 *   drop B:   200 files × 1 MB  against one 200 MB file (goal: ≥ 0.6 × its rate)
 *
 * Every upload starts in a fresh vault (a new data folder, server process and browser), so runs are
 * comparable. The browser is driven over a bare DevTools pipe (raw-chromium.ts), not Playwright, whose
 * network instrumentation would measure itself. The figures are medians of BENCH_MANY_RUNS runs (3).
 *
 * Besides time and rate, per file: the CPU used by the page (Chromium's renderer process: the page and its
 * workers), by the server process and by the rest of the browser (browser, GPU and utility processes), all
 * from /proc; the requests that reached the server (a line the server writes per request, through Node's
 * `http.server.request.start` diagnostics channel); and the server's fsyncs (strace, tracing only the sync
 * calls); plus the page's long tasks and, during drop A, how long a keystroke in the search box waits for
 * the next frame.
 *
 * For a quick look: BENCH_MANY_RUNS=1, BENCH_MANY_A=100x100KB, BENCH_MANY_B=20x1MB (count × size, sizes in
 * KB or MB of 1,000), BENCH_MANY_ONLY=A or B, BENCH_MANY_PROBE=0 (no keystrokes), BENCH_MANY_STALL_S (how
 * long without a new document before a drop is declared stuck, 300); BENCH_MANY_DEBUG=1 prints each
 * Chromium process's CPU during each drop.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportUnlockedKeys } from '../../client/crypto/index.js';
import { RawChromium, type RawPage } from './raw-chromium.js';
import { benchVault, cmdlineOf, cpuMsOf, median, processTree, randomFile, table } from './shared.js';

interface Drop {
  label: string;
  files: number;
  size: number;
  goal: number;
}

function dropFromEnv(name: string, label: string, files: number, size: number, goal: number): Drop {
  const spec = process.env[name];
  if (!spec) return { label, files, size, goal };
  const m = /^(\d+)\s*x\s*(\d+)\s*(KB|MB)$/i.exec(spec.trim());
  if (!m) throw new Error(`${name} should look like 1000x100KB or 200x1MB, not "${spec}"`);
  return { label, files: Number(m[1]), size: Number(m[2]) * (m[3]?.toUpperCase() === 'MB' ? 1e6 : 1e3), goal };
}

const DROPS = [
  dropFromEnv('BENCH_MANY_A', 'A', 1000, 100e3, 0.12),
  dropFromEnv('BENCH_MANY_B', 'B', 200, 1e6, 0.6),
].filter((d) => !process.env.BENCH_MANY_ONLY || process.env.BENCH_MANY_ONLY.toUpperCase() === d.label);
const RUNS = Number(process.env.BENCH_MANY_RUNS ?? 3);
const PROBE = process.env.BENCH_MANY_PROBE !== '0';
const STALL_MS = Number(process.env.BENCH_MANY_STALL_S ?? 300) * 1000;
/** However fast or slow things get, a drop never waits longer than this. */
const HARD_LIMIT_MS = 60 * 60_000;
const PROBE_EVERY_MS = 500;

const STRACE = spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
const SYNC_CALLS = ['fsync', 'fdatasync', 'syncfs', 'sync_file_range'];
/** The server writes this line to its stderr for every request it receives (preloaded with --import). */
const REQUEST_MARK = 'heirloom-bench-request';
const COUNT_REQUESTS =
  'data:text/javascript,' +
  encodeURIComponent(
    `import dc from 'node:diagnostics_channel';` +
      `dc.subscribe('http.server.request.start', ({ request }) => process.stderr.write('${REQUEST_MARK} ' + request.method + ' ' + request.url + '\\n'));`,
  );

const fmtN = (n: number) => n.toLocaleString('en');
const fmtSize = (bytes: number) => (bytes >= 1e6 ? `${fmtN(bytes / 1e6)} MB` : `${fmtN(bytes / 1e3)} KB`);

/** One upload through the page: many files, or one file of the same total size. */
interface Case {
  drop: Drop;
  many: boolean;
  files: string[];
  bytes: number;
}

interface Result {
  ms: number;
  pageCpuMs: number;
  serverCpuMs: number;
  browserCpuMs: number;
  requests: number;
  requestKinds: Map<string, number>;
  fsyncs: number;
  /** When the drop started and ended, by the wall clock (strace's timestamps). */
  window: { from: number; to: number };
  longTasks: number[];
  inputToFrame: number[];
}

/** What a request is, without its IDs: "PATCH /api/uploads/:id". */
function requestKind(line: string): string {
  const [method = '?', url = ''] = line.split(' ');
  const route = (url.split('?')[0] ?? '').replace(/\/[0-9a-f]{8}-[0-9a-f-]{27,}|\/[A-Za-z0-9_-]{20,}/g, '/:id');
  return `${method} ${route}`;
}

/** CPU of every process under a root so far, by process, with what each process is. */
function cpuSnapshot(root: number): Map<number, { ms: number; kind: 'page' | 'browser' }> {
  const snap = new Map<number, { ms: number; kind: 'page' | 'browser' }>();
  for (const pid of processTree(root)) {
    const ms = cpuMsOf(pid);
    const cmd = cmdlineOf(pid);
    // renderers of the browser's own interface (its omnibox popup, even headless) are not the page
    const page = cmd.includes('--type=renderer') && !cmd.includes('--top-chrome-webui');
    if (!Number.isNaN(ms)) snap.set(pid, { ms, kind: page ? 'page' : 'browser' });
  }
  return snap;
}

/** CPU used between two snapshots, per kind; a process that started in between counts from zero. */
function cpuBetween(from: Map<number, { ms: number }>, to: Map<number, { ms: number; kind: 'page' | 'browser' }>) {
  const used = { page: 0, browser: 0 };
  for (const [pid, { ms, kind }] of to) used[kind] += ms - (from.get(pid)?.ms ?? 0);
  return used;
}

function cpuOfTree(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + (cpuMsOf(pid) || 0), 0);
}

/** Fsync-type calls in strace's output (lines start "pid seconds.micros call("), within a time window. */
function syncCallsBetween(traceFile: string, fromMs: number, toMs: number): number {
  const call = new RegExp(`^\\d+\\s+(\\d+\\.\\d+)\\s+(?:${SYNC_CALLS.join('|')})\\(`);
  let n = 0;
  for (const line of readFileSync(traceFile, 'utf8').split('\n')) {
    const m = call.exec(line);
    const at = m ? Number(m[1]) * 1000 : NaN;
    if (at >= fromMs && at <= toMs) n++;
  }
  return n;
}

async function runCase(c: Case, traceDir: string, index: number): Promise<Result> {
  const traceFile = path.join(traceDir, `server-${index}.strace`);
  const { dataDir, server, keys, sid } = await benchVault(16384, {
    nodeArgs: ['--import', COUNT_REQUESTS],
    // Started under strace rather than attached to: with seccomp-bpf only the traced calls stop the server.
    wrapper: STRACE ? ['strace', '-f', '--seccomp-bpf', '-qq', '-ttt', '-e', `trace=${SYNC_CALLS.join(',')}`, '-o', traceFile] : undefined,
  });
  const requests: { at: number; line: string }[] = [];
  let partial = '';
  server.proc.stderr?.on('data', (d: Buffer) => {
    const lines = (partial + d.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    const at = Date.now();
    for (const l of lines) if (l.startsWith(REQUEST_MARK)) requests.push({ at, line: l.slice(REQUEST_MARK.length + 1) });
  });
  server.proc.stdout?.resume();

  const browser = await RawChromium.launch();
  let result: Result;
  try {
    await browser.send('Storage.setCookies', { cookies: [{ name: 'heirloom.sid', value: sid, url: server.url }] });
    const page = await browser.newPage();
    // only our tab: the renderer processes are then the page's
    const { targetInfos } = (await browser.send('Target.getTargets')) as { targetInfos: { targetId: string; type: string; attached: boolean }[] };
    for (const t of targetInfos) if (t.type === 'page' && !t.attached) await browser.send('Target.closeTarget', { targetId: t.targetId });
    await page.goto(`${server.url}/login`);
    await page.evaluate(
      `sessionStorage.setItem('heirloom.keys', ${JSON.stringify(exportUnlockedKeys(keys))});` +
        `sessionStorage.setItem('heirloom.lastActive', String(Date.now()))`,
    );
    await page.goto(`${server.url}/documents`);
    await page.waitFor(`document.querySelector('[data-docs-table][data-ready="true"]')`);
    await quiet(browser.pid, server.pid);
    result = await drop(c, page, browser.pid, server.pid, requests);
  } finally {
    await browser.close();
    if (server.proc.exitCode === null && server.proc.signalCode === null) {
      const exited = new Promise((r) => server.proc.once('exit', r));
      // the server itself: under strace, stopping strace would leave it running
      process.kill(server.pid, 'SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
  // strace's output is read once it has finished with the stopped server
  if (STRACE) result.fsyncs = syncCallsBetween(traceFile, result.window.from, result.window.to);
  return result;
}

/**
 * Waits until a freshly started browser and server have finished their own start-up work (a new Chromium
 * spends a second or more loading its interface, even headless), so that work is not counted as the
 * upload's: until both together use under 5% of a core for a second, or at most 30 s.
 */
async function quiet(browserPid: number, serverPid: number): Promise<void> {
  const used = () => cpuOfTree(browserPid) + cpuOfTree(serverPid);
  const until = Date.now() + 30_000;
  const samples = [used()];
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 250));
    samples.push(used());
    if (samples.length > 4 && (samples.at(-1) ?? 0) - (samples.at(-5) ?? 0) < 50) return;
  }
  process.stderr.write('(the browser and server were still busy after 30 s; measuring anyway) ');
}

async function drop(
  c: Case,
  page: RawPage,
  browserPid: number,
  serverPid: number,
  requests: { at: number; line: string }[],
): Promise<Result> {
  const before = await page.evaluate<number | null>(`(() => {
    const total = document.querySelector('[data-docs-table]')?.dataset.total;
    return total === undefined ? null : Number(total);
  })()`);
  if (before === null) throw new Error('the documents page has no [data-docs-table] with data-total: the benchmark counts arrived documents by it');
  const target = before + c.files.length;
  // Long tasks of the page's main thread, and keystroke-to-frame times, from before the files are set.
  await page.evaluate(`(() => {
    window.__bench = { long: [], keys: [] };
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__bench.long.push(e.duration); }).observe({ type: 'longtask' });
    document.addEventListener('keydown', (e) => {
      if (!(e.target instanceof Element) || !e.target.matches('[data-docs-search]')) return;
      // from when the browser took the key (its queueing counts) to after the next frame's rendering work
      const t = e.timeStamp;
      requestAnimationFrame(() => {
        const c = new MessageChannel();
        c.port1.onmessage = () => window.__bench.keys.push(performance.now() - t);
        c.port2.postMessage(0);
      });
    }, true);
  })()`);

  const described = c.many ? `${fmtN(c.files.length)} files × ${fmtSize(c.drop.size)}` : `one ${fmtSize(c.bytes)} file`;
  // One promise in the page, awaited once: no polling loop that would itself cost the page CPU.
  const done = page.evaluate<void>(`new Promise((resolve, reject) => {
    const table = document.querySelector('[data-docs-table]');
    const total = () => Number(table.dataset.total || 0);
    let last = total();
    let lastAt = performance.now();
    const stop = () => { observer.disconnect(); clearInterval(timer); };
    const check = () => {
      const n = total();
      if (n !== last) { last = n; lastAt = performance.now(); }
      if (n >= ${target}) { stop(); resolve(); }
    };
    const observer = new MutationObserver(check);
    observer.observe(table, { attributes: true, attributeFilter: ['data-total'] });
    const timer = setInterval(() => {
      check();
      if (performance.now() - lastAt < ${STALL_MS}) return;
      stop();
      const failed = document.querySelectorAll('[data-upload-state="failed"]');
      const why = failed.length ? '; the page shows ' + failed.length + ' failed upload(s), the first: "' + (failed[0].querySelector('[data-upload-status]')?.textContent ?? '').trim() + '"' : '';
      reject(new Error('drop ${c.drop.label} (${described}): the documents table stopped at ' + (last - ${before}) + ' of ${c.files.length} new documents, nothing new for ${STALL_MS / 1000} s' + why));
    }, 1000);
    check();
  })`);
  let limit: NodeJS.Timeout | undefined;
  const hardLimit = new Promise<never>((_, reject) => {
    limit = setTimeout(() => reject(new Error(`drop ${c.drop.label} (${described}): not all documents were listed after ${HARD_LIMIT_MS / 60_000} minutes`)), HARD_LIMIT_MS);
  });

  const cpu0 = cpuSnapshot(browserPid);
  const server0 = cpuOfTree(serverPid);
  const requests0 = requests.length;
  const wall0 = Date.now();
  const t0 = performance.now();
  await page.setInputFiles('[data-upload-input]', c.files);
  const probe = c.many && c.drop.label === 'A' && PROBE ? startProbe(page) : undefined;
  try {
    await Promise.race([done, hardLimit]);
  } finally {
    clearTimeout(limit);
    await probe?.stop();
  }
  const ms = performance.now() - t0;
  const wall1 = Date.now();
  const cpu1 = cpuSnapshot(browserPid);
  const cpu = cpuBetween(cpu0, cpu1);
  if (process.env.BENCH_MANY_DEBUG) {
    for (const [pid, { ms }] of cpu1) process.stderr.write(`  ${pid} ${(ms - (cpu0.get(pid)?.ms ?? 0)).toFixed(0)} ms ${cpu1.get(pid)?.kind}: ${/--type=(\S+)/.exec(cmdlineOf(pid))?.[1] ?? 'browser'} ${/--utility-sub-type=(\S+)|--top-chrome-webui/.exec(cmdlineOf(pid))?.[0] ?? ''}\n`);
  }
  const serverCpuMs = cpuOfTree(serverPid) - server0;
  const during = requests.slice(requests0).filter((r) => r.at <= wall1);
  const requestKinds = new Map<string, number>();
  for (const r of during) requestKinds.set(requestKind(r.line), (requestKinds.get(requestKind(r.line)) ?? 0) + 1);
  const seen = await page.evaluate<{ long: number[]; keys: number[] }>(`window.__bench`);
  if (probe && seen.keys.length === 0) process.stderr.write(`drop ${c.drop.label}: no keystroke reached the search box (it appears with the first document)\n`);
  return {
    ms,
    pageCpuMs: cpu.page,
    serverCpuMs,
    browserCpuMs: cpu.browser,
    requests: during.length,
    requestKinds,
    fsyncs: NaN,
    window: { from: wall0, to: wall1 },
    longTasks: seen.long,
    inputToFrame: seen.keys,
  };
}

/**
 * A person searching while the drop runs: every 500 ms a key in the search box ("s", which every file name
 * here has, then Backspace, so the list shows the same documents), sent as a real key event by the browser.
 */
function startProbe(page: RawPage): { stop: () => Promise<void> } {
  let stopped = false;
  let typed = false;
  const loop = (async () => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
      if (stopped) break;
      // the search box is shown once there is a first document
      const focused = await page.evaluate<boolean>(`(() => {
        const s = document.querySelector('[data-docs-search]');
        if (!s || !s.checkVisibility()) return false;
        if (document.activeElement !== s) s.focus();
        return document.activeElement === s;
      })()`);
      if (!focused || stopped) continue;
      const key = typed
        ? { key: 'Backspace', code: 'Backspace', windowsVirtualKeyCode: 8 }
        : { key: 's', code: 'KeyS', windowsVirtualKeyCode: 83, text: 's' };
      await page.send('Input.dispatchKeyEvent', { type: typed ? 'rawKeyDown' : 'keyDown', ...key });
      await page.send('Input.dispatchKeyEvent', { type: 'keyUp', key: key.key, code: key.code, windowsVirtualKeyCode: key.windowsVirtualKeyCode });
      typed = !typed;
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** The files of every drop and its one-file comparison, random bytes on disk, made once for all runs. */
function makeFiles(dir: string): Case[] {
  const cases: Case[] = [];
  for (const d of DROPS) {
    const folder = path.join(dir, `drop-${d.label}`);
    mkdirSync(folder);
    const files = Array.from({ length: d.files }, (_, i) => randomFile(folder, `scan-${String(i + 1).padStart(4, '0')}.jpg`, d.size));
    const bytes = d.files * d.size;
    cases.push({ drop: d, many: false, files: [randomFile(dir, `scans-${d.label}.jpg`, bytes)], bytes });
    cases.push({ drop: d, many: true, files, bytes });
  }
  return cases;
}

export async function manyBenchmarks(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'heirloom-bench-many-'));
  try {
    const cases = makeFiles(dir);
    const results = new Map<Case, Result[]>(cases.map((c) => [c, []]));
    let index = 0;
    for (let run = 1; run <= RUNS; run++) {
      for (const c of cases) {
        const what = c.many ? `${fmtN(c.files.length)} × ${fmtSize(c.drop.size)}` : `1 × ${fmtSize(c.bytes)}`;
        process.stderr.write(`many: run ${run} of ${RUNS}, drop ${c.drop.label}, ${what}… `);
        const r = await runCase(c, dir, index++);
        process.stderr.write(`${(r.ms / 1000).toFixed(1)} s\n`);
        results.get(c)?.push(r);
      }
    }
    return report(cases, results);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(cases: Case[], results: Map<Case, Result[]>): string {
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const d of DROPS) {
    const one = results.get(cases.find((c) => c.drop === d && !c.many) as Case) ?? [];
    const manyCase = cases.find((c) => c.drop === d && c.many) as Case;
    const many = results.get(manyCase) ?? [];
    // the rates compared run by run (the same total bytes, so the ratio is one time over the other)
    const ratios = many.map((r, i) => (one[i]?.ms ?? NaN) / r.ms);
    for (const [c, rs] of [
      [cases.find((x) => x.drop === d && !x.many) as Case, one],
      [manyCase, many],
    ] as const) {
      const n = c.files.length;
      const ms = median(rs.map((r) => r.ms));
      const perFile = (f: (r: Result) => number, digits = 0, unit = ' ms') => {
        const v = median(rs.map(f)) / n;
        return Number.isNaN(v) ? 'n/a' : `${v.toFixed(digits)}${unit}`;
      };
      const longOver = median(rs.map((r) => r.longTasks.filter((t) => t > 100).length));
      const longest = median(rs.map((r) => Math.max(0, ...r.longTasks)));
      const keys = rs.flatMap((r) => r.inputToFrame);
      rows.push([
        `${d.label}: ${c.many ? `${fmtN(n)} files × ${fmtSize(d.size)}` : `one ${fmtSize(c.bytes)} file`}`,
        `${(ms / 1000).toFixed(1)} s`,
        (n / (ms / 1000)).toFixed(n > 1 ? 1 : 2),
        `${(c.bytes / 1e6 / (ms / 1000)).toFixed(1)}`,
        c.many ? `${median(ratios).toFixed(3)} (≥ ${d.goal})` : '',
        perFile((r) => r.pageCpuMs),
        perFile((r) => r.serverCpuMs, 1),
        perFile((r) => r.browserCpuMs),
        perFile((r) => r.requests, 2, ''),
        STRACE ? perFile((r) => r.fsyncs, 2, '') : 'n/a',
        `${longOver} / ${longest.toFixed(0)} ms`,
        keys.length ? `${Math.max(...keys).toFixed(0)} / ${median(keys).toFixed(0)} ms (${keys.length})` : '',
      ]);
      const kinds = new Set(rs.flatMap((r) => [...r.requestKinds.keys()]));
      const parts = [...kinds].map((k) => [k, median(rs.map((r) => r.requestKinds.get(k) ?? 0)) / n] as const).sort((x, y) => y[1] - x[1]);
      notes.push(`${rows.at(-1)?.[0]}, requests per file: ${parts.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
    }
  }
  let out = `\nMany documents at once, through the real documents page (files from disk, set on its upload input in one go;\n`;
  out += `browser without network instrumentation; a fresh vault for every upload; median of ${RUNS} run${RUNS === 1 ? '' : 's'})\n`;
  out += table(
    ['drop', 'time', 'files/s', 'MB/s', 'rate vs one file (goal)', 'page CPU/file', 'server CPU/file', 'rest of browser CPU/file', 'requests/file', 'fsyncs/file', 'long tasks > 100 ms / longest', 'key → frame worst / median (keys)'],
    rows,
  );
  out += notes.map((n) => `${n}\n`).join('');
  out += 'page = Chromium renderer (the page and its workers); rest of browser = browser, GPU and utility processes; CPU from /proc.\n';
  out += 'requests = what reached the server (a line per request from its diagnostics channel); ';
  out += STRACE
    ? 'fsyncs = fsync, fdatasync, syncfs and sync_file_range calls of the server process (strace).\n'
    : 'fsyncs need strace, which is not installed: apt-get install -y strace\n';
  out += `long tasks = the page's main-thread tasks (PerformanceObserver 'longtask'), median count over 100 ms and median longest;\n`;
  out += `key → frame = during drop A, a key in the search box every ${PROBE_EVERY_MS} ms, from the key to after the next frame (over all runs).\n`;
  return out;
}
