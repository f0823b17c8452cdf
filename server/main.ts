import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { openDataFolder } from './bootstrap.js';
import { createApp } from './app.js';
import { answerParserErrorsWithJson } from './http.js';
import { ServerKeyError } from './storage/serverKey.js';

/** `npm start` / the container's command: validate config, open the data folder, serve. */
async function main(): Promise<void> {
  // Everything this process creates (database, WAL, blobs, uploads, keys, backups) is for its own user
  // only: other local users of the machine must not read even the ciphertext or the auth hashes.
  process.umask(0o077);
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Heirloom cannot start: the setting ${err.message}\nSee docs/configuration.md.\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  let data;
  try {
    data = await openDataFolder(config);
  } catch (err) {
    if (err instanceof ServerKeyError) {
      process.stderr.write(`Heirloom cannot start: ${err.message}\n`);
      process.exit(2);
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      const where = (err as NodeJS.ErrnoException).path ?? config.dataDir;
      process.stderr.write(
        `Heirloom cannot start: it is not allowed to write to ${where}.\n` +
          `Give the data folder to the user Heirloom runs as (in Docker: chown -R 1000:1000 on the host folder mounted at /data).\n`,
      );
      process.exit(2);
    }
    throw err;
  }
  for (const dir of data.loosePermissions) {
    logger.warn({ dir }, `other users of this machine can open ${dir}: run chmod 700 on it (docs/install.md)`);
  }
  if (data.serverKeyCreated) {
    logger.warn({ file: config.serverKeyFile }, 'created a new server key: back it up separately from the data folder');
  }
  const { app, services } = createApp({ config, db: data.db, serverKey: data.serverKey, logger });
  // nothing is in flight before we listen: whatever an earlier run left half-done goes now
  await services.uploads.sweep();
  await services.documents.purgeExpired();

  // The first account's link is made before listening and printed in the same tick as the server starts to
  // answer: whoever sees /healthz answer (a container check, a script) finds the link already in the logs.
  const firstInvite =
    (await services.registration.userCount()) === 0 ? await services.registration.createInvitation({ isAdmin: true, validHours: 24 }) : null;
  const server = app.listen(config.port, config.host, async (err?: Error) => {
    if (err) {
      process.stderr.write(`Heirloom cannot start: ${listenProblem(err, config.port, config.host)}\n`);
      await data.db.destroy().catch(() => {});
      process.exit(2);
    }
    const { port } = server.address() as AddressInfo;
    logger.info({ port, dataDir: config.dataDir }, 'Heirloom is listening');
    const lines = [`Heirloom is running at ${config.baseUrl} (port ${port}).`];
    if (firstInvite) {
      const invite = firstInvite;
      lines.push(
        '',
        'No account exists yet. Open this one-time link within 24 hours to create the first (admin) account:',
        '',
        `    ${invite.url}`,
        '',
        'Restarting before it is used prints a new link. More people join with links from:',
        '    npm run admin -- invite create      (in Docker: docker exec heirloom heirloom-admin invite create)',
      );
    }
    process.stdout.write(`\n${lines.join('\n')}\n\n`);
  });
  answerParserErrorsWithJson(server);

  const sweep = setInterval(() => {
    services.sessions.sweep().catch((err) => logger.error({ err }, 'session sweep failed'));
  }, 10 * 60_000);
  const hourly = setInterval(() => {
    services.uploads.sweep({ graceMs: 3600_000 }).catch((err) => logger.error({ err }, 'upload sweep failed'));
    services.documents.purgeExpired().catch((err) => logger.error({ err }, 'trash purge failed'));
  }, 3600_000);
  hourly.unref();
  sweep.unref();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    clearInterval(sweep);
    clearInterval(hourly);
    server.close(() => {
      data.db.destroy().finally(() => process.exit(0));
    });
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** The sentence for a port we cannot listen on; the setting to change is named, since that is the fix. */
function listenProblem(err: Error, port: number, host: string): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return `port ${port} is already in use (another program, or another Heirloom, listens on it). Stop that program, or set HEIRLOOM_PORT to a free port.`;
    case 'EACCES':
      return `it is not allowed to listen on port ${port} (ports below 1024 need extra rights). Set HEIRLOOM_PORT to a port from 1024 up, such as 8080, and put a reverse proxy in front for port 80 or 443.`;
    case 'EADDRNOTAVAIL':
      return `${host} is not an address of this machine, so it cannot listen on it. Check HEIRLOOM_HOST (0.0.0.0 listens on every address).`;
    default:
      return `it cannot listen on ${host}:${port} (HEIRLOOM_HOST, HEIRLOOM_PORT): ${err.message}`;
  }
}

main().catch((err) => {
  process.stderr.write(`Heirloom failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
