import { isAbsolute, resolve } from 'node:path';

import { ErrorCodes, ValidationError } from '../errors.js';
import type { AuditLogOptions } from '../audit/audit-log.js';
import type { ConfigStoreOptions } from '../config/config-store.js';
import type { FaceDatabaseOptions } from '../faces/face-database.js';
import type { SearchPoolOptions } from '../faces/search-pool.js';
import type { MetricsOptions } from '../metrics/metric-options.js';
import { noopLogger, type Logger } from '../logger.js';

export type Durability = 'full' | 'normal';
export type Compression = 'brotli' | 'gzip' | 'none';

/** Levels each codec accepts. */
export const COMPRESSION_LEVELS: Readonly<Record<Exclude<Compression, 'none'>, readonly [number, number]>> = Object.freeze({ brotli: [0, 11], gzip: [1, 9] });

/** Stores that can be given a database file of their own. */
export const STORE_PATH_KEYS = Object.freeze(['events', 'faces', 'metrics', 'config'] as const);
export type StorePathKey = (typeof STORE_PATH_KEYS)[number];

/**
 * Stores whose changes commit in one transaction with their audit records, so they must share the
 * audit log's file: a second file would make the change and its audit record two separate commits.
 */
export const AUDITED_STORES: readonly StorePathKey[] = Object.freeze(['faces', 'config']);

/** Metric resolutions whose retention can be set, from the finest. */
export const METRIC_RESOLUTIONS = Object.freeze(['raw', 'minute', 'hour', 'day'] as const);
export type MetricResolution = (typeof METRIC_RESOLUTIONS)[number];

/** The configuration a deployment writes: an options object, or a JSON file with the same keys. */
export interface StorageOptions {
  /** Folder for the databases; created owner-only when missing. */
  dataDirectory: string;
  /** Folder for backups. Default `<dataDirectory>/backups`. */
  backupDirectory?: string;
  /** SQLite write-ahead logging. Default true; turn it off only where the file system lacks shared memory (network shares). */
  wal?: boolean;
  /**
   * SQLite `synchronous`. `full` (default) syncs the WAL at every commit, so a commit survives a power
   * loss. `normal` syncs only at checkpoints: faster commits, and a process crash still loses nothing,
   * but a power loss or kernel panic can undo the last commits before the checkpoint.
   */
  durability?: Durability;
  /**
   * A database file per store, relative to `dataDirectory`. Default: every store in `porchlight.db`.
   * A store in a file of its own no longer commits atomically with the other stores, and `faces` and
   * `config` cannot be separated from each other because their changes commit with their audit records.
   */
  databases?: Partial<Record<StorePathKey, string>>;
  retention?: {
    /** Days an event is kept. Default 30; `null` keeps events forever. */
    eventDays?: number | null;
    /** Days per event type, overriding `eventDays`; `null` keeps that type forever. */
    eventTypeDays?: Record<string, number | null>;
    /** Days metric points are kept per resolution. Default raw 7, minute 30, hour 365, day forever (`null`). */
    metricDays?: Partial<Record<MetricResolution, number | null>>;
  };
  migrations?: {
    /** Apply pending migrations at open. Default true; when false, open fails while a migration is pending. */
    auto?: boolean;
    /** Copy a database that contains rows before migrating it (SQLite online backup). Default true. */
    backup?: boolean;
    /** Folder of those copies. Default `backupDirectory`. */
    backupDirectory?: string;
  };
  backup?: {
    /** Minutes between scheduled backups; 0 turns them off. Default 1440 (daily). */
    intervalMinutes?: number;
    /** Backups kept in a folder; older ones are deleted after each backup. Default 7. */
    keep?: number;
    /**
     * Compression of the database copies. Default `brotli`, which at level 1 was faster than gzip on
     * this project's benchmark store for a file about 5% larger (see bench/RESULTS.md).
     */
    compression?: Compression;
    /** Codec level: brotli 0 to 11, gzip 1 to 9 (fastest first). Default 1. */
    compressionLevel?: number;
  };
  cleanup?: {
    /** Minutes between scheduled cleanups; 0 turns them off. Default 60. */
    intervalMinutes?: number;
    /** Rows deleted per transaction. Default 2000. */
    chunkSize?: number;
    /** WAL size in bytes past which cleanup truncates the WAL with a checkpoint. Default 64 MiB. */
    walCheckpointBytes?: number;
  };
  health?: {
    /** Free disk space in bytes below which the health check fails. Default 256 MiB. */
    minFreeDiskBytes?: number;
  };
  /**
   * Record Porchlight's own metrics (store latencies, backup, cleanup and migration durations and
   * outcomes, database and WAL sizes; names start with `porchlight.`) in the metrics store. Default true.
   */
  operationalMetrics?: boolean;
  /** Face index settings: metric per model and the person cache size. */
  faces?: Omit<FaceDatabaseOptions, 'logger' | 'audit' | 'pool'>;
  /**
   * Metric buffering and limits, checked by the metrics store. `metrics.retention` is another name
   * for `retention.metricDays`; giving both is rejected.
   */
  metrics?: Omit<MetricsOptions, 'logger'>;
  /** Validators of configuration documents per key; an options object only, since they are functions. */
  config?: Pick<ConfigStoreOptions, 'validators'>;
  /** The actor of the audit records that Porchlight appends by itself. */
  audit?: Omit<AuditLogOptions, 'logger'>;
  /** Worker threads that split large face searches: thread count, queue bound, size threshold. */
  searchPool?: SearchPoolOptions;
  /** A pino-compatible logger. Default: discard. */
  logger?: Logger;
}

