import { AUDIT_ACTIONS } from './audit/audit-actions.js';
import { AuditLog } from './audit/audit-log.js';
import { hasAuditLog, recordMigrationRun } from './audit/migration-records.js';
import { ConfigStore } from './config/config-store.js';
import { databaseError, openDatabase, type SqliteDatabase } from './db/open-database.js';
import { MigrationSet } from './db/migration-set.js';
import { Migrator, type MigrationRun } from './db/migrator.js';
import { ErrorCodes, MigrationError, PorchlightError, StorageError, invalidArgument, showValue } from './errors.js';
import { EventStore } from './events/event-store.js';
import { FaceDatabase, checkKeys } from './faces/face-database.js';
import { SearchPool } from './faces/search-pool.js';
import { MetricStore } from './metrics/metric-store.js';
import { cleanupOldData as runCleanup, effectivePolicy, type CleanupPolicy, type CleanupResult, type EffectivePolicy } from './operations/cleanup-old-data.js';
import { loadConfigFile } from './operations/config-file.js';
import { createBackup, type BackupResult } from './operations/create-backup.js';
import { MAIN_DATABASE, databaseLayout, type DatabaseFile } from './operations/database-layout.js';
import { checkHealth, type HealthReport } from './operations/health-check.js';
import { listBackups, type BackupEntry } from './operations/list-backups.js';
import { OperationalMetrics } from './operations/operational-metrics.js';
import { prepareRestore, swapInRestoredFiles } from './operations/restore-backup.js';
import { Scheduler } from './operations/scheduler.js';
import { resolveStorageConfig, type StorageConfig, type StorageOptions } from './operations/storage-config.js';
import { verifyBackup as verifyBackupFolder, type VerifyBackupResult } from './operations/verify-backup.js';

export { DATABASE_FILE } from './operations/storage-config.js';
export type { StorageOptions } from './operations/storage-config.js';

/** Stores whose migrations are applied, in order. */
export const STORES = Object.freeze(['faces', 'events', 'metrics', 'config', 'audit'] as const);

/** Milliseconds after open before the first scheduled backup, when one is due. */
const SCHEDULE_START_DELAY_MS = 60_000;
/** Maximum wait before a failed scheduled backup is tried again. */
const BACKUP_RETRY_MS = 15 * 60_000;
/** Milliseconds between writes of the operational metrics (store latencies, database sizes). */
const OPERATIONAL_METRICS_INTERVAL_MS = 60_000;

/** An open connection to one database file of the layout. */
export interface OpenedDatabase {
  file: DatabaseFile;
  db: SqliteDatabase;
}

/** The stores built over the open databases; a restore replaces them. */
interface Stores {
  faces: FaceDatabase;
  events: EventStore;
  metrics: MetricStore;
  config: ConfigStore;
  audit: AuditLog;
}

interface OpenedStorage {
  databases: OpenedDatabase[];
  stores: Stores;
  /** The migration runners of every database file. */
  migrate: MigrationSet;
  /** Every migration applied at open, over all database files, and the first backup taken before them. */
  migrationsAtOpen: MigrationRun;
}

export interface BackupAllOptions {
  /** Folder to write the backup into, rotated to `backup.keep` like the configured one. Default `backupDirectory`. */
  destination?: string;
}

export interface RestoreOptions {
  /** Keep the replaced files in `porchlight-previous-<time>` beside the databases. Default false. */
  keepPrevious?: boolean;
}

export interface RestoreResult {
  /** The backup folder restored from. */
  path: string;
  /** When that backup was taken, ISO 8601 UTC. */
  backupCreatedAt: string;
  databases: string[];
  /** Folders that keep the replaced files, when `keepPrevious` was set. */
  previousFiles: string[];
  durationMs: number;
}

/**
 * Open databases and stores of one data directory, with backup, restore, cleanup and health
 * operations. Call `close()` when done. After `restoreFromBackup`, read `faces` (and every other
 * store) again from this object: the stores are rebuilt over the restored files.
 */
export class StorageManager {
  /** The storage configuration in force, with defaults applied. */
  readonly settings: StorageConfig;

