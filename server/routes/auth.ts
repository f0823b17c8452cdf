import { Router, type NextFunction, type Request, type Response } from 'express';
import type { PassportStatic } from 'passport';
import { z } from 'zod';
import type { Services } from '../app.js';
import { LoginFailed } from '../errors.js';
import { csrf } from '../middleware/csrf.js';
import { markAuthenticated, regenerate, saveSession } from '../middleware/session.js';
import { MAX_TOTP_FAILURES } from '../services/accounts.js';
import { noStore, origin, parse } from './helpers.js';

const preloginSchema = z.object({ username: z.string().min(1).max(64) });
const passwordSchema = z.object({ username: z.string().min(1).max(64), authKey: z.string().min(1).max(200) });
const totpSchema = z.object({ code: z.string().min(1).max(20) });

/** A login whose password step passed but whose code step did not follow in time is dropped. */
const PENDING_MS = 5 * 60_000;

function loginUser(req: Request, user: Express.User): Promise<void> {
  // passport ≥ 0.6 regenerates the session here: the ID changes a second time (ASVS 7.2.4)
  return new Promise((resolve, reject) => req.login(user, (err) => (err ? reject(err) : resolve())));
}

export function authRoutes(services: Services, passport: PassportStatic['Authenticator']['prototype']): Router {
  const { accounts, audit } = services;
  const router = Router();

  router.get('/login', (req, res) => {
    if (req.user) return res.redirect('/');
    res.render('pages/auth/login', { title: 'Log in — Heirloom', page: 'login' });
  });

  router.post('/api/auth/prelogin', noStore, async (req, res) => {
    const { username } = parse(preloginSchema, req.body);
    res.json({ kdf: await accounts.prelogin(username, origin(req)) });
  });

  router.post('/api/auth/password', noStore, (req: Request, res: Response, next: NextFunction) => {
    parse(passwordSchema, req.body);
    passport.authenticate('authkey', { session: false }, (err: unknown, user: Express.User | false) => {
      if (err) return next(err);
      if (!user) return next(new LoginFailed());
      (async () => {
        await regenerate(req);
        req.session.pending = { userId: user.id, failures: 0, startedAt: Date.now() };
        const csrfToken = csrf.renew(req);
        await saveSession(req);
        res.json({ next: 'totp', csrfToken });
      })().catch(next);
    })(req, res, next);
  });

  router.post('/api/auth/totp', noStore, async (req, res) => {
    const { code } = parse(totpSchema, req.body);
    const pending = req.session.pending;
    if (!pending || Date.now() - pending.startedAt > PENDING_MS) {
      delete req.session.pending;
      throw new LoginFailed('Your login has expired. Please start again with your password.', 'login_expired');
    }
    try {
      const row = await accounts.checkTotp(pending.userId, code, origin(req));
      const user = { id: row.id, username: row.username, isAdmin: Boolean(row.is_admin) };
      await loginUser(req, user);
      markAuthenticated(req);
      const csrfToken = csrf.renew(req);
      await accounts.recordLoginSuccess(user.id, origin(req));
      res.json({ user, keys: await accounts.vaultKeys(user.id), csrfToken });
    } catch (err) {
      if (!(err instanceof LoginFailed)) throw err;
      pending.failures += 1;
      if (pending.failures >= MAX_TOTP_FAILURES) {
        delete req.session.pending;
        await audit.record('login_expired', pending.userId, origin(req));
        throw new LoginFailed('Too many wrong codes. Please start again with your password.', 'login_expired');
      }
      throw err;
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