/** The configuration after defaults are applied and paths resolved. */
export interface StorageConfig {
  dataDirectory: string;
  backupDirectory: string;
  wal: boolean;
  durability: Durability;
  /** Absolute database file of every store. */
  databases: Readonly<Record<StorePathKey, string>>;
  retention: {
    eventDays: number | null;
    eventTypeDays: Readonly<Record<string, number | null>>;
    metricDays: Readonly<Record<MetricResolution, number | null>>;
  };
  migrations: { auto: boolean; backup: boolean; backupDirectory: string | undefined };
  backup: { intervalMinutes: number; keep: number; compression: Compression; compressionLevel: number };
  cleanup: { intervalMinutes: number; chunkSize: number; walCheckpointBytes: number };
  health: { minFreeDiskBytes: number };
  operationalMetrics: boolean;
  faces: Omit<FaceDatabaseOptions, 'logger' | 'audit' | 'pool'>;
  metrics: Omit<MetricsOptions, 'logger' | 'retention'>;
  config: Pick<ConfigStoreOptions, 'validators'>;
  audit: Omit<AuditLogOptions, 'logger'>;
  searchPool: SearchPoolOptions;
  logger: Logger;
}

/** File name of the database that every store shares by default. */
export const DATABASE_FILE = 'porchlight.db';

export const DEFAULTS = Object.freeze({
  wal: true,
  durability: 'full' as Durability,
  retention: Object.freeze({
    eventDays: 30,
    metricDays: Object.freeze({ raw: 7, minute: 30, hour: 365, day: null }),
  }),
  migrations: Object.freeze({ auto: true, backup: true }),
  backup: Object.freeze({ intervalMinutes: 1440, keep: 7, compression: 'brotli' as Compression, compressionLevel: 1 }),
  cleanup: Object.freeze({ intervalMinutes: 60, chunkSize: 2000, walCheckpointBytes: 64 * 1024 * 1024 }),
  health: Object.freeze({ minFreeDiskBytes: 256 * 1024 * 1024 }),
  operationalMetrics: true,
});

const TOP_LEVEL_KEYS = ['dataDirectory', 'backupDirectory', 'wal', 'durability', 'databases', 'retention', 'migrations', 'backup', 'cleanup', 'health', 'operationalMetrics', 'faces', 'metrics', 'config', 'audit', 'searchPool', 'logger'];
const GROUP_KEYS: Readonly<Record<string, readonly string[]>> = {
  databases: STORE_PATH_KEYS,
  retention: ['eventDays', 'eventTypeDays', 'metricDays'],
  migrations: ['auto', 'backup', 'backupDirectory'],
  backup: ['intervalMinutes', 'keep', 'compression', 'compressionLevel'],
  cleanup: ['intervalMinutes', 'chunkSize', 'walCheckpointBytes'],
  health: ['minFreeDiskBytes'],
  faces: ['metric', 'models', 'personCacheSize'],
  // The metrics store checks the values of its own keys.
  metrics: ['flushSize', 'flushIntervalMs', 'retention', 'retentionChunkSize', 'maxSeries', 'maxHistoryPoints'],
  config: ['validators'],
  audit: ['actor'],
  // The search pool checks the values of its own keys.
  searchPool: ['threads', 'maxQueue', 'minParallelBytes'],
};

/** Origin of a configuration, for messages and for resolving relative paths. */
export interface ConfigSource {
  /** Prefix of key names in messages: `options.` for an object, `FILE: ` for a file. */
  label: string;
  /** Folder that relative paths are resolved against. */
  baseDirectory: string;
  /** Error code of a rejected key: INVALID_ARGUMENT for an object, INVALID_CONFIG for a file. */
  code: typeof ErrorCodes.INVALID_ARGUMENT | typeof ErrorCodes.INVALID_CONFIG;
}

