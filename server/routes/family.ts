import { Router } from 'express';
import { z } from 'zod';
import type { Services } from '../app.js';
import { currentUser, noStore, parse, requireUser, requireUserPage } from './helpers.js';

const savePinsSchema = z.object({
  pins: z.string().min(1),
  version: z.number().int().min(0).max(2 ** 31 - 1),
});

/**
 * The family directory: GET /family (the page), GET /api/directory (every member's public keys) and the
 * caller's own pins (GET/PUT /api/pins). Fingerprints are worked out in the browser, never here: a server
 * that lied about a key would lie about its words too.
 */
export function familyRoutes(services: Services): Router {
  const { directory } = services;
  const router = Router();

  router.get('/family', requireUserPage, noStore, async (req, res) => {
    const user = currentUser(req);
    res.render('pages/family/index', {
      title: 'Family — Heirloom',
      page: 'family',
      members: await directory.list(),
      selfId: user.id,
    });
  });

  router.get('/api/directory', requireUser, noStore, async (_req, res) => {
    res.json({ users: await directory.list() });
  });

  router.get('/api/pins', requireUser, noStore, async (req, res) => {
    res.json(await directory.pinsOf(currentUser(req).id));
  });

  router.put('/api/pins', requireUser, noStore, async (req, res) => {
    const { pins, version } = parse(savePinsSchema, req.body);
    res.json({ version: await directory.savePins(currentUser(req).id, pins, version) });
  });

  return router;
}
