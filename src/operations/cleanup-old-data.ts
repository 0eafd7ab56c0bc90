import type { SqliteDatabase } from '../db/open-database.js';
import type { EventStore } from '../events/event-store.js';
import type { MetricStore } from '../metrics/metric-store.js';
import { deleteExpiredMetrics, type RetentionResult } from '../metrics/metric-retention.js';
import { invalidArgument } from '../errors.js';
import type { Logger } from '../logger.js';
import type { DatabaseFile } from './database-layout.js';
import { deleteExpiredEvents, type EventRetentionResult } from './event-retention.js';
import { truncateWal, vacuumFreePages, type CheckpointResult, type VacuumResult } from './reclaim-space.js';
import { rotateBackups } from './rotate-backups.js';
import { ConfigChecker, METRIC_RESOLUTIONS, type MetricResolution, type StorageConfig } from './storage-config.js';

/** Overrides of the configured retention for one cleanup run. */
export interface CleanupPolicy {
  /** Days an event is kept; `null` keeps events forever. Default `retention.eventDays`. */
  eventDays?: number | null;
  /** Days per event type, merged over `retention.eventTypeDays`. */
  eventTypeDays?: Record<string, number | null>;
  /** Days per metric resolution, merged over `retention.metricDays`. */
  metricDays?: Partial<Record<MetricResolution, number | null>>;
  /** Backups kept in the backup directory. Default `backup.keep`. */
  backupsKept?: number;
  /** The time retention is counted back from. Default now. */
  now?: Date;
}

/** The retention in force for one run, after the policy is merged over the configuration. */
export interface EffectivePolicy {
  eventDays: number | null;
  eventTypeDays: Readonly<Record<string, number | null>>;
  metricDays: Readonly<Record<MetricResolution, number | null>>;
  backupsKept: number;
  now: Date;
}

export interface CleanupResult {
  /** ISO 8601, UTC. */
  startedAt: string;
  durationMs: number;
  policy: EffectivePolicy;
  /** Events deleted by retention. */
  events: EventRetentionResult;
  /** Metric rows (raw point blocks and rollup buckets) deleted per resolution. */
  metrics: RetentionResult;
  /** Backup folders deleted beyond `backupsKept`. */
  backupsRemoved: string[];
  vacuum: VacuumResult[];
  checkpoints: CheckpointResult[];
}

const POLICY_KEYS = ['eventDays', 'eventTypeDays', 'metricDays', 'backupsKept', 'now'];

/** Checks a cleanup policy and merges it over the configured retention. */
export function effectivePolicy(policy: CleanupPolicy, config: StorageConfig): EffectivePolicy {
  const check = new ConfigChecker({ label: 'policy.', baseDirectory: '.', code: 'INVALID_ARGUMENT' });
  check.object(policy, '', POLICY_KEYS);
  if (policy.now !== undefined && (!(policy.now instanceof Date) || Number.isNaN(policy.now.getTime()))) {
    throw invalidArgument(`policy.now must be a valid Date, got ${String(policy.now)}.`, { key: 'now' });
  }

  const eventTypeDays = { ...config.retention.eventTypeDays };
  if (policy.eventTypeDays !== undefined) {
    check.object(policy.eventTypeDays, 'eventTypeDays', undefined);
    for (const [type, days] of Object.entries(policy.eventTypeDays)) eventTypeDays[type] = check.days(days, `eventTypeDays.${type}`);
  }
  const metricDays = { ...config.retention.metricDays };
  if (policy.metricDays !== undefined) {
    check.object(policy.metricDays, 'metricDays', METRIC_RESOLUTIONS);
    for (const [resolution, days] of Object.entries(policy.metricDays)) metricDays[resolution as MetricResolution] = check.days(days, `metricDays.${resolution}`);
  }

  return {
    eventDays: policy.eventDays === undefined ? config.retention.eventDays : check.days(policy.eventDays, 'eventDays'),
    eventTypeDays,
    metricDays,
    backupsKept: check.number(policy.backupsKept, 'backupsKept', 1, 10_000, true) ?? config.backup.keep,
    now: policy.now ?? new Date(),
  };
}

export interface CleanupInput {
  config: StorageConfig;
  databases: readonly { file: DatabaseFile; db: SqliteDatabase }[];
  policy: EffectivePolicy;
  /** The event store and the connection of its database file. */
  events: { store: EventStore; db: SqliteDatabase };
  metrics: { store: MetricStore; db: SqliteDatabase };
  logger: Logger;
}

/**
 * Deletes expired events and metric points and the backups beyond the number kept, then returns the freed pages of every
 * database to the file system and truncates each WAL that has grown past `cleanup.walCheckpointBytes`.
 */
export async function cleanupOldData(input: CleanupInput): Promise<CleanupResult> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const { config, policy, logger } = input;

  const events = await deleteExpiredEvents(input.events.store, input.events.db, policy, config.cleanup.chunkSize);
  // Buffered points would otherwise be written after the deletion and outlive their retention.
  input.metrics.store.flush();
  const metrics = await deleteExpiredMetrics(input.metrics.db, policy.metricDays, policy.now.getTime(), config.cleanup.chunkSize, () => {});
  const backupsRemoved = await rotateBackups(config.backupDirectory, policy.backupsKept, logger);
  const vacuum: VacuumResult[] = [];
  const checkpoints: CheckpointResult[] = [];
  for (const { file, db } of input.databases) {
    vacuum.push(await vacuumFreePages(file, db));
    checkpoints.push(truncateWal(file, db, config.cleanup.walCheckpointBytes));
  }

  const result: CleanupResult = { startedAt, durationMs: performance.now() - started, policy, events, metrics, backupsRemoved, vacuum, checkpoints };
  logger.info({
    durationMs: result.durationMs,
    eventsDeleted: events.deleted,
    metricRowsDeleted: metrics,
    backupsRemoved: backupsRemoved.length,
    bytesFreed: vacuum.reduce((sum, entry) => sum + entry.bytesFreed, 0),
    walBytesAfter: checkpoints.reduce((sum, entry) => sum + entry.walBytesAfter, 0),
  }, 'cleanup finished');
  return result;
}
