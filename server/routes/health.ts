import { Router } from 'express';
import type { Db } from '../db/connection.js';

/** GET /healthz: 200 when the database answers (used by Docker's HEALTHCHECK). */
export function healthRoutes(db: Db): Router {
  const router = Router();
  router.get('/healthz', async (_req, res) => {
    try {
      await db.raw('select 1');
      res.set('Cache-Control', 'no-store').json({ status: 'ok' });
    } catch {
      res.status(503).set('Cache-Control', 'no-store').json({ status: 'unavailable', message: 'The database does not answer.' });
    }
  });
  return router;
}
