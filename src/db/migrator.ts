import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ErrorCodes, MigrationError } from '../errors.js';
import { noopLogger, type Logger } from '../logger.js';
import { packageRoot } from '../package-root.js';
import type { SqliteDatabase } from './open-database.js';

/** One numbered schema change of one store: `migrations/<store>/<NNNN>_<name>.up.sql` and its `.down.sql`. */
export interface Migration {
  store: string;
  version: number;
  name: string;
  upSql: string;
  downSql: string | undefined;
  /** SHA-256 of the up file, hex. */
  checksum: string;
  path: string;
}

export interface MigrationStatus {
  store: string;
  version: number;
  name: string;
  applied: boolean;
  appliedAt: string | undefined;
}

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$/;

/** Reads the migration files of `store`, ordered by version. */
export function loadMigrations(store: string, directory = join(packageRoot(), 'migrations')): Migration[] {
  const folder = join(directory, store);
  const byVersion = new Map<number, Partial<Migration> & { version: number; name: string }>();

  for (const file of readdirSync(folder).sort()) {
    const match = FILE_PATTERN.exec(file);
    if (match === null) {
      throw new MigrationError(ErrorCodes.MIGRATION_FAILED, `Unexpected file ${join(folder, file)}: migration files are named NNNN_name.up.sql and NNNN_name.down.sql.`, { details: { file } });
    }
    const version = Number(match[1]);
    const name = match[2]!;
    const entry = byVersion.get(version) ?? { version, name };
    if (entry.name !== name) {
      throw new MigrationError(ErrorCodes.MIGRATION_FAILED, `Migration ${version} of ${store} has two names, ${entry.name} and ${name}; give the up and down files the same name.`, { details: { store, version } });
    }
    const sql = readFileSync(join(folder, file), 'utf8');
    if (match[3] === 'up') {
      entry.upSql = sql;
      entry.path = join(folder, file);
      entry.checksum = createHash('sha256').update(sql).digest('hex');
    } else {
      entry.downSql = sql;
    }
    byVersion.set(version, entry);
  }

  const migrations = [...byVersion.values()].sort((a, b) => a.version - b.version);
  return migrations.map((entry, index) => {
    if (entry.upSql === undefined) {
      throw new MigrationError(ErrorCodes.MIGRATION_FAILED, `Migration ${entry.version}_${entry.name} of ${store} has no .up.sql file.`, { details: { store, version: entry.version } });
    }
    if (entry.version !== index + 1) {
      throw new MigrationError(ErrorCodes.MIGRATION_FAILED, `Migrations of ${store} must be numbered 1, 2, 3 without gaps; found ${entry.version} in position ${index + 1}.`, { details: { store, version: entry.version } });
    }
    return { store, version: entry.version, name: entry.name, upSql: entry.upSql, downSql: entry.downSql, checksum: entry.checksum!, path: entry.path! };
  });
}

interface AppliedRow {
  store: string;
  version: number;
  name: string;
  checksum: string;
  applied_at: string;
}

/**
 * Applies the migrations of several stores to one database. Each file runs in its own immediate
 * transaction together with its row in `schema_migrations`, so a failure leaves the previous version
 * and a second process waits on the write lock instead of applying the same file twice.
 */
export class Migrator {
  readonly #db: SqliteDatabase;
  readonly #migrations: Map<string, Migration[]>;
  readonly #logger: Logger;

  constructor(db: SqliteDatabase, stores: readonly string[], options: { directory?: string; logger?: Logger } = {}) {
    this.#db = db;
    this.#logger = options.logger ?? noopLogger;
    this.#migrations = new Map(stores.map((store) => [store, loadMigrations(store, options.directory)]));
    this.#ensureMigrationTable();
  }

  status(): MigrationStatus[] {
    const applied = this.#applied();
    const statuses: MigrationStatus[] = [];
    for (const [store, migrations] of this.#migrations) {
      for (const migration of migrations) {
        const row = applied.get(`${store}/${migration.version}`);
        statuses.push({ store, version: migration.version, name: migration.name, applied: row !== undefined, appliedAt: row?.applied_at });
      }
    }
    return statuses;
  }

  /** Applies every pending migration and returns those it applied. */
  up(): Migration[] {
    this.#checkHistory();
    const done: Migration[] = [];
    for (const migrations of this.#migrations.values()) {
      for (const migration of migrations) {
        if (this.#apply(migration)) done.push(migration);
      }
    }
    return done;
  }

  #apply(migration: Migration): boolean {
    // Checked first without a lock: taking the write lock for every applied migration at each open
    // would make other connections' read-then-write transactions fail with SQLITE_BUSY.
    if (this.#db.prepare('SELECT 1 FROM schema_migrations WHERE store = ? AND version = ?').get(migration.store, migration.version) !== undefined) return false;

    const started = performance.now();
    const applyOnce = this.#db.transaction(() => {
      // Re-read inside the write lock: another process may have applied it while this one waited.
      const exists = this.#db.prepare('SELECT 1 FROM schema_migrations WHERE store = ? AND version = ?').get(migration.store, migration.version);
      if (exists !== undefined) return false;

      this.#db.exec(migration.upSql);
      this.#db.prepare('INSERT INTO schema_migrations (store, version, name, checksum, applied_at) VALUES (?, ?, ?, ?, ?)')
        .run(migration.store, migration.version, migration.name, migration.checksum, new Date().toISOString());
      return true;
    });

    let applied: boolean;
    try {
      applied = applyOnce.immediate();
    } catch (error) {
      throw new MigrationError(ErrorCodes.MIGRATION_FAILED, `Migration ${migration.path} failed and was rolled back: ${(error as Error).message}`, { cause: error, details: { store: migration.store, version: migration.version, path: migration.path } });
    }
    if (applied) {
      this.#logger.info({ store: migration.store, version: migration.version, name: migration.name, durationMs: performance.now() - started }, 'migrated');
    }
    return applied;
  }

  #checkHistory(): void {
    for (const row of this.#applied().values()) {
      const migrations = this.#migrations.get(row.store);
      if (migrations === undefined) continue;
      const migration = migrations[row.version - 1];
      if (migration === undefined) {
        throw new MigrationError(ErrorCodes.SCHEMA_TOO_NEW, `The database has migration ${row.version}_${row.name} of ${row.store}, which this version of Porchlight does not know; it was written by a newer Porchlight. Upgrade Porchlight or restore a backup.`, { details: { store: row.store, version: row.version } });
      }
      if (migration.checksum !== row.checksum) {
        throw new MigrationError(ErrorCodes.MIGRATION_CHECKSUM_MISMATCH, `Migration ${migration.path} changed after it was applied (checksum ${migration.checksum} differs from the recorded ${row.checksum}). Restore the file; put schema changes in a new migration.`, { details: { store: row.store, version: row.version, path: migration.path } });
      }
    }
  }

  #applied(): Map<string, AppliedRow> {
    const rows = this.#db.prepare('SELECT store, version, name, checksum, applied_at FROM schema_migrations ORDER BY store, version').all() as AppliedRow[];
    return new Map(rows.map((row) => [`${row.store}/${row.version}`, row]));
  }

  #ensureMigrationTable(): void {
    this.#db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      store TEXT NOT NULL,
      version INTEGER NOT NULL,
      name TEXT NOT NULL,
      checksum TEXT NOT NULL,
      applied_at TEXT NOT NULL,
      PRIMARY KEY (store, version)
    ) STRICT`);
  }
}
