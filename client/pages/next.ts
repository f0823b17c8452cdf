/**
 * Where to go after logging in: the `?next=` of the login page, kept on this site. Every page that follows a
 * `next` goes through safeNext(); nothing navigates to the raw value (issue 8, item 3).
 */

/** A path the browser would read as "another host" (`//host`, `/\host`), however it is written. */
const OTHER_HOST = /^[/\\]{2}/;

function leadsElsewhere(path: string): boolean {
  // Decode a few times: `/%2F/x` is harmless to the browser itself, but a proxy or a server redirect on the way
  // may decode it once more, so refuse anything that could turn into `//` or `/\` when it is.
  let current = path;
  for (let round = 0; round < 3; round++) {
    if (OTHER_HOST.test(current)) return true;
    let decoded: string;
    try {
      decoded = decodeURIComponent(current);
    } catch {
      return true; // broken escapes: not a link anyone meant to follow
    }
    if (decoded === current) return false;
    current = decoded;
  }
  return OTHER_HOST.test(current) || current.includes('%');
}

/**
 * The same-origin path (with its query and fragment) that `raw` points to, or `/`. The URL parser resolves
 * dot segments and backslashes first (`/.//evil.example`, `/a/..//x`, `/%2e%2e//x` and `/.\/x` all become
 * `//…`), so the check runs on what the browser would really request, not on the text as given.
 */
export function safeNext(raw: string | null, origin: string = location.origin): string {
  if (!raw || !raw.startsWith('/')) return '/';
  let url: URL;
  try {
    url = new URL(raw, origin);
  } catch {
    return '/';
  }
  if (url.origin !== origin) return '/';
  if (leadsElsewhere(url.pathname)) return '/';
  if (url.pathname === '/login' || url.pathname === '/register') return '/';
  return url.pathname + url.search + url.hash;
}
