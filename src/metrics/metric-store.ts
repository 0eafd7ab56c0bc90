import type { Statement } from 'better-sqlite3';

import type { SqliteDatabase } from '../db/open-database.js';
import { ErrorCodes, PorchlightError, StorageError, ValidationError, invalidArgument, showValue } from '../errors.js';
import { checkKeys } from '../faces/face-database.js';
import { noopLogger, type Logger } from '../logger.js';
import { decodeBlock } from './metric-block.js';
import { MetricBuffer, type MetricType, type SeriesEntry } from './metric-buffer.js';
import { resolveMetricsOptions, type MetricsOptions, type ResolvedMetricsOptions } from './metric-options.js';
import { deleteExpiredMetrics, type RetentionResult } from './metric-retention.js';
import { canonicalTags, type MetricTags } from './metric-tags.js';
import { MetricWriter } from './metric-writer.js';
import { DAY_MS, RESOLUTIONS, ROLLUP_WIDTHS, bucketStart, type Resolution } from './resolutions.js';
import { MAX_TIMESTAMP, MIN_TIMESTAMP, toEpochMs, toIsoString, type TimeInput } from './timestamp.js';

export interface RecordOptions {
  /** `gauge` (a sample; read its average) or `counter` (an increment; read its sum). Default: the metric's type, else `gauge`. */
  type?: MetricType;
  tags?: MetricTags;
  /** When the value was measured. Default: now. */
  timestamp?: TimeInput;
}

export interface HistoryOptions {
  /** First time included. With a rollup resolution, the bucket that contains `start` is the first. Default: `end` minus one day. */
  start?: TimeInput;
  /** End of the range, exclusive. Default: now. */
  end?: TimeInput;
  /** Default `raw`. */
  resolution?: Resolution;
  /** Only series that have every one of these tags; their buckets are merged. Default: every series of the metric. */
  tags?: MetricTags;
}

/** One bucket of a history; for `raw`, one point (count 1, and sum, min, max and average equal to its value). */
export interface MetricBucket {
  /** Start of the bucket, or the time of the point: ISO 8601, UTC. */
  timestamp: string;
  count: number;
  sum: number;
  min: number;
  max: number;
  average: number;
}

export interface MetricPoint {
  /** ISO 8601, UTC. */
  timestamp: string;
  value: number;
  tags: MetricTags;
}

export interface MetricSeriesInfo {
  tags: MetricTags;
  /** Time of the newest point written, ISO 8601 UTC; `null` before the first flush. */
  lastTimestamp: string | null;
  lastValue: number | null;
}

export interface MetricInfo {
  name: string;
  type: MetricType;
  series: MetricSeriesInfo[];
}

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.:/-]{0,199}$/;
const METRIC_TYPES: readonly MetricType[] = Object.freeze(['gauge', 'counter']);

type BucketRow = [bucket: number, count: number, sum: number, min: number, max: number];

/**
 * Metric time series. `record` validates a point and appends it to an in-memory buffer. The buffer
 * is written in one transaction when it fills (synchronously, inside that `record` call), when
 * `flushIntervalMs` has passed since its first point, on `flush()` and on `close()`. Reads flush
 * first, so they see every recorded point. A crash loses the points still buffered, at most
 * `flushIntervalMs` worth.
 */
export class MetricStore {
  readonly #db: SqliteDatabase;
  readonly #options: ResolvedMetricsOptions;
  readonly #logger: Logger;
  readonly #buffer: MetricBuffer;
  readonly #writer: MetricWriter;
  /** Series by name, then by canonical tags. */
  readonly #series = new Map<string, Map<string, SeriesEntry>>();
  readonly #seriesQueries = new Map<number, Statement>();
  readonly #selectRollups: Statement;
  readonly #selectMergedRollups: Statement;
  readonly #selectBlocks: Statement;
  #timer: NodeJS.Timeout | undefined;
  #failedFlushes = 0;
  #closed = false;

