import { Router, type Request, type Response } from 'express';
import type { SpaceView } from '../services/spaces.js';
import { currentUser, noStore, requireUser, requireUserPage } from './helpers.js';

/** What the pages show of a space: SpaceView without the sealed keys, which only the browser uses. */
export type SpacePageView = Omit<SpaceView, 'keys'>;

export interface SpacePageDeps {
  /** the spaces `userId` is a member of */
  list(userId: string): Promise<SpacePageView[]>;
  /** one space of `userId`'s; throws NotFound (space_not_found) for anyone else */
  get(userId: string, spaceId: string): Promise<SpacePageView>;
}

/**
 * The Spaces pages (flows.md "Family, sharing and spaces"): GET /spaces (the spaces a person is in, and
 * creating one) and GET /spaces/:id (one space: its members, renaming, adding and removing people), plus the
 * members list alone as an htmx fragment, fetched again after each change. The server renders membership,
 * usernames, roles and dates; the browser opens the name and does all the sealing and signing
 * (client/pages/spaces.ts), then calls the JSON API under /api/spaces.
 */
export function spacePageRoutes(spaces: SpacePageDeps): Router {
  const router = Router();

  router.get('/spaces', requireUserPage, noStore, async (req, res) => {
    const user = currentUser(req);
    res.render('pages/spaces/index', {
      title: 'Spaces — Heirloom',
      page: 'spaces',
      spaces: await spaces.list(user.id),
    });
  });

  router.get('/spaces/:id', requireUserPage, noStore, async (req, res) => {
    const user = currentUser(req);
    const space = await spaces.get(user.id, String(req.params.id));
    res.render('pages/spaces/space', { title: 'Space — Heirloom', page: 'spaces', ...membersLocals(space, user.id) });
  });

  const renderMembers = async (req: Request, res: Response) => {
    const user = currentUser(req);
    res.render('partials/spaces/members', membersLocals(await spaces.get(user.id, String(req.params.id)), user.id));
  };
  router.get('/spaces/:id/members', requireUser, noStore, renderMembers);

  return router;
}

function membersLocals(space: SpacePageView, me: string) {
  return { space, me, manager: space.role === 'manager' };
}
