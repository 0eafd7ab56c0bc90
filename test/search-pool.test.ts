import { once } from 'node:events';

import { afterEach, describe, expect, it } from 'vitest';

import { ErrorCodes } from '../src/errors.js';
import { FaceIndex } from '../src/faces/face-index.js';
import { SearchPool } from '../src/faces/search-pool.js';
import { openStorage } from '../src/storage-manager.js';
import { randomVectors, temporaryDirectory } from './helpers/reference.js';

const pools: SearchPool[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

function parallelPool(options: { threads?: number; maxQueue?: number } = {}): SearchPool {
  const pool = new SearchPool({ threads: options.threads ?? 1, maxQueue: options.maxQueue ?? 8, minParallelBytes: 0 });
  pools.push(pool);
  return pool;
}

/** An index whose batch of `queries` keeps a worker busy for tens of milliseconds. */
function slowIndex(pool: SearchPool): { index: FaceIndex; queries: Float32Array[] } {
  const rows = randomVectors(8000, 128, 1);
  const index = new FaceIndex({ metric: 'l2', dimension: 128, initialCapacity: rows.length, pool });
  rows.forEach((row, i) => index.add(i, row, i, 1));
  return { index, queries: randomVectors(100, 128, 2) };
}

function rejection(promise: Promise<unknown>): Promise<{ code?: string }> {
  return promise.then(() => ({ code: 'RESOLVED' }), (error: { code?: string }) => error);
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.close()));
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('SearchPool', () => {
  it('rejects invalid threads', () => {
    expect(() => new SearchPool({ threads: -1 })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(() => new SearchPool({ threads: 1.5 })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(() => new SearchPool({ threads: 17 })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
  });

  it('rejects invalid maxQueue', () => {
    expect(() => new SearchPool({ maxQueue: -1 })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
  });

  it('rejects invalid minParallelBytes', () => {
    expect(() => new SearchPool({ minParallelBytes: Number.NaN })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
  });

  it('zero threads keeps searches in caller', async () => {
    const pool = new SearchPool({ threads: 0, minParallelBytes: 0 });
    pools.push(pool);
    const index = new FaceIndex({ metric: 'l2', dimension: 4, pool });
    index.add(1, [1, 2, 3, 4], 0, 1);
    expect((await index.searchAsync([1, 2, 3, 4], { k: 1 })).hits[0]!.id).toBe(1);
    expect(pool.workerThreads).toHaveLength(0);
  });

  it('full queue rejects search', async () => {
    const pool = parallelPool({ maxQueue: 1 });
    const { index, queries } = slowIndex(pool);
    const running = index.searchBatchAsync(queries, { k: 5 });
    const queued = index.searchBatchAsync(queries, { k: 5 });
    const rejected = await rejection(index.searchBatchAsync(queries, { k: 5 }));
    expect(rejected.code).toBe(ErrorCodes.SEARCH_QUEUE_FULL);
    expect((await running).hits).toHaveLength(100);
    expect((await queued).hits).toHaveLength(100);
  });

  it('zero maxQueue runs idle search', async () => {
    const pool = parallelPool({ maxQueue: 0 });
    const { index, queries } = slowIndex(pool);
    const running = index.searchBatchAsync(queries, { k: 5 });
    expect((await rejection(index.searchAsync(queries[0]!, { k: 5 }))).code).toBe(ErrorCodes.SEARCH_QUEUE_FULL);
    expect((await running).hits).toHaveLength(100);
    expect((await index.searchAsync(queries[0]!, { k: 5 })).hits).toEqual(index.search(queries[0]!, { k: 5 }));
  });

  it('abort removes queued search', async () => {
    const pool = parallelPool();
    const { index, queries } = slowIndex(pool);
    const running = index.searchBatchAsync(queries, { k: 5 });
    const controller = new AbortController();
    const queued = rejection(index.searchBatchAsync(queries, { k: 5, signal: controller.signal }));
    expect(pool.queueSize).toBe(1);
    controller.abort();
    expect((await queued).code).toBe(ErrorCodes.SEARCH_ABORTED);
    expect(pool.queueSize).toBe(0);
    expect((await running).hits).toHaveLength(100);
  });

  it('abort rejects running search', async () => {
    const pool = parallelPool();
    const { index, queries } = slowIndex(pool);
    const controller = new AbortController();
    const running = rejection(index.searchBatchAsync(queries, { k: 5, signal: controller.signal }));
    controller.abort();
    expect((await running).code).toBe(ErrorCodes.SEARCH_ABORTED);
    const after = await index.searchAsync(queries[0]!, { k: 5 });
    expect(after.hits).toEqual(index.search(queries[0]!, { k: 5 }));
  });

  it('aborted signal rejects at once', async () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 4, pool: parallelPool() });
    index.add(1, [1, 2, 3, 4], 0, 1);
    const signal = AbortSignal.abort();
    expect((await rejection(index.searchAsync([1, 2, 3, 4], { k: 1, signal }))).code).toBe(ErrorCodes.SEARCH_ABORTED);
  });

  it('worker crash rejects and recovers', async () => {
    const pool = parallelPool();
    const { index, queries } = slowIndex(pool);
    // k = 2000 makes each pass hold few queries, so the round awaits the worker many times.
    const options = { k: 2000 };

    // A worker that ends between two tasks is replaced without failing a search. So the crash is
    // retried until it lands while the worker scans, and each attempt that resolves must be correct.
    let error: { code?: string } | undefined;
    for (let attempt = 0; attempt < 20 && error === undefined; attempt++) {
      await index.searchAsync(queries[0]!, { k: 5 });
      const [worker] = pool.workerThreads;
      const running = index.searchBatchAsync(queries, options);
      let terminated: Promise<number> | undefined;
      const timer = setTimeout(() => { terminated = worker!.terminate(); }, 5 + attempt);
      const outcome = await rejection(running.then((result) => {
        expect(result.hits).toEqual(index.searchBatch(queries, options));
        return result;
      }));
      if (outcome.code !== 'RESOLVED') error = outcome;

      // A crash timed after the search resolved must not land in the next attempt's search, so
      // wait until that worker is gone and the pool has seen its exit.
      clearTimeout(timer);
      if (terminated !== undefined) {
        await terminated;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    expect(error?.code).toBe(ErrorCodes.SEARCH_WORKER_FAILED);

    const after = await index.searchBatchAsync(queries.slice(0, 3), { k: 5 });
    expect(after.hits).toEqual(index.searchBatch(queries.slice(0, 3), { k: 5 }));
    expect(pool.workerThreads).toHaveLength(1);
  });

  it('close rejects running and queued', async () => {
    const pool = parallelPool();
    const { index, queries } = slowIndex(pool);
    const running = rejection(index.searchBatchAsync(queries, { k: 5 }));
    const queued = rejection(index.searchBatchAsync(queries, { k: 5 }));
    await pool.close();
    expect((await running).code).toBe(ErrorCodes.CLOSED);
    expect((await queued).code).toBe(ErrorCodes.CLOSED);
  });

  it('close ends the workers', async () => {
    const pool = parallelPool({ threads: 2 });
    const { index, queries } = slowIndex(pool);
    await index.searchAsync(queries[0]!, { k: 5 });
    const workers = [...pool.workerThreads];
    expect(workers).toHaveLength(2);
    const exits = workers.map((worker) => once(worker, 'exit'));
    await pool.close();
    await Promise.all(exits);
    expect(pool.workerThreads).toHaveLength(0);
    expect(workers.every((worker) => worker.threadId === -1)).toBe(true);
  });

  it('closed pool searches in caller', async () => {
    const pool = parallelPool();
    const { index, queries } = slowIndex(pool);
    await pool.close();
    expect((await index.searchAsync(queries[0]!, { k: 5 })).hits).toEqual(index.search(queries[0]!, { k: 5 }));
    expect(pool.workerThreads).toHaveLength(0);
  });

  it('storage close ends the workers', async () => {
    const directory = temporaryDirectory();
    cleanups.push(directory.remove);
    const storage = await openStorage({ dataDirectory: directory.path, searchPool: { threads: 1, minParallelBytes: 0 } });
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    storage.faces.addEncoding('a', [1, 2, 3, 4]);
    expect(await storage.faces.searchFaces([1, 2, 3, 4], { threshold: 1 })).toHaveLength(1);
    const [worker] = storage.searchPool!.workerThreads;
    const exit = once(worker!, 'exit');
    await storage.close();
    await exit;
    expect(storage.searchPool!.closed).toBe(true);
  });

  it('storage rejects unknown pool option', async () => {
    const directory = temporaryDirectory();
    cleanups.push(directory.remove);
    await expect(openStorage({ dataDirectory: directory.path, searchPool: { thread: 2 } as never })).rejects.toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT, message: expect.stringContaining('searchPool.thread') }));
  });
});
