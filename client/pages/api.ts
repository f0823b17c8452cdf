/**
 * JSON calls to the Heirloom API (docs/api.md). Adds the CSRF header, picks up a fresh `csrfToken` whenever
 * a response carries one (login steps, registration, password change rotate it), and turns every failure into
 * an ApiError with a sentence a person can read.
 */
import { onUnauthenticated } from './session.js';

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function csrfToken(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
}

/** Puts a new token everywhere the page keeps one: the meta tag, htmx's headers, plain forms' `_csrf`. */
export function setCsrfToken(token: string): void {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]');
  if (meta) meta.content = token;
  document.body.setAttribute('hx-headers', JSON.stringify({ 'X-CSRF-Token': token }));
  for (const input of document.querySelectorAll<HTMLInputElement>('input[name="_csrf"]')) input.value = token;
}

const FALLBACK: Record<number, string> = {
  400: 'Something in that request was not accepted. Please check and try again.',
  401: 'Please log in again.',
  403: 'This page is out of date. Reload it and try again.',
  404: 'That was not found.',
  409: 'That conflicts with something that already exists.',
  410: 'That is no longer available.',
  413: 'That is too large.',
  429: 'Too many attempts. Please wait a little and try again.',
};

function fallbackMessage(status: number): string {
  return FALLBACK[status] ?? 'The server had a problem. Please try again in a moment.';
}

/** The ApiError of a failed answer: the server's own code and sentence when its JSON body has them. */
export function apiErrorOf(status: number, body: unknown): ApiError {
  const obj = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const code = typeof obj.error === 'string' ? obj.error : `http_${status}`;
  const message = typeof obj.message === 'string' && obj.message ? obj.message : fallbackMessage(status);
  return new ApiError(status, code, message);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrfToken();

  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', "Can't reach the Heirloom server. Check your connection and try again.");
  }

  let data: unknown = null;
  const type = res.headers.get('Content-Type') ?? '';
  if (type.includes('application/json')) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  const obj = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
  if (typeof obj.csrfToken === 'string' && obj.csrfToken) setCsrfToken(obj.csrfToken);

  if (!res.ok) {
    const err = apiErrorOf(res.status, data);
    if (res.status === 401 && err.code === 'unauthenticated') onUnauthenticated();
    throw err;
  }
  if (data === null) {
    throw new ApiError(res.status, 'unexpected', 'The server answered in an unexpected way. Please reload the page.');
  }
  return data as T;
}

/** A sentence for any error thrown while talking to the server or running the crypto. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error && err.message) return err.message;
  return 'Something went wrong. Please try again.';
}
