import { createWriteStream, mkdtempSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import { loadConfig, type Config } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { openDataFolder } from '../../server/bootstrap.js';
import { createApp, type Services } from '../../server/app.js';
import type { Db } from '../../server/db/connection.js';

/** A temp folder (not created inside it: callers decide), removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `heirloom-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface FolderServer {
  app: Express;
  services: Services;
  db: Db;
  config: Config;
  logs(): string;
  /** stops the app; the data folder stays (it belongs to the test) */
  close(): Promise<void>;
}

/**
 * The real app on a data folder that already exists (a restored backup), started the way server/main.ts
 * starts it: open the folder (migrations), then the start-up sweep and trash purge.
 */
export async function startServerOn(dataDir: string, env: Record<string, string> = {}): Promise<FolderServer> {
  const logFile = `${dataDir}.log`;
  const config = loadConfig({ HEIRLOOM_DATA_DIR: dataDir, HEIRLOOM_PORT: '0', HEIRLOOM_KDF_MEM_MIB: '64', HEIRLOOM_LOG_LEVEL: 'debug', ...env });
  const stream: WriteStream = createWriteStream(logFile);
  const logger = createLogger(config.logLevel, stream);
  const data = await openDataFolder(config);
  const { app, services } = createApp({ config, db: data.db, serverKey: data.serverKey, logger });
  await services.uploads.sweep();
  await services.documents.purgeExpired();
  return {
    app,
    services,
    db: data.db,
    config,
    logs: () => readFileSync(logFile, 'utf8'),
    close: async () => {
      await data.db.destroy();
      await new Promise((r) => stream.end(r));
      rmSync(logFile, { force: true });
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npm run -s <script> -- ...args` (the real binary's code path) with extra environment. */
export function runCli(script: 'admin' | 'rescue', args: string[], env: Record<string, string> = {}, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn('npm', ['run', '-s', script, '--', ...args], {
      cwd: path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..'),
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    proc.stdin.end(input ?? '');
  });
}
