/**
 * Benchmark only: Chromium driven over a bare DevTools pipe, with only the Runtime, DOM and Target domains.
 *
 * Why not Playwright here: Playwright turns on DevTools' Network domain in every page it drives, and then
 * Chromium copies each request body into DevTools events (base64 through the pipe). That costs more than
 * the upload itself: a 4 MiB PATCH took ~1.4 s under Playwright and ~0.1 s without it. A family's browser
 * has no DevTools attached, so the transfer figures are taken like this.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CHROMIUM, CHROMIUM_ARGS, ensureChromium } from '../../test/e2e/browser.js';

type Json = Record<string, unknown>;

export class RawChromium {
  readonly #proc: ChildProcess;
  readonly #profile: string;
  readonly #out: Writable;
  readonly #pending = new Map<number, { resolve: (v: Json) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  /** DevTools events (messages without an id), for a benchmark that asks for some. */
  onEvent: ((event: { method: string; params: Json; sessionId?: string }) => void) | undefined;

  private constructor(proc: ChildProcess, profile: string) {
    this.#proc = proc;
    this.#profile = profile;
    this.#out = proc.stdio[3] as Writable;
    let buffered = '';
    (proc.stdio[4] as Readable).on('data', (d: Buffer) => {
      buffered += d.toString('utf8');
      let end: number;
      while ((end = buffered.indexOf('\0')) >= 0) {
        const msg = JSON.parse(buffered.slice(0, end)) as { id?: number; result?: Json; error?: { message: string } };
        buffered = buffered.slice(end + 1);
        if (msg.id === undefined) this.onEvent?.(msg as unknown as { method: string; params: Json; sessionId?: string });
        const waiting = msg.id === undefined ? undefined : this.#pending.get(msg.id);
        if (!waiting || msg.id === undefined) continue;
        this.#pending.delete(msg.id);
        if (msg.error) waiting.reject(new Error(msg.error.message));
        else waiting.resolve(msg.result ?? {});
      }
    });
  }

  static async launch(): Promise<RawChromium> {
    ensureChromium();
    const profile = mkdtempSync(path.join(tmpdir(), 'heirloom-bench-chromium-'));
    const proc = spawn(
      CHROMIUM,
      [
        '--headless',
        ...CHROMIUM_ARGS,
        '--remote-debugging-pipe',
        `--user-data-dir=${profile}`,
        'about:blank',
      ],
      { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] },
    );
    const browser = new RawChromium(proc, profile);
    await browser.send('Browser.getVersion');
    return browser;
  }

  /** The process started (Debian's launcher script, or Chromium itself): every Chromium process is under it. */
  get pid(): number {
    return this.#proc.pid ?? 0;
  }

  send(method: string, params: Json = {}, sessionId?: string): Promise<Json> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#out.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  }

  /** A new tab, attached; returns the session to drive it with. */
  async newPage(): Promise<RawPage> {
    const { targetId } = (await this.send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await this.send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    return new RawPage(this, sessionId);
  }

  async close(): Promise<void> {
    const exited = new Promise((r) => this.#proc.once('exit', r));
    await this.send('Browser.close').catch(() => this.#proc.kill('SIGTERM'));
    await exited;
    // its helper processes may still be writing to the profile for a moment
    rmSync(this.#profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 250 });
  }
}

export class RawPage {
  constructor(
    readonly browser: RawChromium,
    readonly sessionId: string,
  ) {}

  send(method: string, params: Json = {}): Promise<Json> {
    return this.browser.send(method, params, this.sessionId);
  }

  /** Runs an expression in the page (awaiting a promise) and returns its JSON value. */
  async evaluate<T>(expression: string): Promise<T> {
    const r = (await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })) as {
      result: { value?: T };
      exceptionDetails?: { exception?: { description?: string }; text: string };
    };
    if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description ?? r.exceptionDetails.text);
    return r.result.value as T;
  }

  /** Navigates and waits for the load event of the new document (wherever redirects end up). */
  async goto(url: string): Promise<void> {
    await this.evaluate('window.__heirloomOld = true');
    await this.send('Page.navigate', { url });
    await this.waitFor(`!window.__heirloomOld && document.readyState === 'complete'`);
  }

  /** Polls an expression until it is truthy. */
  async waitFor(expression: string, timeoutMs = 60_000, everyMs = 100): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (await this.evaluate<boolean>(`Boolean(${expression})`).catch(() => false)) return;
      if (Date.now() > until) throw new Error(`timed out waiting for ${expression}`);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  async setInputFiles(selector: string, files: string[]): Promise<void> {
    const { root } = (await this.send('DOM.getDocument', { depth: 0 })) as { root: { nodeId: number } };
    const { nodeId } = (await this.send('DOM.querySelector', { nodeId: root.nodeId, selector })) as { nodeId: number };
    if (!nodeId) throw new Error(`no element ${selector}`);
    await this.send('DOM.setFileInputFiles', { nodeId, files });
  }

  async heapUsed(): Promise<number> {
    return ((await this.send('Runtime.getHeapUsage')) as { usedSize: number }).usedSize;
  }
}