export const OBJECT_SOURCE: ConfigSource = { label: 'options.', baseDirectory: '.', code: ErrorCodes.INVALID_ARGUMENT };

/**
 * Checks every key of `input` and returns the configuration with defaults applied. An unknown key, a
 * value of the wrong type or out of range, or a store layout that would split audited stores throws a
 * ValidationError naming the key.
 */
export function resolveStorageConfig(input: StorageOptions, source: ConfigSource = OBJECT_SOURCE): StorageConfig {
  const check = new ConfigChecker(source);
  check.object(input, '', TOP_LEVEL_KEYS);
  for (const [group, keys] of Object.entries(GROUP_KEYS)) {
    const value = (input as unknown as Record<string, unknown>)[group];
    if (value !== undefined) check.object(value, group, keys);
  }

  const dataDirectory = check.path(input.dataDirectory, 'dataDirectory', source.baseDirectory, true)!;
  const backupDirectory = check.path(input.backupDirectory, 'backupDirectory', source.baseDirectory, false) ?? resolve(dataDirectory, 'backups');
  const databases = resolveDatabasePaths(check, input.databases ?? {}, dataDirectory);

  const retention = input.retention ?? {};
  const eventTypeDays: Record<string, number | null> = {};
  if (retention.eventTypeDays !== undefined) {
    check.object(retention.eventTypeDays, 'retention.eventTypeDays', undefined);
    for (const [type, days] of Object.entries(retention.eventTypeDays)) eventTypeDays[type] = check.days(days, `retention.eventTypeDays.${type}`);
  }
  if (retention.metricDays !== undefined && input.metrics?.retention !== undefined) {
    throw check.error('metrics.retention', `${check.name('retention.metricDays')} and ${check.name('metrics.retention')} both set the metric retention; keep one of them.`);
  }
  const metricKey = input.metrics?.retention === undefined ? 'retention.metricDays' : 'metrics.retention';
  const metricInput = retention.metricDays ?? input.metrics?.retention ?? {};
  check.object(metricInput, metricKey, METRIC_RESOLUTIONS);
  const metricDays = Object.fromEntries(METRIC_RESOLUTIONS.map((resolution) => [
    resolution,
    metricInput[resolution] === undefined ? DEFAULTS.retention.metricDays[resolution] : check.days(metricInput[resolution], `${metricKey}.${resolution}`),
  ])) as Record<MetricResolution, number | null>;

  const backup = input.backup ?? {};
  const cleanup = input.cleanup ?? {};
  const compression = check.oneOf(backup.compression, 'backup.compression', ['brotli', 'gzip', 'none']) ?? DEFAULTS.backup.compression;
  return deepFreeze({
    dataDirectory,
    backupDirectory,
    wal: check.boolean(input.wal, 'wal') ?? DEFAULTS.wal,
    durability: check.oneOf(input.durability, 'durability', ['full', 'normal']) ?? DEFAULTS.durability,
    databases,
    retention: {
      eventDays: retention.eventDays === undefined ? DEFAULTS.retention.eventDays : check.days(retention.eventDays, 'retention.eventDays'),
      eventTypeDays,
      metricDays,
    },
    migrations: {
      auto: check.boolean(input.migrations?.auto, 'migrations.auto') ?? DEFAULTS.migrations.auto,
      backup: check.boolean(input.migrations?.backup, 'migrations.backup') ?? DEFAULTS.migrations.backup,
      backupDirectory: check.path(input.migrations?.backupDirectory, 'migrations.backupDirectory', source.baseDirectory, false),
    },
    backup: {
      intervalMinutes: check.number(backup.intervalMinutes, 'backup.intervalMinutes', 0, 525_600, false) ?? DEFAULTS.backup.intervalMinutes,
      keep: check.number(backup.keep, 'backup.keep', 1, 10_000, true) ?? DEFAULTS.backup.keep,
      compression,
      compressionLevel: check.number(backup.compressionLevel, 'backup.compressionLevel', ...(compression === 'none' ? [0, 11] as const : COMPRESSION_LEVELS[compression]), true) ?? DEFAULTS.backup.compressionLevel,
    },
    cleanup: {
      intervalMinutes: check.number(cleanup.intervalMinutes, 'cleanup.intervalMinutes', 0, 525_600, false) ?? DEFAULTS.cleanup.intervalMinutes,
      chunkSize: check.number(cleanup.chunkSize, 'cleanup.chunkSize', 1, 1_000_000, true) ?? DEFAULTS.cleanup.chunkSize,
      walCheckpointBytes: check.number(cleanup.walCheckpointBytes, 'cleanup.walCheckpointBytes', 0, Number.MAX_SAFE_INTEGER, true) ?? DEFAULTS.cleanup.walCheckpointBytes,
    },
    health: {
      minFreeDiskBytes: check.number(input.health?.minFreeDiskBytes, 'health.minFreeDiskBytes', 0, Number.MAX_SAFE_INTEGER, true) ?? DEFAULTS.health.minFreeDiskBytes,
    },
    // Copies, because the result is frozen and the caller's objects must stay as they were.
    faces: { ...input.faces, ...(input.faces?.models === undefined ? {} : { models: { ...input.faces.models } }) },
    operationalMetrics: check.boolean(input.operationalMetrics, 'operationalMetrics') ?? DEFAULTS.operationalMetrics,
    metrics: withoutRetention(input.metrics ?? {}),
    config: { ...input.config },
    audit: { ...input.audit },
    searchPool: { ...input.searchPool },
    logger: input.logger ?? noopLogger,
  });
}