  #databases: OpenedDatabase[];
  #stores: Stores;
  #migrate: MigrationSet;
  #migrationsAtOpen: MigrationRun;
  #operational!: OperationalMetrics;
  /** The stores as callers see them: faces and events timed for the operational metrics. */
  #views!: { faces: FaceDatabase; events: EventStore };
  #operationalTimer: NodeJS.Timeout | undefined;
  /** Splits large face searches across worker threads; it outlives a restore, which rebuilds the stores. */
  readonly #searchPool: SearchPool;
  #closed = false;
  /** Backups, restores, cleanups and health checks run one at a time, in call order. */
  #queue: Promise<void> = Promise.resolve();
  readonly #backupScheduler: Scheduler;
  readonly #cleanupScheduler: Scheduler;

  private constructor(config: StorageConfig, opened: OpenedStorage, searchPool: SearchPool) {
    this.settings = config;
    this.#searchPool = searchPool;
    this.#databases = opened.databases;
    this.#stores = opened.stores;
    this.#migrate = opened.migrate;
    this.#migrationsAtOpen = opened.migrationsAtOpen;
    this.#install(opened);
    this.#backupScheduler = new Scheduler({
      name: 'backup',
      nextDelayMs: () => this.#nextBackupDelay(),
      task: () => this.#backup(config.backupDirectory, 'scheduled'),
      logger: config.logger,
    });
    this.#cleanupScheduler = new Scheduler({
      name: 'cleanup',
      nextDelayMs: () => config.cleanup.intervalMinutes * 60_000,
      task: () => this.cleanupOldData(),
      logger: config.logger,
    });
  }

  /** Opens the databases of `config` (see `openStorage`). */
  static async open(config: StorageConfig): Promise<StorageManager> {
    const searchPool = new SearchPool(config.searchPool, config.logger);
    let opened: OpenedStorage;
    try {
      opened = await openStores(config, { preMigrationBackup: true, searchPool });
    } catch (error) {
      await searchPool.close();
      throw error;
    }
    const storage = new StorageManager(config, opened, searchPool);
    storage.#startSchedulers();
    config.logger.info({ dataDirectory: config.dataDirectory, databases: storage.#databases.map((entry) => entry.file.path) }, 'storage opened');
    return storage;
  }

  get faces(): FaceDatabase {
    this.#checkOpen();
    return this.#views.faces;
  }

  get events(): EventStore {
    this.#checkOpen();
    return this.#views.events;
  }

  get metrics(): MetricStore {
    this.#checkOpen();
    return this.#stores.metrics;
  }

  /** The worker pool that splits large face searches, for diagnostics. */
  get searchPool(): SearchPool {
    return this.#searchPool;
  }

  /** The versioned configuration documents (not the storage's own settings, which are `settings`). */
  get config(): ConfigStore {
    this.#checkOpen();
    return this.#stores.config;
  }

  get audit(): AuditLog {
    this.#checkOpen();
    return this.#stores.audit;
  }

  /**
   * The migration runner over every database file; see `MigrationSet`. Reverting a store makes it
   * unusable until reopened.
   */
  get migrate(): MigrationSet {
    this.#checkOpen();
    return this.#migrate;
  }

  /** The migrations `openStorage` applied, and the path of the backup taken before them, if any. */
  get migrationsAtOpen(): MigrationRun {
    return this.#migrationsAtOpen;
  }

  get dataDirectory(): string {
    return this.settings.dataDirectory;
  }

  /** Path of the main database, which contains the faces store and every store without a file of its own. */
  get databasePath(): string {
    return this.#main().file.path;
  }

  /** The main database's connection; use it for reads outside the stores' API only. */
  get database(): SqliteDatabase {
    return this.#main().db;
  }

  /** Every database file with the stores it holds. */
  get databaseFiles(): DatabaseFile[] {
    return this.#databases.map((entry) => ({ ...entry.file, stores: [...entry.file.stores] }));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Writes a consistent, compressed copy of every database and a manifest with their SHA-256 into a
   * new backup folder while reads and writes go on. Then the oldest backups beyond `backup.keep` are
   * deleted. The copying and compression run in a worker thread.
   */
  async backupAll(options: BackupAllOptions = {}): Promise<BackupResult> {
    this.#checkOpen();
    checkKeys(checkObject(options, 'options'), ['destination'], 'options');
    if (options.destination !== undefined && (typeof options.destination !== 'string' || options.destination.length === 0)) {
      throw invalidArgument(`options.destination must be a folder path, got ${showValue(options.destination)}.`, { destination: options.destination });
    }
    return this.#serialized(() => this.#backup(options.destination ?? this.settings.backupDirectory, 'manual'));
  }

  /** Checks a backup without touching the live databases (see the exported `verifyBackup`). */
  async verifyBackup(path: string): Promise<VerifyBackupResult> {
    this.#checkOpen();
    checkPath(path);
    return verifyBackupFolder(path);
  }

  /** Lists the backups in the configured backup directory, newest first. */
  listBackups(): BackupEntry[] {
    return listBackups(this.settings.backupDirectory);
  }

  /**
   * Replaces every database with the copy in a backup and rebuilds the stores, including the face
   * index. The backup is verified and decompressed next to the live files before anything live is
   * touched, so a bad backup or a full disk throws and changes nothing. Then the connections are
   * closed and each live file is swapped for its copy by an atomic rename. The copies are opened, and
   * if that fails, the previous files are put back. The live files are never read, so this works when
   * they are corrupt. Other processes must close the storage first.
   */
  async restoreFromBackup(path: string, options: RestoreOptions = {}): Promise<RestoreResult> {
    this.#checkOpen();
    checkPath(path);
    checkKeys(checkObject(options, 'options'), ['keepPrevious'], 'options');
    return this.#serialized(() => this.#restore(path, options));
  }

  /**
   * Applies retention: deletes backups beyond the number kept, returns freed pages to the file system
   * and truncates WAL files past `cleanup.walCheckpointBytes`. `policy` overrides the configured
   * retention for this run only.
   */
  async cleanupOldData(policy: CleanupPolicy = {}): Promise<CleanupResult> {
    this.#checkOpen();
    const effective = effectivePolicy(checkObject(policy, 'policy'), this.settings);
    return this.#serialized(() => this.#cleanup(effective));
  }

  /** Checks every database, the face index and the backups; see `HealthReport`. */
  async healthCheck(): Promise<HealthReport> {
    this.#checkOpen();
    return this.#serialized(() => checkHealth({
      config: this.settings,
      databases: this.#databases,
      faces: this.#stores.faces,
      lastScheduledBackup: this.#backupScheduler.lastRun,
    }));
  }

  /** Stops the schedulers, waits for a running operation and closes the databases. Calling it twice is harmless. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#stopSchedulers();
    await this.#queue;
    try {
      if (this.#migrate.currentVersion('metrics') === 0) {
        // Reverted through storage.migrate: its tables are gone, so its points cannot be written.
        const dropped = this.#stores.metrics.abandon();
        if (dropped > 0) this.settings.logger.warn({ dropped }, 'metric points dropped at close: the metrics store was reverted');
      } else {
        this.#operational.flush(this.#databases.map((entry) => entry.file));
        this.#stores.metrics.close();
      }
    } finally {
      await this.#searchPool.close();
      closeDatabases(this.#databases);
      this.settings.logger.info({ dataDirectory: this.dataDirectory }, 'storage closed');
    }
  }

  async #backup(directory: string, reason: 'manual' | 'scheduled'): Promise<BackupResult> {
    const { backup, logger } = this.settings;
    const started = performance.now();
    let result: BackupResult;
    try {
      result = await createBackup(this.#databases.map((entry) => entry.file), { directory, reason, compression: backup.compression, compressionLevel: backup.compressionLevel, keep: backup.keep, logger });
    } catch (error) {
      this.#operational.backup(reason, performance.now() - started, undefined);
      throw error;
    }
    this.#operational.backup(reason, result.durationMs, result.bytes);
    this.#stores.audit.append({ action: AUDIT_ACTIONS.BACKUP_CREATED, target: result.path, details: { reason, bytes: result.bytes, removed: result.removed.length } });
    return result;
  }

  async #cleanup(policy: EffectivePolicy): Promise<CleanupResult> {
    const started = performance.now();
    try {
      const result = await runCleanup({
        config: this.settings,
        databases: this.#databases,
        policy,
        events: { store: this.#stores.events, db: this.#databaseOf('events') },
        metrics: { store: this.#stores.metrics, db: this.#databaseOf('metrics') },
        logger: this.settings.logger,
      });
      this.#operational.cleanup(result.durationMs, {
        events: result.events.deleted,
        metrics: Object.values(result.metrics).reduce((sum, count) => sum + count, 0),
        backups: result.backupsRemoved.length,
        pages: result.vacuum.reduce((sum, entry) => sum + entry.pagesFreed, 0),
      });
      return result;
    } catch (error) {
      this.#operational.cleanup(performance.now() - started, undefined);
      throw error;
    }
  }

  async #restore(path: string, options: RestoreOptions): Promise<RestoreResult> {
    const started = performance.now();
    const { logger } = this.settings;
    const prepared = await prepareRestore(path, this.#databases.map((entry) => entry.file), logger);

    await this.#stopSchedulers();
    // Points still buffered belong to the data being replaced; they are written to it, then dropped with it.
    this.#stores.metrics.close();
    closeDatabases(this.#databases);
    let swapped: ReturnType<typeof swapInRestoredFiles>;
    try {
      swapped = swapInRestoredFiles(prepared);
    } catch (error) {
      await this.#reopenAfterFailedRestore(error);
      throw error;
    }

    let opened: OpenedStorage;
    try {
      opened = await openStores(this.settings, { preMigrationBackup: false, searchPool: this.#searchPool });
    } catch (error) {
      swapped.rollback();
      await this.#reopenAfterFailedRestore(error);
      throw new StorageError(ErrorCodes.RESTORE_FAILED, `The restored databases from ${prepared.folder} could not be opened (${(error as Error).message}); the previous files were put back.`, { cause: error, details: { path: prepared.folder } });
    }
    this.#install(opened);
    const previousFiles = swapped.finish(options.keepPrevious === true);
    this.#stores.audit.append({ action: AUDIT_ACTIONS.BACKUP_RESTORED, target: prepared.folder, details: { backupCreatedAt: prepared.manifest.createdAt, keptPrevious: previousFiles } });
    this.#startSchedulers();

    const result: RestoreResult = {
      path: prepared.folder,
      backupCreatedAt: prepared.manifest.createdAt,
      databases: prepared.files.map((file) => file.database.name),
      previousFiles,
      durationMs: performance.now() - started,
    };
    logger.info({ path: result.path, backupCreatedAt: result.backupCreatedAt, durationMs: result.durationMs }, 'storage restored from backup');
    return result;
  }

  /** Reopens the previous files after a failed restore; when even that fails the storage stays closed. */
  async #reopenAfterFailedRestore(cause: unknown): Promise<void> {
    try {
      this.#install(await openStores(this.settings, { preMigrationBackup: false, searchPool: this.#searchPool }));
      this.#startSchedulers();
    } catch (error) {
      this.#closed = true;
      this.settings.logger.error({ err: error, restoreError: cause }, 'restore failed and the previous databases cannot be opened either; the storage is closed');
    }
  }

  #install(opened: OpenedStorage): void {
    this.#databases = opened.databases;
    this.#stores = opened.stores;
    this.#migrate = opened.migrate;
    this.#migrationsAtOpen = opened.migrationsAtOpen;
    this.#operational = new OperationalMetrics(this.settings.operationalMetrics ? opened.stores.metrics : undefined, this.settings.logger);
    this.#views = {
      faces: this.#operational.instrument(opened.stores.faces, 'faces'),
      events: this.#operational.instrument(opened.stores.events, 'events'),
    };
    for (const step of opened.migrationsAtOpen.steps) this.#operational.migration(step.store, step.version, step.durationMs);
  }

  #nextBackupDelay(): number {
    const intervalMs = this.settings.backup.intervalMinutes * 60_000;
    const lastRun = this.#backupScheduler.lastRun;
    if (lastRun !== undefined && !lastRun.ok) return Math.max(SCHEDULE_START_DELAY_MS, Math.min(intervalMs, BACKUP_RETRY_MS));
    const newest = listBackups(this.settings.backupDirectory).find((entry) => entry.manifest !== undefined);
    const dueAt = newest === undefined ? Date.now() : Date.parse(newest.createdAt!) + intervalMs;
    return Math.max(SCHEDULE_START_DELAY_MS, dueAt - Date.now());
  }

  #startSchedulers(): void {
    if (this.settings.backup.intervalMinutes > 0) this.#backupScheduler.start();
    if (this.settings.cleanup.intervalMinutes > 0) this.#cleanupScheduler.start();
    this.#operationalTimer = setInterval(() => this.#operational.flush(this.#databases.map((entry) => entry.file)), OPERATIONAL_METRICS_INTERVAL_MS);
    this.#operationalTimer.unref();
  }

  async #stopSchedulers(): Promise<void> {
    clearInterval(this.#operationalTimer);
    await Promise.all([this.#backupScheduler.stop(), this.#cleanupScheduler.stop()]);
  }

  #databaseOf(store: string): SqliteDatabase {
    return this.#databases.find((entry) => entry.file.stores.includes(store))!.db;
  }

  #main(): OpenedDatabase {
    return this.#databases.find((entry) => entry.file.name === MAIN_DATABASE)!;
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageError(ErrorCodes.CLOSED, 'The storage is closed; open it again with openStorage.', {});
  }

  async #serialized<T>(operation: () => Promise<T>): Promise<T> {
    const previous = this.#queue;
    let release!: () => void;
    this.#queue = new Promise((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      this.#checkOpen();
      return await operation();
    } finally {
      release();
    }
  }
}

