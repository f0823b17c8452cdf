import { Router } from 'express';
import { z } from 'zod';
import type { Services } from '../app.js';
import { csrf } from '../middleware/csrf.js';
import { markAuthenticated } from '../middleware/session.js';
import { finishSchema, type RegistrationSession } from '../services/registration.js';
import { noStore, origin, parse } from './helpers.js';

declare module 'express-session' {
  interface SessionData {
    /** an opened invitation: its ID and this session's own authenticator secret (wrapped), until finish */
    registration?: RegistrationSession;
  }
}

const tokenSchema = z.object({ token: z.string().min(1).max(200) });
const checkSchema = z.object({ token: z.string().min(1).max(200), username: z.string().max(64) });

/** Registration by invitation (flows.md "Registration"). The token travels in the link's fragment. */
export function registerRoutes(services: Services): Router {
  const { registration } = services;
  const router = Router();

  router.get('/register', (req, res) => {
    // rendered as a logged-out page even for a logged-in visitor, who is offered to log out first
    res.render('pages/auth/register', { title: 'Join Heirloom', page: 'register', user: null, signedInAs: req.user?.username ?? null });
  });
  // the one-time link printed on first start is an ordinary admin invitation
  router.get('/setup', (_req, res) => res.redirect('/register'));

  // The authenticator secret lives in the session that opened the invitation, not with the invitation, so
  // somebody else holding the link cannot learn the invitee's second factor (issue 8, item 5).
  router.post('/api/register/start', noStore, async (req, res) => {
    const { token } = parse(tokenSchema, req.body);
    const { started, kept } = await registration.start(token, req.session.registration);
    req.session.registration = kept;
    res.json(started);
  });

  router.post('/api/register/check-username', noStore, async (req, res) => {
    const { token, username } = parse(checkSchema, req.body);
    res.json(await registration.checkUsername(token, username));
  });

  router.post('/api/register/totp', noStore, async (req, res) => {
    const { token, username } = parse(checkSchema, req.body);
    res.json(await registration.authenticator(token, username, req.session.registration));
  });

  router.post('/api/register/finish', noStore, async (req, res) => {
    const input = parse(finishSchema, req.body);
    const user = await registration.finish(input, req.session.registration, origin(req));
    await new Promise<void>((resolve, reject) => req.login(user, (err) => (err ? reject(err) : resolve())));
    markAuthenticated(req);
    res.status(201).json({ user, csrfToken: csrf.renew(req) });
  });

  return router;
}