function resolveDatabasePaths(check: ConfigChecker, input: Partial<Record<StorePathKey, string>>, dataDirectory: string): Record<StorePathKey, string> {
  const paths = Object.fromEntries(STORE_PATH_KEYS.map((store) => [
    store,
    check.path(input[store], `databases.${store}`, dataDirectory, false) ?? resolve(dataDirectory, DATABASE_FILE),
  ])) as Record<StorePathKey, string>;

  const [first, ...others] = AUDITED_STORES;
  for (const store of others) {
    if (paths[store] !== paths[first!]) {
      throw check.error(`databases.${store}`, `${check.name(`databases.${first}`)} is ${paths[first!]} but ${check.name(`databases.${store}`)} is ${paths[store]}. The ${AUDITED_STORES.join(' and ')} stores write their audit records in the same transaction as each change, so they must share one file: set both to the same path, or neither.`);
    }
  }
  return paths;
}

/** Checks option values one key at a time; every error names the key with the source's label. */
export class ConfigChecker {
  readonly #source: ConfigSource;

  constructor(source: ConfigSource) {
    this.#source = source;
  }

  name(key: string): string {
    return `${this.#source.label}${key}`;
  }

  error(key: string, message: string): ValidationError {
    return new ValidationError(this.#source.code, message, { details: { key } });
  }

  /** Checks that `value` is a plain object whose keys are all in `allowed` (any key when undefined). */
  object(value: unknown, key: string, allowed: readonly string[] | undefined): void {
    const name = key === '' ? this.#source.label.replace(/[.:]\s*$/, '') : this.name(key);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw this.error(key, `${name} must be an object, got ${describe(value)}.`);
    }
    if (allowed === undefined) return;
    for (const candidate of Object.keys(value)) {
      if (allowed.includes(candidate)) continue;
      const full = key === '' ? candidate : `${key}.${candidate}`;
      const suggestion = closest(candidate, allowed);
      const hint = suggestion === undefined ? '' : ` Did you mean ${suggestion}?`;
      throw this.error(full, `Unknown key ${this.name(full)}.${hint} Expected one of: ${allowed.join(', ')}.`);
    }
  }

  path(value: unknown, key: string, base: string, required: boolean): string | undefined {
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || value.trim().length === 0) {
      throw this.error(key, `${this.name(key)} must be a folder or file path, got ${describe(value)}.`);
    }
    return isAbsolute(value) ? resolve(value) : resolve(base, value);
  }

  boolean(value: unknown, key: string): boolean | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw this.error(key, `${this.name(key)} must be true or false, got ${describe(value)}.`);
    return value;
  }

  oneOf<T extends string>(value: unknown, key: string, allowed: readonly T[]): T | undefined {
    if (value === undefined) return undefined;
    if (!allowed.includes(value as T)) {
      throw this.error(key, `${this.name(key)} must be one of ${allowed.map((entry) => JSON.stringify(entry)).join(', ')}, got ${describe(value)}.`);
    }
    return value as T;
  }

  number(value: unknown, key: string, min: number, max: number, integer: boolean): number | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw this.error(key, `${this.name(key)} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${describe(value)}.`);
    }
    return value;
  }

  /** Checks a retention in days: a positive number, or null for forever. */
  days(value: unknown, key: string): number | null {
    if (value === null) return null;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 36_500) {
      throw this.error(key, `${this.name(key)} must be a number of days greater than 0 and at most 36500, or null to keep forever; got ${describe(value)}.`);
    }
    return value;
  }
}

function withoutRetention(metrics: Omit<MetricsOptions, 'logger'>): Omit<MetricsOptions, 'logger' | 'retention'> {
  const { retention: _retention, ...rest } = metrics;
  return rest;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/** Returns the allowed key nearest to a misspelled one (the first on a tie), if one is within edit distance 2. */
function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    // The logger and the validators are the caller's objects; freezing them would break those that keep state.
    for (const [key, child] of Object.entries(value)) if (key !== 'logger' && key !== 'validators') deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
