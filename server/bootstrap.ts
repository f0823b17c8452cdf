import path from 'node:path';
import type { Config } from './config.js';
import { migrateLatest, openDb, type Db } from './db/connection.js';
import { ensureDataDirs, ensurePrivate, loadOrCreateServerKey } from './storage/serverKey.js';
import { ready } from '../client/crypto/index.js';

export interface DataFolder {
  db: Db;
  serverKey: Uint8Array;
  serverKeyCreated: boolean;
  /** folders other local users can open and that could not be tightened (the server warns about them) */
  loosePermissions: string[];
}

/**
 * Opens (creating on first start) the data folder: directories, server key, database, migrations.
 * Shared by the server and the admin CLI.
 */
export async function openDataFolder(config: Config, opts: { migrate?: boolean } = {}): Promise<DataFolder> {
  await ready();
  const loosePermissions = ensureDataDirs(config.dataDir);
  const { key, created } = loadOrCreateServerKey(config.serverKeyFile);
  ensurePrivate(config.serverKeyFile);
  const db = openDb(path.join(config.dataDir, 'heirloom.sqlite'));
  if (opts.migrate !== false) await migrateLatest(db);
  return { db, serverKey: key, serverKeyCreated: created, loosePermissions };
}
