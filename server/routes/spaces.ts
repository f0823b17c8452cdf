import { Router } from 'express';
import type { Services } from '../app.js';
import { addMemberSchema, createSpaceSchema, removeMemberSchema, renameSpaceSchema, roleSchema } from '../services/spaces.js';
import { currentUser, noStore, origin, parse, requireUser } from './helpers.js';

/** Spaces, shared folders (docs/api.md "Spaces"): the JSON API under /api/spaces. */
export function spaceRoutes(services: Services): Router {
  const { spaces } = services;
  const router = Router();

  router.get('/api/spaces', requireUser, noStore, async (req, res) => {
    res.json({ spaces: await spaces.list(currentUser(req).id) });
  });

  router.post('/api/spaces', requireUser, noStore, async (req, res) => {
    const input = parse(createSpaceSchema, req.body);
    res.status(201).json({ space: await spaces.create(currentUser(req).id, input, origin(req)) });
  });

  router.get('/api/spaces/:id', requireUser, noStore, async (req, res) => {
    res.json({ space: await spaces.get(currentUser(req).id, req.params.id) });
  });

  router.put('/api/spaces/:id/name', requireUser, noStore, async (req, res) => {
    const input = parse(renameSpaceSchema, req.body);
    res.json({ space: await spaces.rename(currentUser(req).id, req.params.id, input, origin(req)) });
  });

  router.post('/api/spaces/:id/members', requireUser, noStore, async (req, res) => {
    const input = parse(addMemberSchema, req.body);
    res.json({ space: await spaces.addMember(currentUser(req).id, req.params.id, input, origin(req)) });
  });

  router.post('/api/spaces/:id/members/:userId/remove', requireUser, noStore, async (req, res) => {
    const input = parse(removeMemberSchema, req.body);
    res.json({ space: await spaces.removeMember(currentUser(req).id, req.params.id, req.params.userId, input, origin(req)) });
  });

  router.put('/api/spaces/:id/members/:userId/role', requireUser, noStore, async (req, res) => {
    const input = parse(roleSchema, req.body);
    res.json({ space: await spaces.setRole(currentUser(req).id, req.params.id, req.params.userId, input) });
  });

  return router;
}
