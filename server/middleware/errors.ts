import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { AppError, NotFound } from '../errors.js';
import { csrf } from './csrf.js';

export function notFound(_req: Request, _res: Response, next: NextFunction) {
  next(new NotFound('There is no page at this address.'));
}

/**
 * Everything under /api answers JSON, whatever the request accepts (a CSRF refusal too). Routing ignores
 * case, so /API/documents reaches the API: this test must too.
 */
const API_PATH = /^\/api(\/|$)/i;

function wantsJson(req: Request): boolean {
  return API_PATH.test(req.path) || (req.accepts(['html', 'json']) === 'json' && !req.get('hx-request'));
}

/** Turns whatever was thrown into an AppError with a sentence for a person. Unknown errors become 500. */
function toAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  if (csrf.isError(err)) return new AppError(403, 'csrf', 'This page has expired. Reload it and try again.');
  if (err instanceof ZodError) {
    const issue = err.issues[0];
    const field = issue?.path.join('.') || 'request';
    return new AppError(400, 'validation', `The field “${field}” is missing or not valid.`);
  }
  const e = err as { type?: string; status?: number; statusCode?: number };
  if (e?.type === 'entity.parse.failed') return new AppError(400, 'validation', 'The request body is not valid JSON.');
  if (e?.type === 'entity.too.large') return new AppError(413, 'too_large', 'The request is too large.');
  const status = e?.status ?? e?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new AppError(status, 'bad_request', 'The request could not be understood.');
  }
  return null;
}

/**
 * The one place errors become HTTP responses (conventions.md "Errors"): JSON for API calls, a fragment for
 * htmx, the error page for browsers. No stack traces or internals ever leave the server.
 */
export function errorHandler(logger: Logger) {
  // express recognises error middleware by its four parameters
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let appErr = toAppError(err);
    if (!appErr) {
      logger.error({ err, method: req.method, path: req.path }, 'unexpected error');
      appErr = new AppError(500, 'internal', 'Something went wrong on the server. Please try again; if it keeps happening, tell your family’s admin.');
    }
    if (res.headersSent) return;
    res.status(appErr.status).set(appErr.headers).set('Cache-Control', 'no-store');
    if (wantsJson(req)) {
      res.json({ ...appErr.details, error: appErr.code, message: appErr.message });
    } else if (req.get('hx-request')) {
      res.render('partials/error', { message: appErr.message, status: appErr.status });
    } else {
      res.render('pages/error', { title: 'Heirloom', page: 'error', status: appErr.status, message: appErr.message });
    }
  };
}
