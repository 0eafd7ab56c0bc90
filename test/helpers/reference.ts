import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Float64 brute force: every row's distance to the query, sorted by (distance, row). */
export function referenceRanking(rows: Float32Array[], query: ArrayLike<number>, metric: 'l2' | 'cosine'): { row: number; distance: number }[] {
  const q = Array.from(query);
  const qNorm = Math.sqrt(q.reduce((sum, value) => sum + value * value, 0));
  const ranked = rows.map((row, index) => {
    let distance: number;
    if (metric === 'l2') {
      let sum = 0;
      for (let i = 0; i < q.length; i++) sum += (row[i]! - q[i]!) ** 2;
      distance = Math.sqrt(sum);
    } else {
      let dot = 0;
      let norm = 0;
      for (let i = 0; i < q.length; i++) {
        dot += row[i]! * q[i]!;
        norm += row[i]! * row[i]!;
      }
      distance = 1 - dot / (Math.sqrt(norm) * qNorm);
    }
    return { row: index, distance };
  });
  return ranked.sort((a, b) => a.distance - b.distance || a.row - b.row);
}

/** Deterministic pseudo-random numbers (mulberry32), so a failing case can be replayed. */
export function randomGenerator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomVectors(count: number, dimension: number, seed: number): Float32Array[] {
  const next = randomGenerator(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: dimension }, () => next() * 2 - 1));
}

export function temporaryDirectory(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'porchlight-test-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Reads a texmex .fvecs file: per vector an int32 dimension, then that many float32. */
export function readFvecs(path: string): Float32Array[] {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vectors: Float32Array[] = [];
  for (let offset = 0; offset < bytes.byteLength;) {
    const dimension = view.getInt32(offset, true);
    const vector = new Float32Array(dimension);
    for (let i = 0; i < dimension; i++) vector[i] = view.getFloat32(offset + 4 + i * 4, true);
    vectors.push(vector);
    offset += 4 + dimension * 4;
  }
  return vectors;
}

/** Reads a texmex .ivecs file: per row an int32 count, then that many int32. */
export function readIvecs(path: string): Int32Array[] {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows: Int32Array[] = [];
  for (let offset = 0; offset < bytes.byteLength;) {
    const count = view.getInt32(offset, true);
    const row = new Int32Array(count);
    for (let i = 0; i < count; i++) row[i] = view.getInt32(offset + 4 + i * 4, true);
    rows.push(row);
    offset += 4 + count * 4;
  }
  return rows;
}
