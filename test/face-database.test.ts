import { statSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ErrorCodes } from '../src/errors.js';
import { openStorage, type StorageManager } from '../src/storage-manager.js';
import { randomVectors, referenceRanking, temporaryDirectory } from './helpers/reference.js';

let directory: { path: string; remove: () => void };
let storage: StorageManager;

beforeEach(async () => {
  directory = temporaryDirectory();
  storage = await openStorage({ dataDirectory: directory.path });
});

afterEach(async () => {
  await storage.close();
  directory.remove();
});

async function reopen(options: Parameters<typeof openStorage>[0]['faces'] = undefined): Promise<StorageManager> {
  await storage.close();
  storage = await openStorage({ dataDirectory: directory.path, ...(options === undefined ? {} : { faces: options }) });
  return storage;
}

function encodingCount(): number {
  return (storage.database.prepare('SELECT count(*) AS n FROM encodings').get() as { n: number }).n;
}

describe('FaceDatabase persons', () => {
  it('addPerson stores fields', () => {
    const person = storage.faces.addPerson({ id: 'p1', name: 'Ada', list: 'blacklist', reason: 'stole parcels', metadata: { note: 'x' } });
    expect(person).toMatchObject({ id: 'p1', name: 'Ada', list: 'blacklist', reason: 'stole parcels', metadata: { note: 'x' } });
    expect(person.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('addPerson rejects duplicate id', () => {
    storage.faces.addPerson({ id: 'p1', name: 'Ada', list: 'known' });
    expect(() => storage.faces.addPerson({ id: 'p1', name: 'Bob', list: 'known' })).toThrow(expect.objectContaining({ code: ErrorCodes.ALREADY_EXISTS }));
    expect(storage.faces.getPerson('p1')?.name).toBe('Ada');
  });

  it('addPerson rejects bad list', () => {
    expect(() => storage.faces.addPerson({ id: 'p1', name: 'Ada', list: 'friends' as 'known' })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
    expect(storage.faces.listPersons()).toEqual([]);
  });

  it('addPerson rejects unknown key', () => {
    expect(() => storage.faces.addPerson({ id: 'p1', name: 'Ada', list: 'known', lsit: 'x' } as never)).toThrow(/person\.lsit/);
  });

  it('listPersons filters by list', () => {
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    storage.faces.addPerson({ id: 'b', name: 'B', list: 'blacklist' });
    expect(storage.faces.listPersons({ list: 'blacklist' }).map((person) => person.id)).toEqual(['b']);
    expect(storage.faces.listPersons().map((person) => person.id)).toEqual(['a', 'b']);
  });

  it('getPerson unknown is undefined', () => {
    expect(storage.faces.getPerson('nobody')).toBeUndefined();
  });

  it('removePerson unknown throws', () => {
    expect(() => storage.faces.removePerson('nobody')).toThrow(expect.objectContaining({ code: ErrorCodes.NOT_FOUND }));
  });
});

describe('FaceDatabase encodings', () => {
  it('addEncoding unknown person throws', () => {
    expect(() => storage.faces.addEncoding('nobody', [1, 2, 3])).toThrow(expect.objectContaining({ code: ErrorCodes.NOT_FOUND }));
    expect(encodingCount()).toBe(0);
  });

  it('addEncoding wrong dimension leaves data', async () => {
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    storage.faces.addEncoding('a', new Float32Array(512).fill(0.1));
    expect(() => storage.faces.addEncoding('a', new Float32Array(128).fill(0.1))).toThrow(expect.objectContaining({ code: ErrorCodes.DIMENSION_MISMATCH }));
    expect(encodingCount()).toBe(1);
    expect(storage.faces.indexOf()?.size).toBe(1);
    const matches = await storage.faces.searchFaces(new Float32Array(512).fill(0.1));
    expect(matches.map((match) => match.personId)).toEqual(['a']);
  });

  it('addEncoding NaN leaves data', () => {
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    expect(() => storage.faces.addEncoding('a', [0.1, Number.NaN, 0.3])).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_VECTOR }));
    expect(encodingCount()).toBe(0);
    expect(storage.faces.listModels()).toEqual([]);
  });

  it('models keep separate dimensions', async () => {
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    storage.faces.addEncoding('a', new Float32Array(512).fill(0.1), { model: 'arcface' });
    storage.faces.addEncoding('a', new Float32Array(128).fill(0.1), { model: 'dlib' });
    expect(storage.faces.listModels().map((model) => [model.name, model.dimension])).toEqual([['arcface', 512], ['dlib', 128]]);
    expect(await storage.faces.searchFaces(new Float32Array(128).fill(0.1), { model: 'dlib' })).toHaveLength(1);
    await expect(storage.faces.searchFaces(new Float32Array(128).fill(0.1), { model: 'arcface' })).rejects.toMatchObject({ code: ErrorCodes.DIMENSION_MISMATCH });
  });

  it('removeEncoding unknown throws', () => {
    expect(() => storage.faces.removeEncoding(12345)).toThrow(expect.objectContaining({ code: ErrorCodes.NOT_FOUND }));
  });

  it('removeEncoding drops from search', async () => {
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    const id = storage.faces.addEncoding('a', [0, 0, 1]);
    storage.faces.removeEncoding(id);
    expect(await storage.faces.searchFaces([0, 0, 1])).toEqual([]);
    expect(encodingCount()).toBe(0);
  });

  it('removePerson deletes everywhere', async () => {
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    storage.faces.addEncoding('a', [0, 0, 1]);
    storage.faces.addEncoding('a', [0, 1, 0]);
    storage.faces.removePerson('a');
    expect(encodingCount()).toBe(0);
    expect(await storage.faces.searchFaces([0, 0, 1])).toEqual([]);
    await reopen();
    expect(storage.faces.indexOf()?.size).toBe(0);
    expect(storage.faces.getPerson('a')).toBeUndefined();
  });

  it('enrollMany is all or nothing', () => {
    storage.faces.addPerson({ id: 'x', name: 'X', list: 'known' });
    const bad = () => storage.faces.enrollMany([
      { person: { id: 'a', name: 'A', list: 'known' }, encodings: [[1, 0, 0]] },
      { person: { id: 'b', name: 'B', list: 'known' }, encodings: [[0, 1, 0], [0, Number.POSITIVE_INFINITY, 0]] },
    ]);
    expect(bad).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_VECTOR }));
    expect(bad).toThrow(/Enrollment 1/);
    expect(storage.faces.listPersons().map((person) => person.id)).toEqual(['x']);
    expect(encodingCount()).toBe(0);
  });

  it('enrollMany existing person conflicts', () => {
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    expect(() => storage.faces.enrollMany([
      { person: { id: 'b', name: 'B', list: 'known' }, encodings: [[1, 0, 0]] },
      { person: { id: 'a', name: 'A', list: 'known' }, encodings: [[0, 1, 0]] },
    ])).toThrow(expect.objectContaining({ code: ErrorCodes.ALREADY_EXISTS }));
    expect(storage.faces.getPerson('b')).toBeUndefined();
    expect(storage.faces.indexOf()).toBeUndefined();
  });

  it('enrollMany append adds encodings', () => {
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    const result = storage.faces.enrollMany([{ person: { id: 'a', name: 'A', list: 'known' }, encodings: [[0, 1, 0], [1, 0, 0]] }], { onExisting: 'append' });
    expect(result.personsAdded).toBe(0);
    expect(result.encodingIds).toHaveLength(2);
    expect(storage.faces.listPersons()[0]?.encodingCount).toBe(2);
  });
});

