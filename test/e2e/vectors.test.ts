import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { checkVectors, type VectorReport } from '../../client/crypto/vector-check.js';
import { checkSharingVectors } from '../../client/crypto/vector-check-sharing.js';
import { launch } from './browser.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// As in scripts/build-client.mjs: libsodium's glue names Node modules in branches that only run under Node.
const nodeBuiltins = ['crypto', 'fs', 'path', 'url', 'module', 'worker_threads', 'node:*'];

describe('test vectors in the browser', function () {
  this.timeout(120_000);
  let t: TestServer;
  let base: string;
  let browser: Browser;
  let outDir: string;
  let bundle: string;

  before(async () => {
    outDir = mkdtempSync(path.join(tmpdir(), 'heirloom-vectors-'));
    bundle = path.join(outDir, 'vectors.js');
    await build({
      absWorkingDir: root,
      entryPoints: ['test/browser/vectors.ts'],
      outfile: bundle,
      bundle: true,
      platform: 'browser',
      format: 'iife',
      target: ['es2022'],
      external: nodeBuiltins,
      logLevel: 'warning',
    });
    t = await startTestServer();
    base = await t.listen();
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  /** Loads the bundle into a fresh page and runs one of its checks there. */
  async function inBrowser(check: 'heirloomCheckVectors' | 'heirloomCheckSharingVectors'): Promise<VectorReport> {
    // The bundle is injected as an inline script, which the app's CSP rightly forbids: only this test lifts it.
    const context = await browser.newContext({ bypassCSP: true });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(`${base}/login`);
      await page.addScriptTag({ path: bundle });
      const report = await page.evaluate(
        (name) => (window as unknown as Record<string, () => Promise<VectorReport>>)[name]?.(),
        check,
      );
      expect(errors).to.deep.equal([]);
      if (report === undefined) throw new Error(`the bundle does not define window.${check}`);
      return report;
    } finally {
      await context.close();
    }
  }
  const fromDocs = (name: string): unknown => JSON.parse(readFileSync(path.join(root, 'docs/test-vectors', name), 'utf8'));

  it('computes every value of docs/test-vectors/keys.json the same way in Chromium', async () => {
    const report = await inBrowser('heirloomCheckVectors');
    expect(report.failures).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    // the very same checks as in Node, none skipped
    const inNode = await checkVectors(fromDocs('keys.json'));
    expect(inNode.checked).to.be.greaterThan(60);
    expect(report.checked, 'checks that ran in the browser').to.equal(inNode.checked);
  });

  it('opens the grant and the space key of docs/test-vectors/sharing.json and matches every envelope in Chromium', async () => {
    const report = await inBrowser('heirloomCheckSharingVectors');
    expect(report.failures).to.deep.equal([]);
    expect(report.ok).to.equal(true);
    const inNode = await checkSharingVectors(fromDocs('sharing.json'));
    expect(inNode.checked).to.be.greaterThan(60);
    expect(report.checked, 'checks that ran in the browser').to.equal(inNode.checked);
  });
});
