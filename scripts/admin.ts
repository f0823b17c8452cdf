import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from '../server/config.js';
import { openDataFolder } from '../server/bootstrap.js';
import { createServices } from '../server/app.js';
import { createLogger } from '../server/logger.js';
import { AppError, NotFound } from '../server/errors.js';
import { openDb, openDbReadOnly, type Db } from '../server/db/connection.js';
import { BlobStore } from '../server/storage/blobs.js';
import { pathInfo } from '../server/storage/files.js';
import { ServerKeyError } from '../server/storage/serverKey.js';
import { parseSize } from '../server/services/admin.js';
import { BackupService, MANIFEST_FILE, readManifest, restoreBackup } from '../server/services/backup.js';
import { checkConfig } from '../server/services/configCheck.js';
import { DocumentService } from '../server/services/documents.js';
import { MigrationService } from '../server/services/migrations.js';
import { UploadService } from '../server/services/uploads.js';
import { VerifyService } from '../server/services/verify.js';
import * as show from './admin-print.js';

/**
 * heirloom-admin: the family admin's command line. Commands parse and print; the services do the work.
 * The admin can never read a document or reset a password: Heirloom holds no key that could.
 */

const APP_VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

async function withServices<T>(fn: (s: ReturnType<typeof createServices>, config: Config, db: Db) => Promise<T>, opts: { migrate?: boolean } = {}): Promise<T> {
  const config = loadConfig();
  const data = await openDataFolder(config, opts);
  try {
    return await fn(createServices({ config, db: data.db, serverKey: data.serverKey, logger: createLogger('silent') }), config, data.db);
  } finally {
    await data.db.destroy();
  }
}

/** Paths as the admin typed them: `npm run admin` runs in the project folder, INIT_CWD is where they were. */
const userPath = (p: string) => path.resolve(process.env.npm_lifecycle_event && process.env.INIT_CWD ? process.env.INIT_CWD : process.cwd(), p);

/** The settings, with the data folder given on the command line in place of HEIRLOOM_DATA_DIR. */
function configFor(dataDir?: string): Config {
  return loadConfig(dataDir ? { ...process.env, HEIRLOOM_DATA_DIR: userPath(dataDir) } : process.env);
}

const print = (text: string) => void process.stdout.write(text);
const printJson = (value: unknown) => print(`${JSON.stringify(value, null, 2)}\n`);

/** Asks on a terminal; without one, only --yes goes ahead (a script cannot be asked). */
async function confirmed(opts: { yes?: boolean }, question: string, expected: string): Promise<boolean> {
  if (opts.yes) return true;
  if (!process.stdin.isTTY) throw new Error('nobody is at a terminal to confirm this. Add --yes to go ahead.');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim() === expected;
  } finally {
    rl.close();
  }
}

const json = () => new Option('--json', 'print machine-readable JSON');
const yes = () => new Option('-y, --yes', 'do not ask for confirmation');

const program = new Command('heirloom-admin')
  .description(
    'Administer a Heirloom instance. Reads the same HEIRLOOM_* settings as the server (docs/admin-cli.md).\n\n' +
      'Nothing here can read a document or reset a password: only their owners hold those keys. ' +
      'A person who forgot their password gets back in with their 24 recovery words.',
  )
  .version(APP_VERSION)
  .showHelpAfterError();

// invitations ------------------------------------------------------------------------------------------

const invite = program.command('invite').description('invitation links for new family members');
invite
  .command('create')
  .description('print a one-time invitation link (valid for HEIRLOOM_INVITE_DAYS days)')
  .option('--admin', 'the new account will be an admin', false)
  .addOption(json())
  .action(async (opts: { admin: boolean; json?: boolean }) => {
    const inv = await withServices((s) => s.registration.createInvitation({ isAdmin: opts.admin }));
    if (opts.json) return printJson({ url: inv.url, isAdmin: inv.isAdmin, expiresAt: inv.expiresAt });
    print(
      `Invitation${inv.isAdmin ? ' (admin)' : ''} created. Send this link to the person, privately:\n\n    ${inv.url}\n\n` +
        `It works once and expires ${inv.expiresAt}.\n`,
    );
  });

