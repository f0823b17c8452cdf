import type { IncomingMessage } from 'node:http';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { EVENTS, Server as TusServer } from '@tus/server';
import { FileStore } from '@tus/file-store';
import type { Logger } from 'pino';
import type { Services } from '../app.js';
import { AppError, Unauthenticated } from '../errors.js';
import type { BlobStore } from '../storage/blobs.js';
import { STALE_UPLOAD_MS } from '../services/uploads.js';

/** The Node request behind tus's web Request: it carries the express session and user. */
function nodeReq(req: unknown): IncomingMessage & { user?: Express.User } {
  const r = req as { runtime?: { node?: { req?: IncomingMessage } } };
  const node = r.runtime?.node?.req;
  if (!node) throw new AppError(500, 'internal', 'Upload request without its Node request.');
  return node as IncomingMessage & { user?: Express.User };
}

function userIdOf(req: unknown): string {
  const user = nodeReq(req).user;
  if (!user) throw new Unauthenticated('Your session has ended. Please log in again.');
  return user.id;
}

/**
 * tus ends responses with res.end(callback), which Node allows but express-session's wrapper of res.end
 * (it saves the session first) does not: it would treat the callback as body data. Run the callback on
 * 'finish' and end without it.
 */
function endAcceptsCallback(res: Response): void {
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.end = ((...args: unknown[]) => {
    const i = args.findIndex((a) => typeof a === 'function');
    if (i < 0) return end(...args);
    res.once('finish', args[i] as () => void);
    return end(...args.slice(0, i));
  }) as Response['end'];
}

/** tus wants {status_code, body}; ours are typed errors with a sentence for the person. */
function tusError(err: unknown): { status_code: number; body: string } {
  if (err instanceof AppError) return { status_code: err.status, body: JSON.stringify({ error: err.code, message: err.message }) };
  const e = err as { status_code?: number; body?: string };
  if (typeof e?.status_code === 'number') return { status_code: e.status_code, body: e.body ?? '' };
  return { status_code: 500, body: JSON.stringify({ error: 'internal', message: 'The upload failed on the server.' }) };
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw tusError(err);
  }
}

/**
 * POST/HEAD/PATCH/DELETE /api/uploads[/:id]: resumable uploads of encrypted blobs (tus 1.0). The client
 * names the upload by its document ID and sends the encrypted metadata and key wrap as Upload-Metadata
 * (`docId`, `meta`, `keyWrap`); the blob bytes follow with PATCH. See docs/api.md.
 */
export function uploadRoutes(services: Services, blobs: BlobStore, logger: Logger): Router {
  const { uploads } = services;
  const tus = new TusServer({
    path: '/api/uploads',
    datastore: new FileStore({ directory: blobs.uploadsDir, expirationPeriodInMilliseconds: STALE_UPLOAD_MS }),
    relativeLocation: true,
    respectForwardedHeaders: false,
    // same-origin only: no CORS headers (tus would answer any origin with *)
    allowedOrigins: () => false,
    disableTerminationForFinishedUploads: true,
    namingFunction: (req, metadata) =>
      guard(async () => {
        userIdOf(req);
        const id = metadata?.docId;
        if (typeof id !== 'string') throw new AppError(400, 'bad_document_id', 'The upload must name its document ID (docId).');
        return id;
      }),
    onUploadCreate: (req, upload) =>
      guard(async () => {
        const id = await uploads.reserve(userIdOf(req), {
          id: upload.id,
          length: upload.size ?? NaN,
          meta: upload.metadata?.meta,
          keyWrap: upload.metadata?.keyWrap,
        });
        return { metadata: { docId: id } };
      }),
    onIncomingRequest: (req, uploadId) =>
      guard(async () => {
        const userId = userIdOf(req);
        if (uploadId && req.method !== 'POST') await uploads.authorize(userId, uploadId);
      }),
    onUploadFinish: (_req, upload) =>
      guard(async () => {
        await uploads.finish(upload.id);
        return { headers: { 'Heirloom-Document-Id': upload.id } };
      }),
    onResponseError: (_req, err) => tusError(err),
  });
  tus.on(EVENTS.POST_TERMINATE, (_req: unknown, _res: unknown, id: string) => {
    uploads.abandon(id).catch((err) => logger.error({ err }, 'could not drop a cancelled upload'));
  });

  const router = Router();
  const handle = (req: Request, res: Response, next: NextFunction) => {
    if (!req.user) return next(new Unauthenticated('Your session has ended. Please log in again.'));
    res.set('Cache-Control', 'no-store');
    endAcceptsCallback(res);
    tus.handle(req, res).catch(next);
  };
  router.all('/api/uploads', handle);
  router.all('/api/uploads/:id', handle);
  return router;
}
