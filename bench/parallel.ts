// Face search at scale: exact top-10 under L2 on random unit vectors, one query at a time and in a
// batch of 100. Porchlight runs in the calling thread and split across its worker pool (adaptive),
// beside usearch, hnswlib-node, sqlite-vec and a plain TypeScript loop, all in one process. The suite
// also times one and two threads merely reading the same bytes, and, for a million encodings, the
// time to open a storage (rehydration) and its resident memory.
//
// BENCH_PARALLEL_SIZES=10000x128,100000x512 limits the datasets (none skips them); BENCH_PARALLEL_CROSSOVER=0 and
// BENCH_PARALLEL_OPEN=0 skip the crossover and open measurements. The million-encoding database is created once in the temporary folder and
// reused by later runs.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import Database from 'better-sqlite3';
import hnswlib from 'hnswlib-node';
import * as sqliteVec from 'sqlite-vec';
import { Bench } from 'tinybench';
import usearch from 'usearch';

import { FaceIndex } from '../src/faces/face-index.js';
import { SearchPool } from '../src/faces/search-pool.js';
import { createKernelMemory, instantiateKernel, kernelHeapBase, kernelModule, PAGE_BYTES } from '../src/kernel/kernel.js';
import { packageRoot } from '../src/package-root.js';
import { openStorage } from '../src/storage-manager.js';
import type { FloorWorkerData } from './floor-worker.js';
import { markdownTable } from './machine.js';
import { plainTopK as plainTopKRows, randomUnitRows } from './vectors.js';

function plainTopK(rows: Float32Array, dimension: number, query: Float32Array, k: number): number[] {
  return Array.from(plainTopKRows(rows, dimension, query, k));
}

const K = 10;
const QUERY_COUNT = 100;
const DEFAULT_SIZES: readonly [number, number][] = [[10_000, 128], [100_000, 128], [1_000_000, 128], [100_000, 512]];
/** Rounds of the interleaved single-query measurement: every engine runs once per round, in turn. */
const ROUNDS = 6;
/** HNSW parameters (hnswlib defaults are M 16, efConstruction 200); built only up to this many rows. */
const HNSW = { m: 16, efConstruction: 40, ef: 64, maxRows: 100_000 };
const REHYDRATION = { count: 1_000_000, dimension: 128, perPerson: 10 };

interface Dataset {
  name: string;
  count: number;
  dimension: number;
  rows: Float32Array;
  queries: Float32Array[];
}

interface Engine {
  name: string;
  /** Returns the ids of the top K rows of one query, best first. */
  single(query: Float32Array, position: number): number[] | Promise<number[]>;
  /** Returns the ids of the top K rows of each query, when the engine has a batch call. */
  batch?(queries: Float32Array[]): number[][] | Promise<number[][]>;
  /** Skipped by the check against the exact top K (approximate engines). */
  approximate?: boolean;
  note?: string;
}

interface Measured {
  engine: Engine;
  median: number;
  p99: number;
  samples: number;
  batch?: number;
}

function dataset(count: number, dimension: number): Dataset {
  const rows = randomUnitRows(count, dimension, count + dimension);
  const queryRows = randomUnitRows(QUERY_COUNT, dimension, 7 * dimension + 1);
  const queries = Array.from({ length: QUERY_COUNT }, (_, i) => queryRows.slice(i * dimension, (i + 1) * dimension));
  const label = count >= 1_000_000 ? `${count / 1_000_000}M` : `${count / 1000}k`;
  return { name: `${label} x ${dimension}`, count, dimension, rows, queries };
}

function buildPorchlight(data: Dataset, pool: SearchPool): FaceIndex {
  const index = new FaceIndex({ metric: 'l2', dimension: data.dimension, initialCapacity: data.count, pool });
  for (let row = 0; row < data.count; row++) index.add(row, data.rows.subarray(row * data.dimension, (row + 1) * data.dimension), row, 1);
  return index;
}

