import { describe, expect, it } from 'vitest';

import { FaceIndex } from '../src/faces/face-index.js';
import { ErrorCodes } from '../src/errors.js';
import { randomVectors, referenceRanking } from './helpers/reference.js';

function buildIndex(rows: Float32Array[], metric: 'l2' | 'cosine', initialCapacity = 4): FaceIndex {
  const index = new FaceIndex({ metric, dimension: rows[0]!.length, initialCapacity });
  rows.forEach((row, i) => index.add(1000 + i, row, i, 1));
  return index;
}

/** Float32 rounding may swap rows whose float64 distances differ by less than this. */
const TOLERANCE = 1e-4;

function expectSameTopK(actual: { id: number; distance: number }[], expected: { row: number; distance: number }[], k: number): void {
  expect(actual.length).toBe(Math.min(k, expected.length));
  actual.forEach((hit, i) => {
    expect(hit.distance).toBeCloseTo(expected[i]!.distance, 3);
    const sameRow = hit.id === 1000 + expected[i]!.row;
    if (!sameRow) {
      const expectedDistance = expected.find((entry) => 1000 + entry.row === hit.id)!.distance;
      expect(Math.abs(expectedDistance - expected[i]!.distance)).toBeLessThan(TOLERANCE);
    }
  });
}

describe('FaceIndex', () => {
  for (const dimension of [1, 3, 4, 128, 130, 512, 1023]) {
    for (const metric of ['l2', 'cosine'] as const) {
      it(`search ${metric} dimension ${dimension}`, () => {
        const rows = randomVectors(300, dimension, dimension * 7 + (metric === 'l2' ? 1 : 2));
        const queries = randomVectors(5, dimension, dimension * 13);
        const index = buildIndex(rows, metric);
        for (const query of queries) {
          expectSameTopK(index.search(query, { k: 10 }), referenceRanking(rows, query, metric), 10);
        }
      });
    }
  }

  it('remove moves last row', () => {
    const rows = randomVectors(50, 16, 5);
    const index = buildIndex(rows, 'l2');
    index.remove(1000);
    index.remove(1049);
    index.remove(1010);
    expect(index.size).toBe(47);
    const remaining = rows.map((row, i) => ({ row, i })).filter(({ i }) => ![0, 49, 10].includes(i));
    const query = rows[10]!;
    const expected = referenceRanking(remaining.map((entry) => entry.row), query, 'l2').map((entry) => ({ ...entry, row: remaining[entry.row]!.i }));
    expectSameTopK(index.search(query, { k: 47 }), expected, 47);
  });

  it('grows past initial capacity', () => {
    const rows = randomVectors(5000, 128, 9);
    const index = buildIndex(rows, 'l2', 1);
    expect(index.capacity).toBeGreaterThanOrEqual(5000);
    expect(index.groupOf(1000 + 4999)).toBe(4999);
    expectSameTopK(index.search(rows[77]!, { k: 5 }), referenceRanking(rows, rows[77]!, 'l2'), 5);
  });

  it('distinct groups keep best row', () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 2 });
    index.add(1, [0, 0], 7, 1);
    index.add(2, [0.1, 0], 7, 1);
    index.add(3, [0.2, 0], 8, 1);
    const hits = index.search([0, 0], { k: 2, distinctGroups: true });
    expect(hits.map((hit) => hit.id)).toEqual([1, 3]);
  });

  it('tag mask filters rows', () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 2 });
    index.add(1, [0, 0], 1, 1);
    index.add(2, [1, 0], 2, 2);
    expect(index.search([0, 0], { k: 5, tagMask: 2 }).map((hit) => hit.id)).toEqual([2]);
  });

  it('max distance is inclusive', () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 2 });
    index.add(1, [3, 4], 1, 1);
    expect(index.search([0, 0], { k: 1, maxDistance: 5 })).toHaveLength(1);
    expect(index.search([0, 0], { k: 1, maxDistance: 4.99 })).toHaveLength(0);
  });

  it('rejects wrong dimension', () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 4 });
    expect(() => index.add(1, [1, 2, 3], 0, 1)).toThrow(expect.objectContaining({ code: ErrorCodes.DIMENSION_MISMATCH }));
    expect(index.size).toBe(0);
  });

  it('rejects NaN component', () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 3 });
    expect(() => index.add(1, [1, Number.NaN, 3], 0, 1)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_VECTOR }));
    expect(index.size).toBe(0);
  });

  it('rejects infinite component', () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 3 });
    expect(() => index.add(1, [1, Number.POSITIVE_INFINITY, 3], 0, 1)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_VECTOR }));
    expect(index.size).toBe(0);
  });

  it('rejects zero vector under cosine', () => {
    const index = new FaceIndex({ metric: 'cosine', dimension: 3 });
    expect(() => index.add(1, [0, 0, 0], 0, 1)).toThrow(expect.objectContaining({ code: ErrorCodes.ZERO_VECTOR }));
    expect(index.size).toBe(0);
  });

  it('rejects unknown id on remove', () => {
    const index = buildIndex(randomVectors(3, 4, 1), 'l2');
    expect(() => index.remove(42)).toThrow(expect.objectContaining({ code: ErrorCodes.NOT_FOUND }));
    expect(index.size).toBe(3);
  });

  it('rejects non-positive k', () => {
    const index = buildIndex(randomVectors(3, 4, 1), 'l2');
    expect(() => index.search([0, 0, 0, 0], { k: 0 })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(() => index.search([0, 0, 0, 0], { k: -3 })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
  });

  it('empty index returns nothing', () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 4 });
    expect(index.search([1, 2, 3, 4], { k: 3 })).toEqual([]);
  });
});

