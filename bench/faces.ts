// Face search: Porchlight's wasm SIMD index against a plain TypeScript loop and sqlite-vec, exact
// top-10 under L2, on random unit vectors and on the first 10,000 BIGANN SIFT vectors.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { Bench } from 'tinybench';

import { FaceIndex } from '../src/faces/face-index.js';
import { createKernelMemory, instantiateKernel, kernelHeapBase, PAGE_BYTES } from '../src/kernel/kernel.js';
import { openStorage } from '../src/storage-manager.js';
import { markdownTable } from './machine.js';
import { plainTopK, randomUnitRows } from './vectors.js';

const K = 10;
const QUERY_COUNT = 100;
const BIGANN_BASE = '../shared/data/bigann10k/base.fvecs';

interface Dataset {
  name: string;
  dimension: number;
  rows: Float32Array;
  queries: Float32Array[];
}

function randomDataset(count: number, dimension: number): Dataset {
  const rows = randomUnitRows(count, dimension, count + dimension);
  const queryRows = randomUnitRows(QUERY_COUNT, dimension, 7 * dimension);
  const queries = Array.from({ length: QUERY_COUNT }, (_, i) => queryRows.subarray(i * dimension, (i + 1) * dimension));
  return { name: `random ${count / 1000}k x ${dimension}`, dimension, rows, queries };
}

function bigannDataset(): Dataset | undefined {
  if (!existsSync(BIGANN_BASE)) return undefined;
  const bytes = readFileSync(BIGANN_BASE);
  const dimension = bytes.readInt32LE(0);
  const count = bytes.length / (4 + dimension * 4);
  const rows = new Float32Array(count * dimension);
  for (let row = 0; row < count; row++) {
    for (let i = 0; i < dimension; i++) rows[row * dimension + i] = bytes.readFloatLE(row * (4 + dimension * 4) + 4 + i * 4);
  }
  const queries = Array.from({ length: QUERY_COUNT }, (_, i) => rows.subarray(i * dimension, (i + 1) * dimension));
  return { name: `bigann ${count / 1000}k x ${dimension}`, dimension, rows, queries };
}

function buildIndex(dataset: Dataset): FaceIndex {
  const count = dataset.rows.length / dataset.dimension;
  const index = new FaceIndex({ metric: 'l2', dimension: dataset.dimension, initialCapacity: count });
  for (let row = 0; row < count; row++) {
    index.add(row, dataset.rows.subarray(row * dataset.dimension, (row + 1) * dataset.dimension), row, 1);
  }
  return index;
}

function buildSqliteVec(dataset: Dataset): { search(query: Float32Array): unknown[]; close(): void } {
  const db = new Database(':memory:');
  sqliteVec.load(db);
  db.exec(`CREATE VIRTUAL TABLE faces USING vec0(embedding float[${dataset.dimension}])`);
  const insert = db.prepare('INSERT INTO faces (rowid, embedding) VALUES (?, ?)');
  const count = dataset.rows.length / dataset.dimension;
  db.transaction(() => {
    for (let row = 0; row < count; row++) {
      const vector = dataset.rows.subarray(row * dataset.dimension, (row + 1) * dataset.dimension);
      insert.run(BigInt(row), Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength));
    }
  })();
  const knn = db.prepare('SELECT rowid, distance FROM faces WHERE embedding MATCH ? AND k = ? ORDER BY distance');
  return {
    search: (query) => knn.all(Buffer.from(query.buffer, query.byteOffset, query.byteLength), K),
    close: () => db.close(),
  };
}

/** Returns a function that sums a copy of the rows with the kernel, to time merely reading them. */
function buildFloor(dataset: Dataset): () => number {
  const base = Math.ceil(kernelHeapBase() / 64) * 64;
  const memory = createKernelMemory(Math.ceil((base + dataset.rows.byteLength) / PAGE_BYTES));
  new Float32Array(memory.buffer, base, dataset.rows.length).set(dataset.rows);
  const kernel = instantiateKernel(memory);
  return () => kernel.sumFloats(base, dataset.rows.length);
}

