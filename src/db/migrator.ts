import { dirname, join } from 'node:path';

import { ErrorCodes, MigrationError, PorchlightError, invalidArgument, showValue } from '../errors.js';
import { checkKeys } from '../faces/face-database.js';
import { noopLogger, type Logger } from '../logger.js';
import { backupDatabase } from './backup-database.js';
import { loadMigrations, type Migration } from './load-migrations.js';
import { migrationFailure } from './migration-failure.js';
import type { SqliteDatabase } from './open-database.js';

export { loadMigrations } from './load-migrations.js';
export type { Migration } from './load-migrations.js';

export interface MigratorOptions {
  /** Folder with one subfolder of migration files per store. Default: the `migrations` folder shipped with Porchlight. */
  directory?: string;
  logger?: Logger;
  /**
   * Copy the database with SQLite's online backup API before `up` or `down` changes a database that
   * contains rows. Default true. In-memory databases are never copied.
   */
  backup?: boolean;
  /** Folder for those copies. Default: `backups` beside the database file. */
  backupDirectory?: string;
}

export interface MigrateUpOptions {
  /** Only this store. Default: every store, in the order given to the constructor. */
  store?: string;
  /** Highest version to apply. Without `store` it caps every store. Default: the latest of each store. */
  to?: number;
}

export interface MigrateDownOptions {
  /** Only this store. Default: every store, in reverse order. */
  store?: string;
  /** Version to revert to; 0 removes every migration of the store. */
  to: number;
}

/** The state of one migration: applied, pending, applied but changed since, or recorded by an unknown (newer) file. */
export type MigrationState = 'applied' | 'pending' | 'changed' | 'unknown';

export interface MigrationStatus {
  store: string;
  version: number;
  name: string;
  applied: boolean;
  /** ISO 8601 UTC time of the apply, when applied. */
  appliedAt: string | undefined;
  state: MigrationState;
}

export interface MigrationStep {
  store: string;
  version: number;
  name: string;
  durationMs: number;
}

/** The result of one `up` or `down` call. */
export interface MigrationRun {
  direction: 'up' | 'down';
  /** Migrations applied (up) or reverted (down), in the order they ran. */
  steps: MigrationStep[];
  /** Path of the copy taken before the first step, or undefined when none was taken. */
  backupPath: string | undefined;
}

interface AppliedRow {
  store: string;
  version: number;
  name: string;
  checksum: string;
  applied_at: string;
}

const DEFAULT_OPTIONS = Object.freeze({ backup: true });

/**
 * Applies and reverts the migrations of several stores in one database. Each migration runs in its
 * own immediate transaction together with its row in `schema_migrations`, so a failure leaves the
 * store at the previous version. A second process waits for the write lock and then re-reads the
 * recorded version, so it never applies a migration twice.
 */
export class Migrator {
  readonly #db: SqliteDatabase;
  readonly #stores: readonly string[];
  readonly #migrations: Map<string, Migration[]>;
  readonly #logger: Logger;
  readonly #backup: boolean;
  readonly #backupDirectory: string;

  constructor(db: SqliteDatabase, stores: readonly string[], options: MigratorOptions = {}) {
    checkKeys(options, ['directory', 'logger', 'backup', 'backupDirectory'], 'options');
    const backup = options.backup ?? DEFAULT_OPTIONS.backup;
    if (typeof backup !== 'boolean') throw invalidArgument(`options.backup must be true or false, got ${showValue(backup)}.`, { backup });
    if (options.backupDirectory !== undefined && (typeof options.backupDirectory !== 'string' || options.backupDirectory.length === 0)) {
      throw invalidArgument(`options.backupDirectory must be a folder path, got ${showValue(options.backupDirectory)}.`, {});
    }

    this.#db = db;
    this.#stores = [...stores];
    this.#logger = options.logger ?? noopLogger;
    this.#backup = backup;
    this.#backupDirectory = options.backupDirectory ?? join(dirname(db.name), 'backups');
    this.#migrations = new Map(stores.map((store) => [store, loadMigrations(store, options.directory)]));
  }

