import { Router } from 'express';
import type { Services } from '../app.js';
import { metaSchema } from '../services/documents.js';
import { currentUser, noStore, parse, requireUser, requireUserPage } from './helpers.js';

/**
 * The vault: GET /documents (the page), the JSON API under /api/documents, blob downloads.
 * Every answer is about the logged-in user's own documents; anything else is a 404.
 */
export function documentRoutes(services: Services): Router {
  const { documents } = services;
  const router = Router();

  router.get('/documents', requireUserPage, noStore, async (req, res, next) => {
    const started = performance.now();
    const user = currentUser(req);
    const trash = req.query.view === 'trash';
    const locals = {
      title: trash ? 'Trash — Heirloom' : 'Documents — Heirloom',
      page: 'documents',
      view: trash ? 'trash' : 'documents',
      documents: await documents.list(user.id, trash),
      usage: await documents.usage(user.id),
    };
    res.render('pages/documents/index', locals, (err, html) => {
      if (err) return next(err);
      // how long the server took (queries + template), for the benchmark and the browser's devtools
      res.set('Server-Timing', `render;dur=${(performance.now() - started).toFixed(1)}`).send(html);
    });
  });

  router.get('/api/documents', requireUser, noStore, async (req, res) => {
    const user = currentUser(req);
    res.json({ documents: await documents.list(user.id, req.query.view === 'trash') });
  });

  router.get('/api/usage', requireUser, noStore, async (req, res) => {
    res.json(await documents.usage(currentUser(req).id));
  });

  router.get('/api/documents/:id', requireUser, noStore, async (req, res) => {
    res.json({ document: await documents.get(currentUser(req).id, req.params.id) });
  });

  /** The encrypted blob, byte for byte; Range requests work (resumed or partial downloads). */
  router.get('/api/documents/:id/blob', requireUser, async (req, res, next) => {
    const blob = await documents.blobPath(currentUser(req).id, req.params.id);
    res.sendFile(
      blob.path,
      {
        headers: {
          'Content-Type': 'application/octet-stream',
          'X-Content-Type-Options': 'nosniff',
          'Cache-Control': 'no-store',
          'Content-Disposition': 'attachment',
        },
        acceptRanges: true,
        cacheControl: false,
        lastModified: false,
        etag: false,
        dotfiles: 'deny',
      },
      (err) => {
        if (err && !res.headersSent) next(err);
      },
    );
  });

  router.put('/api/documents/:id/meta', requireUser, noStore, async (req, res) => {
    const { meta } = parse(metaSchema, req.body);
    res.json({ document: await documents.updateMeta(currentUser(req).id, req.params.id, meta) });
  });

  router.post('/api/documents/:id/trash', requireUser, noStore, async (req, res) => {
    await documents.trash(currentUser(req).id, req.params.id);
    res.json({ ok: true });
  });

  router.post('/api/documents/:id/restore', requireUser, noStore, async (req, res) => {
    await documents.restore(currentUser(req).id, req.params.id);
    res.json({ ok: true });
  });

  router.delete('/api/documents/:id', requireUser, noStore, async (req, res) => {
    await documents.deleteForever(currentUser(req).id, req.params.id);
    res.json({ ok: true });
  });

  router.post('/api/trash/empty', requireUser, noStore, async (req, res) => {
    res.json({ deleted: await documents.emptyTrash(currentUser(req).id) });
  });

  return router;
}