function buildSqliteVec(data: Dataset): { engine: Engine; close(): void } {
  const db = new Database(':memory:');
  sqliteVec.load(db);
  db.exec(`CREATE VIRTUAL TABLE faces USING vec0(embedding float[${data.dimension}])`);
  const insert = db.prepare('INSERT INTO faces (rowid, embedding) VALUES (?, ?)');
  db.transaction(() => {
    for (let row = 0; row < data.count; row++) {
      const vector = data.rows.subarray(row * data.dimension, (row + 1) * data.dimension);
      insert.run(BigInt(row), Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength));
    }
  })();
  const knn = db.prepare('SELECT rowid FROM faces WHERE embedding MATCH ? AND k = ? ORDER BY distance').pluck();
  const single = (query: Float32Array) => (knn.all(Buffer.from(query.buffer, query.byteOffset, query.byteLength), K) as number[]).map(Number);
  return { engine: { name: 'sqlite-vec vec0', single }, close: () => db.close() };
}

function buildBruteforce(data: Dataset, queryArrays: number[][]): Engine {
  const index = new hnswlib.BruteforceSearch('l2', data.dimension);
  index.initIndex(data.count);
  for (let row = 0; row < data.count; row++) index.addPoint(Array.from(data.rows.subarray(row * data.dimension, (row + 1) * data.dimension)), row);
  return { name: 'hnswlib-node BruteforceSearch', single: (_, position) => index.searchKnn(queryArrays[position]!, K).neighbors };
}

function buildHnsw(data: Dataset, queryArrays: number[][]): Engine {
  const started = performance.now();
  const index = new hnswlib.HierarchicalNSW('l2', data.dimension);
  index.initIndex(data.count, HNSW.m, HNSW.efConstruction, 100);
  for (let row = 0; row < data.count; row++) index.addPoint(Array.from(data.rows.subarray(row * data.dimension, (row + 1) * data.dimension)), row);
  index.setEf(HNSW.ef);
  const seconds = (performance.now() - started) / 1000;
  return {
    name: 'hnswlib-node HNSW',
    approximate: true,
    note: `M ${HNSW.m}, efConstruction ${HNSW.efConstruction}, ef ${HNSW.ef}; built in ${seconds.toFixed(0)} s`,
    single: (_, position) => index.searchKnn(queryArrays[position]!, K).neighbors,
  };
}

/** usearch's exactSearch reads its dataset from byte offset 0 of the buffer, so it gets the dataset's own array. */
function usearchEngine(data: Dataset): Engine {
  const batchQueries = new Float32Array(QUERY_COUNT * data.dimension);
  data.queries.forEach((query, j) => batchQueries.set(query, j * data.dimension));
  const ids = (keys: BigUint64Array) => Array.from(keys, Number);
  return {
    name: 'usearch exactSearch (2.25.3)',
    single: (query) => ids(usearch.exactSearch(data.rows, query, data.dimension, K, usearch.MetricKind.L2sq).keys as BigUint64Array),
    batch: (queries) => {
      const source = queries.length === QUERY_COUNT ? batchQueries : Float32Array.from(queries.flatMap((query) => Array.from(query)));
      const result = usearch.exactSearch(data.rows, source, data.dimension, K, usearch.MetricKind.L2sq) as unknown as { keys: BigUint64Array };
      return Array.from({ length: queries.length }, (_, j) => ids(result.keys.subarray(j * K, (j + 1) * K)));
    },
  };
}

/**
 * The read floors over a copy of the rows in a shared memory: one thread summing every byte with
 * the kernel's sumFloats, and two threads each summing half (the calling thread and a worker, handed
 * the work through Atomics).
 */
function buildFloors(data: Dataset): { one: () => number; two: () => number; close(): Promise<void> } {
  const base = Math.ceil(kernelHeapBase() / 64) * 64;
  const memory = createKernelMemory(Math.ceil((base + data.rows.byteLength) / PAGE_BYTES));
  new Float32Array(memory.buffer, base, data.rows.length).set(data.rows);
  const kernel = instantiateKernel(memory);
  const half = Math.floor(data.rows.length / 2 / 64) * 64;
  const control = new SharedArrayBuffer(8);
  const counters = new Int32Array(control);
  const workerData: FloorWorkerData = { memory, kernel: kernelModule(), control, pointer: base + half * 4, count: data.rows.length - half };
  const worker = new Worker(join(packageRoot(), 'dist', 'bench', 'floor-worker.js'), { workerData });
  let request = 0;
  return {
    one: () => kernel.sumFloats(base, data.rows.length),
    two: () => {
      request += 1;
      Atomics.store(counters, 0, request);
      Atomics.notify(counters, 0);
      const sum = kernel.sumFloats(base, half);
      for (let done = Atomics.load(counters, 1); done !== request; done = Atomics.load(counters, 1)) Atomics.wait(counters, 1, done);
      return sum;
    },
    close: async () => {
      Atomics.store(counters, 0, -1);
      Atomics.notify(counters, 0);
      await worker.terminate();
    },
  };
}

