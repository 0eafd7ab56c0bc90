// Metric ingest and history. 10 metrics are recorded every 10 seconds for
// PORCHLIGHT_BENCH_METRICS_DAYS days (default 30, 2,592,000 points) through metrics.record. The
// ingest peer is a plain one-row-per-point table. Hourly and per-minute histories are read from the
// rollups, beside the same hourly aggregates computed from the raw points.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { Bench } from 'tinybench';

import { openStorage, DATABASE_FILE } from '../src/storage-manager.js';
import type { StorageManager } from '../src/storage-manager.js';
import { markdownTable } from './machine.js';

const METRICS = 10;
const INTERVAL_MS = 10_000;
const DAY_MS = 86_400_000;
/** 2024-03-01T00:00:00Z: a fixed start, so runs are comparable. */
const START = Date.UTC(2024, 2, 1);
/** Points in the ingest comparison against the one-row-per-point peer: one day of the same stream. */
const COMPARISON_POINTS = METRICS * (DAY_MS / INTERVAL_MS);

function days(): number {
  const value = Number(process.env.PORCHLIGHT_BENCH_METRICS_DAYS ?? 30);
  if (!Number.isInteger(value) || value < 1) throw new Error(`PORCHLIGHT_BENCH_METRICS_DAYS must be a positive integer, got ${process.env.PORCHLIGHT_BENCH_METRICS_DAYS}`);
  return value;
}

const NAMES = Array.from({ length: METRICS }, (_, m) => `camera.front.metric${m}`);

/** Computes a deterministic, bounded signal per metric and step. */
function valueAt(metric: number, step: number): number {
  return 50 + 40 * Math.sin((step + metric * 97) / 360) + ((step * 7919 + metric * 104729) % 100) / 10;
}

/** Records `steps` steps of every metric through metrics.record and returns the seconds taken, final flush included. */
function ingest(storage: StorageManager, firstStep: number, steps: number): number {
  const options = NAMES.map(() => ({ tags: { camera: 'front' }, timestamp: 0 }));
  const started = performance.now();
  for (let step = firstStep; step < firstStep + steps; step++) {
    const time = START + step * INTERVAL_MS;
    for (let m = 0; m < METRICS; m++) {
      const option = options[m]!;
      option.timestamp = time;
      storage.metrics.record(NAMES[m]!, valueAt(m, step), option);
    }
  }
  storage.metrics.flush();
  return (performance.now() - started) / 1000;
}

