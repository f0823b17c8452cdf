import { Router } from 'express';
import { requireUserPage } from './helpers.js';

export function dashboardRoutes(): Router {
  const router = Router();
  router.get('/', requireUserPage, (_req, res) => {
    res.render('pages/dashboard/index', { title: 'Your vault — Heirloom', page: 'dashboard' });
  });
  return router;
}
