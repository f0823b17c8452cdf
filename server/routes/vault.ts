import { Router } from 'express';
import { z } from 'zod';
import type { Services } from '../app.js';
import { currentUser, noStore, origin, parse, requireUser } from './helpers.js';

const unlockSchema = z.object({ authKey: z.string().min(1).max(200) });

/** Unlocking a locked tab of a live session (flows.md "Login, unlock, lock"). */
export function vaultRoutes(services: Services): Router {
  const { accounts } = services;
  const router = Router();

  router.get('/api/vault/kdf', requireUser, noStore, async (req, res) => {
    res.json({ kdf: await accounts.kdfFor(currentUser(req).id) });
  });

  router.post('/api/vault/unlock', requireUser, noStore, async (req, res) => {
    const { authKey } = parse(unlockSchema, req.body);
    res.json({ keys: await accounts.unlock(currentUser(req).id, req.sessionID, authKey, origin(req)) });
  });

  return router;
}
