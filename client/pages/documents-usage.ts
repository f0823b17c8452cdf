/**
 * The storage bar ("X of Y used", views/partials/documents/usage.ejs), refreshed after every change. While
 * many uploads finish, the page adds them up itself and asks the server at most once a second: asking after
 * each of a thousand files was a request per file.
 */
import { api } from './api.js';
import { $, $$ } from './dom.js';
import { formatBytes, plural } from './documents-format.js';
import type { Usage } from './documents-model.js';

export function renderUsage(usage: Usage): void {
  for (const el of $$('[data-usage]')) {
    el.dataset.usageUsed = String(usage.used);
    el.dataset.usageQuota = String(usage.quota);
    el.dataset.usageDocuments = String(usage.documents);
    const bar = $<HTMLProgressElement>('[data-usage-bar]', el);
    bar.max = Math.max(1, usage.quota);
    bar.value = Math.min(usage.used, bar.max);
    const share = usage.quota > 0 ? usage.used / usage.quota : 0;
    el.dataset.usageLevel = share >= 0.95 ? 'full' : share >= 0.8 ? 'high' : 'ok';
    $('[data-usage-text]', el).textContent = `${formatBytes(usage.used)} of ${formatBytes(usage.quota)} used`;
    $('[data-usage-count]', el).textContent = plural(usage.documents, 'document', 'documents');
  }
}

/** GET /api/usage and show it; a failure here is not worth an alert (the bar simply stays as it was). */
export async function refreshUsage(): Promise<void> {
  try {
    renderUsage(await api<Usage>('GET', '/api/usage'));
  } catch {
    // the next change tries again
  }
}

const REFRESH_EVERY_MS = 1000;
const DRAW_EVERY_MS = 250;
let lastRefresh = 0;
let refreshTimer = 0;
let local: Usage | null = null;
let drawFrame = 0;

/** Counts a change the page knows of at once (drawn in the next frame), and asks the server soon. */
export function adjustUsage(bytes: number, documents: number): void {
  const el = document.querySelector<HTMLElement>('[data-usage]');
  if (!el) return;
  local ??= {
    used: Number(el.dataset.usageUsed) || 0,
    quota: Number(el.dataset.usageQuota) || 0,
    documents: Number(el.dataset.usageDocuments) || 0,
  };
  local.used += bytes;
  local.documents += documents;
  // drawn a few times a second at most: a bar redrawn for every file of a large drop costs a repaint each
  drawFrame ||= window.setTimeout(() => {
    requestAnimationFrame(() => {
      drawFrame = 0;
      if (local) renderUsage(local);
      local = null;
    });
  }, DRAW_EVERY_MS);
  refreshUsageSoon();
}

/** GET /api/usage now if the last time was a second ago, else once that second is up. */
export function refreshUsageSoon(): void {
  if (refreshTimer) return;
  const wait = Math.max(0, lastRefresh + REFRESH_EVERY_MS - performance.now());
  refreshTimer = window.setTimeout(() => {
    refreshTimer = 0;
    lastRefresh = performance.now();
    void refreshUsage();
  }, wait);
}
