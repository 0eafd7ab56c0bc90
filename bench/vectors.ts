import { seededRandom } from './random.js';

/** Returns `count` seeded random rows of `dimension` floats, each scaled to unit length, packed row after row. */
export function randomUnitRows(count: number, dimension: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  const rows = new Float32Array(count * dimension);
  for (let row = 0; row < count; row++) {
    let norm = 0;
    for (let i = 0; i < dimension; i++) {
      const value = next() * 2 - 1;
      rows[row * dimension + i] = value;
      norm += value * value;
    }
    const scale = 1 / Math.sqrt(norm);
    for (let i = 0; i < dimension; i++) rows[row * dimension + i]! *= scale;
  }
  return rows;
}

/**
 * Returns the k nearest rows by squared L2 with the best-effort plain loop: unrolled by four, with a
 * scalar tail, and the top k kept by insertion into a sorted list.
 */
export function plainTopK(rows: Float32Array, dimension: number, query: Float32Array, k: number): Int32Array {
  const bestScore = new Float64Array(k).fill(Number.POSITIVE_INFINITY);
  const bestRow = new Int32Array(k).fill(-1);
  const count = rows.length / dimension;
  for (let row = 0; row < count; row++) {
    const base = row * dimension;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let i = 0;
    for (; i + 4 <= dimension; i += 4) {
      const d0 = rows[base + i]! - query[i]!;
      const d1 = rows[base + i + 1]! - query[i + 1]!;
      const d2 = rows[base + i + 2]! - query[i + 2]!;
      const d3 = rows[base + i + 3]! - query[i + 3]!;
      s0 += d0 * d0;
      s1 += d1 * d1;
      s2 += d2 * d2;
      s3 += d3 * d3;
    }
    for (; i < dimension; i++) s0 += (rows[base + i]! - query[i]!) ** 2;
    const score = s0 + s1 + s2 + s3;
    if (score >= bestScore[k - 1]!) continue;
    let position = k - 1;
    while (position > 0 && bestScore[position - 1]! > score) {
      bestScore[position] = bestScore[position - 1]!;
      bestRow[position] = bestRow[position - 1]!;
      position--;
    }
    bestScore[position] = score;
    bestRow[position] = row;
  }
  return bestRow;
}
