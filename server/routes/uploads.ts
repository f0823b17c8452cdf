import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { ERRORS, EVENTS, Server as TusServer, Upload, type CancellationContext } from '@tus/server';
import { FileStore } from '@tus/file-store';
import type { Logger } from 'pino';
import type { Services } from '../app.js';
import { AppError, Unauthenticated } from '../errors.js';
import type { BlobStore } from '../storage/blobs.js';
import { STALE_UPLOAD_MS } from '../services/uploads.js';

/** The Node request and response behind tus's web Request: the request carries the express session and user. */
function nodeOf(req: unknown): { req: IncomingMessage & { user?: Express.User }; res?: ServerResponse } {
  const r = req as { runtime?: { node?: { req?: IncomingMessage; res?: ServerResponse } } };
  const node = r.runtime?.node;
  if (!node?.req) throw new AppError(500, 'internal', 'Upload request without its Node request.');
  return { req: node.req as IncomingMessage & { user?: Express.User }, res: node.res };
}

function userIdOf(req: unknown): string {
  const user = nodeOf(req).req.user;
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

const JSON_TYPE = 'application/json; charset=utf-8';

function jsonBody(code: string, message: string): string {
  return JSON.stringify({ error: code, message });
}

/**
 * tus's own refusals, as our errors: a stable code and a sentence (docs/api.md "Uploading"). tus answers
 * 501 for extensions we do not offer; to a client that is a request it must change, so 400.
 */
const TUS_ERRORS: ReadonlyArray<[{ body: string }, number, string, string]> = [
  [ERRORS.MISSING_OFFSET, 403, 'bad_offset', 'The request must say where its bytes go (Upload-Offset).'],
  [ERRORS.INVALID_CONTENT_TYPE, 403, 'bad_content_type', 'Upload bytes must be sent as application/offset+octet-stream.'],
  [ERRORS.FILE_NOT_FOUND, 404, 'upload_not_found', 'There is no such upload.'],
  [ERRORS.INVALID_OFFSET, 409, 'offset_conflict', 'The upload is at a different offset. Ask with HEAD where it stands and continue from there.'],
  [ERRORS.FILE_NO_LONGER_EXISTS, 410, 'upload_gone', 'This upload was left unfinished too long and was removed. Start it again.'],
  [ERRORS.ERR_SIZE_EXCEEDED, 413, 'too_large', 'The request carries more bytes than the upload has left.'],
  [ERRORS.ERR_MAX_SIZE_EXCEEDED, 413, 'too_large', 'The upload is larger than this server accepts.'],
  [ERRORS.INVALID_LENGTH, 400, 'bad_length', 'The upload must give its length in bytes (Upload-Length).'],
  [ERRORS.INVALID_METADATA, 400, 'bad_metadata', 'Upload-Metadata must be comma-separated pairs of a key and a base64 value.'],
  [ERRORS.ABORTED, 400, 'aborted', 'The upload request was interrupted. Ask with HEAD where it stands and continue from there.'],
  [ERRORS.INVALID_TERMINATION, 409, 'upload_finished', 'This upload is already finished: the document exists.'],
  [ERRORS.ERR_LOCK_TIMEOUT, 423, 'upload_busy', 'Another request is still writing to this upload. Try again in a moment.'],
  [ERRORS.UNSUPPORTED_CONCATENATION_EXTENSION, 400, 'unsupported', 'Parallel (concatenated) uploads are not supported: send one upload per document.'],
  [ERRORS.UNSUPPORTED_CREATION_DEFER_LENGTH_EXTENSION, 400, 'length_required', 'The upload must give its length when it starts (Upload-Length); Upload-Defer-Length is not supported.'],
];

/**
 * tus wants {status_code, body}; ours are typed errors with a sentence for the person. An unexpected error
 * keeps its cause, for the log.
 */
function tusError(err: unknown): { status_code: number; body: string; cause?: unknown } {
  if (err instanceof AppError) return { status_code: err.status, body: jsonBody(err.code, err.message) };
  const e = err as { status_code?: number; body?: string } | undefined;
  const known = TUS_ERRORS.find(([tus]) => tus === err || (typeof e?.body === 'string' && tus.body === e.body));
  if (known) return { status_code: known[1], body: jsonBody(known[2], known[3]) };
  if (typeof e?.status_code === 'number' && e.status_code < 500 && typeof e.body === 'string' && isOurJson(e.body)) {
    return { status_code: e.status_code, body: e.body };
  }
  const cause = err instanceof Error ? err : ((err as { cause?: unknown } | undefined)?.cause ?? err);
  return { status_code: 500, body: jsonBody('internal', 'The upload failed on the server.'), cause };
}

function isOurJson(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as unknown;
    return typeof parsed === 'object' && parsed !== null && typeof (parsed as { error?: unknown }).error === 'string';
  } catch {
    return false;
  }
}

