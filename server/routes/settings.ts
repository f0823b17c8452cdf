import { Router, type Request, type Response } from 'express';
import type { Services } from '../app.js';
import { csrf } from '../middleware/csrf.js';
import { markAuthenticated } from '../middleware/session.js';
import { changePasswordSchema } from '../services/accounts.js';
import { currentUser, noStore, origin, parse, requireUser, requireUserPage } from './helpers.js';

export function settingsRoutes(services: Services): Router {
  const { accounts, sessions, audit } = services;
  const router = Router();

  const renderSessions = async (req: Request, res: Response) => {
    res.render('partials/settings/sessions', { sessions: await sessions.list(currentUser(req).id, req.sessionID) });
  };

  router.get('/settings', requireUserPage, noStore, async (req, res) => {
    const user = currentUser(req);
    res.render('pages/settings/index', {
      title: 'Settings — Heirloom',
      page: 'settings',
      sessions: await sessions.list(user.id, req.sessionID),
      events: await audit.forUser(user.id),
    });
  });

  router.get('/settings/sessions', requireUser, noStore, renderSessions);

  router.post('/settings/sessions/:id/end', requireUser, noStore, async (req, res) => {
    await sessions.end(currentUser(req).id, String(req.params.id).slice(0, 64), origin(req));
    await renderSessions(req, res);
  });

  router.post('/api/account/password', requireUser, noStore, async (req, res) => {
    const input = parse(changePasswordSchema, req.body);
    const user = currentUser(req);
    await accounts.changePassword(user.id, req.sessionID, input, origin(req));
    // a new session ID for this tab too: whoever held the old one is out
    await new Promise<void>((resolve, reject) => req.login(user, (err) => (err ? reject(err) : resolve())));
    markAuthenticated(req);
    res.json({ ok: true, csrfToken: csrf.renew(req) });
  });

  return router;
}