  constructor(db: SqliteDatabase, options: MetricsOptions = {}) {
    this.#options = resolveMetricsOptions(options);
    this.#db = db;
    this.#logger = options.logger ?? noopLogger;
    this.#buffer = new MetricBuffer(this.#options.flushSize);
    this.#writer = new MetricWriter(db);
    this.#selectRollups = db.prepare(`SELECT bucket, count, sum, min, max FROM metric_rollups
      WHERE resolution = ? AND series_id = ? AND bucket >= ? AND bucket < ? ORDER BY bucket LIMIT ?`).raw();
    this.#selectMergedRollups = db.prepare(`SELECT bucket, sum(count), sum(sum), min(min), max(max) FROM metric_rollups
      WHERE resolution = ? AND series_id IN (SELECT value FROM json_each(?)) AND bucket >= ? AND bucket < ?
      GROUP BY bucket ORDER BY bucket LIMIT ?`).raw();
    // Every point of a block lies in the block's UTC hour, so no block before start's hour can match.
    this.#selectBlocks = db.prepare(`SELECT count, points FROM metric_blocks
      WHERE series_id IN (SELECT value FROM json_each(?)) AND start_time >= ? AND start_time < ? ORDER BY rowid`).raw();
  }

  /** Points recorded but not yet written. */
  get pending(): number {
    return this.#buffer.length;
  }

  /**
   * Buffers one point of metric `name`. The first point of a new series writes the series row at
   * once. Throws, and buffers nothing, for an invalid name or a value that is not a finite number.
   * The same holds for a negative counter increment, tags that are not a flat string map, a time
   * outside 2000 to 2100, and a type other than the metric's. When the buffer is full and cannot be
   * written, throws DATABASE_ERROR and buffers nothing.
   */
  record(name: string, value: number, options?: RecordOptions): void {
    if (this.#closed) throw closedError();
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) throw invalidName(name);
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalidArgument(`The value of metric ${name} must be a finite number, got ${String(value)}.`, { name, value: String(value) });
    }

    let time: number;
    let series: SeriesEntry;
    if (options === undefined) {
      time = Date.now();
      series = this.#seriesFor(name, '{}', undefined, value);
    } else {
      if (options === null || typeof options !== 'object') throw invalidArgument(`The options of metric ${name} must be an object, got ${showValue(options)}.`, {});
      checkRecordKeys(options);
      const { type, tags, timestamp } = options;
      if (type !== undefined && !METRIC_TYPES.includes(type)) throw invalidArgument(`options.type must be "gauge" or "counter", got ${showValue(type)}.`, { type });
      time = timestamp === undefined ? Date.now() : checkTime(timestamp);
      series = this.#seriesFor(name, tags === undefined ? '{}' : canonicalTags(tags, 'options.tags'), type, value);
    }

    // A full buffer here means the last write failed: retry it, and reject this point if it fails again.
    if (this.#buffer.length === this.#buffer.capacity) this.#flush();
    if (this.#buffer.push(series, time, value)) {
      this.#flushOrRetryLater();
    } else if (this.#timer === undefined) {
      this.#schedule();
    }
  }

  /** Writes the buffered points in one transaction and returns how many were written. */
  flush(): number {
    if (this.#closed) throw closedError();
    return this.#flush();
  }

  /**
   * Returns the buckets of `name` in `[start, end)`, oldest first. With `minute`, `hour` or `day` the
   * stored rollups are read (about one row per bucket and series); with `raw` the points. An unknown
   * metric, or tags no series has, give `[]`. A result of more than `maxHistoryPoints` rows is
   * rejected with RESULT_TOO_LARGE.
   */
  history(name: string, options: HistoryOptions = {}): MetricBucket[] {
    if (this.#closed) throw closedError();
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) throw invalidName(name);
    if (options === null || typeof options !== 'object') throw invalidArgument('The history options must be an object.', {});
    checkKeys(options, ['start', 'end', 'resolution', 'tags'], 'options');
    const resolution = options.resolution ?? 'raw';
    if (!RESOLUTIONS.includes(resolution)) throw invalidArgument(`options.resolution must be one of ${RESOLUTIONS.join(', ')}; got ${showValue(resolution)}.`, { resolution });
    const end = options.end === undefined ? Date.now() : toEpochMs(options.end, 'options.end');
    const start = options.start === undefined ? end - DAY_MS : toEpochMs(options.start, 'options.start');
    if (end < start) throw new ValidationError(ErrorCodes.INVALID_TIME_RANGE, `options.end (${toIsoString(end)}) is before options.start (${toIsoString(start)}); swap them.`, { details: { start, end } });
    const tags = options.tags === undefined ? {} : JSON.parse(canonicalTags(options.tags, 'options.tags')) as MetricTags;

    this.#flush();
    const seriesIds = this.#matchingSeries(name, tags);
    if (seriesIds.length === 0) return [];
    const rows = resolution === 'raw' ? this.#rawRows(seriesIds, start, end) : this.#rollupRows(seriesIds, resolution, start, end);
    if (rows.length > this.#options.maxHistoryPoints) {
      throw new ValidationError(ErrorCodes.RESULT_TOO_LARGE, `The history of ${name} at ${resolution} resolution has more than ${this.#options.maxHistoryPoints} rows between ${toIsoString(start)} and ${toIsoString(end)}; shorten the range, use a coarser resolution or raise options.metrics.maxHistoryPoints.`, { details: { name, resolution } });
    }
    return rows.map(toBucket);
  }

