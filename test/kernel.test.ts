import { describe, expect, it } from 'vitest';

import { METRIC_IP, METRIC_L2, PAGE_BYTES, createKernelMemory, instantiateKernel, kernelHeapBase } from '../src/kernel/kernel.js';
import { randomVectors } from './helpers/reference.js';

/** Packs rows without padding (stride = dimension), so rows are not 16-byte aligned and tails are scalar. */
function setUp(rows: Float32Array[], query: Float32Array) {
  const dimension = query.length;
  const queryPointer = Math.ceil(kernelHeapBase() / 16) * 16;
  const rowsPointer = queryPointer + dimension * 4 + 4;
  const normsPointer = rowsPointer + rows.length * dimension * 4;
  const outPointer = normsPointer + rows.length * 4;
  const rowPointer = outPointer + rows.length * 4;
  const memory = createKernelMemory(Math.ceil((rowPointer + rows.length * 4) / PAGE_BYTES) + 1);
  const kernel = instantiateKernel(memory);
  const floats = new Float32Array(memory.buffer);
  floats.set(query, queryPointer >> 2);
  rows.forEach((row, r) => {
    floats.set(row, (rowsPointer >> 2) + r * dimension);
    floats[(normsPointer >> 2) + r] = kernel.squaredNorm(rowsPointer + r * dimension * 4, dimension);
  });
  return { kernel, floats, int32: new Int32Array(memory.buffer), queryPointer, rowsPointer, normsPointer, outPointer, rowPointer };
}

function float64Dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

describe('kernel', () => {
  for (const dimension of [1, 3, 4, 5, 15, 16, 17, 130, 1023, 4096]) {
    it(`scores dimension ${dimension}`, () => {
      const rows = randomVectors(33, dimension, dimension);
      const query = randomVectors(1, dimension, dimension + 1)[0]!;
      const setup = setUp(rows, query);
      for (const metric of [METRIC_L2, METRIC_IP]) {
        setup.kernel.scores(setup.rowsPointer, setup.normsPointer, 0, rows.length, dimension, dimension, setup.queryPointer, metric, setup.outPointer);
        rows.forEach((row, r) => {
          const expected = metric === METRIC_L2 ? float64Dot(row, row) - 2 * float64Dot(row, query) + float64Dot(query, query) : -float64Dot(row, query);
          expect(setup.floats[(setup.outPointer >> 2) + r]).toBeCloseTo(expected, 2);
        });
      }
    });
  }

  it('squaredL2 exact on integers', () => {
    const a = Float32Array.from({ length: 131 }, (_, i) => i % 256);
    const b = Float32Array.from({ length: 131 }, (_, i) => (i * 7) % 256);
    const setup = setUp([a], b);
    const expected = a.reduce((sum, value, i) => sum + (value - b[i]!) ** 2, 0);
    expect(setup.kernel.squaredL2(setup.rowsPointer, setup.queryPointer, 131)).toBe(expected);
  });

  it('topK orders ties by row', () => {
    const rows = [Float32Array.of(1, 0), Float32Array.of(0, 1), Float32Array.of(1, 0), Float32Array.of(5, 5)];
    const setup = setUp(rows, Float32Array.of(0, 0));
    const found = setup.kernel.topK(setup.rowsPointer, setup.normsPointer, 0, 4, 2, 2, setup.queryPointer, METRIC_L2, 3, Infinity, 0, 0, 0, setup.outPointer, setup.rowPointer);
    expect(found).toBe(3);
    expect(Array.from(setup.int32.subarray(setup.rowPointer >> 2, (setup.rowPointer >> 2) + 3))).toEqual([0, 1, 2]);
  });

  it('topK respects row range', () => {
    const rows = randomVectors(20, 8, 3);
    const setup = setUp(rows, rows[2]!);
    const found = setup.kernel.topK(setup.rowsPointer, setup.normsPointer, 5, 20, 8, 8, setup.queryPointer, METRIC_L2, 20, Infinity, 0, 0, 0, setup.outPointer, setup.rowPointer);
    const returned = Array.from(setup.int32.subarray(setup.rowPointer >> 2, (setup.rowPointer >> 2) + found));
    expect(found).toBe(15);
    expect(Math.min(...returned)).toBe(5);
  });

  it('sumFloats adds every float', () => {
    const values = Float32Array.from({ length: 37 }, (_, i) => i);
    const setup = setUp([values], new Float32Array(37));
    expect(setup.kernel.sumFloats(setup.rowsPointer, 37)).toBe((36 * 37) / 2);
  });
});