/**
 * Opens the databases of a data directory, applies pending migrations (after a backup, when a
 * database with data has any) and loads the face index. `options` is an options object or the path of
 * a configuration file (see `loadConfigFile`).
 */
export async function openStorage(options: StorageOptions | string): Promise<StorageManager> {
  return StorageManager.open(configFrom(options));
}

/**
 * Restores a backup without opening the live databases first, for when they are too damaged to open:
 * verifies and stages the backup, swaps the files in, and checks that they open (migrations and face
 * index included) before the previous files are discarded. No process may have the storage open.
 */
export async function restoreFromBackup(options: StorageOptions | string, backupPath: string, restoreOptions: RestoreOptions = {}): Promise<RestoreResult> {
  const config = configFrom(options);
  checkPath(backupPath);
  checkKeys(checkObject(restoreOptions, 'restoreOptions'), ['keepPrevious'], 'restoreOptions');
  const started = performance.now();

  const prepared = await prepareRestore(backupPath, databaseLayout(config, STORES), config.logger);
  const swapped = swapInRestoredFiles(prepared);
  try {
    const opened = await openStores(config, { preMigrationBackup: false });
    try {
      opened.stores.audit.append({ action: AUDIT_ACTIONS.BACKUP_RESTORED, target: prepared.folder, details: { backupCreatedAt: prepared.manifest.createdAt } });
      opened.stores.metrics.close();
    } finally {
      closeDatabases(opened.databases);
    }
  } catch (error) {
    swapped.rollback();
    throw new StorageError(ErrorCodes.RESTORE_FAILED, `The restored databases from ${prepared.folder} could not be opened (${(error as Error).message}); the previous files were put back.`, { cause: error, details: { path: prepared.folder } });
  }
  const previousFiles = swapped.finish(restoreOptions.keepPrevious === true);
  config.logger.info({ path: prepared.folder }, 'storage restored from backup');
  return {
    path: prepared.folder,
    backupCreatedAt: prepared.manifest.createdAt,
    databases: prepared.files.map((file) => file.database.name),
    previousFiles,
    durationMs: performance.now() - started,
  };
}

