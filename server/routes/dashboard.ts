import { Router } from 'express';
import type { Services } from '../app.js';
import { currentUser, noStore, requireUserPage } from './helpers.js';

export function dashboardRoutes(services: Services): Router {
  const router = Router();
  router.get('/', requireUserPage, noStore, async (req, res) => {
    const usage = await services.documents.usage(currentUser(req).id);
    res.render('pages/dashboard/index', { title: 'Your vault — Heirloom', page: 'dashboard', usage });
  });
  return router;
}
