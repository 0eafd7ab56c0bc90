import { existsSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { FaceIndex, type IndexSearchOptions } from '../src/faces/face-index.js';
import { SearchPool } from '../src/faces/search-pool.js';
import { randomVectors, readFvecs, readIvecs, referenceRanking } from './helpers/reference.js';

const BIGANN = '../shared/data/bigann10k';

/** Float32 rounding may swap rows whose float64 distances differ by less than this, relative to the distance. */
const RELATIVE_TOLERANCE = 1e-5;

const pools: SearchPool[] = [];

function parallelPool(threads: number, minParallelBytes = 0): SearchPool {
  const pool = new SearchPool({ threads, minParallelBytes });
  pools.push(pool);
  return pool;
}

function buildIndex(rows: Float32Array[], metric: 'l2' | 'cosine', pool: SearchPool | undefined, groups = rows.length, tags = 1): FaceIndex {
  const index = new FaceIndex({ metric, dimension: rows[0]!.length, initialCapacity: 64, pool });
  rows.forEach((row, i) => index.add(i, row, i % groups, 1 << (i % tags)));
  return index;
}

/** Checks hits against the float64 ranking: same distances, and rows swapped only where distances tie. */
function expectReferenceTopK(hits: { id: number; distance: number }[], ranking: { row: number; distance: number }[], k: number): void {
  expect(hits).toHaveLength(Math.min(k, ranking.length));
  const byRow = new Map(ranking.map((entry) => [entry.row, entry.distance]));
  hits.forEach((hit, i) => {
    const expected = ranking[i]!.distance;
    const tolerance = RELATIVE_TOLERANCE * Math.max(1, expected);
    expect(Math.abs(hit.distance - byRow.get(hit.id)!)).toBeLessThan(tolerance);
    expect(Math.abs(byRow.get(hit.id)! - expected)).toBeLessThan(tolerance);
  });
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
});

describe('parallel search', () => {
  const optionSets: IndexSearchOptions[] = [
    { k: 1 },
    { k: 10 },
    { k: 250 },
    { k: 10, distinctGroups: true },
    { k: 5, tagMask: 2 },
    { k: 40, distinctGroups: true, tagMask: 1 },
  ];

  for (const metric of ['l2', 'cosine'] as const) {
    for (const threads of [1, 3]) {
      it(`equals single thread ${metric} ${threads} workers`, async () => {
        const rows = randomVectors(3001, 96, threads * 10 + (metric === 'l2' ? 1 : 2));
        const index = buildIndex(rows, metric, parallelPool(threads), 400, 2);
        const queries = randomVectors(6, 96, 77);
        for (const options of [...optionSets, { k: 20, maxDistance: metric === 'l2' ? 5.2 : 0.9 }]) {
          for (const query of queries) {
            const result = await index.searchAsync(query, options);
            expect(result.hits).toEqual(index.search(query, options));
            expect(result.version).toBe(index.version);
          }
        }
      });
    }
  }

  it('workers start for split search', async () => {
    const pool = parallelPool(2);
    const index = buildIndex(randomVectors(500, 32, 3), 'l2', pool);
    expect(pool.workerThreads).toHaveLength(0);
    await index.searchAsync(randomVectors(1, 32, 4)[0]!, { k: 3 });
    expect(pool.workerThreads).toHaveLength(2);
  });

  it('small scan stays in caller', async () => {
    const pool = parallelPool(2, 1 << 30);
    const rows = randomVectors(500, 32, 5);
    const index = buildIndex(rows, 'l2', pool);
    const query = randomVectors(1, 32, 6)[0]!;
    const result = await index.searchAsync(query, { k: 7 });
    expect(result.hits).toEqual(index.search(query, { k: 7 }));
    expect(pool.workerThreads).toHaveLength(0);
  });

  it('matches float64 reference', async () => {
    const rows = randomVectors(4000, 128, 8);
    const index = buildIndex(rows, 'l2', parallelPool(2));
    for (const query of randomVectors(10, 128, 9)) {
      expectReferenceTopK((await index.searchAsync(query, { k: 10 })).hits, referenceRanking(rows, query, 'l2'), 10);
    }
  });

  it('batch equals single thread', async () => {
    const rows = randomVectors(2500, 128, 10);
    const index = buildIndex(rows, 'l2', parallelPool(2), 700, 2);
    const queries = randomVectors(41, 128, 11);
    for (const options of optionSets) {
      const result = await index.searchBatchAsync(queries, options);
      expect(result.hits).toEqual(index.searchBatch(queries, options));
      queries.forEach((query, j) => expect(result.hits[j]).toEqual(index.search(query, options)));
    }
  });

  it('batch spans several passes', async () => {
    const rows = randomVectors(600, 512, 12);
    const index = buildIndex(rows, 'cosine', parallelPool(2));
    const queries = randomVectors(130, 512, 13);
    const result = await index.searchBatchAsync(queries, { k: 60 });
    expect(result.hits).toEqual(index.searchBatch(queries, { k: 60 }));
  });

  it('empty index returns nothing', async () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 8, pool: parallelPool(1) });
    expect((await index.searchAsync(new Float32Array(8).fill(1), { k: 3 })).hits).toEqual([]);
    expect((await index.searchBatchAsync([new Float32Array(8).fill(1)], { k: 3 })).hits).toEqual([[]]);
  });

  it.skipIf(!existsSync(`${BIGANN}/base.fvecs`))('bigann10k equals reference', async () => {
    const base = readFvecs(`${BIGANN}/base.fvecs`);
    const queries = readFvecs(`${BIGANN}/query.fvecs`);
    const truth = readIvecs(`${BIGANN}/groundtruth.ivecs`);
    const index = buildIndex(base, 'l2', parallelPool(2));

    const parallel = await index.searchBatchAsync(queries, { k: 100 });
    expect(parallel.hits).toEqual(index.searchBatch(queries, { k: 100 }));
    const single = await index.searchAsync(queries[0]!, { k: 100 });
    expect(single.hits).toEqual(parallel.hits[0]);

    // The float64 reference costs a sort of 10,000 rows per query, so a quarter of the queries do.
    queries.slice(0, 25).forEach((query, j) => {
      const ranking = referenceRanking(base, query, 'l2');
      expectReferenceTopK(parallel.hits[j]!, ranking, 100);
      // The published ground truth lists the same rows up to ties at the 100th distance.
      const found = new Set(parallel.hits[j]!.map((hit) => hit.id));
      const last = ranking[99]!.distance;
      for (const row of truth[j]!) {
        if (!found.has(row)) expect(Math.abs(ranking.find((entry) => entry.row === row)!.distance - last)).toBeLessThan(RELATIVE_TOLERANCE * last);
      }
    });
  });
});
