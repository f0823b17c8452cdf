/**
 * Browser entry point (bundled to /assets/app.js). Reads <body data-page>, runs the lock logic on logged-in
 * pages, loads that page's controller from client/pages/, and re-applies what swapped-in HTML needs after
 * every htmx swap. No inline scripts anywhere: the CSP allows only 'self'.
 */
import { setMessage } from './pages/dom.js';
import { initVault } from './pages/lock.js';
import { onUnauthenticated } from './pages/session.js';
import { localizeTimes } from './pages/times.js';

interface PageController {
  init(): void | Promise<void>;
  afterSwap?(root: Element): void;
}

const controllers: Record<string, () => Promise<PageController>> = {
  login: () => import('./pages/login.js'),
  register: () => import('./pages/register.js'),
  dashboard: () => import('./pages/dashboard.js'),
  settings: () => import('./pages/settings.js'),
  documents: () => import('./pages/documents.js'),
  family: () => import('./pages/family.js'),
  spaces: () => import('./pages/spaces.js'),
};

function flash(message: string): void {
  const el = document.querySelector<HTMLElement>('[data-flash]');
  if (!el) return;
  setMessage(el, message);
  window.setTimeout(() => setMessage(el, null), 8000);
}

/** The text of an htmx error answer: `{message}` JSON, or the page's own error sentence, or a fallback. */
function htmxErrorMessage(xhr: XMLHttpRequest): string {
  try {
    const body = JSON.parse(xhr.responseText) as { message?: unknown };
    if (typeof body.message === 'string' && body.message) return body.message;
  } catch {
    const doc = new DOMParser().parseFromString(xhr.responseText, 'text/html');
    const text = doc.querySelector('[data-error-message], .form-error')?.textContent?.trim();
    if (text) return text;
  }
  if (xhr.status === 403) return 'This page is out of date. Reload it and try again.';
  if (xhr.status === 429) return 'Too many attempts. Please wait a little and try again.';
  return 'That did not work. Please reload the page and try again.';
}

function wireHtmx(controller: PageController | null): void {
  document.body.addEventListener('htmx:afterSettle', (event) => {
    const target = event.target instanceof Element ? event.target : document.body;
    localizeTimes(target);
    controller?.afterSwap?.(target);
  });
  document.body.addEventListener('htmx:responseError', (event) => {
    const xhr = (event as CustomEvent<{ xhr: XMLHttpRequest }>).detail.xhr;
    if (xhr.status === 401) {
      onUnauthenticated();
      return;
    }
    flash(htmxErrorMessage(xhr));
  });
  document.body.addEventListener('htmx:sendError', () => {
    flash("Can't reach the Heirloom server. Check your connection and try again.");
  });
}

async function boot(): Promise<void> {
  const page = document.body.dataset.page ?? '';
  initVault();
  localizeTimes();
  let controller: PageController | null = null;
  const load = controllers[page];
  if (load) {
    controller = await load();
    await controller.init();
  }
  wireHtmx(controller);
}

boot().catch((err: unknown) => {
  console.error(err);
  flash('This page did not load completely. Please reload it.');
});
