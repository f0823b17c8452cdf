import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../config.js';
import { csrf } from './csrf.js';

/** What every page template can use (views/layouts/top.ejs). */
export function pageLocals(config: Config) {
  return (req: Request, res: Response, next: NextFunction) => {
    res.locals.user = req.user ?? null;
    res.locals.idleMinutes = config.sessionIdleMinutes;
    res.locals.baseUrl = config.baseUrl;
    res.locals.title = 'Heirloom';
    res.locals.page = '';
    // JSON inside <script type="application/json">: never executed, and "<" is escaped so no tag can close it
    res.locals.jsonScript = (value: unknown) =>
      JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
    // made lazily, when a page renders it; a visitor without a session gets the anonymous token, which sets
    // its cookie but writes no session row (middleware/csrf.ts)
    Object.defineProperty(res.locals, 'csrfToken', { get: () => csrf.token(req), enumerable: true });
    next();
  };
}
