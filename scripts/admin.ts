import { Command, Option } from 'commander';
import { ConfigError, loadConfig } from '../server/config.js';
import { openDataFolder } from '../server/bootstrap.js';
import { createServices } from '../server/app.js';
import { createLogger } from '../server/logger.js';
import { AppError } from '../server/errors.js';
import { parseSize } from '../server/services/admin.js';

/**
 * heirloom-admin: the family admin's command line. Commands parse and print; the services do the work.
 * The admin can never read a document or reset a password: Heirloom holds no key that could.
 */
async function withServices<T>(fn: (s: ReturnType<typeof createServices>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const data = await openDataFolder(config);
  try {
    return await fn(createServices({ config, db: data.db, serverKey: data.serverKey, logger: createLogger('silent') }));
  } finally {
    await data.db.destroy();
  }
}

const json = new Option('--json', 'print machine-readable JSON');

const program = new Command('heirloom-admin')
  .description(
    'Administer a Heirloom instance. Reads the same HEIRLOOM_* settings as the server.\n' +
      'Nothing here can read a document or reset a password: only their owners hold those keys.',
  )
  .showHelpAfterError();

const invite = program.command('invite').description('invitation links for new family members');
invite
  .command('create')
  .description('print a one-time invitation link (valid for HEIRLOOM_INVITE_DAYS days)')
  .option('--admin', 'the new account will be an admin', false)
  .addOption(json)
  .action(async (opts: { admin: boolean; json?: boolean }) => {
    const inv = await withServices((s) => s.registration.createInvitation({ isAdmin: opts.admin }));
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ url: inv.url, isAdmin: inv.isAdmin, expiresAt: inv.expiresAt })}\n`);
    } else {
      process.stdout.write(
        `Invitation${inv.isAdmin ? ' (admin)' : ''} created. Send this link to the person, privately:\n\n    ${inv.url}\n\n` +
          `It works once and expires ${inv.expiresAt}.\n`,
      );
    }
  });

const user = program.command('user').description('accounts on this instance');
user
  .command('list')
  .description('list accounts')
  .addOption(json)
  .action(async (opts: { json?: boolean }) => {
    const list = await withServices((s) => s.registration.listUsers());
    if (opts.json) return void process.stdout.write(`${JSON.stringify(list)}\n`);
    if (list.length === 0) return void process.stdout.write('No accounts yet.\n');
    for (const u of list) {
      process.stdout.write(`${u.username.padEnd(32)} ${u.isAdmin ? 'admin ' : 'member'}  since ${u.createdAt.slice(0, 10)}\n`);
    }
  });

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MiB`;

user
  .command('quota')
  .description('show or set how much storage a person may use (encrypted bytes, the trash included)')
  .argument('<username>', 'whose quota')
  .argument('[size]', 'new quota, e.g. 500MiB or 20GiB, or "default" for the instance default (HEIRLOOM_DEFAULT_QUOTA_MIB)')
  .addOption(json)
  .action(async (username: string, size: string | undefined, opts: { json?: boolean }) => {
    const result = await withServices((s) =>
      size === undefined ? s.admin.usage(username) : s.admin.setQuota(username, size === 'default' ? null : parseSize(size)),
    );
    if (opts.json) return void process.stdout.write(`${JSON.stringify(result)}\n`);
    process.stdout.write(
      `${username}: ${mib(result.used)} used of ${mib(result.quota)}${result.custom ? '' : ' (the default)'}, ${result.documents} document${result.documents === 1 ? '' : 's'}\n`,
    );
  });

program.parseAsync().catch((err) => {
  const message =
    err instanceof ConfigError ? `the setting ${err.message}` : err instanceof AppError || err instanceof Error ? err.message : String(err);
  process.stderr.write(`heirloom-admin: ${message}\n`);
  process.exit(1);
});
