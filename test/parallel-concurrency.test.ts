import { afterEach, describe, expect, it } from 'vitest';

import type { FaceMatch, SearchFacesOptions } from '../src/faces/face-database.js';
import { FaceIndex, type IndexHit } from '../src/faces/face-index.js';
import { SearchPool } from '../src/faces/search-pool.js';
import { openStorage, type StorageManager } from '../src/storage-manager.js';
import { randomGenerator, temporaryDirectory } from './helpers/reference.js';

/** How long each test keeps searching against concurrent writes. */
const DURATION_MS = 2500;

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function float64Distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(sum);
}

function pick<T>(items: readonly T[], next: () => number): T {
  return items[Math.floor(next() * items.length)]!;
}

describe('parallel search under writes', () => {
  it('index search sees whole writes', async () => {
    const pool = new SearchPool({ threads: 2, minParallelBytes: 0 });
    cleanups.push(() => pool.close());
    const dimension = 128;
    const next = randomGenerator(7);
    const vector = () => Float32Array.from({ length: dimension }, () => next() * 2 - 1);

    // The test's own record of the index: encoding id to vector and group.
    const rows = new Map<number, { vector: Float32Array; group: number }>();
    const index = new FaceIndex({ metric: 'l2', dimension, initialCapacity: 256, pool });
    let nextId = 0;
    const add = () => {
      const entry = { vector: vector(), group: Math.floor(next() * 50) };
      index.add(nextId, entry.vector, entry.group, 1);
      rows.set(nextId, entry);
      nextId += 1;
    };
    // Just below a power of two, so that the adds below grow the index while workers scan it.
    for (let i = 0; i < 4094; i++) add();

    /** The synchronous result at this moment, checked against the record. */
    const snapshot = (query: Float32Array, k: number): IndexHit[] => {
      const hits = index.search(query, { k, distinctGroups: true });
      for (const hit of hits) {
        const row = rows.get(hit.id);
        expect(row).toBeDefined();
        expect(hit.group).toBe(row!.group);
        expect(Math.abs(hit.distance - float64Distance(row!.vector, query))).toBeLessThan(1e-4);
      }
      return hits;
    };

    let searches = 0;
    let writes = 0;
    let grown = 0;
    const deadline = Date.now() + DURATION_MS;
    while (Date.now() < deadline) {
      const query = next() < 0.5 ? pick([...rows.values()], next).vector : vector();
      const k = 1 + Math.floor(next() * 20);
      const states = [snapshot(query, k)];
      const capacity = index.capacity;
      const pending = index.searchAsync(query, { k, distinctGroups: true });

      const writeCount = Math.floor(next() * 4);
      for (let w = 0; w < writeCount; w++) {
        const choice = next();
        if (choice < 0.55) {
          add();
        } else if (choice < 0.9) {
          // Removing a row the search is about to return moves another row into its place.
          const latest = states[states.length - 1]!;
          const id = latest.length > 0 && next() < 0.7 ? pick(latest, next).id : pick([...rows.keys()], next);
          index.remove(id);
          rows.delete(id);
        } else {
          index.retag(Math.floor(next() * 50), 1);
        }
        writes += 1;
        states.push(snapshot(query, k));
      }
      if (index.capacity !== capacity) grown += 1;

      const result = await pending;
      expect(states).toContainEqual(result.hits);
      searches += 1;
    }

    expect(searches).toBeGreaterThan(50);
    expect(writes).toBeGreaterThan(50);
    expect(grown).toBeGreaterThan(0);
  });

  it('face search sees whole writes', async () => {
    const directory = temporaryDirectory();
    const storage: StorageManager = await openStorage({ dataDirectory: directory.path, searchPool: { threads: 2, minParallelBytes: 0 } });
    cleanups.push(async () => {
      await storage.close();
      directory.remove();
    });
    const { faces } = storage;
    const dimension = 128;
    const next = randomGenerator(11);
    const vector = () => Float32Array.from({ length: dimension }, () => (next() * 2 - 1) * 0.1);

    // The test's own record: encoding id to person and vector, and each person's list.
    const encodings = new Map<number, { personId: string; vector: Float32Array }>();
    const lists = new Map<string, 'known' | 'blacklist'>();
    let nextPerson = 0;
    const addPersons = (persons: number, count: number) => {
      const enrollments = Array.from({ length: persons }, () => {
        const id = `p${nextPerson++}`;
        const list = next() < 0.2 ? 'blacklist' as const : 'known' as const;
        lists.set(id, list);
        return { person: { id, name: `Person ${id}`, list }, encodings: Array.from({ length: count }, vector) };
      });
      const { encodingIds } = faces.enrollMany(enrollments);
      let position = 0;
      for (const enrollment of enrollments) {
        for (const encoding of enrollment.encodings) encodings.set(encodingIds[position++]!, { personId: enrollment.person.id, vector: encoding });
      }
    };
    addPersons(1500, 3);

    const snapshot = (query: Float32Array, options: SearchFacesOptions): FaceMatch[] => {
      const matches = faces.searchFacesSync(query, options);
      for (const match of matches) {
        const encoding = encodings.get(match.encodingId);
        expect(encoding?.personId).toBe(match.personId);
        expect(match.list).toBe(lists.get(match.personId));
        expect(Math.abs(match.distance - float64Distance(encoding!.vector, query))).toBeLessThan(1e-4);
      }
      return matches;
    };

    let searches = 0;
    let writes = 0;
    const deadline = Date.now() + DURATION_MS;
    while (Date.now() < deadline) {
      const near = pick([...encodings.values()], next).vector;
      const query = Float32Array.from(near, (value) => value + (next() - 0.5) * 0.02);
      const options: SearchFacesOptions = { k: 1 + Math.floor(next() * 8), threshold: 1.2, ...(next() < 0.3 ? { list: 'blacklist' as const } : {}) };
      const states = [snapshot(query, options)];
      const pending = faces.searchFaces(query, options);

      const writeCount = Math.floor(next() * 4);
      for (let w = 0; w < writeCount; w++) {
        const choice = next();
        const personIds = [...lists.keys()];
        if (choice < 0.35) {
          const personId = pick(personIds, next);
          const added = vector();
          encodings.set(faces.addEncoding(personId, added), { personId, vector: added });
        } else if (choice < 0.6) {
          // Removing an encoding the search is about to return moves another row into its place.
          const latest = states[states.length - 1]!;
          const encodingId = latest.length > 0 && next() < 0.7 ? pick(latest, next).encodingId : pick([...encodings.keys()], next);
          faces.removeEncoding(encodingId);
          encodings.delete(encodingId);
        } else if (choice < 0.75) {
          const latest = states[states.length - 1]!;
          const personId = latest.length > 0 && next() < 0.5 ? pick(latest, next).personId : pick(personIds, next);
          faces.removePerson(personId);
          lists.delete(personId);
          for (const [encodingId, encoding] of encodings) if (encoding.personId === personId) encodings.delete(encodingId);
        } else if (choice < 0.9) {
          addPersons(1, 2);
        } else {
          const personId = pick(personIds, next);
          const list = lists.get(personId) === 'known' ? 'blacklist' : 'known';
          faces.updatePerson(personId, { list });
          lists.set(personId, list);
        }
        writes += 1;
        states.push(snapshot(query, options));
      }

      expect(states).toContainEqual(await pending);
      searches += 1;
    }

    expect(searches).toBeGreaterThan(50);
    expect(writes).toBeGreaterThan(50);
  });
});
