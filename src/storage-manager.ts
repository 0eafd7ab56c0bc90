import { join } from 'node:path';

import { openDatabase, type SqliteDatabase } from './db/open-database.js';
import { Migrator, type MigrationRun } from './db/migrator.js';
import { invalidArgument } from './errors.js';
import { EventStore } from './events/event-store.js';
import { FaceDatabase, checkKeys, type FaceDatabaseOptions } from './faces/face-database.js';
import { noopLogger, type Logger } from './logger.js';

export interface StorageOptions {
  /** Folder for the databases; created owner-only when missing. */
  dataDirectory: string;
  /** Face index settings: metric per model and the person cache size. */
  faces?: Omit<FaceDatabaseOptions, 'logger'>;
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
export const STORES = Object.freeze(['faces', 'events'] as const);

/** Open databases and stores of one data directory. Call `close()` when done. */
export class StorageManager {
  readonly faces: FaceDatabase;
  readonly events: EventStore;
  /** The migration runner of this database; see `Migrator`. Reverting a store makes it unusable until reopened. */
  readonly migrate: Migrator;
  /** The migrations `openStorage` applied, and the path of the backup it took before them, if any. */
  readonly migrationsAtOpen: MigrationRun;
  readonly dataDirectory: string;
  readonly databasePath: string;

  readonly #db: SqliteDatabase;
  readonly #logger: Logger;
  #closed = false;

  constructor(db: SqliteDatabase, options: { dataDirectory: string; databasePath: string; faces: FaceDatabase; events: EventStore; migrate: Migrator; migrationsAtOpen: MigrationRun; logger: Logger }) {
    this.#db = db;
    this.dataDirectory = options.dataDirectory;
    this.databasePath = options.databasePath;
    this.faces = options.faces;
    this.events = options.events;
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

  /** Closes the database. Calling it twice is harmless. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
    this.#logger.info({ dataDirectory: this.dataDirectory }, 'storage closed');
  }
}

/** Opens the databases of a data directory, applies pending migrations and loads the face index. */
export async function openStorage(options: StorageOptions): Promise<StorageManager> {
  if (options === null || typeof options !== 'object') throw invalidArgument('openStorage expects an options object with dataDirectory.', {});
  checkKeys(options, ['dataDirectory', 'faces', 'logger', 'migrations'], 'options');
  if (typeof options.dataDirectory !== 'string' || options.dataDirectory.length === 0) {
    throw invalidArgument(`options.dataDirectory must be a folder path, got ${JSON.stringify(options.dataDirectory)}.`, { dataDirectory: options.dataDirectory });
  }
  if (options.faces !== undefined) checkKeys(options.faces, ['metric', 'models', 'personCacheSize'], 'options.faces');
  if (options.migrations !== undefined) checkKeys(options.migrations, ['backup', 'backupDirectory'], 'options.migrations');
  const logger = options.logger ?? noopLogger;

  const databasePath = join(options.dataDirectory, DATABASE_FILE);
  const db = openDatabase(databasePath);
  try {
    const migrate = new Migrator(db, STORES, { logger, ...options.migrations });
    const migrationsAtOpen = await migrate.up();
    const faces = new FaceDatabase(db, { ...options.faces, logger });
    const events = new EventStore(db, { logger });
    logger.info({ databasePath }, 'storage opened');
    return new StorageManager(db, { dataDirectory: options.dataDirectory, databasePath, faces, events, migrate, migrationsAtOpen, logger });
  } catch (error) {
    db.close();
    throw error;
  }
}
