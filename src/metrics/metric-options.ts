import { invalidArgument, showValue } from '../errors.js';
import { checkKeys } from '../faces/face-database.js';
import type { Logger } from '../logger.js';
import { RESOLUTIONS, type Resolution } from './resolutions.js';

/** Days to keep each resolution; `null` keeps it forever. */
export type RetentionDays = Record<Resolution, number | null>;

export interface MetricsOptions {
  /**
   * Points buffered in memory at most. The record that fills the buffer writes it synchronously,
   * so points are not dropped. Default 10,000.
   */
  flushSize?: number;
  /** Milliseconds after the first buffered point at which the buffer is written. Default 1,000. */
  flushIntervalMs?: number;
  /** Days kept per resolution, applied by `applyRetention`. Default raw 7, minute 30, hour 365, day forever. */
  retention?: Partial<RetentionDays>;
  /** Rows deleted per transaction by `applyRetention`, so writers wait at most one chunk. Default 5,000. */
  retentionChunkSize?: number;
  /** Series (metric name and tag set) at most; a point that would create one more is rejected. Default 10,000. */
  maxSeries?: number;
  /** Buckets or points one `history` call returns at most; a larger result is rejected. Default 100,000. */
  maxHistoryPoints?: number;
  logger?: Logger;
}

export interface ResolvedMetricsOptions {
  flushSize: number;
  flushIntervalMs: number;
  retention: Readonly<RetentionDays>;
  retentionChunkSize: number;
  maxSeries: number;
  maxHistoryPoints: number;
}

export const DEFAULT_METRICS_OPTIONS: Readonly<ResolvedMetricsOptions> = Object.freeze({
  flushSize: 10_000,
  flushIntervalMs: 1_000,
  retention: Object.freeze({ raw: 7, minute: 30, hour: 365, day: null }),
  retentionChunkSize: 5_000,
  maxSeries: 10_000,
  maxHistoryPoints: 100_000,
});

const LIMITS = Object.freeze({
  flushSize: [1, 1_000_000],
  flushIntervalMs: [1, 3_600_000],
  retentionChunkSize: [1, 1_000_000],
  maxSeries: [1, 10_000_000],
  maxHistoryPoints: [1, 100_000_000],
} as const);

/** Applies the defaults to `options` after checking every key and value. */
export function resolveMetricsOptions(options: MetricsOptions = {}): ResolvedMetricsOptions {
  if (options === null || typeof options !== 'object') throw invalidArgument('options.metrics must be an object.', {});
  checkKeys(options, [...Object.keys(LIMITS), 'retention', 'logger'], 'options.metrics');

  const resolved = { ...DEFAULT_METRICS_OPTIONS, retention: { ...DEFAULT_METRICS_OPTIONS.retention } };
  for (const [key, [min, max]] of Object.entries(LIMITS) as [keyof typeof LIMITS, readonly [number, number]][]) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw invalidArgument(`options.metrics.${key} must be an integer from ${min} to ${max}, got ${showValue(value)}.`, { [key]: value });
    }
    resolved[key] = value;
  }

  if (options.retention !== undefined) {
    if (options.retention === null || typeof options.retention !== 'object') throw invalidArgument('options.metrics.retention must be an object such as { raw: 7, day: null }.', {});
    checkKeys(options.retention, RESOLUTIONS, 'options.metrics.retention');
    for (const resolution of RESOLUTIONS) {
      const days = options.retention[resolution];
      if (days === undefined) continue;
      if (days !== null && (typeof days !== 'number' || !Number.isFinite(days) || days <= 0)) {
        throw invalidArgument(`options.metrics.retention.${resolution} must be a positive number of days or null (keep forever), got ${showValue(days)}.`, { resolution });
      }
      resolved.retention[resolution] = days;
    }
  }
  return resolved;
}
