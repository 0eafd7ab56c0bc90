import { join } from 'node:path';

import { AUDIT_ACTIONS } from './audit/audit-actions.js';
import { AuditLog, type AuditLogOptions } from './audit/audit-log.js';
import { ConfigStore, type ConfigStoreOptions } from './config/config-store.js';
import { openDatabase, type SqliteDatabase } from './db/open-database.js';
import { Migrator, type MigrationRun } from './db/migrator.js';
import { invalidArgument } from './errors.js';
import { EventStore } from './events/event-store.js';
import { FaceDatabase, checkKeys, type FaceDatabaseOptions } from './faces/face-database.js';
import { SearchPool, type SearchPoolOptions } from './faces/search-pool.js';
import { noopLogger, type Logger } from './logger.js';
import type { MetricsOptions } from './metrics/metric-options.js';
import { MetricStore } from './metrics/metric-store.js';

export interface StorageOptions {
  /** Folder for the databases; created owner-only when missing. */
  dataDirectory: string;
  /** Face index settings: metric per model and the person cache size. */
  faces?: Omit<FaceDatabaseOptions, 'logger' | 'audit' | 'pool'>;
  /** Metric buffering, retention and limits. */
  metrics?: Omit<MetricsOptions, 'logger'>;
  /** Configuration validators per key. */
  config?: Pick<ConfigStoreOptions, 'validators'>;
  /** The actor of the audit records that Porchlight appends by itself. */
  audit?: Omit<AuditLogOptions, 'logger'>;
  /** Worker threads that split large face searches: thread count, queue bound, size threshold. */
  searchPool?: SearchPoolOptions;
  /** A pino-compatible logger. Default: discard. */
  logger?: Logger;
  /**
   * Migrations applied at open: `backup` (default true) copies a database that holds rows before
   * pending migrations run, into `backupDirectory` (default `<dataDirectory>/backups`).
   */
  migrations?: { backup?: boolean; backupDirectory?: string };
}

/** File name of the database that every store shares by default. */
export const DATABASE_FILE = 'porchlight.db';

/** Stores whose migrations are applied, in order. */
export const STORES = Object.freeze(['faces', 'events', 'metrics', 'config', 'audit'] as const);

/** Open databases and stores of one data directory. Call `close()` when done. */
export class StorageManager {
  readonly faces: FaceDatabase;
  readonly events: EventStore;
  readonly metrics: MetricStore;
  readonly config: ConfigStore;
  readonly audit: AuditLog;
  /** The migration runner of this database; see `Migrator`. Reverting a store makes it unusable until reopened. */
  readonly migrate: Migrator;
  /** The migrations `openStorage` applied, and the path of the backup it took before them, if any. */
  readonly migrationsAtOpen: MigrationRun;
  readonly dataDirectory: string;
  readonly databasePath: string;

  readonly #db: SqliteDatabase;
  readonly #logger: Logger;
  readonly #searchPool: SearchPool | undefined;
  #closed = false;

  constructor(db: SqliteDatabase, options: { dataDirectory: string; databasePath: string; faces: FaceDatabase; events: EventStore; metrics: MetricStore; config: ConfigStore; audit: AuditLog; migrate: Migrator; migrationsAtOpen: MigrationRun; logger: Logger; searchPool?: SearchPool }) {
    this.#db = db;
    this.#searchPool = options.searchPool;
    this.dataDirectory = options.dataDirectory;
    this.databasePath = options.databasePath;
    this.faces = options.faces;
    this.events = options.events;
    this.metrics = options.metrics;
    this.config = options.config;
    this.audit = options.audit;
    this.migrate = options.migrate;
    this.migrationsAtOpen = options.migrationsAtOpen;
    this.#logger = options.logger;
  }

