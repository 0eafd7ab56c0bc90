import { fileSize } from '../db/open-database.js';
import type { Logger } from '../logger.js';
import type { DatabaseFile } from './database-layout.js';

/** The part of the metrics store that operational metrics are written through. */
export interface MetricSink {
  record(name: string, value: number, options?: { type?: 'gauge' | 'counter'; tags?: Record<string, string> }): void;
}

/** Names of the metrics Porchlight records about itself; every one starts with `porchlight.`. */
export const OPERATIONAL_METRICS = Object.freeze({
  /** Gauge per store method and minute, tags `operation` and `stat` (`avg` or `max`), in milliseconds. */
  queryDuration: 'porchlight.query.duration_ms',
  /** Counter of calls per store method, tag `operation`. */
  queryCount: 'porchlight.query.count',
  /** Gauge per backup, tags `outcome` (`ok` or `failed`) and `reason`, in milliseconds. */
  backupDuration: 'porchlight.backup.duration_ms',
  /** Gauge per backup: bytes stored. */
  backupBytes: 'porchlight.backup.bytes',
  /** Gauge per cleanup, tag `outcome`, in milliseconds. */
  cleanupDuration: 'porchlight.cleanup.duration_ms',
  /** Counter of what a cleanup removed, tag `kind` (`events`, `metrics`, `backups`, `pages`). */
  cleanupRemoved: 'porchlight.cleanup.removed',
  /** Gauge per database file, tags `database` and `file` (`db` or `wal`), in bytes. */
  databaseBytes: 'porchlight.database.bytes',
  /** Gauge per applied migration, tags `store` and `version`, in milliseconds. */
  migrationDuration: 'porchlight.migration.duration_ms',
});

interface Latency {
  count: number;
  totalMs: number;
  maxMs: number;
}

/**
 * Porchlight's own operational metrics: store method latencies aggregated per minute, and the
 * duration and outcome of backups, cleanups and migrations, written into the metrics store so they
 * can be charted like any other metric. Without a metrics store every call is a no-op.
 */
export class OperationalMetrics {
  readonly #sink: MetricSink | undefined;
  readonly #logger: Logger;
  readonly #latencies = new Map<string, Latency>();

  constructor(sink: MetricSink | undefined, logger: Logger) {
    this.#sink = sink;
    this.#logger = logger;
  }

  /**
   * Returns a view of `store` whose methods time each call (until its promise settles, for async
   * ones) under the operation `<name>.<method>`. Methods run on the store itself, so its private
   * fields work as before.
   */
  instrument<T extends object>(store: T, name: string): T {
    if (this.#sink === undefined) return store;
    const wrappers = new Map<PropertyKey, unknown>();
    return new Proxy(store, {
      get: (target, property) => {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor') return value;
        let wrapper = wrappers.get(property);
        if (wrapper === undefined) {
          wrapper = this.#timed(value as (...args: unknown[]) => unknown, target, `${name}.${property}`);
          wrappers.set(property, wrapper);
        }
        return wrapper;
      },
    });
  }

  #timed(method: (...args: unknown[]) => unknown, target: object, operation: string): (...args: unknown[]) => unknown {
    return (...args: unknown[]) => {
      const started = performance.now();
      const result = method.apply(target, args);
      if (result instanceof Promise) {
        return result.finally(() => this.#observe(operation, performance.now() - started));
      }
      this.#observe(operation, performance.now() - started);
      return result;
    };
  }

  #observe(operation: string, durationMs: number): void {
    const latency = this.#latencies.get(operation) ?? { count: 0, totalMs: 0, maxMs: 0 };
    latency.count += 1;
    latency.totalMs += durationMs;
    latency.maxMs = Math.max(latency.maxMs, durationMs);
    this.#latencies.set(operation, latency);
  }

  /** Writes the latencies gathered since the last call and the size of every database file and WAL. */
  flush(files: readonly DatabaseFile[]): void {
    this.#write(() => {
      for (const [operation, latency] of this.#latencies) {
        this.#sink!.record(OPERATIONAL_METRICS.queryDuration, latency.totalMs / latency.count, { type: 'gauge', tags: { operation, stat: 'avg' } });
        this.#sink!.record(OPERATIONAL_METRICS.queryDuration, latency.maxMs, { type: 'gauge', tags: { operation, stat: 'max' } });
        this.#sink!.record(OPERATIONAL_METRICS.queryCount, latency.count, { type: 'counter', tags: { operation } });
      }
      this.#latencies.clear();
      for (const file of files) {
        this.#sink!.record(OPERATIONAL_METRICS.databaseBytes, fileSize(file.path), { type: 'gauge', tags: { database: file.name, file: 'db' } });
        this.#sink!.record(OPERATIONAL_METRICS.databaseBytes, fileSize(`${file.path}-wal`), { type: 'gauge', tags: { database: file.name, file: 'wal' } });
      }
    });
  }

  backup(reason: string, durationMs: number, bytes: number | undefined): void {
    this.#write(() => {
      this.#sink!.record(OPERATIONAL_METRICS.backupDuration, durationMs, { type: 'gauge', tags: { outcome: bytes === undefined ? 'failed' : 'ok', reason } });
      if (bytes !== undefined) this.#sink!.record(OPERATIONAL_METRICS.backupBytes, bytes, { type: 'gauge', tags: { reason } });
    });
  }

  cleanup(durationMs: number, removed: Record<string, number> | undefined): void {
    this.#write(() => {
      this.#sink!.record(OPERATIONAL_METRICS.cleanupDuration, durationMs, { type: 'gauge', tags: { outcome: removed === undefined ? 'failed' : 'ok' } });
      for (const [kind, count] of Object.entries(removed ?? {})) this.#sink!.record(OPERATIONAL_METRICS.cleanupRemoved, count, { type: 'counter', tags: { kind } });
    });
  }

  migration(store: string, version: number, durationMs: number): void {
    this.#write(() => {
      this.#sink!.record(OPERATIONAL_METRICS.migrationDuration, durationMs, { type: 'gauge', tags: { store, version: String(version) } });
    });
  }

  /**
   * Runs `write` unless there is no metrics store. A failure to record an operational metric is
   * logged and not thrown, so it never fails the backup, cleanup or query it describes.
   */
  #write(write: () => void): void {
    if (this.#sink === undefined) return;
    try {
      write();
    } catch (error) {
      this.#logger.warn({ err: error }, 'recording an operational metric failed');
    }
  }
}