  /** Lists every migration of every store, plus versions the database records but no file defines. */
  status(): MigrationStatus[] {
    const applied = this.#applied();
    const statuses: MigrationStatus[] = [];
    for (const [store, migrations] of this.#migrations) {
      for (const migration of migrations) {
        const row = applied.get(`${store}/${migration.version}`);
        let state: MigrationState = 'pending';
        if (row !== undefined) state = row.checksum === migration.checksum ? 'applied' : 'changed';
        statuses.push({ store, version: migration.version, name: migration.name, applied: row !== undefined, appliedAt: row?.applied_at, state });
      }
      for (const row of applied.values()) {
        if (row.store === store && row.version > migrations.length) {
          statuses.push({ store, version: row.version, name: row.name, applied: true, appliedAt: row.applied_at, state: 'unknown' });
        }
      }
    }
    return statuses;
  }

  /** Returns the highest version that the migration files of `store` define. */
  latestVersion(store: string): number {
    this.#checkStore(store, 'store');
    return this.#migrations.get(store)!.length;
  }

  /** Returns the highest version of `store` recorded in the database, 0 when none. */
  currentVersion(store: string): number {
    this.#checkStore(store, 'store');
    return versionOf(this.#applied(), store);
  }

  /** Applies pending migrations up to `options.to`, after a backup when the database contains rows. */
  async up(options: MigrateUpOptions = {}): Promise<MigrationRun> {
    const plan = this.#prepareUp(options);
    if (plan.length === 0) return { direction: 'up', steps: [], backupPath: undefined };

    const backupPath = await this.#backupIfHoldsRows('before-migration');
    const steps: MigrationStep[] = [];
    try {
      for (const migration of plan) {
        const step = this.#applyUp(migration);
        if (step !== undefined) steps.push(step);
      }
    } catch (error) {
      throw withPartialRun(error, { direction: 'up', steps, backupPath });
    }
    return { direction: 'up', steps, backupPath };
  }

  /** Reverts applied migrations above `options.to`, newest first, after a backup when the database contains rows. */
  async down(options: MigrateDownOptions): Promise<MigrationRun> {
    const plan = this.#prepareDown(options);
    if (plan.length === 0) return { direction: 'down', steps: [], backupPath: undefined };

    const backupPath = await this.#backupIfHoldsRows('before-revert');
    const steps: MigrationStep[] = [];
    try {
      for (const migration of plan) {
        const step = this.#applyDown(migration);
        if (step !== undefined) steps.push(step);
      }
    } catch (error) {
      throw withPartialRun(error, { direction: 'down', steps, backupPath });
    }
    return { direction: 'down', steps, backupPath };
  }

  /** Throws what `up(options)` would throw before its first step (bad options, a refused history), and changes nothing. */
  checkUp(options: MigrateUpOptions = {}): void {
    this.#prepareUp(options);
  }

  /** Throws what `down(options)` would throw before its first step, and changes nothing. */
  checkDown(options: MigrateDownOptions): void {
    this.#prepareDown(options);
  }

  #prepareUp(options: MigrateUpOptions): Migration[] {
    checkMigrateOptions(options, 'up');
    if (options.store !== undefined) this.#checkStore(options.store, 'options.store');
    if (options.to !== undefined) this.#checkTarget(options.to, options.store);
    return this.#planUp(options.store, options.to);
  }