// accounts ---------------------------------------------------------------------------------------------

const user = program.command('user').description('accounts on this instance');
user
  .command('list')
  .description('list accounts: role, disabled or active, two-step login, documents, storage used of the quota')
  .addOption(json())
  .action(async (opts: { json?: boolean }) => {
    const list = await withServices((s) => s.admin.listUsers());
    if (opts.json) return printJson(list);
    print(show.userList(list));
  });

user
  .command('disable')
  .description('stop a person from logging in and end their sessions now; their documents are kept')
  .argument('<username>')
  .addOption(json())
  .action(async (username: string, opts: { json?: boolean }) => {
    const r = await withServices((s) => s.admin.disable(username));
    if (opts.json) return printJson(r);
    print(
      r.alreadyDisabled
        ? `${r.username} was already disabled${r.sessionsEnded ? `; ${show.plural(r.sessionsEnded, 'session')} ended` : ''}.\n`
        : `${r.username} is disabled: they cannot log in, and ${show.plural(r.sessionsEnded, 'session')} ended. Their documents are kept.\n` +
            `Undo with: heirloom-admin user enable ${r.username}\n`,
    );
  });

user
  .command('enable')
  .description('let a disabled person log in again')
  .argument('<username>')
  .addOption(json())
  .action(async (username: string, opts: { json?: boolean }) => {
    const r = await withServices((s) => s.admin.enable(username));
    if (opts.json) return printJson(r);
    print(r.wasDisabled ? `${r.username} can log in again.\n` : `${r.username} was not disabled; nothing changed.\n`);
  });

user
  .command('delete')
  .description('delete an account and ALL its documents, for good (asks first unless --yes)')
  .argument('<username>')
  .addOption(yes())
  .addOption(json())
  .action(async (username: string, opts: { yes?: boolean; json?: boolean }) => {
    const r = await withServices(async (s) => {
      const usage = await s.admin.usage(username);
      const ok = await confirmed(
        opts,
        `This deletes ${username} and their ${show.plural(usage.documents, 'document')} (${show.size(usage.used)}) for good.\n` +
          'Nobody can bring them back, not even the admin, except from a backup taken before.\n' +
          `Type the username to confirm: `,
        username,
      );
      if (!ok) throw new Error('nothing was deleted (the username typed did not match).');
      return s.admin.deleteUser(username);
    });
    if (opts.json) return printJson(r);
    print(`Deleted ${r.username}. Their ${show.plural(r.documents, 'document')} (${show.size(r.bytes)}) ${r.documents === 1 ? 'is' : 'are'} gone for good.\n`);
  });

user
  .command('reset-mfa')
  .description('clear a person’s two-step login (a lost phone); they set it up again at their next login')
  .argument('<username>')
  .addOption(json())
  .action(async (username: string, opts: { json?: boolean }) => {
    const r = await withServices((s) => s.admin.resetMfa(username));
    if (opts.json) return printJson(r);
    print(
      `The two-step login of ${r.username} is reset, and ${show.plural(r.sessionsEnded, 'session')} ended.\n` +
        `${r.username} sees this in their security log. At their next login, after their password, they scan a new\n` +
        'QR code with their authenticator app. Their password, keys and documents are unchanged.\n',
    );
  });

user
  .command('quota')
  .description('show or set how much storage a person may use (encrypted bytes, the trash included)')
  .argument('<username>', 'whose quota')
  .argument('[size]', 'new quota, e.g. 500MiB or 20GiB, or "default" for the instance default (HEIRLOOM_DEFAULT_QUOTA_MIB)')
  .addOption(json())
  .action(async (username: string, size: string | undefined, opts: { json?: boolean }) => {
    const result = await withServices((s) =>
      size === undefined ? s.admin.usage(username) : s.admin.setQuota(username, size === 'default' ? null : parseSize(size)),
    );
    if (opts.json) return printJson(result);
    print(
      `${username}: ${show.size(result.used)} used of ${show.size(result.quota)}${result.custom ? '' : ' (the default)'}, ${show.plural(result.documents, 'document')}\n`,
    );
  });