/** Inserts the points as the peer stores them: one row per point in a table indexed by (series, time), 5,000 rows per transaction, no rollups. */
function ingestPlainRows(directory: string, steps: number): number {
  const db = new Database(join(directory, 'plain.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE points (series_id INTEGER NOT NULL, time INTEGER NOT NULL, value REAL NOT NULL) STRICT; CREATE INDEX points_series_time ON points (series_id, time);');
  const insert = db.prepare('INSERT INTO points (series_id, time, value) VALUES (?, ?, ?)');
  const batch = db.transaction((rows: [number, number, number][]) => {
    for (const row of rows) insert.run(row[0], row[1], row[2]);
  });

  const started = performance.now();
  let rows: [number, number, number][] = [];
  for (let step = 0; step < steps; step++) {
    for (let m = 0; m < METRICS; m++) {
      rows.push([m + 1, START + step * INTERVAL_MS, valueAt(m, step)]);
      if (rows.length === 5000) {
        batch.immediate(rows);
        rows = [];
      }
    }
  }
  batch.immediate(rows);
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return seconds;
}

/** Hourly buckets computed from the raw points, as a store without rollups would have to. */
function hourlyFromRaw(storage: StorageManager, name: string, start: number, end: number): number {
  const raw = storage.metrics.history(name, { start, end, resolution: 'raw' });
  const buckets = new Map<number, { count: number; sum: number; min: number; max: number }>();
  for (const point of raw) {
    const time = Date.parse(point.timestamp);
    const hour = time - (time % 3_600_000);
    const bucket = buckets.get(hour);
    if (bucket === undefined) buckets.set(hour, { count: 1, sum: point.sum, min: point.min, max: point.max });
    else {
      bucket.count += 1;
      bucket.sum += point.sum;
      bucket.min = Math.min(bucket.min, point.min);
      bucket.max = Math.max(bucket.max, point.max);
    }
  }
  return buckets.size;
}

function latencyRow(task: { name: string; result: unknown }, rows: number): (string | number)[] {
  const latency = (task.result as { latency: { p50: number; p99: number } }).latency;
  return [task.name, rows, latency.p50.toFixed(3), latency.p99.toFixed(3)];
}

export async function run(): Promise<void> {
  const dayCount = days();
  const totalSteps = dayCount * (DAY_MS / INTERVAL_MS);
  const directory = mkdtempSync(join(tmpdir(), 'porchlight-bench-metrics-'));
  try {
    // Ingest comparison: the first day through Porchlight and through the plain table, same process.
    const comparisonSteps = COMPARISON_POINTS / METRICS;
    const storage = await openStorage({ dataDirectory: join(directory, 'porchlight'), metrics: { maxHistoryPoints: 10_000_000 } });
    const ours = ingest(storage, 0, comparisonSteps);
    const plain = ingestPlainRows(directory, comparisonSteps);
    const ingestTable: (string | number)[][] = [['engine', 'points', 'seconds', 'points/s', 'time / porchlight']];
    ingestTable.push(['porchlight metrics.record (blocks + minute/hour/day rollups)', COMPARISON_POINTS, ours.toFixed(2), Math.round(COMPARISON_POINTS / ours), '1.00']);
    ingestTable.push(['plain table, one row per point, no rollups', COMPARISON_POINTS, plain.toFixed(2), Math.round(COMPARISON_POINTS / plain), (plain / ours).toFixed(2)]);

    // The rest of the data set, then the whole ingest rate.
    const rest = ingest(storage, comparisonSteps, totalSteps - comparisonSteps);
    const totalPoints = totalSteps * METRICS;
    const totalSeconds = ours + rest;
    const bytes = statSync(join(directory, 'porchlight', DATABASE_FILE)).size;
    process.stdout.write(`Ingest through metrics.record, ${METRICS} metrics every ${INTERVAL_MS / 1000} s, first day, same run:\n\n${markdownTable(ingestTable)}\n\n`);
    process.stdout.write(`Whole data set: ${totalPoints.toLocaleString('en-US')} points over ${dayCount} days in ${totalSeconds.toFixed(1)} s = ${Math.round(totalPoints / totalSeconds).toLocaleString('en-US')} points/s; database file without its WAL ${(bytes / 1e6).toFixed(1)} MB (${(bytes / totalPoints).toFixed(1)} bytes per point, rollups included).\n\n`);

    // Histories of one metric.
    const name = NAMES[3]!;
    const end = START + dayCount * DAY_MS;
    const lastDay = end - DAY_MS;
    const hourly = storage.metrics.history(name, { start: START, end, resolution: 'hour' }).length;
    const minutes = storage.metrics.history(name, { start: lastDay, end, resolution: 'minute' }).length;
    const bench = new Bench({ time: 2000, iterations: 20, warmupIterations: 3 });
    bench
      .add(`history hour, ${dayCount} days (rollups)`, () => { storage.metrics.history(name, { start: START, end, resolution: 'hour' }); })
      .add('history minute, 1 day (rollups)', () => { storage.metrics.history(name, { start: lastDay, end, resolution: 'minute' }); })
      .add(`hourly from raw points, ${dayCount} days (no rollups)`, () => { hourlyFromRaw(storage, name, START, end); })
      .add('metrics.latest', () => { storage.metrics.latest(name); });
    await bench.run();
    const rowsOf = [hourly, minutes, hourly, 1];
    const historyTable: (string | number)[][] = [['query', 'rows returned', 'median ms', 'p99 ms']];
    bench.tasks.forEach((task, index) => historyTable.push(latencyRow(task, rowsOf[index]!)));
    process.stdout.write(`History of one metric (${(totalPoints / METRICS).toLocaleString('en-US')} raw points):\n\n${markdownTable(historyTable)}\n\n`);

    // record() alone, flushes included, on a fresh storage so the numbers do not depend on the data set size.
    const fresh = await openStorage({ dataDirectory: join(directory, 'fresh') });
    let step = 0;
    const options = { tags: { camera: 'front' }, timestamp: START };
    const recordBench = new Bench({ time: 2000, warmupIterations: 1000 });
    recordBench.add('metrics.record (flushes amortized)', () => {
      options.timestamp = START + Math.floor(step / METRICS) * INTERVAL_MS;
      fresh.metrics.record(NAMES[step % METRICS]!, valueAt(step % METRICS, step), options);
      step += 1;
    });
    await recordBench.run();
    const recordTask = recordBench.tasks[0]!;
    const recordLatency = (recordTask.result as { latency: { mean: number; p50: number; p99: number } }).latency;
    process.stdout.write(`metrics.record: mean ${(recordLatency.mean * 1000).toFixed(2)} µs (${Math.round(1000 / recordLatency.mean).toLocaleString('en-US')} points/s), median ${(recordLatency.p50 * 1000).toFixed(2)} µs, p99 ${(recordLatency.p99 * 1000).toFixed(2)} µs\n`);
    await fresh.close();
    await storage.close();
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