/** The answers tus writes itself, before any handler or hook runs. */
function refusalOf(status: number, body: string): string {
  if (isOurJson(body)) return body;
  if (status === 412) return jsonBody('tus_version', 'Uploads speak tus 1.0.0: send the header Tus-Resumable: 1.0.0.');
  const invalid = /^Invalid ([a-z0-9 -]+)\n?$/i.exec(body);
  if (status === 400 && invalid) return jsonBody('bad_header', `These upload headers are not valid: ${invalid[1].trim().split(' ').join(', ')}.`);
  if (status === 404) return jsonBody('not_found', 'There is no such upload.');
  return jsonBody(status >= 500 ? 'internal' : 'bad_request', status >= 500 ? 'The upload failed on the server.' : 'The upload request could not be understood.');
}

/**
 * Every error under /api/ is JSON (docs/api.md "Conventions"); tus writes its refusals as text, labelled
 * text/plain. All of them, the hooks' included, pass through write().
 */
class JsonErrorsTusServer extends TusServer {
  override write(context: CancellationContext, headers: Headers, status: number, body = '') {
    if (status < 400) return super.write(context, headers, status, body);
    headers.set('Content-Type', JSON_TYPE);
    return super.write(context, headers, status, refusalOf(status, body));
  }
}

/**
 * The uploads folder as tus sees it, plus what tus cannot know: a finished upload's bytes have moved into
 * blobs/ and it is now a document. tus asks for the upload again after the finish hook (a creation request
 * that carried every byte) and on HEAD; both get "complete" instead of "not found".
 */
class UploadStore extends FileStore {
  constructor(
    private readonly blobs: BlobStore,
    private readonly finishedLength: (id: string) => Promise<number | undefined>,
    private readonly inOneRequest: (id: string) => boolean,
  ) {
    super({ directory: blobs.uploadsDir, expirationPeriodInMilliseconds: STALE_UPLOAD_MS });
    // The length is reserved against the quota when an upload starts, so it must be known then.
    this.extensions = this.extensions.filter((e) => e !== 'creation-defer-length');
  }

  /**
   * An upload that arrives whole in its creation request is never asked about again while in flight, so it
   * needs no description file next to its bytes: only the empty file tus then writes into.
   */
  override async create(upload: Upload): Promise<Upload> {
    if (!this.inOneRequest(upload.id)) return super.create(upload);
    upload.storage = { type: 'file', path: await this.blobs.createUpload(upload.id) };
    return upload;
  }

  /**
   * Uploads finished by a request still under way, by ID, with their length: tus asks about the upload once
   * more before it answers, and this spares that question two database reads.
   */
  readonly finishing = new Map<string, number>();

  override async getUpload(id: string): Promise<Upload> {
    const finished = this.finishing.get(id);
    if (finished !== undefined) return new Upload({ id, size: finished, offset: finished });
    try {
      return await super.getUpload(id);
    } catch (err) {
      const status = (err as { status_code?: number }).status_code;
      if (status !== 404 && status !== 410) throw err;
      const size = await this.finishedLength(id);
      if (size === undefined) throw err;
      return new Upload({ id, size, offset: size });
    }
  }
}

/**
 * Whether a creation request carries the whole upload in its body (creation-with-upload of every byte): such
 * an upload is finished or gone by the end of its request (services/uploads.ts, "held" reservations).
 */
