import { afterEach, describe, expect, it } from 'vitest';

import { ErrorCodes } from '../src/errors.js';
import { openStorage, type StorageManager } from '../src/storage-manager.js';
import { randomGenerator, randomVectors, temporaryDirectory } from './helpers/reference.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A storage with 400 persons of three 64-d encodings each; a quarter of them on the blacklist. */
async function enrolled(threads: number): Promise<StorageManager> {
  const folder = temporaryDirectory();
  const storage = await openStorage({ dataDirectory: folder.path, searchPool: { threads, minParallelBytes: 0 } });
  cleanups.push(async () => {
    await storage.close();
    folder.remove();
  });
  const next = randomGenerator(21);
  storage.faces.enrollMany(Array.from({ length: 400 }, (_, i) => ({
    person: { id: `p${i}`, name: `Person ${i}`, list: i % 4 === 0 ? 'blacklist' as const : 'known' as const },
    encodings: Array.from({ length: 3 }, () => Float32Array.from({ length: 64 }, () => next() - 0.5)),
  })));
  return storage;
}

describe('searchFacesBatch', () => {
  for (const threads of [0, 2]) {
    it(`batch equals single searches ${threads} workers`, async () => {
      const storage = await enrolled(threads);
      const queries = randomVectors(23, 64, 22).map((query) => query.map((value) => value / 2));
      for (const options of [{ k: 5, threshold: 1.4 }, { k: 3, threshold: 2, list: 'blacklist' as const }, {}]) {
        const batch = await storage.faces.searchFacesBatch(queries, options);
        expect(batch).toHaveLength(queries.length);
        for (const [j, query] of queries.entries()) expect(batch[j]).toEqual(storage.faces.searchFacesSync(query, options));
      }
    });
  }

  it('batch finds enrolled encoding', async () => {
    const storage = await enrolled(1);
    const index = storage.faces.indexOf()!;
    const [first, second] = index.ids();
    const batch = await storage.faces.searchFacesBatch([index.vectorOf(first!)!, index.vectorOf(second!)!], { k: 1 });
    expect(batch.map((matches) => matches[0]?.encodingId)).toEqual([first, second]);
    expect(batch[0]![0]!.distance).toBe(0);
  });

  it('empty batch returns nothing', async () => {
    const storage = await enrolled(1);
    expect(await storage.faces.searchFacesBatch([])).toEqual([]);
  });

  it('unknown model returns empty lists', async () => {
    const storage = await enrolled(1);
    expect(await storage.faces.searchFacesBatch([[1, 2], [3, 4]], { model: 'other' })).toEqual([[], []]);
  });

  it('bad vector names its position', async () => {
    const storage = await enrolled(1);
    const good = new Float32Array(64).fill(0.1);
    await expect(storage.faces.searchFacesBatch([good, good, new Float32Array(63)])).rejects.toThrow(expect.objectContaining({
      code: ErrorCodes.DIMENSION_MISMATCH,
      message: expect.stringContaining('Query 2'),
      details: expect.objectContaining({ position: 2 }),
    }));
  });

  it('non-array input is rejected', async () => {
    const storage = await enrolled(1);
    await expect(storage.faces.searchFacesBatch(new Float32Array(64) as never)).rejects.toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
  });

  it('unknown option is rejected', async () => {
    const storage = await enrolled(1);
    await expect(storage.faces.searchFacesBatch([], { limit: 3 } as never)).rejects.toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT, message: expect.stringContaining('options.limit') }));
  });

  it('aborted signal rejects search', async () => {
    const storage = await enrolled(1);
    const signal = AbortSignal.abort();
    await expect(storage.faces.searchFacesBatch([new Float32Array(64)], { signal })).rejects.toThrow(expect.objectContaining({ code: ErrorCodes.SEARCH_ABORTED }));
    await expect(storage.faces.searchFaces(new Float32Array(64), { signal })).rejects.toThrow(expect.objectContaining({ code: ErrorCodes.SEARCH_ABORTED }));
  });

  it('non-signal is rejected', async () => {
    const storage = await enrolled(1);
    await expect(storage.faces.searchFaces(new Float32Array(64), { signal: {} as never })).rejects.toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
  });
});
