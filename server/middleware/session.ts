import type { NextFunction, Request, Response } from 'express';

declare module 'express-session' {
  interface SessionData {
    meta?: { createdAt: number; authAt?: number; ip?: string; userAgent?: string };
    /** password step passed, code step pending (flows.md "Login") */
    pending?: { userId: string; failures: number; startedAt: number };
  }
}

/** Ends a logged-in session that is older than the absolute limit, whatever its activity (ASVS 7.3.2). */
export function absoluteTimeout(maxMs: number) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const authAt = req.session?.meta?.authAt;
    if (authAt && Date.now() - authAt > maxMs) {
      req.session.regenerate((err) => next(err));
      return;
    }
    next();
  };
}

/** Keeps where a logged-in session was last used from, for the list in settings. */
export function sessionMeta() {
  return (req: Request, _res: Response, next: NextFunction) => {
    const meta = req.session?.meta;
    if (meta) {
      const ip = req.ip;
      const userAgent = req.get('user-agent')?.slice(0, 256);
      if (meta.ip !== ip || meta.userAgent !== userAgent) Object.assign(meta, { ip, userAgent });
    }
    next();
  };
}

/** Called right after an authentication step that created a new session ID. */
export function markAuthenticated(req: Request): void {
  const now = Date.now();
  req.session.meta = { createdAt: now, authAt: now, ip: req.ip, userAgent: req.get('user-agent')?.slice(0, 256) };
}

/** Regenerates the session (new ID) and resolves once done: used after every authentication step. */
export function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
}
