import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { csrfSync } from 'csrf-sync';
import { isStored } from '../auth/sessionStore.js';
import { Unauthenticated } from '../errors.js';
import { SESSION_COOKIE } from './session.js';

/**
 * CSRF protection (ASVS 3.5.1) for every state-changing request: JSON and htmx requests send the token in
 * X-CSRF-Token, plain forms in the field _csrf.
 *
 * A session's token is a synchronizer token kept in the server session. A visitor without one (the login
 * and registration pages, an error page) gets a token that needs no server state, so an anonymous page view
 * never writes a session row: a random value in its own HttpOnly cookie, and as token the HMAC of that value
 * under the server's CSRF key. Another site can neither read the cookie nor compute the HMAC.
 */

/** The anonymous visitor's random value (docs/api.md "CSRF tokens and sessions"). */
export const ANON_CSRF_COOKIE = 'heirloom.csrf';
const SEED_BYTES = 32;
const SEED_FORMAT = /^[A-Za-z0-9_-]{43}$/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const sync = csrfSync({
  getTokenFromRequest: (req: Request) => {
    const header = req.headers['x-csrf-token'];
    if (typeof header === 'string') return header;
    const body = req.body as { _csrf?: unknown } | undefined;
    return typeof body?._csrf === 'string' ? body._csrf : undefined;
  },
  errorConfig: {
    statusCode: 403,
    code: 'csrf',
    message: 'This page has expired. Reload it and try again.',
  },
});

/** Per request: hands out the anonymous token, setting the cookie the first time one is needed. */
const anonymousToken = new WeakMap<Request, () => string>();

function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Checks every unsafe request's token; `key` is the server's CSRF subkey (serverCrypto.csrfKey()). */
export function csrfProtection(key: Uint8Array) {
  const tokenOf = (seed: string) => createHmac('sha256', key).update(`heirloom/v1/anon-csrf/${seed}`).digest('base64url');
  const seedOf = (req: Request) => {
    const seed = cookieValue(req, ANON_CSRF_COOKIE);
    return seed && SEED_FORMAT.test(seed) ? seed : undefined;
  };

  return (req: Request, res: Response, next: NextFunction) => {
    let issued: string | undefined;
    anonymousToken.set(req, () => {
      if (issued) return issued;
      let seed = seedOf(req);
      if (!seed) {
        seed = randomBytes(SEED_BYTES).toString('base64url');
        // no Max-Age: it lives as long as the browser session, like the page that carries its token
        res.cookie(ANON_CSRF_COOKIE, seed, { httpOnly: true, sameSite: 'lax', secure: req.secure, path: '/' });
      }
      issued = tokenOf(seed);
      return issued;
    });
    if (SAFE_METHODS.has(req.method)) return next();

    const sent = sync.getTokenFromRequest(req);
    const own = req.session?.csrfToken;
    let valid = false;
    if (typeof sent === 'string') {
      if (typeof own === 'string') {
        // once a session has its own token, only that one counts
        valid = sameText(sent, own);
      } else {
        const seed = seedOf(req);
        valid = seed !== undefined && sameText(sent, tokenOf(seed));
      }
    }
    if (valid) return next();
    // The cookie names a session that is gone (ended, expired, or its password changed): the token the client
    // holds was that session's. Saying so lets it send the person to log in again instead of "reload".
    // The dead cookie is cleared, so the next page or call starts as a plain visitor.
    if (cookieValue(req, SESSION_COOKIE) !== undefined && !(req.session && isStored(req.session))) {
      res.clearCookie(SESSION_COOKIE);
      return next(new Unauthenticated('Your session has ended. Please log in again.'));
    }
    next(sync.invalidCsrfTokenError);
  };
}

export const csrf = {
  /**
   * The token a page or answer should carry: the session's own when it has one (made for a logged-in
   * session that lacks it), otherwise the anonymous one, which writes no session.
   */
  token: (req: Request): string => {
    const own = req.session?.csrfToken;
    if (typeof own === 'string') return own;
    if (req.user) return sync.generateToken(req);
    const anonymous = anonymousToken.get(req);
    if (!anonymous) throw new Error('csrfProtection() must run before a CSRF token is handed out.');
    return anonymous();
  },
  /** A new session token, for after the session ID changed (each login step, registration, password change). */
  renew: (req: Request): string => sync.generateToken(req, true),
  isError: (err: unknown): boolean => err === sync.invalidCsrfTokenError,
};