  #prepareDown(options: MigrateDownOptions): Migration[] {
    checkMigrateOptions(options, 'down');
    if (options.store !== undefined) this.#checkStore(options.store, 'options.store');
    this.#checkTarget(options.to, options.store);
    return this.#planDown(options.store, options.to);
  }

  #planUp(onlyStore: string | undefined, to: number | undefined): Migration[] {
    const applied = this.#checkHistory();
    const plan: Migration[] = [];
    for (const [store, migrations] of this.#migrations) {
      if (onlyStore !== undefined && store !== onlyStore) continue;
      const current = versionOf(applied, store);
      if (onlyStore !== undefined && to !== undefined && to < current) {
        throw invalidArgument(`Store ${store} is at version ${current}, above ${to}; use down to revert it.`, { store, current, to });
      }
      plan.push(...migrations.filter((migration) => migration.version > current && (to === undefined || migration.version <= to)));
    }
    return plan;
  }

  #planDown(onlyStore: string | undefined, to: number): Migration[] {
    const applied = this.#checkHistory();
    const plan: Migration[] = [];
    for (const store of [...this.#stores].reverse()) {
      if (onlyStore !== undefined && store !== onlyStore) continue;
      const current = versionOf(applied, store);
      const migrations = this.#migrations.get(store)!;
      plan.push(...migrations.filter((migration) => migration.version > to && migration.version <= current).reverse());
    }

    // Refuse before touching anything when one of the steps cannot be reverted.
    const irreversible = plan.find((migration) => migration.downStatements === undefined);
    if (irreversible !== undefined) {
      throw new MigrationError(ErrorCodes.MIGRATION_NOT_REVERSIBLE, `Migration ${irreversible.version}_${irreversible.name} of ${irreversible.store} has no .down.sql file, so it cannot be reverted; nothing was changed. Restore a backup taken before it instead.`, { details: { store: irreversible.store, version: irreversible.version } });
    }
    return plan;
  }

  #applyUp(migration: Migration): MigrationStep | undefined {
    const started = performance.now();
    this.#logger.info({ store: migration.store, version: migration.version, name: migration.name }, 'migrating');

    const applied = this.#inWriteLock(migration, 'up', () => {
      // Another process may have moved this store while this one waited for the lock.
      const current = this.#recordedVersion(migration.store);
      if (current >= migration.version) return false;
      if (current !== migration.version - 1) throw concurrentChange(migration, current, 'up');

      this.#runStatements(migration, 'up');
      this.#db.prepare('INSERT INTO schema_migrations (store, version, name, checksum, applied_at) VALUES (?, ?, ?, ?, ?)')
        .run(migration.store, migration.version, migration.name, migration.checksum, new Date().toISOString());
      return true;
    });
    if (!applied) return undefined;

    const durationMs = performance.now() - started;
    this.#logger.info({ store: migration.store, version: migration.version, name: migration.name, durationMs }, 'migrated');
    return { store: migration.store, version: migration.version, name: migration.name, durationMs };
  }

  #applyDown(migration: Migration): MigrationStep | undefined {
    const started = performance.now();
    this.#logger.info({ store: migration.store, version: migration.version, name: migration.name }, 'reverting');

    const reverted = this.#inWriteLock(migration, 'down', () => {
      const current = this.#recordedVersion(migration.store);
      if (current < migration.version) return false;
      if (current !== migration.version) throw concurrentChange(migration, current, 'down');

      this.#runStatements(migration, 'down');
      this.#db.prepare('DELETE FROM schema_migrations WHERE store = ? AND version = ?').run(migration.store, migration.version);
      return true;
    });
    if (!reverted) return undefined;

    const durationMs = performance.now() - started;
    this.#logger.info({ store: migration.store, version: migration.version, name: migration.name, durationMs }, 'reverted');
    return { store: migration.store, version: migration.version, name: migration.name, durationMs };
  }

  /** Runs `work` in an immediate transaction, turning SQLite failures into MigrationErrors that name the migration. */
  #inWriteLock(migration: Migration, direction: 'up' | 'down', work: () => boolean): boolean {
    try {
      return this.#db.transaction(() => {
        this.#ensureMigrationTable();
        return work();
      }).immediate();
    } catch (error) {
      if (error instanceof MigrationError) throw error;
      if ((error as { code?: unknown }).code === 'SQLITE_BUSY') {
        throw new MigrationError(ErrorCodes.MIGRATION_LOCKED, `Could not ${direction === 'up' ? 'apply' : 'revert'} migration ${migration.version}_${migration.name} of ${migration.store}: another connection holds the write lock on ${this.#db.name} (probably another process migrating it). Nothing was changed; run again when that process has finished.`, { cause: error, details: { store: migration.store, version: migration.version } });
      }
      throw new MigrationError(ErrorCodes.MIGRATION_FAILED, `Migration ${migration.version}_${migration.name} of ${migration.store} failed and was rolled back: ${(error as Error).message}`, { cause: error, details: { store: migration.store, version: migration.version } });
    }
  }

  #runStatements(migration: Migration, direction: 'up' | 'down'): void {
    const statements = direction === 'up' ? migration.upStatements : migration.downStatements!;
    statements.forEach((statement, index) => {
      try {
        this.#db.exec(statement.text);
      } catch (error) {
        throw migrationFailure({ migration, direction, statement, index, count: statements.length, error, previousVersion: direction === 'up' ? migration.version - 1 : migration.version });
      }
    });
  }

  /** Checks the recorded history against the files and returns it: no unknown version, no gap, no changed file. */
  #checkHistory(): Map<string, AppliedRow> {
    const applied = this.#applied();
    for (const [store, migrations] of this.#migrations) {
      const versions = [...applied.values()].filter((row) => row.store === store).map((row) => row.version).sort((a, b) => a - b);
      const newest = versions.at(-1) ?? 0;
      if (newest > migrations.length) {
        const row = applied.get(`${store}/${newest}`)!;
        throw new MigrationError(ErrorCodes.SCHEMA_TOO_NEW, `The database records migration ${row.version}_${row.name} of ${store}, but this Porchlight only knows ${store} migrations up to ${migrations.length}: the database was written by a newer Porchlight. Upgrade Porchlight, or restore a backup taken before that upgrade.`, { details: { store, version: newest, known: migrations.length } });
      }

      const missing = versions.length === 0 ? undefined : Array.from({ length: versions.at(-1)! }, (_, i) => i + 1).find((version) => !versions.includes(version));
      if (missing !== undefined) {
        throw new MigrationError(ErrorCodes.MIGRATION_HISTORY_GAP, `schema_migrations records versions ${versions.join(', ')} of ${store} but not ${missing}, so the schema of ${store} is in an unknown state and no migration is run. Restore the backup taken before the last migration (the backups folder beside the database holds the copies Porchlight made).`, { details: { store, versions, missing } });
      }

      for (const version of versions) {
        const row = applied.get(`${store}/${version}`)!;
        const migration = migrations[version - 1]!;
        if (migration.checksum !== row.checksum) {
          throw new MigrationError(ErrorCodes.MIGRATION_CHECKSUM_MISMATCH, `Migration ${migration.path} changed after it was applied (checksum ${migration.checksum} differs from the recorded ${row.checksum}). Restore the file as it was; put schema changes in a new migration.`, { details: { store, version, path: migration.path } });
        }
      }
    }
    return applied;
  }

  async #backupIfHoldsRows(reason: string): Promise<string | undefined> {
    if (!this.#backup || this.#db.memory || !this.#holdsRows()) return undefined;
    const path = await backupDatabase(this.#db, this.#backupDirectory, reason);
    this.#logger.info({ backupPath: path }, 'database backed up before migration');
    return path;
  }

  /** True when any ordinary table other than `schema_migrations` has a row; FTS5 shadow tables do not count. */
  #holdsRows(): boolean {
    // One read transaction, so a table that another process drops cannot vanish between the list and its count.
    return this.#db.transaction(() => {
      const tables = this.#db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'").pluck().all() as string[];
      return tables.some((name) => this.#db.prepare(`SELECT 1 FROM "${name.replace(/"/g, '""')}" LIMIT 1`).get() !== undefined);
    })();
  }

  #recordedVersion(store: string): number {
    const row = this.#db.prepare('SELECT max(version) AS version FROM schema_migrations WHERE store = ?').get(store) as { version: number | null };
    return row.version ?? 0;
  }

  #applied(): Map<string, AppliedRow> {
    const exists = this.#db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'").get();
    if (exists === undefined) return new Map();
    const rows = this.#db.prepare('SELECT store, version, name, checksum, applied_at FROM schema_migrations ORDER BY store, version').all() as AppliedRow[];
    return new Map(rows.map((row) => [`${row.store}/${row.version}`, row]));
  }

  #checkStore(store: unknown, name: string): void {
    if (typeof store !== 'string' || !this.#migrations.has(store)) {
      throw invalidArgument(`${name} must be one of ${this.#stores.join(', ')}, got ${showValue(store)}.`, { store });
    }
  }

  #checkTarget(to: unknown, store: string | undefined): void {
    if (typeof to !== 'number' || !Number.isInteger(to) || to < 0) {
      throw invalidArgument(`options.to must be a version number (an integer of 0 or more), got ${showValue(to)}.`, { to });
    }
    if (store !== undefined && to > this.#migrations.get(store)!.length) {
      throw invalidArgument(`Store ${store} has migrations up to version ${this.#migrations.get(store)!.length}; there is no version ${to}.`, { store, to });
    }
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