  /** Returns the newest point of `name` over its series (those with every given tag), or `undefined`. */
  latest(name: string, options: { tags?: MetricTags } = {}): MetricPoint | undefined {
    if (this.#closed) throw closedError();
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) throw invalidName(name);
    if (options === null || typeof options !== 'object') throw invalidArgument('The latest options must be an object.', {});
    checkKeys(options, ['tags'], 'options');
    const tags = options.tags === undefined ? {} : JSON.parse(canonicalTags(options.tags, 'options.tags')) as MetricTags;

    this.#flush();
    const seriesIds = this.#matchingSeries(name, tags);
    const row = this.#db.prepare(`SELECT tags, last_time, last_value FROM metric_series
      WHERE id IN (SELECT value FROM json_each(?)) AND last_time IS NOT NULL
      ORDER BY last_time DESC, id LIMIT 1`).get(JSON.stringify(seriesIds)) as { tags: string; last_time: number; last_value: number } | undefined;
    return row === undefined ? undefined : { timestamp: toIsoString(row.last_time), value: row.last_value, tags: JSON.parse(row.tags) as MetricTags };
  }

  /** Lists every metric by name with its type and series. */
  listMetrics(): MetricInfo[] {
    if (this.#closed) throw closedError();
    this.#flush();

    const rows = this.#db.prepare('SELECT name, type, tags, last_time, last_value FROM metric_series ORDER BY name, tags').all() as { name: string; type: MetricType; tags: string; last_time: number | null; last_value: number | null }[];
    const metrics: MetricInfo[] = [];
    for (const row of rows) {
      if (metrics.at(-1)?.name !== row.name) metrics.push({ name: row.name, type: row.type, series: [] });
      metrics.at(-1)!.series.push({
        tags: JSON.parse(row.tags) as MetricTags,
        lastTimestamp: row.last_time === null ? null : toIsoString(row.last_time),
        lastValue: row.last_value,
      });
    }
    return metrics;
  }

  /**
   * Deletes what is older than each resolution's retention, measured back from `now` (default: the
   * current time): raw points before the cutoff, and buckets that end at or before it. Works in
   * chunks of `retentionChunkSize` rows, each its own transaction, yielding between them. Resolves to
   * the rows deleted per resolution.
   */
  async applyRetention(now?: TimeInput): Promise<RetentionResult> {
    if (this.#closed) throw closedError();
    const at = now === undefined ? Date.now() : toEpochMs(now, 'now');

    // Buffered points would otherwise be written after the deletion and outlive their retention.
    this.#flush();
    const started = performance.now();
    const deleted = await deleteExpiredMetrics(this.#db, this.#options.retention, at, this.#options.retentionChunkSize, () => {
      if (this.#closed) throw closedError();
    });
    this.#logger.info({ deleted, now: toIsoString(at), durationMs: performance.now() - started }, 'metrics retention applied');
    return deleted;
  }

  /**
   * Stops the flush timer without writing the buffered points, and returns how many were dropped.
   * For a store whose tables a migration reverted: there is nothing left to write them to.
   */
  abandon(): number {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#closed = true;
    const dropped = this.#buffer.length;
    this.#buffer.clear();
    return dropped;
  }

  /** Writes the buffered points and stops the flush timer; later calls throw CLOSED. Calling it twice is harmless. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#flush();
  }

  #flush(): number {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const count = this.#buffer.length;
    if (count === 0) return 0;

    const started = performance.now();
    try {
      this.#db.transaction(() => this.#writer.write(this.#buffer)).immediate();
    } catch (error) {
      throw new StorageError(ErrorCodes.DATABASE_ERROR, `Writing ${count} buffered metric points failed: ${(error as Error).message}. The points stay buffered and are written by the next flush.`, { cause: error, details: { points: count } });
    }
    this.#buffer.clear();
    this.#failedFlushes = 0;
    this.#logger.debug({ points: count, durationMs: performance.now() - started }, 'metrics flushed');
    return count;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flushOrRetryLater();
    }, this.#options.flushIntervalMs);
    // A pending flush must not keep the process alive; close() writes what is left.
    this.#timer.unref();
  }

  /**
   * Writes the buffer; on failure keeps the points, logs and retries after the interval. Used where
   * the points are already accepted: by the timer, and by the record that filled the buffer. The next
   * record, flush() or close() throws if the write still fails.
   */
  #flushOrRetryLater(): void {
    try {
      this.#flush();
    } catch (error) {
      this.#failedFlushes += 1;
      this.#logger.error({ err: error, points: this.#buffer.length, consecutiveFailures: this.#failedFlushes }, 'metrics flush failed; retrying');
      if (!this.#closed && this.#timer === undefined) this.#schedule();
    }
  }

  /** Returns the series of a point after checking the point's type and value against it. */
  #seriesFor(name: string, tags: string, type: MetricType | undefined, value: number): SeriesEntry {
    const cached = this.#series.get(name)?.get(tags);
    if (cached === undefined) return this.#createSeries(name, tags, type, value);
    if (type !== undefined && type !== cached.type) throw typeMismatch(name, cached.type, type);
    if (cached.type === 'counter' && value < 0) throw negativeIncrement(name, value);
    return cached;
  }

  /** Finds or inserts the series row, checking the type against the metric's other series before anything is written. */
  #createSeries(name: string, tags: string, type: MetricType | undefined, value: number): SeriesEntry {
    const create = this.#db.transaction((): SeriesEntry => {
      const existing = this.#db.prepare('SELECT id, type FROM metric_series WHERE name = ? AND tags = ?').get(name, tags) as { id: number; type: MetricType } | undefined;
      if (existing !== undefined) {
        if (type !== undefined && type !== existing.type) throw typeMismatch(name, existing.type, type);
        if (existing.type === 'counter' && value < 0) throw negativeIncrement(name, value);
        return { id: existing.id, name, tags, type: existing.type };
      }

      const metricType = this.#db.prepare('SELECT type FROM metric_series WHERE name = ? LIMIT 1').pluck().get(name) as MetricType | undefined;
      if (type !== undefined && metricType !== undefined && type !== metricType) throw typeMismatch(name, metricType, type);
      const count = this.#db.prepare('SELECT count(*) FROM metric_series').pluck().get() as number;
      if (count >= this.#options.maxSeries) {
        throw invalidArgument(`Metric ${name} with tags ${tags} would be series number ${count + 1}; the limit is options.metrics.maxSeries = ${this.#options.maxSeries}. Tags whose values are unbounded (ids, timestamps) create a series each; move them out of the tags.`, { name, tags });
      }

      const resolvedType = type ?? metricType ?? 'gauge';
      if (resolvedType === 'counter' && value < 0) throw negativeIncrement(name, value);
      const id = Number(this.#db.prepare('INSERT INTO metric_series (name, tags, type, created_at) VALUES (?, ?, ?, ?)').run(name, tags, resolvedType, Date.now()).lastInsertRowid);
      const insertTag = this.#db.prepare('INSERT INTO metric_series_tags (key, value, series_id) VALUES (?, ?, ?)');
      for (const [key, value] of Object.entries(JSON.parse(tags) as MetricTags)) insertTag.run(key, value, id);
      return { id, name, tags, type: resolvedType };
    });

