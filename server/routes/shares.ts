import { Router } from 'express';
import type { Services } from '../app.js';
import { acceptSchema, grantsSchema } from '../services/shares.js';
import { currentUser, noStore, origin, parse, requireUser } from './helpers.js';

/**
 * Sharing single documents (docs/api.md "Sharing documents"): grant them to people, see who has them,
 * revoke. Only a document's owner may do any of it; its recipient may only accept a grant made to them.
 */
export function shareRoutes(services: Services): Router {
  const { shares } = services;
  const router = Router();

  router.post('/api/grants', requireUser, noStore, async (req, res) => {
    const input = parse(grantsSchema, req.body);
    res.json({ granted: await shares.grant(currentUser(req).id, input, origin(req)) });
  });

  // The recipient's side: their own wraps of what was shared with them, so their list opens it quickly.
  router.post('/api/grants/accept', requireUser, noStore, async (req, res) => {
    const input = parse(acceptSchema, req.body);
    res.json({ accepted: await shares.accept(currentUser(req).id, input) });
  });

  router.get('/api/documents/:id/grants', requireUser, noStore, async (req, res) => {
    res.json({ grants: await shares.list(currentUser(req).id, req.params.id) });
  });

  router.delete('/api/documents/:id/grants/:recipientId', requireUser, noStore, async (req, res) => {
    await shares.revoke(currentUser(req).id, req.params.id, req.params.recipientId, origin(req));
    res.json({ ok: true });
  });

  return router;
}