/** Checks an engine's top K against the exact ids on the first queries: at least K - 1 of K agree. */
async function checkAgreement(data: Dataset, engine: Engine, exact: number[][]): Promise<void> {
  for (let j = 0; j < 5; j++) {
    const ids = await engine.single(data.queries[j]!, j);
    const agree = ids.filter((id) => exact[j]!.includes(id)).length;
    if (ids.length !== K || agree < K - 1) throw new Error(`${data.name}: ${engine.name} returned ${ids.length} rows, ${agree} of them in the exact top ${K}`);
  }
}

/** Recall at K of an approximate engine against the exact ids, over every query. */
async function recall(data: Dataset, engine: Engine, exact: number[][]): Promise<number> {
  let found = 0;
  for (let j = 0; j < data.queries.length; j++) {
    const ids = await engine.single(data.queries[j]!, j);
    found += ids.filter((id) => exact[j]!.includes(id)).length;
  }
  return found / (data.queries.length * K);
}

/** Single-query latency of every engine, interleaved: ROUNDS short tinybench runs, samples pooled. */
async function measureSingles(data: Dataset, engines: Engine[], floors: { name: string; run(): number }[]): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>();
  const perRound = data.count >= 1_000_000 ? 600 : 250;
  for (let round = 0; round < ROUNDS; round++) {
    const bench = new Bench({ time: perRound, iterations: 2, warmupIterations: round === 0 ? 3 : 1, retainSamples: true });
    for (const engine of engines) {
      let position = round * 17;
      bench.add(engine.name, async () => {
        const j = position++ % data.queries.length;
        await engine.single(data.queries[j]!, j);
      });
    }
    for (const floor of floors) bench.add(floor.name, () => { floor.run(); });
    await bench.run();
    for (const task of bench.tasks) {
      const latency = (task.result as { latency?: { samples?: number[] } }).latency;
      samples.set(task.name, [...(samples.get(task.name) ?? []), ...(latency?.samples ?? [])]);
    }
  }
  return samples;
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
}

async function timeBatch(engine: Engine, queries: Float32Array[], runs: number): Promise<number> {
  // One untimed batch first: the first call of an engine pays for compilation and warm-up, which
  // made whichever engine ran first look slow in a median of three.
  if (runs > 1) await engine.batch!(queries);
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    await engine.batch!(queries);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

async function measure(data: Dataset, pool: SearchPool): Promise<(string | number)[][]> {
  const queryArrays = data.queries.map((query) => Array.from(query));
  const index = buildPorchlight(data, pool);
  const hits = (list: { id: number }[]) => list.map((hit) => hit.id);
  const single: Engine = {
    name: 'porchlight, calling thread',
    single: (query) => hits(index.search(query, { k: K })),
    batch: (queries) => index.searchBatch(queries, { k: K }).map(hits),
  };
  const adaptive: Engine = {
    name: `porchlight adaptive, ${pool.threads} worker${pool.threads === 1 ? '' : 's'} + caller`,
    single: async (query) => hits((await index.searchAsync(query, { k: K })).hits),
    batch: async (queries) => (await index.searchBatchAsync(queries, { k: K })).hits.map(hits),
  };
  const exact = index.searchBatch(data.queries, { k: K }).map(hits);

  const sqlite = buildSqliteVec(data);
  const engines: Engine[] = [adaptive, single, usearchEngine(data), buildBruteforce(data, queryArrays)];
  if (data.count <= HNSW.maxRows && data.dimension === 128) engines.push(buildHnsw(data, queryArrays));
  engines.push(sqlite.engine, { name: 'plain TypeScript loop', single: (query) => plainTopK(data.rows, data.dimension, query, K) });
  for (const engine of engines) if (!engine.approximate) await checkAgreement(data, engine, exact);
  const recalls = new Map<string, number>();
  for (const engine of engines) if (engine.approximate) recalls.set(engine.name, await recall(data, engine, exact));

  const floors = buildFloors(data);
  const floorTwo = 'floor: 2 threads read the same bytes';
  const floorOne = 'floor: 1 thread reads the same bytes';
  const samples = await measureSingles(data, engines, [{ name: floorTwo, run: floors.two }, { name: floorOne, run: floors.one }]);
  await floors.close();

  const batchRuns = data.count >= 1_000_000 ? 1 : 3;
  const batches = new Map<string, number>();
  for (const engine of engines) if (engine.batch !== undefined) batches.set(engine.name, await timeBatch(engine, data.queries, batchRuns));
  sqlite.close();

  const stats = (name: string) => {
    const sorted = [...(samples.get(name) ?? [])].sort((a, b) => a - b);
    return { median: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), count: sorted.length };
  };
  const ours = stats(adaptive.name).median;
  const ourBatch = batches.get(adaptive.name)!;
  const rows: (string | number)[][] = [];
  for (const engine of engines) {
    const { median, p99, count } = stats(engine.name);
    const batch = batches.get(engine.name);
    const notes = [engine.note, recalls.has(engine.name) ? `recall@${K} ${recalls.get(engine.name)!.toFixed(3)}` : undefined].filter(Boolean).join('; ');
    rows.push([data.name, engine.name, median.toFixed(3), p99.toFixed(3), count, (median / ours).toFixed(2), batch === undefined ? 'no batch call' : batch.toFixed(1), batch === undefined ? '' : (batch / ourBatch).toFixed(2), notes]);
  }
  for (const name of [floorTwo, floorOne]) {
    const { median, p99, count } = stats(name);
    rows.push([data.name, name, median.toFixed(3), p99.toFixed(3), count, (median / ours).toFixed(2), '', '', '']);
  }
  return rows;
}

