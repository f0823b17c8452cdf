import { mkdtempSync, rmSync, createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { loadConfig, type Config } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { openDataFolder } from '../../server/bootstrap.js';
import { createApp, type Services } from '../../server/app.js';
import { answerParserErrorsWithJson } from '../../server/http.js';
import type { Db } from '../../server/db/connection.js';
import type { RateLimitSettings } from '../../server/services/rateLimits.js';
import type { Clock } from '../../server/clock.js';

export interface TestServer {
  app: Express;
  services: Services;
  db: Db;
  config: Config;
  dataDir: string;
  logFile: string;
  /** the whole log written so far */
  logs(): string;
  /** listens on a random port (for browser tests); returns the base URL */
  listen(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A real app on a fresh temp data folder with a real SQLite file. Argon2id runs at the floor
 * (3 passes, 64 MiB) to keep tests quick; everything else is as in production.
 */
export async function startTestServer(opts: { env?: Record<string, string>; rateLimits?: Partial<RateLimitSettings>; clock?: Clock } = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'heirloom-test-'));
  const logFile = path.join(dataDir, '..', `${path.basename(dataDir)}.log`);
  const config = loadConfig({
    HEIRLOOM_DATA_DIR: dataDir,
    HEIRLOOM_PORT: '0',
    HEIRLOOM_KDF_MEM_MIB: '64',
    HEIRLOOM_LOG_LEVEL: 'debug',
    ...opts.env,
  });
  const stream: WriteStream = createWriteStream(logFile);
  const logger = createLogger(config.logLevel, stream);
  const data = await openDataFolder(config);
  const { app, services } = createApp({ config, db: data.db, serverKey: data.serverKey, logger, rateLimits: opts.rateLimits, clock: opts.clock });
  let server: Server | undefined;
  return {
    app,
    services,
    db: data.db,
    config,
    dataDir,
    logFile,
    logs: () => readFileSync(logFile, 'utf8'),
    listen: () =>
      new Promise((resolve) => {
        server = app.listen(0, '127.0.0.1', () => {
          const { port } = server!.address() as AddressInfo;
          config.baseUrl = `http://127.0.0.1:${port}`;
          resolve(config.baseUrl);
        });
        answerParserErrorsWithJson(server);
      }),
    close: async () => {
      if (server) {
        server.closeAllConnections();
        await new Promise((r) => server!.close(r));
      }
      await data.db.destroy();
      await new Promise((r) => stream.end(r));
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(logFile, { force: true });
    },
  };
}
