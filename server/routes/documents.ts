import { Router, type Response } from 'express';
import type { Services } from '../app.js';
import { metaSchema, moveSchema } from '../services/documents.js';
import { currentUser, noStore, parse, requireUser, requireUserPage } from './helpers.js';

/**
 * The vault: GET /documents (the page), the JSON API under /api/documents, blob downloads.
 * A person reads their own documents, those shared with them and those of their spaces; they change only
 * their own. Anything else is a 404 (docs/api.md "Who may read and change a document").
 */
export function documentRoutes(services: Services): Router {
  const { documents } = services;
  const router = Router();

  router.get('/documents', requireUserPage, noStore, async (req, res, next) => {
    const started = performance.now();
    const user = currentUser(req);
    const trash = req.query.view === 'trash';
    const list = await documents.listJson(user.id, trash);
    const locals = {
      title: trash ? 'Trash — Heirloom' : 'Documents — Heirloom',
      page: 'documents',
      view: trash ? 'trash' : 'documents',
      usage: await documents.usage(user.id),
      documentsIsland: ISLAND,
    };
    res.render('pages/documents/index', locals, (err, html) => {
      if (err) return next(err);
      // the list's bytes go into the data island as they came from the database (no string of 6 MB made)
      const at = html.indexOf(ISLAND);
      if (at < 0 || html.indexOf(ISLAND, at + 1) >= 0) return next(new Error('The documents page has no single place for its list.'));
      const parts = [Buffer.from(html.slice(0, at)), list, Buffer.from(html.slice(at + ISLAND.length))];
      // how long the server took (queries + template), for the benchmark and the browser's devtools
      res.set('Server-Timing', `render;dur=${(performance.now() - started).toFixed(1)}`);
      sendBytes(res, 'text/html; charset=utf-8', parts);
    });
  });

  router.get('/api/documents', requireUser, noStore, async (req, res) => {
    const list = await documents.listJson(currentUser(req).id, req.query.view === 'trash');
    sendBytes(res, 'application/json; charset=utf-8', [Buffer.from('{"documents":'), list, Buffer.from('}')]);
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
        // passed on to the file stream: reads of 1 MiB instead of 64 KiB halve the server's CPU per byte sent
        highWaterMark: 1024 * 1024,
      } as Parameters<typeof res.sendFile>[1],
      (err) => {
        if (err && !res.headersSent) next(err);
      },
    );
  });

  router.put('/api/documents/:id/meta', requireUser, noStore, async (req, res) => {
    const { meta } = parse(metaSchema, req.body);
    res.json({ document: await documents.updateMeta(currentUser(req).id, req.params.id, meta) });
  });

  router.put('/api/documents/:id/space', requireUser, noStore, async (req, res) => {
    const input = parse(moveSchema, req.body);
    res.json({ document: await documents.moveToSpace(currentUser(req).id, req.params.id, input) });
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

/**
 * Where the list goes in the page (views/pages/documents/index.ejs). It starts with "<", which no value the
 * template escapes (a username, say) can produce, so only the template itself can put it there.
 */
const ISLAND = '<!--documents-list-->';

/**
 * Sends an answer made of pieces that are already bytes, one after the other: no copy of the 6 MB list
 * into one buffer, and no hash of it for an ETag (res.send's), which a no-store page has no use for.
 */
function sendBytes(res: Response, type: string, parts: Buffer[]): void {
  const length = parts.reduce((n, p) => n + p.length, 0);
  res.set('Content-Type', type).set('Content-Length', String(length));
  for (const p of parts) res.write(p);
  res.end();
}