describe('FaceIndex batch kernel', () => {
  // Row counts that leave 0 to 3 rows after the four streams, and query counts that leave an odd query.
  for (const [rows, dimension] of [[1, 4], [7, 12], [301, 128], [1030, 36], [517, 512]] as const) {
    for (const metric of ['l2', 'cosine'] as const) {
      it(`batch equals singles ${metric} ${rows}x${dimension}`, () => {
        const data = randomVectors(rows, dimension, rows + dimension);
        const index = buildIndex(data, metric, 16);
        const queries = randomVectors(9, dimension, rows * 3 + dimension);
        for (const options of [{ k: 10 }, { k: 3, distinctGroups: true }, { k: rows + 5, maxDistance: metric === 'l2' ? dimension / 3 : 1 }]) {
          const batch = index.searchBatch(queries, options);
          expect(batch).toHaveLength(queries.length);
          queries.forEach((query, j) => expect(batch[j]).toEqual(index.search(query, options)));
        }
      });
    }
  }

  it('batch matches float64 reference', () => {
    const rows = randomVectors(2000, 128, 41);
    const queries = randomVectors(25, 128, 42);
    const batch = buildIndex(rows, 'l2', 16).searchBatch(queries, { k: 10 });
    queries.forEach((query, j) => expectSameTopK(batch[j]!, referenceRanking(rows, query, 'l2'), 10));
  });

  it('empty batch returns nothing', () => {
    const index = buildIndex(randomVectors(10, 8, 1), 'l2');
    expect(index.searchBatch([], { k: 3 })).toEqual([]);
  });

  it('batch rejects bad query by position', () => {
    const index = buildIndex(randomVectors(10, 4, 1), 'l2');
    expect(() => index.searchBatch([[1, 2, 3, 4], [1, 2, 3]], { k: 3 })).toThrow(expect.objectContaining({ code: ErrorCodes.DIMENSION_MISMATCH, message: expect.stringContaining('Query 1') }));
  });

  it('many queries span several passes', () => {
    const rows = randomVectors(300, 512, 51);
    const queries = randomVectors(150, 512, 52);
    const index = buildIndex(rows, 'l2', 16);
    const batch = index.searchBatch(queries, { k: 50 });
    queries.forEach((query, j) => expect(batch[j]).toEqual(index.search(query, { k: 50 })));
  });
});

function storedBytes(rows: Float32Array[]): Uint8Array {
  const bytes = new Uint8Array(rows.length * rows[0]!.length * 4);
  rows.forEach((row, i) => bytes.set(new Uint8Array(row.buffer, row.byteOffset, row.byteLength), i * row.byteLength));
  return bytes;
}

