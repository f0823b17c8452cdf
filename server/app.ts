import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import passport from 'passport';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Db } from './db/connection.js';
import { systemClock, type Clock } from './clock.js';
import { ServerCrypto } from './auth/serverCrypto.js';
import { KnexSessionStore } from './auth/sessionStore.js';
import { configurePassport } from './auth/passport.js';
import { csrfProtection } from './middleware/csrf.js';
import { absoluteTimeout, dropRefusedLogin, SESSION_COOKIE, sessionMeta } from './middleware/session.js';
import { requestLog } from './middleware/requestLog.js';
import { errorHandler, notFound } from './middleware/errors.js';
import { pageLocals } from './middleware/locals.js';
import { noStore } from './routes/helpers.js';
import { AuditService } from './services/audit.js';
import { AccountService } from './services/accounts.js';
import { RegistrationService } from './services/registration.js';
import { SessionService } from './services/sessions.js';
import { RateLimits, type RateLimitSettings } from './services/rateLimits.js';
import { healthRoutes } from './routes/health.js';
import { authRoutes } from './routes/auth.js';
import { registerRoutes } from './routes/register.js';
import { vaultRoutes } from './routes/vault.js';
import { settingsRoutes } from './routes/settings.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { documentRoutes } from './routes/documents.js';
import { uploadRoutes } from './routes/uploads.js';
import { BlobStore } from './storage/blobs.js';
import { DocumentService } from './services/documents.js';
import { UploadService } from './services/uploads.js';
import { AdminService } from './services/admin.js';
import { DirectoryService } from './services/directory.js';
import { familyRoutes } from './routes/family.js';
import { ShareService } from './services/shares.js';
import { SpaceService } from './services/spaces.js';
import { shareRoutes } from './routes/shares.js';
import { spaceRoutes } from './routes/spaces.js';
import { spacePageRoutes } from './routes/spacePages.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface AppDeps {
  config: Config;
  db: Db;
  serverKey: Uint8Array;
  logger: Logger;
  /** overrides of the login limits' numbers (tests use small ones) */
  rateLimits?: Partial<RateLimitSettings>;
  /** the time every time-based rule reads; tests pass one they can move */
  clock?: Clock;
}

export interface Services {
  audit: AuditService;
  accounts: AccountService;
  registration: RegistrationService;
  sessions: SessionService;
  documents: DocumentService;
  uploads: UploadService;
  blobs: BlobStore;
  admin: AdminService;
  directory: DirectoryService;
  shares: ShareService;
  spaces: SpaceService;
}

export function createServices(deps: AppDeps): Services {
  const { db, config } = deps;
  const crypto = new ServerCrypto(deps.serverKey);
  const audit = new AuditService(db);
  const limits = new RateLimits(db, crypto, deps.clock ?? systemClock, deps.rateLimits);
  const blobs = new BlobStore(config.dataDir);
  const documents = new DocumentService(db, blobs, config);
  return {
    blobs,
    documents,
    admin: new AdminService(db, documents, blobs, audit),
    uploads: new UploadService(db, blobs, documents, deps.logger),
    audit,
    accounts: new AccountService(db, config, crypto, audit, limits),
    registration: new RegistrationService(db, config, crypto, audit),
    sessions: new SessionService(db, audit),
    directory: new DirectoryService(db),
    shares: new ShareService(db, documents, audit),
    spaces: new SpaceService(db, audit),
  };
}

/** Builds the Express app. Everything it needs is passed in, so tests run it on a temp folder. */
export function createApp(deps: AppDeps): { app: Express; services: Services } {
  const { config, db, logger } = deps;
  const services = createServices(deps);
  const serverCrypto = new ServerCrypto(deps.serverKey);
  const app = express();

  app.set('trust proxy', config.trustProxy);
  app.set('view engine', 'ejs');
  app.set('views', path.join(root, 'views'));
  // Templates are compiled once, whatever NODE_ENV says: `npm start` at home is production too.
  app.set('view cache', true);
  app.disable('x-powered-by');

  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'", "'wasm-unsafe-eval'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:', 'blob:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          // the workers are files under /assets; nothing starts one from a blob: URL
          workerSrc: ["'self'"],
          // the only frame is the PDF preview, a blob: URL of the decrypted document; no page frames our own
          frameSrc: ['blob:'],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
      crossOriginEmbedderPolicy: false,
      referrerPolicy: { policy: 'no-referrer' },
      // the same as frame-ancestors 'none', for browsers that predate it
      xFrameOptions: { action: 'deny' },
    }),
  );
  // The sign-in and registration pages carry a CSRF token and read secrets typed into them: a shared or
  // back-button cache must not keep them (ASVS 14.3.2).
  app.use(['/login', '/register'], noStore);
  app.use(requestLog(logger));

  app.use('/', healthRoutes(db));
  app.use(
    express.static(path.join(root, 'public'), {
      index: false,
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  );

  // pins are one envelope for a whole family's fingerprints (services/directory.ts: PINS_MAX_B64)
  app.use('/api/pins', express.json({ limit: '300kb' }));
  // Sharing many documents at once is one request of up to 1,000 grants (about 330 bytes each); the same
  // limit covers /api/grants/accept (up to 1,000 wraps of about 160 bytes each)
  app.use('/api/grants', express.json({ limit: '512kb' }));
  app.use(express.json({ limit: '64kb' }));
  app.use(express.urlencoded({ extended: false, limit: '64kb' }));
  app.use(
    session({
      name: SESSION_COOKIE,
      secret: serverCrypto.cookieSecret(),
      store: new KnexSessionStore(db, config.sessionIdleMinutes * 60_000, deps.clock ?? systemClock),
      resave: false,
      saveUninitialized: false,
      rolling: true,
      unset: 'destroy',
      cookie: {
        httpOnly: true,
        sameSite: 'lax',
        secure: 'auto',
        maxAge: config.sessionIdleMinutes * 60_000,
      },
    }),
  );
  app.use(absoluteTimeout(config.sessionAbsoluteHours * 3600_000));
  app.use(sessionMeta());
  // one Passport per app (not the module's shared instance), so several apps can live in one process
  const auth = new passport.Passport();
  configurePassport(auth, services.accounts, services.sessions);
  app.use(auth.initialize());
  app.use(auth.session());
  app.use(dropRefusedLogin());
  app.use(csrfProtection(serverCrypto.csrfKey()));
  app.use(pageLocals(config));

  app.use('/', dashboardRoutes(services));
  app.use('/', authRoutes(services, auth));
  app.use('/', registerRoutes(services));
  app.use('/', vaultRoutes(services));
  app.use('/', settingsRoutes(services));
  app.use('/', documentRoutes(services));
  app.use('/', uploadRoutes(services, services.blobs, logger));
  app.use('/', familyRoutes(services));
  app.use('/', shareRoutes(services));
  app.use('/', spaceRoutes(services));
  app.use('/', spacePageRoutes(services.spaces));

  app.use(notFound);
  app.use(errorHandler(logger));
  return { app, services };
}
