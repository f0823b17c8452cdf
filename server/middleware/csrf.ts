import type { Request } from 'express';
import { csrfSync } from 'csrf-sync';

/**
 * Synchronizer-token CSRF protection (ASVS 3.5.1) for every state-changing request: JSON and htmx requests
 * send the token in X-CSRF-Token, plain forms in the field _csrf. The token lives in the server session.
 */
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

export const csrf = {
  protect: sync.csrfSynchronisedProtection,
  /** The session's token, made when missing. */
  token: (req: Request): string => sync.generateToken(req),
  /** A new token, for after the session ID changed. */
  renew: (req: Request): string => sync.generateToken(req, true),
  isError: (err: unknown): boolean => err === sync.invalidCsrfTokenError,
};