  /** The shared SQLite connection; use it for reads outside the stores' API only. */
  get database(): SqliteDatabase {
    return this.#db;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The worker pool that splits large face searches, for diagnostics. */
  get searchPool(): SearchPool | undefined {
    return this.#searchPool;
  }

  /**
   * Writes the buffered metric points, ends the search workers and closes the database. Calling it
   * twice is harmless. When the metric write fails the database is closed all the same and the
   * error is rethrown.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.metrics.close();
    } finally {
      await this.#searchPool?.close();
      this.#db.close();
      this.#logger.info({ dataDirectory: this.dataDirectory }, 'storage closed');
    }
  }
}

/** Opens the databases of a data directory, applies pending migrations and loads the face index. */
export async function openStorage(options: StorageOptions): Promise<StorageManager> {
  if (options === null || typeof options !== 'object') throw invalidArgument('openStorage expects an options object with dataDirectory.', {});
  checkKeys(options, ['dataDirectory', 'faces', 'logger', 'migrations', 'metrics', 'config', 'audit', 'searchPool'], 'options');
  if (typeof options.dataDirectory !== 'string' || options.dataDirectory.length === 0) {
    throw invalidArgument(`options.dataDirectory must be a folder path, got ${JSON.stringify(options.dataDirectory)}.`, { dataDirectory: options.dataDirectory });
  }
  if (options.faces !== undefined) checkKeys(options.faces, ['metric', 'models', 'personCacheSize'], 'options.faces');
  if (options.migrations !== undefined) checkKeys(options.migrations, ['backup', 'backupDirectory'], 'options.migrations');
  if (options.config !== undefined) checkKeys(options.config, ['validators'], 'options.config');
  if (options.audit !== undefined) checkKeys(options.audit, ['actor'], 'options.audit');
  const logger = options.logger ?? noopLogger;
  const searchPool = new SearchPool(options.searchPool, logger);
  if (options.searchPool !== undefined) checkKeys(options.searchPool, ['threads', 'maxQueue', 'minParallelBytes'], 'options.searchPool');

  const databasePath = join(options.dataDirectory, DATABASE_FILE);
  const db = openDatabase(databasePath);
  try {
    const migrate = new Migrator(db, STORES, { logger, ...options.migrations });
    const migrationsAtOpen = await migrate.up();
    const audit = new AuditLog(db, { ...options.audit, logger });
    recordMigrations(audit, db, migrationsAtOpen);
    const faces = new FaceDatabase(db, { ...options.faces, logger, audit, pool: searchPool });
    const events = new EventStore(db, { logger });
    const metrics = new MetricStore(db, { ...options.metrics, logger });
    const config = new ConfigStore(db, { ...options.config, audit, logger });
    logger.info({ databasePath }, 'storage opened');
    return new StorageManager(db, { dataDirectory: options.dataDirectory, databasePath, faces, events, metrics, config, audit, migrate, migrationsAtOpen, logger, searchPool });
  } catch (error) {
    await searchPool.close();
    db.close();
    throw error;
  }
}

/**
 * Appends one audit record for the backup taken before the migrations, if any, and one per applied
 * migration.
 * NOTE: the records commit after the migrations, in a transaction of their own, because the
 * migrator commits each file by itself. A crash between the two loses the records, not the schema.
 * Migrations run later through `storage.migrate` or `porchlight migrate` are not recorded.
 */
function recordMigrations(audit: AuditLog, db: SqliteDatabase, run: MigrationRun): void {
  if (run.steps.length === 0 && run.backupPath === undefined) return;
  db.transaction(() => {
    if (run.backupPath !== undefined) {
      audit.append({ action: AUDIT_ACTIONS.BACKUP_CREATED, target: run.backupPath, details: { reason: 'before-migration' } });
    }
    for (const step of run.steps) {
      audit.append({
        action: run.direction === 'up' ? AUDIT_ACTIONS.MIGRATION_APPLIED : AUDIT_ACTIONS.MIGRATION_REVERTED,
        target: `${step.store}/${String(step.version).padStart(4, '0')}_${step.name}`,
        details: { store: step.store, version: step.version, name: step.name, durationMs: Math.round(step.durationMs) },
      });
    }
  }).immediate();
}
