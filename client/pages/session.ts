/** What every page does when the server says the session is gone: forget the keys, go to the login page. */
import { wipeKeys } from './keystore.js';

const NO_REDIRECT_PAGES = new Set(['login', 'register']);

export function loginUrlForHere(): string {
  const here = location.pathname + location.search;
  return here === '/' ? '/login' : `/login?next=${encodeURIComponent(here)}`;
}

export function onUnauthenticated(): void {
  wipeKeys();
  if (NO_REDIRECT_PAGES.has(document.body.dataset.page ?? '')) return;
  location.assign(loginUrlForHere());
}
