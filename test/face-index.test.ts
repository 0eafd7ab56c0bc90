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