/**
 * Where splitting starts to pay: the same searches in the calling thread and split across the pool
 * (minParallelBytes 0), interleaved, for growing scans. Prints the table the default
 * minParallelBytes is chosen from.
 */
async function measureCrossover(): Promise<string> {
  const pool = new SearchPool({ minParallelBytes: 0 });
  const table: (string | number)[][] = [['rows x 128', 'queries', 'bytes read', 'calling thread ms', 'split ms', 'calling / split']];
  try {
    for (const count of [4_000, 16_000, 64_000, 256_000]) {
      const data = dataset(count, 128);
      const index = buildPorchlight(data, pool);
      for (const queryCount of [1, 16]) {
        const queries = data.queries.slice(0, queryCount);
        const bench = new Bench({ time: 400, iterations: 5, warmupIterations: 3 });
        const here = 'calling thread';
        const split = 'split';
        bench.add(here, () => { index.searchBatch(queries, { k: K }); });
        bench.add(split, async () => { await index.searchBatchAsync(queries, { k: K }); });
        const medians = new Map<string, number[]>([[here, []], [split, []]]);
        for (let round = 0; round < ROUNDS; round++) {
          await bench.run();
          for (const task of bench.tasks) medians.get(task.name)!.push((task.result as { latency: { p50: number } }).latency.p50);
        }
        const median = (name: string) => medians.get(name)!.sort((a, b) => a - b)[ROUNDS >> 1]!;
        table.push([count, queryCount, `${((count * 512 * queryCount) / 1048576).toFixed(1)} MiB`, median(here).toFixed(3), median(split).toFixed(3), (median(here) / median(split)).toFixed(2)]);
      }
    }
  } finally {
    await pool.close();
  }
  return `Crossover of the adaptive split (median of ${ROUNDS} interleaved rounds; above 1.00 the split is faster):\n\n${markdownTable(table)}\n`;
}

/** Creates (once) a storage of REHYDRATION.count encodings through the public API, and returns its folder. */
async function rehydrationFixture(): Promise<string> {
  const { count, dimension, perPerson } = REHYDRATION;
  const directory = join(tmpdir(), `porchlight-bench-open-${count}x${dimension}`);
  const marker = join(directory, 'complete');
  if (existsSync(marker)) return directory;

  rmSync(directory, { recursive: true, force: true });
  const storage = await openStorage({ dataDirectory: directory });
  const block = 10_000;
  for (let start = 0; start < count; start += block) {
    const rows = randomUnitRows(block, dimension, 99 + start);
    storage.faces.enrollMany(Array.from({ length: block / perPerson }, (_, i) => {
      const person = start / perPerson + i;
      return {
        person: { id: `p${person}`, name: `Person ${person}`, list: person % 10 === 0 ? 'blacklist' as const : 'known' as const },
        encodings: Array.from({ length: perPerson }, (__, j) => rows.subarray((i * perPerson + j) * dimension, (i * perPerson + j + 1) * dimension)),
      };
    }));
  }
  await storage.close();
  writeFileSync(marker, '');
  return directory;
}

