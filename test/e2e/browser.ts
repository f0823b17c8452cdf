import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const INSTALL = 'apt-get update && apt-get install -y chromium';

/**
 * Browser tests run in Debian's Chromium. When it is missing and we are root (CI, a fresh machine), it is
 * installed; otherwise the tests fail with the exact command to run. They never skip silently.
 */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() === 0) {
    process.stderr.write(`Chromium is missing; installing it: ${INSTALL}\n`);
    const r = spawnSync('sh', ['-c', `DEBIAN_FRONTEND=noninteractive ${INSTALL}`], { stdio: 'inherit' });
    if (r.status === 0 && existsSync(CHROMIUM)) return;
  }
  throw new Error(`The browser tests need Debian's chromium at ${CHROMIUM}. Install it with: sudo sh -c '${INSTALL}'`);
}

/** Chromium's flags for tests and benchmarks: headless on a server, nothing running in the background. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export async function launch(): Promise<Browser> {
  ensureChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * Collects CSP violations and page errors so a test can assert there were none. Violations are reported to
 * the test as they happen (a binding), so those of a page that navigates away by itself (after registration,
 * after login) are kept too; the in-page list is read as well, in case a report is still on its way.
 */
export async function watchPage(page: Page): Promise<{ problems: string[]; violations: () => Promise<string[]> }> {
  const problems: string[] = [];
  await page.exposeBinding('__heirloomCspViolation', (_source, text: string) => {
    problems.push(`CSP: ${text}`);
  });
  // the page's own report of blocked content, caught before any page script runs
  await page.addInitScript(() => {
    const w = window as unknown as { __csp: string[]; __heirloomCspViolation?: (text: string) => Promise<void> };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      const text = `${e.violatedDirective} ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`;
      w.__csp.push(text);
      void w.__heirloomCspViolation?.(text);
    });
  });
  page.on('console', (msg) => {
    const text = msg.text();
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(text)) problems.push(`CSP console: ${text}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  const violations = async () => {
    const fromPage = await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []).catch(() => []);
    const reported = new Set(problems);
    return [...problems, ...fromPage.map((text) => `CSP: ${text}`).filter((text) => !reported.has(text))];
  };
  return { problems, violations };
}

/**
 * A picture of a page state for a person reviewing the look of a change: written only when
 * HEIRLOOM_TEST_SCREENSHOTS names a folder (e.g. `HEIRLOOM_TEST_SCREENSHOTS=shots npm test`), so a normal
 * run writes nothing outside its temp folders.
 */
export async function reviewShot(page: Page, name: string, fullPage = false): Promise<void> {
  const dir = process.env.HEIRLOOM_TEST_SCREENSHOTS;
  if (!dir) return;
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage });
}