describe('FaceIndex stored rows', () => {
  for (const dimension of [128, 130]) {
    for (const metric of ['l2', 'cosine'] as const) {
      it(`stored rows equal add ${metric} ${dimension}`, () => {
        const rows = randomVectors(50, dimension, dimension + (metric === 'l2' ? 61 : 62));
        const added = buildIndex(rows, metric);
        const stored = new FaceIndex({ metric, dimension, initialCapacity: 4 });
        const ids = rows.map((_, i) => 1000 + i);
        stored.addStoredRows(ids.slice(0, 20), storedBytes(rows.slice(0, 20)), ids.slice(0, 20).map((_, i) => i), new Uint8Array(20).fill(1));
        stored.addStoredRows(ids.slice(20), storedBytes(rows.slice(20)), ids.slice(20).map((_, i) => 20 + i), new Uint8Array(30).fill(1));
        expect(stored.size).toBe(50);
        ids.forEach((id) => expect(stored.vectorOf(id)).toEqual(added.vectorOf(id)));
        ids.forEach((id, i) => expect(stored.groupOf(id)).toBe(i));
        expect(stored.search(rows[3]!, { k: 7 })).toEqual(added.search(rows[3]!, { k: 7 }));
      });
    }
  }

  it('stored rows reject NaN component', () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 5 });
    const rows = [new Float32Array([1, 2, 3, 4, 5]), new Float32Array([1, 2, 3, Number.NaN, 5])];
    expect(() => index.addStoredRows([1, 2], storedBytes(rows), [0, 0], [1, 1])).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_VECTOR, details: { id: 2, index: 3 } }));
    expect(index.size).toBe(0);
  });

  it('stored rows reject infinite component', () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 8 });
    const bad = new Float32Array(8).fill(1);
    bad[7] = Number.NEGATIVE_INFINITY;
    expect(() => index.addStoredRows([4], storedBytes([bad]), [0], [1])).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_VECTOR, details: { id: 4, index: 7 } }));
    expect(index.size).toBe(0);
  });

  it('stored rows reject wrong length', () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 4 });
    expect(() => index.addStoredRows([1, 2], new Uint8Array(28), [0, 0], [1, 1])).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_VECTOR }));
    expect(index.size).toBe(0);
  });

  it('stored rows reject zero vector under cosine', () => {
    const index = new FaceIndex({ metric: 'cosine', dimension: 4 });
    const rows = [new Float32Array([1, 0, 0, 0]), new Float32Array(4)];
    expect(() => index.addStoredRows([1, 2], storedBytes(rows), [0, 0], [1, 1])).toThrow(expect.objectContaining({ code: ErrorCodes.ZERO_VECTOR, details: { id: 2 } }));
    expect(index.size).toBe(0);
  });

  it('stored rows reject repeated id', () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 4 });
    const rows = randomVectors(3, 4, 5);
    expect(() => index.addStoredRows([3, 1, 3], storedBytes(rows), [0, 0, 0], [1, 1, 1])).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(index.size).toBe(0);
  });

  it('stored rows reject indexed id', () => {
    const index = buildIndex(randomVectors(3, 4, 1), 'l2');
    expect(() => index.addStoredRows([1001], storedBytes(randomVectors(1, 4, 2)), [0], [1])).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(index.size).toBe(3);
  });
});

describe('FaceIndex version', () => {
  it('append keeps version', () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 4, initialCapacity: 8 });
    index.add(1, [1, 2, 3, 4], 0, 1);
    expect(index.version).toBe(0);
  });

  it('remove increments version', () => {
    const index = buildIndex(randomVectors(3, 4, 1), 'l2');
    index.remove(1002);
    expect(index.version).toBe(1);
  });

  it('retag increments version', () => {
    const index = buildIndex(randomVectors(3, 4, 1), 'l2');
    index.retag(1, 2);
    expect(index.version).toBe(1);
  });

  it('growth increments version', () => {
    const index = new FaceIndex({ metric: 'l2', dimension: 4, initialCapacity: 1 });
    index.add(1, [1, 2, 3, 4], 0, 1);
    index.add(2, [1, 2, 3, 5], 0, 1);
    expect(index.version).toBe(1);
  });
});
