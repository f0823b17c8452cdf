import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import { Unauthenticated } from '../errors.js';
import type { Origin } from '../services/audit.js';

export function origin(req: Request): Origin {
  return { ip: req.ip ?? null, userAgent: req.get('user-agent')?.slice(0, 256) ?? null };
}

/** Parses a body with a zod schema; the error middleware turns a failure into a 400 naming the field. */
export function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  return schema.parse(body ?? {});
}

/** Pages: send people who are not logged in to the login page, and back afterwards. */
export function requireUserPage(req: Request, res: Response, next: NextFunction) {
  if (req.user) return next();
  res.redirect(`/login?next=${encodeURIComponent(req.originalUrl)}`);
}

/** API and htmx: a 401 the client turns into "log in again". */
export function requireUser(req: Request, _res: Response, next: NextFunction) {
  if (req.user) return next();
  next(new Unauthenticated('Your session has ended. Please log in again.'));
}

export function currentUser(req: Request): Express.User {
  if (!req.user) throw new Unauthenticated();
  return req.user;
}

/** Sensitive answers are never cached (ASVS 14.3.2). */
export function noStore(_req: Request, res: Response, next: NextFunction) {
  res.set('Cache-Control', 'no-store');
  next();
}
