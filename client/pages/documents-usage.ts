/** The storage bar ("X of Y used", views/partials/documents/usage.ejs), refreshed after every change. */
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
