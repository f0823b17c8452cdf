import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import knexFactory, { type Knex } from 'knex';

export type Db = Knex;

const here = path.dirname(fileURLToPath(import.meta.url));
export const MIGRATIONS_DIR = path.resolve(here, '..', '..', 'migrations');

/**
 * The migration files, run from TypeScript (npm start, tests) or from the image's compiled JavaScript.
 * knex's own loader records a migration under its file name, extension included, so a database made by
 * one would look "corrupt" to the other; here every migration is known by its .ts name wherever it runs,
 * and the file loaded is the one in this module's own language.
 */
class MigrationFiles implements Knex.MigrationSource<string> {
  readonly #ext = path.extname(fileURLToPath(import.meta.url));

  async getMigrations(): Promise<string[]> {
    const files = await readdir(MIGRATIONS_DIR);
    const names = files.filter((f) => /^\d{14}_\w+\.(ts|js)$/.test(f)).map((f) => f.replace(/\.(ts|js)$/, '.ts'));
    return [...new Set(names)].sort();
  }

  getMigrationName(name: string): string {
    return name;
  }

  async getMigration(name: string): Promise<Knex.Migration> {
    const file = path.join(MIGRATIONS_DIR, name.replace(/\.ts$/, this.#ext));
    return (await import(pathToFileURL(file).href)) as Knex.Migration;
  }
}

export const migrationConfig: Knex.MigratorConfig = {
  migrationSource: new MigrationFiles(),
  tableName: 'knex_migrations',
};

/**
 * Opens the SQLite database with the settings durability needs: WAL so readers never block the writer,
 * synchronous=FULL so a committed transaction survives a power cut, and foreign keys enforced.
 */
export function openDb(file: string): Db {
  return knexFactory({
    client: 'better-sqlite3',
    connection: { filename: file },
    useNullAsDefault: true,
    migrations: migrationConfig,
    pool: {
      min: 1,
      max: 1,
      afterCreate(conn: { pragma: (sql: string) => unknown }, done: (err: Error | null, conn: unknown) => void) {
        try {
          conn.pragma('journal_mode = WAL');
          conn.pragma('synchronous = FULL');
          conn.pragma('foreign_keys = ON');
          conn.pragma('busy_timeout = 5000');
          done(null, conn);
        } catch (err) {
          done(err as Error, conn);
        }
      },
    },
  });
}

export async function migrateLatest(db: Db): Promise<void> {
  await db.migrate.latest(migrationConfig);
}

/**
 * Opens a database only to read it (verify of a backup folder, the rescue tool's way of looking): no
 * pragma that writes, no migrations, so the file and its hash stay exactly as they were.
 */
export function openDbReadOnly(file: string): Db {
  return knexFactory({
    client: 'better-sqlite3',
    connection: { filename: file, options: { readonly: true } },
    useNullAsDefault: true,
    pool: { min: 1, max: 1 },
  });
}
