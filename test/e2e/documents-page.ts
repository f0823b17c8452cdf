/**
 * What a person does on the Documents page, shared by the documents browser tests (documents*.test.ts).
 * Selectors are the data attributes of client/pages/documents*.ts and views/partials/documents/*.ejs.
 */
import { createHash } from 'node:crypto';
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { shown } from './flows.js';

export const MiB = 1024 * 1024;

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The Documents page, with its list opened (names decrypted). */
export async function openDocuments(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/documents`);
  await page.waitForSelector('[data-docs-table][data-ready="true"]', { state: 'attached', timeout: 30_000 });
}

export async function openTrash(page: Page, base: string): Promise<void> {
  await page.goto(`${base}/documents?view=trash`);
  await page.waitForSelector('[data-trash-table][data-ready="true"]', { state: 'attached', timeout: 30_000 });
}

export const uploadRow = (name: string) => `[data-upload][data-upload-name="${name}"]`;

/**
 * Waits until the upload rows of these file names have all finished, and returns each one's document ID.
 * Fails at once with the row's own words when one of them fails or is cancelled.
 */
export async function waitForUploads(page: Page, names: string[], timeout = 240_000): Promise<Map<string, string>> {
  await page.waitForFunction(
    (ns) => {
      const rows = ns.map((n) => document.querySelector<HTMLElement>(`[data-upload][data-upload-name="${CSS.escape(n)}"]`));
      const bad = rows.find((r) => r && (r.dataset.uploadState === 'failed' || r.dataset.uploadState === 'cancelled'));
      if (bad) return true;
      return rows.every((r) => r?.dataset.uploadState === 'done');
    },
    names,
    { timeout, polling: 100 },
  );
  const ids = new Map<string, string>();
  for (const name of names) {
    const row = page.locator(uploadRow(name));
    const state = await row.getAttribute('data-upload-state');
    const status = await row.locator('[data-upload-status]').textContent();
    expect(state, `upload of ${name}: ${status}`).to.equal('done');
    ids.set(name, (await row.getAttribute('data-doc-id')) ?? '');
  }
  return ids;
}

/** Opens a document's panel from its row in the list. */
export async function openPanel(page: Page, id: string): Promise<void> {
  await page.click(`tr[data-doc-row][data-doc-id="${id}"] [data-doc-open]`);
  await page.waitForSelector(`dialog[data-doc-panel][open][data-doc-id="${id}"]`);
}

export async function closePanel(page: Page): Promise<void> {
  await page.click('dialog[data-doc-panel] [data-doc-close]');
  await page.waitForSelector('dialog[data-doc-panel]:not([open])', { state: 'attached' });
}

/** Clicks Download in the open panel and returns the saved file's bytes. */
export async function downloadFromPanel(page: Page): Promise<{ name: string; path: string }> {
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 180_000 }),
    page.click('dialog[data-doc-panel] [data-doc-download]'),
  ]);
  const failure = await download.failure();
  expect(failure, 'download failure').to.equal(null);
  return { name: download.suggestedFilename(), path: await download.path() };
}

export async function usage(page: Page): Promise<{ used: number; quota: number; documents: number }> {
  const el = page.locator('[data-usage]').first();
  return {
    used: Number(await el.getAttribute('data-usage-used')),
    quota: Number(await el.getAttribute('data-usage-quota')),
    documents: Number(await el.getAttribute('data-usage-documents')),
  };
}

/** Waits until the page's usage bar says something else than `used`; returns the new figure. */
export async function usageChangesFrom(page: Page, used: number): Promise<number> {
  await page.waitForFunction(
    (before) => Number(document.querySelector<HTMLElement>('[data-usage]')?.dataset.usageUsed) !== before,
    used,
    { timeout: 15_000 },
  );
  return (await usage(page)).used;
}

/** Files under the data folder's uploads folder (tus uploads in progress). */
export function uploadsLeft(dataDir: string): string[] {
  const dir = path.join(dataDir, 'uploads');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Polls `check` until it returns true, for at most `ms`; the last answer is returned either way. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export { shown };

// Sharing and spaces (sharing.test.ts) ------------------------------------------------------------------------

export const docRow = (id: string) => `tr[data-doc-row][data-doc-id="${id}"]`;

/** Chooses a place in the switcher above the list: 'all', 'mine', 'shared' or 'space:<id>'. */
export async function choosePlace(page: Page, place: string): Promise<void> {
  await page.selectOption('[data-docs-place-select]', place);
  await page.waitForSelector(`[data-docs-place][data-place="${place}"]`, { state: 'attached' });
}

/** Uploads small text files from the page's file picker; returns each one's document ID. */
export async function uploadTexts(page: Page, files: Record<string, string>): Promise<Map<string, string>> {
  await page.setInputFiles(
    '[data-upload-input]',
    Object.entries(files).map(([name, text]) => ({ name, mimeType: 'text/plain', buffer: Buffer.from(text) })),
  );
  return waitForUploads(page, Object.keys(files));
}

/** Opens a document's panel and returns the text of its preview. */
export async function previewText(page: Page, id: string): Promise<string> {
  await openPanel(page, id);
  await page.waitForSelector('dialog[data-doc-panel] [data-doc-preview-text]');
  return (await page.textContent('dialog[data-doc-panel] [data-doc-preview-text]')) ?? '';
}

/** The status of a request for a document's blob, made from the page (with its session). */
export const blobStatus = (page: Page, id: string) =>
  page.evaluate(async (docId) => (await fetch(`/api/documents/${docId}/blob`, { credentials: 'same-origin' })).status, id);