interface OpenResult {
  openMs: number;
  rssBefore: number;
  rssAfter: number;
  encodings: number;
}

function openInChild(directory: string): OpenResult {
  const script = join(packageRoot(), 'dist', 'bench', 'open-storage-child.js');
  const output = execFileSync(process.execPath, ['--expose-gc', script, directory], { encoding: 'utf8' });
  return JSON.parse(output) as OpenResult;
}

async function measureOpen(): Promise<string> {
  const directory = await rehydrationFixture();
  // One untimed open first: it applies migrations added since the fixture was made (with their
  // backup) and brings the database file into the page cache, as on a machine that restarts a service.
  openInChild(directory);
  const runs = [openInChild(directory), openInChild(directory), openInChild(directory)];
  const { count, dimension } = REHYDRATION;
  if (runs.some((run) => run.encodings !== count)) throw new Error(`rehydration loaded ${runs.map((run) => run.encodings).join(', ')} of ${count} encodings`);
  const best = runs.reduce((a, b) => (a.openMs < b.openMs ? a : b));
  const raw = count * dimension * 4;
  const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
  return [
    `Open a storage of ${count.toLocaleString('en-US')} encodings x ${dimension} (rehydration), fresh process each, after one untimed open: ${runs.map((run) => run.openMs.toFixed(0)).join(', ')} ms (best ${best.openMs.toFixed(0)} ms).`,
    `Resident memory after open and a full GC: ${mb(best.rssAfter)} MB for the process, ${mb(best.rssAfter - best.rssBefore)} MB more than before openStorage; raw vectors ${mb(raw)} MB, so ${(best.rssAfter / raw).toFixed(2)}x and ${((best.rssAfter - best.rssBefore) / raw).toFixed(2)}x of raw.`,
  ].join('\n');
}

function requestedSizes(): readonly [number, number][] {
  const variable = process.env.BENCH_PARALLEL_SIZES;
  if (variable === undefined || variable === '') return DEFAULT_SIZES;
  if (variable === 'none') return [];
  return variable.split(',').map((item) => {
    const [count, dimension] = item.split('x').map(Number);
    if (!Number.isInteger(count) || !Number.isInteger(dimension) || dimension! % 4 !== 0) throw new Error(`BENCH_PARALLEL_SIZES: expected items like 100000x128, got ${item}`);
    return [count!, dimension!] as [number, number];
  });
}

export async function run(): Promise<void> {
  const pool = new SearchPool();
  const header = ['dataset', 'engine', 'single median ms', 'single p99 ms', 'samples', 'median / porchlight', `batch of ${QUERY_COUNT} ms`, 'batch / porchlight', 'notes'];
  const table: (string | number)[][] = [header];
  try {
    for (const [count, dimension] of requestedSizes()) {
      table.push(...await measure(dataset(count, dimension), pool));
      process.stderr.write(`parallel: ${count} x ${dimension} done, load average ${loadavg()[0]!.toFixed(2)}\n`);
    }
  } finally {
    await pool.close();
  }
  process.stdout.write(`Exact top-${K}, L2, random unit vectors; ${availableParallelism()} cores, search pool of ${pool.threads} worker(s) beside the calling thread, minParallelBytes ${pool.minParallelBytes}. Single-query times pool ${ROUNDS} interleaved tinybench rounds; batch times are the median of 3 runs (1 at 1M). usearch uses all cores.\n\n${markdownTable(table)}\n\n`);

  if (process.env.BENCH_PARALLEL_CROSSOVER !== '0') process.stdout.write(`${await measureCrossover()}\n`);
  if (process.env.BENCH_PARALLEL_OPEN !== '0') process.stdout.write(`${await measureOpen()}\n`);
  process.stdout.write(`Load average (1 min) at the end: ${loadavg()[0]!.toFixed(2)}\n`);
}