describe('FaceDatabase searchFaces', () => {
  it('empty index returns nothing', async () => {
    expect(await storage.faces.searchFaces(new Float32Array(128).fill(0.5))).toEqual([]);
  });

  it('rejects NaN query on empty index', async () => {
    await expect(storage.faces.searchFaces([Number.NaN, 1])).rejects.toMatchObject({ code: ErrorCodes.INVALID_VECTOR });
  });

  it('rejects non-positive k', async () => {
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    storage.faces.addEncoding('a', [0, 0, 1]);
    await expect(storage.faces.searchFaces([0, 0, 1], { k: 0 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    await expect(storage.faces.searchFaces([0, 0, 1], { k: 1.5 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });

  it('rejects unknown option', async () => {
    await expect(storage.faces.searchFaces([0, 0, 1], { limit: 3 } as never)).rejects.toThrow(/options\.limit/);
  });

  it('one match per person', async () => {
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    storage.faces.addPerson({ id: 'b', name: 'B', list: 'blacklist' });
    storage.faces.addEncoding('a', [0, 0, 0.1]);
    const closest = storage.faces.addEncoding('a', [0, 0, 0.05]);
    storage.faces.addEncoding('b', [0, 0, 0.3]);
    const matches = await storage.faces.searchFaces([0, 0, 0], { k: 5 });
    expect(matches.map((match) => match.personId)).toEqual(['a', 'b']);
    expect(matches[0]).toMatchObject({ name: 'A', list: 'known', encodingId: closest });
    expect(matches[0]!.distance).toBeCloseTo(0.05, 6);
    expect(matches[0]!.confidence).toBeCloseTo(1 - 0.05 / 1.2, 6);
  });

  it('threshold excludes far faces', async () => {
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    storage.faces.addEncoding('a', [0, 0, 0.7]);
    expect(await storage.faces.searchFaces([0, 0, 0])).toEqual([]);
    expect(await storage.faces.searchFaces([0, 0, 0], { threshold: 0.7 })).toHaveLength(1);
  });

  it('list filter keeps blacklist', async () => {
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    storage.faces.addPerson({ id: 'b', name: 'B', list: 'blacklist' });
    storage.faces.addEncoding('a', [0, 0, 0.1]);
    storage.faces.addEncoding('b', [0, 0, 0.2]);
    const matches = await storage.faces.searchFaces([0, 0, 0], { list: 'blacklist' });
    expect(matches.map((match) => match.personId)).toEqual(['b']);
  });

  it('updatePerson renames in results', async () => {
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    storage.faces.addEncoding('a', [0, 0, 0.1]);
    expect((await storage.faces.searchFaces([0, 0, 0]))[0]?.name).toBe('A');
    storage.faces.updatePerson('a', { name: 'Alice', list: 'blacklist' });
    const [match] = await storage.faces.searchFaces([0, 0, 0], { list: 'blacklist' });
    expect(match?.name).toBe('Alice');
    expect(match?.list).toBe('blacklist');
  });

  it('cosine normalizes vectors', async () => {
    await reopen({ metric: 'cosine' });
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    storage.faces.addEncoding('a', [3, 4, 0]);
    const [match] = await storage.faces.searchFaces([6, 8, 0]);
    expect(match?.distance).toBeCloseTo(0, 6);
    expect(() => storage.faces.addEncoding('a', [0, 0, 0])).toThrow(expect.objectContaining({ code: ErrorCodes.ZERO_VECTOR }));
  });

  it('model metric is recorded', async () => {
    await reopen({ metric: 'cosine' });
    storage.faces.addPerson({ id: 'a', name: 'A', list: 'known' });
    storage.faces.addEncoding('a', [3, 4, 0], { model: 'arcface' });
    await reopen();
    expect(storage.faces.metricOf('arcface')).toBe('cosine');
    await storage.close();
    await expect(openStorage({ dataDirectory: directory.path, faces: { models: { arcface: 'l2' } } })).rejects.toMatchObject({ code: ErrorCodes.METRIC_MISMATCH });
    storage = await openStorage({ dataDirectory: directory.path });
  });

  it('matches reference after reopen', async () => {
    const rows = randomVectors(400, 128, 11);
    storage.faces.enrollMany(rows.map((vector, i) => ({ person: { id: `p${i}`, name: `P${i}`, list: i % 7 === 0 ? 'blacklist' : 'known' }, encodings: [vector] })));
    const query = randomVectors(1, 128, 12)[0]!;
    const before = await storage.faces.searchFaces(query, { k: 10, threshold: Number.POSITIVE_INFINITY });
    const expected = referenceRanking(rows, query, 'l2').slice(0, 10);
    expect(before.map((match) => match.personId)).toEqual(expected.map((entry) => `p${entry.row}`));
    await reopen();
    expect(await storage.faces.searchFaces(query, { k: 10, threshold: Number.POSITIVE_INFINITY })).toEqual(before);
  });
});

describe('openStorage', () => {
  it('creates owner-only files', async () => {
    const nested = join(directory.path, 'nested', 'data');
    const other = await openStorage({ dataDirectory: nested });
    await other.close();
    expect(statSync(nested).mode & 0o777).toBe(0o700);
    expect(statSync(join(nested, 'porchlight.db')).mode & 0o777).toBe(0o600);
  });

  it('rejects misspelled option', async () => {
    await expect(openStorage({ dataDirectory: directory.path, dataDir: 'x' } as never)).rejects.toThrow(/options\.dataDir/);
  });
});
