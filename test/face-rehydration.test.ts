import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import { DATABASE_FILE, openStorage, type StorageManager } from '../src/storage-manager.js';
import { ErrorCodes } from '../src/errors.js';
import { randomGenerator, randomVectors, temporaryDirectory } from './helpers/reference.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function open(path: string, threads = 0): Promise<StorageManager> {
  const storage = await openStorage({ dataDirectory: path, faces: { models: { arc: 'cosine' } }, searchPool: { threads, minParallelBytes: 0 } });
  cleanups.unshift(() => storage.close());
  return storage;
}

function directory(): string {
  const folder = temporaryDirectory();
  cleanups.push(folder.remove);
  return folder.path;
}

describe('face index rehydration', () => {
  it('reopen restores identical index', async () => {
    const path = directory();
    const storage = await open(path);
    const next = randomGenerator(3);
    const vector = (dimension: number) => Float32Array.from({ length: dimension }, () => next() * 2 - 1);
    // Blocks of persons alternate between the two models, so chunks of consecutive ids mix them.
    for (let block = 0; block < 4; block++) {
      const persons = Array.from({ length: 300 }, (_, i) => ({ id: `p${block * 300 + i}`, name: `Person ${block * 300 + i}`, list: i % 4 === 0 ? 'blacklist' as const : 'known' as const }));
      storage.faces.enrollMany(persons.map((person) => ({ person, encodings: [vector(128), vector(128)] })));
      storage.faces.enrollMany(persons.map((person) => ({ person, encodings: [vector(36)] })), { model: 'arc', onExisting: 'append' });
    }
    storage.faces.removePerson('p5');
    storage.faces.updatePerson('p6', { list: 'blacklist' });

    const queries = [...randomVectors(5, 128, 4).map((vector) => ({ vector, model: 'default' })), ...randomVectors(5, 36, 5).map((vector) => ({ vector, model: 'arc' }))];
    const searches = queries.flatMap(({ vector, model }) => [
      { vector, options: { model, k: 20, threshold: 100 } },
      { vector, options: { model, k: 5, threshold: 100, list: 'blacklist' as const } },
    ]);
    const before = searches.map(({ vector, options }) => storage.faces.searchFacesSync(vector, options));
    const vectors = new Map(['default', 'arc'].map((model) => {
      const index = storage.faces.indexOf(model)!;
      return [model, index.ids().map((id) => [id, index.vectorOf(id)] as const)];
    }));
    await storage.close();

    const reopened = await open(path, 1);
    searches.forEach(({ vector, options }, i) => expect(reopened.faces.searchFacesSync(vector, options)).toEqual(before[i]));
    for (const [model, rows] of vectors) {
      const index = reopened.faces.indexOf(model)!;
      expect(index.size).toBe(rows.length);
      for (const [id, vector] of rows) expect(index.vectorOf(id)).toEqual(vector);
    }
    for (const [i, { vector, options }] of searches.entries()) expect(await reopened.faces.searchFaces(vector, options)).toEqual(before[i]);
  });

  it('damaged vector fails open', async () => {
    const path = directory();
    const storage = await open(path);
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    storage.faces.addEncoding('a', [1, 2, 3, 4]);
    const bad = storage.faces.addEncoding('a', [1, 2, 3, 5]);
    await storage.close();

    const db = new Database(`${path}/${DATABASE_FILE}`);
    db.prepare('UPDATE encodings SET vector = ? WHERE id = ?').run(Buffer.from(new Float32Array([1, Number.NaN, 3, 4]).buffer), bad);
    db.close();
    await expect(openStorage({ dataDirectory: path })).rejects.toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_VECTOR, details: expect.objectContaining({ id: bad, index: 1 }) }));
  });

  it('wrong vector length fails open', async () => {
    const path = directory();
    const storage = await open(path);
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    storage.faces.addEncoding('a', [1, 2, 3, 4]);
    await storage.close();

    const db = new Database(`${path}/${DATABASE_FILE}`);
    const inserted = db.prepare("INSERT INTO encodings (person_id, model, dimension, vector, created_at) VALUES ('a', 'default', 2, ?, 0)").run(Buffer.from(new Float32Array([1, 2]).buffer));
    db.close();
    await expect(openStorage({ dataDirectory: path })).rejects.toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_VECTOR, details: expect.objectContaining({ id: Number(inserted.lastInsertRowid), bytes: 8 }) }));
  });
});