// backup, restore, verify ------------------------------------------------------------------------------

program
  .command('backup')
  .description('back up the database (a consistent copy, also while the server runs), the blobs and a manifest of SHA-256s')
  .option('--out <dir>', 'folder to put the backup folder in', './backups')
  .option('--include-server-key', 'also copy the server key (better kept apart: see docs/backup-restore.md)', false)
  .addOption(json())
  .action(async (opts: { out: string; includeServerKey: boolean; json?: boolean }) => {
    const r = await withServices(async (_s, config, db) => {
      const service = new BackupService(db, new BlobStore(config.dataDir), { serverKeyFile: config.serverKeyFile, appVersion: APP_VERSION });
      const progress = process.stderr.isTTY && !opts.json;
      const result = await service.create({
        outDir: userPath(opts.out),
        includeServerKey: opts.includeServerKey,
        onProgress: (p) => {
          if (progress && p.step === 'blob' && (p.done % 50 === 0 || p.done === p.total)) process.stderr.write(`\r  copied ${p.done} of ${p.total} blobs`);
          if (progress && p.step === 'blob' && p.done === p.total) process.stderr.write('\n');
        },
      });
      return { result, serverKeyFile: config.serverKeyFile };
    });
    if (opts.json) printJson({ dir: r.result.dir, bytes: r.result.bytes, manifest: r.result.manifest });
    else print(show.backup(r.result, r.serverKeyFile));
    if (opts.includeServerKey) process.stderr.write(`\n${show.SERVER_KEY_WARNING}`);
  });

program
  .command('restore')
  .description('restore a backup folder into an EMPTY data folder (stop the server first)')
  .argument('<backup>', 'the backup folder (heirloom-backup-…)')
  .option('--data <dir>', 'data folder to restore into (default: HEIRLOOM_DATA_DIR)')
  .addOption(json())
  .action(async (from: string, opts: { data?: string; json?: boolean }) => {
    const config = configFor(opts.data);
    const r = await restoreBackup({ from: userPath(from), dataDir: config.dataDir, serverKeyFile: config.serverKeyFile });
    if (opts.json) return printJson({ dataDir: r.dataDir, documents: r.documents, bytes: r.bytes, serverKey: r.serverKey, serverKeyFile: r.serverKeyFile, createdAt: r.manifest.createdAt });
    print(show.restore(r));
  });

program
  .command('verify')
  .description('check documents against their files, find orphans and abandoned uploads, and check the database; exit code 1 on problems')
  .option('--repair', 'remove what is provably garbage (orphan files, abandoned uploads); never a document', false)
  .option('--manifest <path>', 'a backup folder (or its manifest.json) to compare SHA-256s with')
  .option('--data <dir>', 'the folder to check, e.g. a backup folder (default: HEIRLOOM_DATA_DIR)')
  .addOption(json())
  .action(async (opts: { repair: boolean; manifest?: string; data?: string; json?: boolean }) => {
    const config = configFor(opts.data);
    const dbFile = path.join(config.dataDir, 'heirloom.sqlite');
    if (!(await pathInfo(dbFile)).isFile) throw new NotFound(`There is no Heirloom database in ${config.dataDir}.`);
    const ownManifest = (await pathInfo(path.join(config.dataDir, MANIFEST_FILE))).isFile;
    if (ownManifest && opts.repair) throw new Error(`${config.dataDir} is a backup folder; a backup is never repaired in place.`);
    const manifestArg = opts.manifest ? userPath(opts.manifest) : undefined;
    const manifestDir = manifestArg ? (manifestArg.endsWith('.json') ? path.dirname(manifestArg) : manifestArg) : ownManifest ? config.dataDir : undefined;
    const manifest = manifestDir ? await readManifest(manifestDir) : undefined;
    // read-only unless repairing: verifying a backup must not change a byte of it
    const db = opts.repair ? openDb(dbFile) : openDbReadOnly(dbFile);
    try {
      const blobs = new BlobStore(config.dataDir);
      const sweeper = opts.repair ? new UploadService(db, blobs, new DocumentService(db, blobs, config), createLogger('silent')) : undefined;
      const report = await new VerifyService(db, blobs, config.dataDir, sweeper).run({ repair: opts.repair, manifest, ownManifest: ownManifest && !opts.manifest });
      if (opts.json) printJson(report);
      else print(show.verify(report));
      if (!report.ok) process.exitCode = 1;
    } finally {
      await db.destroy();
    }
  });