    const entry = create.immediate();
    let byTags = this.#series.get(name);
    if (byTags === undefined) {
      byTags = new Map();
      this.#series.set(name, byTags);
    }
    byTags.set(tags, entry);
    return entry;
  }

  /** Ids of the series of `name` that have every tag in `tags`, found through metric_series_tags. */
  #matchingSeries(name: string, tags: MetricTags): number[] {
    const pairs = Object.entries(tags);
    let statement = this.#seriesQueries.get(pairs.length);
    if (statement === undefined) {
      const conditions = pairs.map(() => ' AND EXISTS (SELECT 1 FROM metric_series_tags t WHERE t.key = ? AND t.value = ? AND t.series_id = s.id)').join('');
      statement = this.#db.prepare(`SELECT id FROM metric_series s WHERE name = ?${conditions} ORDER BY id`).pluck();
      this.#seriesQueries.set(pairs.length, statement);
    }
    return statement.all(name, ...pairs.flat()) as number[];
  }

  #rollupRows(seriesIds: number[], resolution: Exclude<Resolution, 'raw'>, start: number, end: number): BucketRow[] {
    const first = bucketStart(start, ROLLUP_WIDTHS[resolution]);
    const limit = this.#options.maxHistoryPoints + 1;
    if (seriesIds.length === 1) return this.#selectRollups.all(resolution, seriesIds[0], first, end, limit) as BucketRow[];
    return this.#selectMergedRollups.all(resolution, JSON.stringify(seriesIds), first, end, limit) as BucketRow[];
  }

  /**
   * Reads the points of the series in [start, end) from their blocks, oldest first; equal times keep
   * their recording order. Stops after `maxHistoryPoints + 1` points, which the caller rejects.
   */
  #rawRows(seriesIds: number[], start: number, end: number): BucketRow[] {
    const limit = this.#options.maxHistoryPoints + 1;
    const blocks = this.#selectBlocks.iterate(JSON.stringify(seriesIds), bucketStart(start, ROLLUP_WIDTHS.hour), end) as IterableIterator<[number, Buffer]>;

    const times: number[] = [];
    const values: number[] = [];
    for (const [count, blob] of blocks) {
      const block = decodeBlock(blob, count);
      for (let i = 0; i < count; i++) {
        const time = block.times[i]!;
        if (time < start || time >= end) continue;
        times.push(time);
        values.push(block.values[i]!);
      }
      if (times.length >= limit) break;
    }

    const order = times.map((_, index) => index).sort((a, b) => times[a]! - times[b]! || a - b);
    return order.map((index) => [times[index]!, 1, values[index]!, values[index]!, values[index]!]);
  }
}

