import { describe, expect, it } from 'vitest';

import { IdRowMap } from '../src/faces/id-row-map.js';
import { randomGenerator } from './helpers/reference.js';

/** Mirrors FaceIndex's use: ids in a row array, the last row moved into a removed row's place. */
class Rows {
  ids: number[] = [];
  readonly map = new IdRowMap((row) => this.ids[row]!, 4);

  add(id: number): void {
    this.ids.push(id);
    this.map.set(id, this.ids.length - 1);
  }

  remove(id: number): void {
    const row = this.map.get(id)!;
    const last = this.ids.length - 1;
    this.map.delete(id);
    if (row !== last) {
      const moved = this.ids[last]!;
      this.map.set(moved, row);
      this.ids[row] = moved;
    }
    this.ids.pop();
  }
}

describe('IdRowMap', () => {
  it('random operations match Map', () => {
    const next = randomGenerator(5);
    const rows = new Rows();
    const reference = new Set<number>();
    // Small, large and negative ids; the large ones differ only above bit 32.
    const idOf = () => {
      const choice = next();
      if (choice < 0.6) return Math.floor(next() * 3000);
      if (choice < 0.9) return 2 ** 40 + Math.floor(next() * 50) * 2 ** 33;
      return -Math.floor(next() * 100) - 1;
    };
    for (let step = 0; step < 30_000; step++) {
      const id = idOf();
      if (reference.has(id)) {
        rows.remove(id);
        reference.delete(id);
      } else {
        rows.add(id);
        reference.add(id);
      }
      if (step % 1000 === 0) {
        for (const known of reference) expect(rows.ids[rows.map.get(known)!]).toBe(known);
      }
    }
    expect(rows.map.size).toBe(reference.size);
    for (const known of reference) expect(rows.ids[rows.map.get(known)!]).toBe(known);
    for (let id = 3000; id < 3100; id++) expect(rows.map.has(id)).toBe(false);
  });

  it('delete of unknown id returns false', () => {
    const rows = new Rows();
    rows.add(7);
    expect(rows.map.delete(8)).toBe(false);
    expect(rows.map.size).toBe(1);
  });

  it('colliding ids stay reachable after delete', () => {
    const rows = new Rows();
    for (let id = 0; id < 64; id++) rows.add(id * 1024);
    for (let id = 0; id < 64; id += 2) rows.remove(id * 1024);
    for (let id = 1; id < 64; id += 2) expect(rows.ids[rows.map.get(id * 1024)!]).toBe(id * 1024);
    for (let id = 0; id < 64; id += 2) expect(rows.map.get(id * 1024)).toBeUndefined();
  });
});
