import { describe, expect, it } from 'vitest';

import { METRIC_IP, METRIC_L2, PAGE_BYTES, STATE_BYTES, createKernelMemory, instantiateKernel, kernelHeapBase } from '../src/kernel/kernel.js';
import { randomVectors } from './helpers/reference.js';

/** Rows and queries padded with zeros to a multiple of 4 floats, as the kernel's contract requires. */
function setUp(rows: Float32Array[], queries: Float32Array[], k = rows.length) {
  const dimension = queries[0]!.length;
  const stride = Math.ceil(dimension / 4) * 4;
  const queriesPointer = Math.ceil(kernelHeapBase() / 16) * 16;
  const rowsPointer = queriesPointer + queries.length * stride * 4;
  const normsPointer = rowsPointer + rows.length * stride * 4;
  const outScore = normsPointer + rows.length * 4;
  const outRow = outScore + queries.length * k * 4;
  const state = outRow + queries.length * k * 4;
  const memory = createKernelMemory(Math.ceil((state + queries.length * STATE_BYTES) / PAGE_BYTES) + 1);
  const kernel = instantiateKernel(memory);
  const floats = new Float32Array(memory.buffer);
  queries.forEach((query, j) => floats.set(query, (queriesPointer >> 2) + j * stride));
  rows.forEach((row, r) => floats.set(row, (rowsPointer >> 2) + r * stride));
  kernel.squaredNorms(rowsPointer, rows.length, stride, normsPointer);
  const int32 = new Int32Array(memory.buffer);
  /** Query j's results: the rows and scores the kernel wrote, best first. */
  const results = (j: number) => {
    const found = int32[(state + j * STATE_BYTES) >> 2]!;
    return {
      rows: Array.from(int32.subarray((outRow >> 2) + j * k, (outRow >> 2) + j * k + found)),
      scores: Array.from(floats.subarray((outScore >> 2) + j * k, (outScore >> 2) + j * k + found)),
    };
  };
  return { kernel, floats, stride, queriesPointer, rowsPointer, normsPointer, outScore, outRow, state, results };
}

function float64Dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

describe('kernel', () => {
  // Row counts around multiples of the four streams, and dimensions with and without a 4-float tail.
  for (const [count, dimension] of [[1, 1], [3, 3], [5, 4], [33, 15], [34, 16], [35, 17], [66, 130], [9, 1023], [7, 4096]] as const) {
    it(`scores ${count} rows of ${dimension}`, () => {
      const rows = randomVectors(count, dimension, dimension);
      const queries = randomVectors(3, dimension, dimension + 1);
      const setup = setUp(rows, queries);
      for (const metric of [METRIC_L2, METRIC_IP]) {
        setup.kernel.topKBatch(setup.rowsPointer, setup.normsPointer, 0, count, setup.stride, setup.queriesPointer, 3, metric, count, Infinity, 0, 0, 0, setup.outScore, setup.outRow, setup.state);
        queries.forEach((query, j) => {
          const { rows: found, scores } = setup.results(j);
          expect(found).toHaveLength(count);
          found.forEach((row, i) => {
            const expected = metric === METRIC_L2 ? float64Dot(rows[row]!, rows[row]!) - 2 * float64Dot(rows[row]!, query) + float64Dot(query, query) : -float64Dot(rows[row]!, query);
            expect(scores[i]).toBeCloseTo(expected, 2);
          });
        });
      }
    });
  }

  it('batch scores equal single scores', () => {
    const rows = randomVectors(101, 128, 5);
    const queries = randomVectors(5, 128, 6);
    const batch = setUp(rows, queries);
    batch.kernel.topKBatch(batch.rowsPointer, batch.normsPointer, 0, 101, 128, batch.queriesPointer, 5, METRIC_L2, 101, Infinity, 0, 0, 0, batch.outScore, batch.outRow, batch.state);
    queries.forEach((query, j) => {
      const single = setUp(rows, [query]);
      const found = single.kernel.topK(single.rowsPointer, single.normsPointer, 0, 101, 128, single.queriesPointer, METRIC_L2, 101, Infinity, 0, 0, 0, single.outScore, single.outRow, single.state);
      expect(found).toBe(101);
      expect(batch.results(j)).toEqual(single.results(0));
    });
  });

  it('squaredL2 exact on integers', () => {
    const a = Float32Array.from({ length: 131 }, (_, i) => i % 256);
    const b = Float32Array.from({ length: 131 }, (_, i) => (i * 7) % 256);
    const setup = setUp([a], [b]);
    const expected = a.reduce((sum, value, i) => sum + (value - b[i]!) ** 2, 0);
    expect(setup.kernel.squaredL2(setup.rowsPointer, setup.queriesPointer, 131)).toBe(expected);
  });

  it('topK orders ties by row', () => {
    const rows = [Float32Array.of(1, 0), Float32Array.of(0, 1), Float32Array.of(1, 0), Float32Array.of(5, 5), Float32Array.of(0, 1)];
    const setup = setUp(rows, [Float32Array.of(0, 0)], 3);
    const found = setup.kernel.topK(setup.rowsPointer, setup.normsPointer, 0, 5, setup.stride, setup.queriesPointer, METRIC_L2, 3, Infinity, 0, 0, 0, setup.outScore, setup.outRow, setup.state);
    expect(found).toBe(3);
    expect(setup.results(0).rows).toEqual([0, 1, 2]);
  });

  it('topK respects row range', () => {
    const rows = randomVectors(20, 8, 3);
    const setup = setUp(rows, [rows[2]!], 20);
    const found = setup.kernel.topK(setup.rowsPointer, setup.normsPointer, 5, 20, 8, setup.queriesPointer, METRIC_L2, 20, Infinity, 0, 0, 0, setup.outScore, setup.outRow, setup.state);
    expect(found).toBe(15);
    expect(Math.min(...setup.results(0).rows)).toBe(5);
  });

  it('sumFloats adds every float', () => {
    for (const count of [37, 64, 1000, 4099]) {
      const values = Float32Array.from({ length: count }, (_, i) => i % 16);
      const setup = setUp([values], [new Float32Array(count)]);
      const expected = values.reduce((sum, value) => sum + value, 0);
      expect(setup.kernel.sumFloats(setup.rowsPointer, count)).toBe(expected);
    }
  });

  it('firstNonFinite finds first bad float', () => {
    const values = Float32Array.from({ length: 23 }, (_, i) => i);
    const setup = setUp([values], [new Float32Array(23)]);
    expect(setup.kernel.firstNonFinite(setup.rowsPointer, 23)).toBe(-1);
    for (const [index, bad] of [[0, Number.NaN], [13, Number.POSITIVE_INFINITY], [22, Number.NEGATIVE_INFINITY]] as const) {
      setup.floats.set(values, setup.rowsPointer >> 2);
      setup.floats[(setup.rowsPointer >> 2) + index] = bad;
      setup.floats[(setup.rowsPointer >> 2) + 22] = index === 22 ? bad : 22;
      expect(setup.kernel.firstNonFinite(setup.rowsPointer, 23)).toBe(index);
    }
  });

  it('squaredNorms equal squaredNorm', () => {
    const rows = randomVectors(9, 36, 4);
    const setup = setUp(rows, [new Float32Array(36)]);
    rows.forEach((_, r) => {
      expect(setup.floats[(setup.normsPointer >> 2) + r]).toBe(setup.kernel.squaredNorm(setup.rowsPointer + r * 36 * 4, 36));
    });
  });
});
