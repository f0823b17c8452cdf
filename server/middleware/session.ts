import type { NextFunction, Request, Response } from 'express';

declare module 'express-session' {
  interface SessionData {
    /** authAt: when the password behind this login was checked; compared with the user's password_changed_at */
    meta?: { createdAt: number; authAt?: number; ip?: string; userAgent?: string };
    /** password step passed (at startedAt), code step pending (flows.md "Login") */
    pending?: { userId: string; failures: number; startedAt: number };
  }
}

/** The session cookie's name (docs/format.md: the session cookie). */
export const SESSION_COOKIE = 'heirloom.sid';

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

/**
 * A session that was logged in but whose user passport no longer accepts (the password changed after this
 * login, the account was disabled or deleted) is dropped: its row goes and it continues as a fresh visitor.
 * Runs after passport's session middleware, which leaves req.user unset for such a session.
 */
export function dropRefusedLogin() {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (req.session?.meta?.authAt && !req.user) {
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

/**
 * Called right after an authentication step that created a new session ID. `authAt` is when the password was
 * checked (the password step's start for a login), so a password change that happened while the login was
 * under way still ends it.
 */
export function markAuthenticated(req: Request, authAt = Date.now()): void {
  req.session.meta = { createdAt: Date.now(), authAt, ip: req.ip, userAgent: req.get('user-agent')?.slice(0, 256) };
}

/** Called when the password step passed: where the half-done login comes from, for the list in settings. */
export function markPending(req: Request, userId: string, startedAt: number): void {
  req.session.pending = { userId, failures: 0, startedAt };
  req.session.meta = { createdAt: Date.now(), ip: req.ip, userAgent: req.get('user-agent')?.slice(0, 256) };
}

/** Regenerates the session (new ID) and resolves once done: used after every authentication step. */
export function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
}

export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
}