function carriesEveryByte(req: { headers: Headers }, length: number | undefined): boolean {
  const sent = req.headers.get('content-length');
  return (
    req.headers.get('content-type') === 'application/offset+octet-stream' && sent !== null && /^\d+$/.test(sent) && Number(sent) === length
  );
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
 * (`docId`, `meta`, `keyWrap`, and for an upload into a space `spaceId`, `spaceGeneration`, `spaceKeyWrap`); the blob bytes follow with PATCH, or some or all of them ride in the POST
 * itself (creation-with-upload). See docs/api.md.
 */
export function uploadRoutes(services: Services, blobs: BlobStore, logger: Logger): Router {
  const { uploads } = services;
  // The creation request that made each upload, while it runs, so a failure later in that request can drop
  // it again. Only the latest one may: the same creation sent again restarts the upload for a new request.
  const creators = new Map<string, IncomingMessage>();
  const store = new UploadStore(blobs, (id) => uploads.finishedLength(id), (id) => uploads.holds(id));
  const tus = new JsonErrorsTusServer({
    path: '/api/uploads',
    datastore: store,
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
        const id = await uploads.reserve(
          userIdOf(req),
          {
            id: upload.id,
            length: upload.size ?? NaN,
            meta: upload.metadata?.meta,
            keyWrap: upload.metadata?.keyWrap,
            spaceId: upload.metadata?.spaceId ?? undefined,
            spaceGeneration: upload.metadata?.spaceGeneration ?? undefined,
            spaceKeyWrap: upload.metadata?.spaceKeyWrap ?? undefined,
          },
          { inOneRequest: carriesEveryByte(req, upload.size) },
        );
        const node = nodeOf(req);
        creators.set(id, node.req);
        node.res?.once('close', () => {
          if (creators.get(id) !== node.req) return;
          creators.delete(id);
          // an upload that was to arrive whole in this request and did not is dropped with it: nothing could
          // resume it (normally the finish or the error handler has already settled it)
          if (uploads.holds(id)) uploads.abandon(id).catch((e: unknown) => logger.error({ err: e }, 'could not drop an unfinished upload'));
        });
        return { metadata: { docId: id } };
      }),
    onIncomingRequest: (req, uploadId) =>
      guard(async () => {
        const userId = userIdOf(req);
        if (!uploadId || req.method === 'POST') return;
        const state = await uploads.authorize(userId, uploadId, req.method === 'HEAD' ? 'inspect' : 'change');
        // a client that lost the last answer learns the document's ID from HEAD as it would have from it
        if (state === 'finished') nodeOf(req).res?.setHeader('Heirloom-Document-Id', uploadId);
      }),
    onUploadFinish: (req, upload) =>
      guard(async () => {
        const document = await uploads.finish(upload.id);
        const res = nodeOf(req).res;
        if (res) {
          store.finishing.set(upload.id, document.size);
          res.once('close', () => store.finishing.delete(upload.id));
        }
        const headers = { 'Heirloom-Document-Id': upload.id };
        // A PATCH answers 204 (tus): no body. A creation that carried every byte answers 201 and may say
        // more: the new document, so one request is all a small file needs.
        if (req.method !== 'POST') return { headers };
        return { headers: { ...headers, 'Content-Type': JSON_TYPE }, body: JSON.stringify({ document }) };
      }),
    onResponseError: async (req, err) => {
      const answer = tusError(err);
      if (answer.status_code >= 500) logger.error({ err: answer.cause ?? err, method: req.method }, 'upload failed');
      // A creation request that made its upload and then failed (its bytes, or the finish) leaves nothing
      // behind: the client never learnt the upload's address, and its retry creates it afresh.
      const node = nodeOf(req).req;
      const id = req.method === 'POST' ? [...creators].find(([, r]) => r === node)?.[0] : undefined;
      if (id) {
        creators.delete(id);
        await uploads.abandon(id).catch((e: unknown) => logger.error({ err: e }, 'could not drop a failed upload'));
      }
      return { status_code: answer.status_code, body: answer.body };
    },
  });
  tus.on(EVENTS.POST_TERMINATE, (_req: unknown, _res: unknown, id: string) => {
    uploads.abandon(id).catch((err) => logger.error({ err }, 'could not drop a cancelled upload'));
  });

  const router = Router();
  const handle = (req: Request, res: Response, next: NextFunction) => {
    // tus GET would serve an upload's bytes; documents are read at /api/documents/:id/blob
    if (req.method === 'GET') return next();
    if (!req.user) return next(new Unauthenticated('Your session has ended. Please log in again.'));
    res.set('Cache-Control', 'no-store');
    endAcceptsCallback(res);
    tus.handle(req, res).catch(next);
  };
  router.all('/api/uploads', handle);
  router.all('/api/uploads/:id', handle);
  return router;
}