const RECORD_OPTION_KEYS: readonly string[] = Object.freeze(['type', 'tags', 'timestamp']);

/** checkKeys for the hot path: a for-in loop allocates no key array. */
function checkRecordKeys(options: object): void {
  for (const key in options) {
    if (key !== 'type' && key !== 'tags' && key !== 'timestamp') checkKeys(options, RECORD_OPTION_KEYS, 'options');
  }
}

function toBucket([bucket, count, sum, min, max]: BucketRow): MetricBucket {
  return { timestamp: toIsoString(bucket), count, sum, min, max, average: sum / count };
}

/** Converts a point's time to epoch milliseconds, checking plain numbers inline and other forms through toEpochMs. */
function checkTime(timestamp: TimeInput): number {
  if (typeof timestamp === 'number' && timestamp >= MIN_TIMESTAMP && timestamp < MAX_TIMESTAMP) return Math.floor(timestamp);
  return toEpochMs(timestamp, 'options.timestamp');
}

function invalidName(name: unknown): ValidationError {
  return invalidArgument(`A metric name must be 1 to 200 letters, digits, "_", ".", ":", "/" or "-", starting with a letter or "_"; got ${showValue(name)}.`, { name });
}

function typeMismatch(name: string, stored: MetricType, requested: MetricType): ValidationError {
  return new ValidationError(ErrorCodes.METRIC_TYPE_MISMATCH, `Metric ${name} is a ${stored}, but this point is recorded as a ${requested}; use another metric name for the ${requested}.`, { details: { name, stored, requested } });
}

function negativeIncrement(name: string, value: number): ValidationError {
  return invalidArgument(`Metric ${name} is a counter, whose points are increments; got ${value}. Record a gauge for values that go down.`, { name, value });
}

function closedError(): PorchlightError {
  return new PorchlightError(ErrorCodes.CLOSED, 'The metrics store is closed; open the storage again to record or read metrics.');
}
