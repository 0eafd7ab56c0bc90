import { join } from 'node:path';

import { openDatabase, type SqliteDatabase } from './db/open-database.js';
import { Migrator } from './db/migrator.js';
import { invalidArgument } from './errors.js';
import { FaceDatabase, checkKeys, type FaceDatabaseOptions } from './faces/face-database.js';
import { SearchPool, type SearchPoolOptions } from './faces/search-pool.js';
import { noopLogger, type Logger } from './logger.js';

export interface StorageOptions {
  /** Folder for the databases; created owner-only when missing. */
  dataDirectory: string;
  /** Face index settings: metric per model and the person cache size. */
  faces?: Omit<FaceDatabaseOptions, 'logger' | 'pool'>;
  /** Worker threads that split large face searches: thread count, queue bound, size threshold. */
  searchPool?: SearchPoolOptions;
  /** A pino-compatible logger. Default: discard. */
  logger?: Logger;
}

/** File name of the database that every store shares by default. */
export const DATABASE_FILE = 'porchlight.db';

/** Stores whose migrations are applied, in order. */
export const STORES = Object.freeze(['faces'] as const);

/** Open databases and stores of one data directory. Call `close()` when done. */
export class StorageManager {
  readonly faces: FaceDatabase;
  readonly dataDirectory: string;
  readonly databasePath: string;

  readonly #db: SqliteDatabase;
  readonly #logger: Logger;
  readonly #searchPool: SearchPool | undefined;
  #closed = false;

  constructor(db: SqliteDatabase, options: { dataDirectory: string; databasePath: string; faces: FaceDatabase; logger: Logger; searchPool?: SearchPool }) {
    this.#db = db;
    this.#searchPool = options.searchPool;
    this.dataDirectory = options.dataDirectory;
    this.databasePath = options.databasePath;
    this.faces = options.faces;
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

  /** Ends the search workers and closes the database. Calling it twice is harmless. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#searchPool?.close();
    this.#db.close();
    this.#logger.info({ dataDirectory: this.dataDirectory }, 'storage closed');
  }
}

/** Opens the databases of a data directory, applies pending migrations and loads the face index. */
export async function openStorage(options: StorageOptions): Promise<StorageManager> {
  if (options === null || typeof options !== 'object') throw invalidArgument('openStorage expects an options object with dataDirectory.', {});
  checkKeys(options, ['dataDirectory', 'faces', 'logger', 'searchPool'], 'options');
  if (typeof options.dataDirectory !== 'string' || options.dataDirectory.length === 0) {
    throw invalidArgument(`options.dataDirectory must be a folder path, got ${JSON.stringify(options.dataDirectory)}.`, { dataDirectory: options.dataDirectory });
  }
  if (options.faces !== undefined) checkKeys(options.faces, ['metric', 'models', 'personCacheSize'], 'options.faces');
  const logger = options.logger ?? noopLogger;
  const searchPool = new SearchPool(options.searchPool, logger);
  if (options.searchPool !== undefined) checkKeys(options.searchPool, ['threads', 'maxQueue', 'minParallelBytes'], 'options.searchPool');

  const databasePath = join(options.dataDirectory, DATABASE_FILE);
  const db = openDatabase(databasePath);
  try {
    new Migrator(db, STORES, { logger }).up();
    const faces = new FaceDatabase(db, { ...options.faces, logger, pool: searchPool });
    logger.info({ databasePath }, 'storage opened');
    return new StorageManager(db, { dataDirectory: options.dataDirectory, databasePath, faces, logger, searchPool });
  } catch (error) {
    db.close();
    throw error;
  }
}