function versionOf(applied: Map<string, AppliedRow>, store: string): number {
  let version = 0;
  for (const row of applied.values()) if (row.store === store) version = Math.max(version, row.version);
  return version;
}

function concurrentChange(migration: Migration, current: number, direction: 'up' | 'down'): MigrationError {
  return new MigrationError(ErrorCodes.MIGRATION_LOCKED, `Store ${migration.store} moved to version ${current} while this process was about to ${direction === 'up' ? 'apply' : 'revert'} migration ${migration.version}_${migration.name}: another process is migrating the same database. Nothing more was changed; run again when it has finished.`, { details: { store: migration.store, version: migration.version, current } });
}

/** Checks that the options of `up` or `down` are an object with no keys but store and to. */
export function checkMigrateOptions(options: unknown, direction: 'up' | 'down'): asserts options is MigrateUpOptions {
  if (options === null || typeof options !== 'object') {
    throw invalidArgument(direction === 'up'
      ? 'up expects an object such as { store: "events", to: 2 }, or nothing.'
      : 'down expects { to } with the version to revert to, for example { store: "events", to: 0 }.', {});
  }
  checkKeys(options, ['store', 'to'], 'options');
}

const PARTIAL_RUN = Symbol('partialRun');

/**
 * Returns the steps that a failed `up` or `down` completed before `error` stopped it, and the
 * backup it took first. Returns undefined when the run had not started.
 */
export function partialRunOf(error: unknown): MigrationRun | undefined {
  return error !== null && typeof error === 'object' ? (error as { [PARTIAL_RUN]?: MigrationRun })[PARTIAL_RUN] : undefined;
}

/** Attaches the completed part of a run to the error that stopped it, and names the backup in its message. */
export function withPartialRun(error: unknown, run: MigrationRun): unknown {
  if (error === null || typeof error !== 'object' || (run.steps.length === 0 && run.backupPath === undefined)) return error;
  Object.defineProperty(error, PARTIAL_RUN, { value: run, configurable: true });
  if (error instanceof PorchlightError) {
    error.details.completedSteps = run.steps.map((step) => `${step.store}/${step.version}`);
    if (run.backupPath !== undefined && error.details.backupPath === undefined) {
      error.details.backupPath = run.backupPath;
      error.message += ` The copy taken before this run is ${run.backupPath}.`;
    }
  }
  return error;
}
