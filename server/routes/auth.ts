import { Router, type NextFunction, type Request, type Response } from 'express';
import type { PassportStatic } from 'passport';
import { z } from 'zod';
import type { Services } from '../app.js';
import { LoginFailed } from '../errors.js';
import { csrf } from '../middleware/csrf.js';
import { markAuthenticated, markPending, regenerate, saveSession } from '../middleware/session.js';
import { MAX_TOTP_FAILURES } from '../services/accounts.js';
import { noStore, origin, parse } from './helpers.js';

declare module 'express-session' {
  interface SessionData {
    /** after an admin's reset-mfa: the new authenticator secret (wrapped) offered at this login */
    totpEnroll?: string;
  }
}

const preloginSchema = z.object({ username: z.string().min(1).max(64) });
const passwordSchema = z.object({ username: z.string().min(1).max(64), authKey: z.string().min(1).max(200) });
const totpSchema = z.object({ code: z.string().min(1).max(20) });

function loginUser(req: Request, user: Express.User): Promise<void> {
  // passport ≥ 0.6 regenerates the session here: the ID changes a second time (ASVS 7.2.4)
  return new Promise((resolve, reject) => req.login(user, (err) => (err ? reject(err) : resolve())));
}

export function authRoutes(services: Services, passport: PassportStatic['Authenticator']['prototype']): Router {
  const { accounts, audit, sessions } = services;
  const router = Router();

  router.get('/login', (req, res) => {
    if (req.user) return res.redirect('/');
    res.render('pages/auth/login', { title: 'Log in — Heirloom', page: 'login' });
  });

  /** A client's first CSRF token (docs/api.md "CSRF tokens and sessions"); for a visitor it comes with its cookie. */
  router.get('/api/auth/csrf', noStore, (req, res) => {
    res.json({ csrfToken: csrf.token(req) });
  });

  router.post('/api/auth/prelogin', noStore, async (req, res) => {
    const { username } = parse(preloginSchema, req.body);
    res.json({ kdf: await accounts.prelogin(username, origin(req)) });
  });

  router.post('/api/auth/password', noStore, (req: Request, res: Response, next: NextFunction) => {
    parse(passwordSchema, req.body);
    // taken before the password is checked: a password change that lands while this request runs is later
    // than the start, so the code step (and the session it makes) will not count (security.md "Sessions")
    const startedAt = Date.now();
    passport.authenticate('authkey', { session: false }, (err: unknown, user: Express.User | false) => {
      if (err) return next(err);
      if (!user) return next(new LoginFailed());
      (async () => {
        await regenerate(req);
        markPending(req, user.id, startedAt);
        const enrolment = await accounts.startTotpEnrolment(user.id);
        if (enrolment) req.session.totpEnroll = enrolment.wrapped;
        const csrfToken = csrf.renew(req);
        await saveSession(req);
        res.json(enrolment ? { next: 'enroll-totp', totp: enrolment.totp, csrfToken } : { next: 'totp', csrfToken });
      })().catch(next);
    })(req, res, next);
  });

  /** The half-done login of this session, or a clear "start again" (too old, or the password changed since). */
  const pendingLogin = async (req: Request) => {
    const pending = req.session.pending;
    if (!pending || !(await sessions.pendingLoginValid(pending))) {
      delete req.session.pending;
      delete req.session.totpEnroll;
      throw new LoginFailed('Your login has expired. Please start again with your password.', 'login_expired');
    }
    return pending;
  };

  /** Both steps passed: log in (a new session ID) and hand out the wrapped keys. */
  const completeLogin = async (req: Request, res: Response, startedAt: number, row: { id: string; username: string; is_admin: number | boolean }) => {
    const user = { id: row.id, username: row.username, isAdmin: Boolean(row.is_admin) };
    await loginUser(req, user);
    // the password was checked when the login started, not now
    markAuthenticated(req, startedAt);
    const csrfToken = csrf.renew(req);
    await accounts.recordLoginSuccess(user.id, origin(req));
    res.json({ user, keys: await accounts.vaultKeys(user.id), csrfToken });
  };

  /** A wrong code: counted, and after MAX_TOTP_FAILURES the half-done login is dropped. */
  const codeFailed = async (req: Request, pending: { userId: string; failures: number }, err: unknown) => {
    if (!(err instanceof LoginFailed) || err.code === 'login_expired') return err;
    pending.failures += 1;
    if (pending.failures >= MAX_TOTP_FAILURES) {
      delete req.session.pending;
      delete req.session.totpEnroll;
      await audit.record('login_expired', pending.userId, origin(req));
      return new LoginFailed('Too many wrong codes. Please start again with your password.', 'login_expired');
    }
    return err;
  };

  router.post('/api/auth/totp', noStore, async (req, res) => {
    const { code } = parse(totpSchema, req.body);
    const pending = await pendingLogin(req);
    try {
      await completeLogin(req, res, pending.startedAt, await accounts.checkTotp(pending.userId, code, origin(req)));
    } catch (err) {
      throw await codeFailed(req, pending, err);
    }
  });

  /** After an admin's reset-mfa: the first code from the new authenticator stores it and logs in. */
  router.post('/api/auth/totp-enroll', noStore, async (req, res) => {
    const { code } = parse(totpSchema, req.body);
    const pending = await pendingLogin(req);
    const wrapped = req.session.totpEnroll;
    if (!wrapped) throw new LoginFailed('Your login has expired. Please start again with your password.', 'login_expired');
    try {
      await completeLogin(req, res, pending.startedAt, await accounts.enrollTotp(pending.userId, wrapped, code, origin(req)));
    } catch (err) {
      throw await codeFailed(req, pending, err);
    }
  });

  router.post('/logout', async (req, res) => {
    const userId = req.user?.id;
    await new Promise<void>((resolve, reject) => req.logout((err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
    if (userId) await audit.record('logout', userId, origin(req));
    res.clearCookie('heirloom.sid');
    if (req.get('hx-request')) return res.set('HX-Redirect', '/login').status(204).end();
    res.redirect(303, '/login');
  });

  return router;
}