interface Row {
  dataset: string;
  engine: string;
  median: number;
  p99: number;
}

async function measure(dataset: Dataset): Promise<Row[]> {
  const index = buildIndex(dataset);
  const vec = buildSqliteVec(dataset);
  const floor = buildFloor(dataset);

  // Guard against comparing engines that disagree: every engine's top 10 must match the plain loop's.
  for (const query of dataset.queries.slice(0, 5)) {
    const expected = Array.from(plainTopK(dataset.rows, dataset.dimension, query, K));
    const ours = index.search(query, { k: K }).map((hit) => hit.id);
    const theirs = (vec.search(query) as { rowid: number }[]).map((row) => Number(row.rowid));
    if (ours.length !== K || theirs.length !== K) throw new Error(`${dataset.name}: an engine returned fewer than ${K} rows`);
    const agree = (list: number[]) => list.filter((id) => expected.includes(id)).length >= K - 1;
    if (!agree(ours) || !agree(theirs)) throw new Error(`${dataset.name}: engines disagree on the top ${K}`);
  }

  let next = 0;
  const query = () => dataset.queries[next++ % dataset.queries.length]!;
  const bench = new Bench({ time: 1500, iterations: 30, warmupIterations: 5 });
  bench
    .add('porchlight wasm SIMD', () => { index.search(query(), { k: K }); })
    .add('plain TypeScript loop', () => { plainTopK(dataset.rows, dataset.dimension, query(), K); })
    .add('sqlite-vec vec0', () => { vec.search(query()); })
    .add('floor: SIMD sum of the same bytes', () => { floor(); });
  await bench.run();
  vec.close();

  return bench.tasks.map((task) => {
    const latency = (task.result as { latency: { p50: number; p99: number } }).latency;
    return { dataset: dataset.name, engine: task.name, median: latency.p50, p99: latency.p99 };
  });
}

async function measureRehydration(count: number, dimension: number): Promise<number> {
  const directory = mkdtempSync(join(tmpdir(), 'porchlight-bench-'));
  try {
    const rows = randomUnitRows(count, dimension, 99);
    const storage = await openStorage({ dataDirectory: directory });
    const perPerson = 10;
    storage.faces.enrollMany(Array.from({ length: count / perPerson }, (_, person) => ({
      person: { id: `p${person}`, name: `Person ${person}`, list: 'known' as const },
      encodings: Array.from({ length: perPerson }, (_, j) => rows.subarray((person * perPerson + j) * dimension, (person * perPerson + j + 1) * dimension)),
    })));
    await storage.close();

    let best = Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < 3; attempt++) {
      const started = performance.now();
      const reopened = await openStorage({ dataDirectory: directory });
      best = Math.min(best, performance.now() - started);
      if (reopened.faces.indexOf()?.size !== count) throw new Error('rehydration lost rows');
      await reopened.close();
    }
    return best;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const datasets = [randomDataset(10_000, 128), randomDataset(10_000, 512), randomDataset(100_000, 128), bigannDataset()]
    .filter((dataset): dataset is Dataset => dataset !== undefined);

  const table: (string | number)[][] = [['dataset', 'engine', 'median ms', 'p99 ms', 'median / porchlight']];
  for (const dataset of datasets) {
    const rows = await measure(dataset);
    const ours = rows.find((row) => row.engine.startsWith('porchlight'))!.median;
    for (const row of rows) table.push([row.dataset, row.engine, row.median.toFixed(4), row.p99.toFixed(4), (row.median / ours).toFixed(2)]);
  }
  process.stdout.write(`Exact top-${K} search, one query at a time, single thread.\n\n${markdownTable(table)}\n\n`);

  const rehydration = await measureRehydration(100_000, 128);
  process.stdout.write(`Open with rehydration of 100,000 x 128 encodings from SQLite: ${rehydration.toFixed(0)} ms (best of 3)\n`);
}