// migrations, configuration, statistics ----------------------------------------------------------------

const migrate = program.command('migrate').description('database migrations (the server runs "latest" at every start)');
migrate
  .command('status')
  .description('list migrations done and pending')
  .addOption(json())
  .action(async (opts: { json?: boolean }) => {
    const r = await withServices((_s, _c, db) => new MigrationService(db).status(), { migrate: false });
    if (opts.json) return printJson(r);
    print(`Done:    ${r.done.join(', ') || 'none'}\nPending: ${r.pending.join(', ') || 'none'}\n`);
  });
migrate
  .command('latest')
  .description('run every pending migration')
  .addOption(json())
  .action(async (opts: { json?: boolean }) => {
    const r = await withServices((_s, _c, db) => new MigrationService(db).latest(), { migrate: false });
    if (opts.json) return printJson(r);
    print(r.applied.length ? `Ran ${show.plural(r.applied.length, 'migration')} (batch ${r.batch}): ${r.applied.join(', ')}\n` : 'Already up to date.\n');
  });
migrate
  .command('rollback')
  .description('undo the last batch of migrations; tables it made are dropped WITH their contents (back up first)')
  .addOption(yes())
  .addOption(json())
  .action(async (opts: { yes?: boolean; json?: boolean }) => {
    const r = await withServices(
      async (_s, _c, db) => {
        const ok = await confirmed(
          opts,
          'Rolling back drops what the last migrations added, with its data (for example every document row).\nTake a backup first. Type "rollback" to go ahead: ',
          'rollback',
        );
        if (!ok) throw new Error('nothing was rolled back.');
        return new MigrationService(db).rollback();
      },
      { migrate: false },
    );
    if (opts.json) return printJson(r);
    print(r.undone.length ? `Undid ${show.plural(r.undone.length, 'migration')} (batch ${r.batch}): ${r.undone.join(', ')}\n` : 'Nothing to undo.\n');
  });

const config = program.command('config').description('the configuration');
config
  .command('check')
  .description('validate the HEIRLOOM_* settings and print the effective values (secrets masked); exit code 1 on errors')
  .addOption(json())
  .action(async (opts: { json?: boolean }) => {
    const r = await checkConfig(process.env);
    if (opts.json) printJson(r);
    else print(show.configReport(r));
    if (!r.ok) process.exitCode = 1;
  });

program
  .command('stats')
  .description('accounts, documents, bytes, uploads in flight and the database size')
  .addOption(json())
  .action(async (opts: { json?: boolean }) => {
    const r = await withServices((s) => s.admin.stats());
    if (opts.json) return printJson(r);
    print(show.stats(r));
  });

program.addHelpText(
  'after',
  '\nThe admin can never read a document or reset a password. Examples and what each command prints: docs/admin-cli.md',
);

// Backups, restores and a database made by a command on a fresh folder are for this user only, as the
// server's own files are (server/main.ts).
process.umask(0o077);
program.parseAsync().catch((err) => {
  const message =
    err instanceof ConfigError
      ? `the setting ${err.message}`
      : err instanceof AppError || err instanceof ServerKeyError || err instanceof Error
        ? err.message
        : String(err);
  process.stderr.write(`heirloom-admin: ${message}\n`);
  process.exit(1);
});