function configFrom(options: StorageOptions | string): StorageConfig {
  if (typeof options === 'string') return resolveStorageConfig(loadConfigFile(options));
  return resolveStorageConfig(options);
}

/** Opens every database file of the layout, migrates each and builds the stores over them. */
async function openStores(config: StorageConfig, options: { preMigrationBackup: boolean; searchPool?: SearchPool }): Promise<OpenedStorage> {
  const databases: OpenedDatabase[] = [];
  let current: DatabaseFile | undefined;
  try {
    const files = databaseLayout(config, STORES);
    for (const file of files) {
      current = file;
      databases.push({ file, db: openDatabase(file.path, { durability: config.durability, wal: config.wal }) });
    }

    // The migration runner copies each database that holds rows before changing it; a restore opens
    // files it has just verified, so it skips that copy.
    const backup = options.preMigrationBackup && config.migrations.backup;
    const migrators = databases.map(({ file, db }) => ({
      file,
      migrator: new Migrator(db, file.stores, { logger: config.logger, backup, backupDirectory: config.migrations.backupDirectory ?? config.backupDirectory }),
    }));
    const pending = migrators.flatMap(({ file, migrator }) => migrator.status().filter((status) => status.state === 'pending').map((status) => ({ file, status })));
    if (pending.length > 0 && !config.migrations.auto) {
      const first = pending[0]!;
      throw new MigrationError(ErrorCodes.MIGRATION_PENDING, `${first.file.path} needs ${pending.length} migration(s) (first: ${first.status.store} ${first.status.version}_${first.status.name}) and migrations.auto is false. Apply them with "porchlight migrate up", or set migrations.auto to true.`, { details: { path: first.file.path, pending: pending.map((entry) => `${entry.status.store}/${entry.status.version}`) } });
    }
    const runs: MigrationRun[] = [];
    for (const { file, migrator } of migrators) {
      current = file;
      runs.push(await migrator.up());
    }
    const migrationsAtOpen: MigrationRun = { direction: 'up', steps: runs.flatMap((run) => run.steps), backupPath: runs.find((run) => run.backupPath !== undefined)?.backupPath };

    current = files.find((file) => file.stores.includes('faces'));
    const dbOf = (store: string): SqliteDatabase => databases.find((entry) => entry.file.stores.includes(store))!.db;
    const audit = new AuditLog(dbOf('audit'), { ...config.audit, logger: config.logger });
    recordMigrationRun(audit, dbOf('audit'), migrationsAtOpen);
    const stores: Stores = {
      faces: new FaceDatabase(dbOf('faces'), { ...config.faces, logger: config.logger, audit, pool: options.searchPool }),
      events: new EventStore(dbOf('events'), { logger: config.logger }),
      metrics: new MetricStore(dbOf('metrics'), { ...config.metrics, retention: config.retention.metricDays, logger: config.logger }),
      config: new ConfigStore(dbOf('config'), { ...config.config, audit, logger: config.logger }),
      audit,
    };
    // A reverted audit store has no log left to write to.
    const onRun = (run: MigrationRun) => {
      if (hasAuditLog(dbOf('audit'))) recordMigrationRun(audit, dbOf('audit'), run);
    };
    const migrate = new MigrationSet(migrators.map(({ file, migrator }) => ({ path: file.path, stores: file.stores, migrator })), { onRun });
    return { databases, stores, migrate, migrationsAtOpen };
  } catch (error) {
    closeDatabases(databases);
    throw openError(error, current?.path);
  }
}

/** Names the file in an error raised while opening it, keeping the error's class and code. */
function openError(error: unknown, path: string | undefined): unknown {
  if (path === undefined) return error;
  if (error instanceof PorchlightError) {
    if (error.message.includes(path)) return error;
    error.message = `${path}: ${error.message}`;
    error.details.path ??= path;
    return error;
  }
  if (typeof (error as { code?: unknown }).code === 'string' && (error as { code: string }).code.startsWith('SQLITE_')) return databaseError(path, error);
  return error;
}

function closeDatabases(databases: readonly OpenedDatabase[]): void {
  for (const { db } of databases) {
    if (db.open) db.close();
  }
}

function checkObject<T>(value: T, name: string): T & object {
  if (value === null || typeof value !== 'object') throw invalidArgument(`${name} must be an object, got ${String(value)}.`, { [name]: value });
  return value as T & object;
}

function checkPath(path: unknown): void {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument(`The backup path must be a non-empty string, got ${showValue(path)}.`, { path });
}
