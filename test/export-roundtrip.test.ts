import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { runCli } from '../src/cli/run.js';
import type { SqliteDatabase } from '../src/db/open-database.js';
import { ErrorCodes } from '../src/errors.js';
import { listDataTables, quoteIdentifier } from '../src/export/database-tables.js';
import type { ExportManifest } from '../src/export/export-manifest.js';
import { exportStorage } from '../src/export/export-storage.js';
import { decodeValue, encodeValue } from '../src/export/row-codec.js';
import { importStorage } from '../src/import/import-storage.js';
import { npyRows, readNpy } from '../src/import/npy.js';
import { STORES, openStorage, type StorageManager } from '../src/storage-manager.js';
import { randomVectors, temporaryDirectory } from './helpers/reference.js';

const LFW = '../shared/data/lfw-facenet512';
const lfwRows = npyRows(readNpy(`${LFW}/lfw_embeddings.npy`), 'lfw') as Float32Array[];
const lfwLabels = readNpy(`${LFW}/lfw_labels.npy`).data as string[];

/**
 * Options of every storage opened here. Porchlight's own operational metrics are off, because they
 * add metric points whenever a storage is open and the tests compare stores row by row.
 */
const QUIET = { operationalMetrics: false, backup: { intervalMinutes: 0 }, cleanup: { intervalMinutes: 0 } } as const;

let directory: { path: string; remove: () => void };
let sourceDirectory: string;
let targetDirectory: string;
let exportDirectory: string;

beforeEach(() => {
  directory = temporaryDirectory();
  sourceDirectory = join(directory.path, 'source');
  targetDirectory = join(directory.path, 'target');
  exportDirectory = join(directory.path, 'export');
});

afterEach(() => directory.remove());

/**
 * Fills a storage with 300 LFW embeddings under a cosine model, an l2 model, both lists and a
 * removal, and with events that have children, errors, enrichments, updates and deletions.
 */
async function fillSource(): Promise<void> {
  const storage = await openStorage({ ...QUIET, dataDirectory: sourceDirectory, faces: { models: { facenet: 'cosine' } } });
  try {
    const byPerson = new Map<string, Float32Array[]>();
    lfwRows.slice(0, 300).forEach((row, i) => byPerson.set(lfwLabels[i]!, [...(byPerson.get(lfwLabels[i]!) ?? []), row]));
    storage.faces.enrollMany([...byPerson].map(([id, encodings]) => ({ person: { id, name: id.replaceAll('_', ' '), list: 'known' as const }, encodings })), { model: 'facenet' });

    storage.faces.addPerson({ id: 'intruder', name: 'Intruder', list: 'blacklist', reason: 'broke a window', metadata: { seen: 3, note: 'Zoë ✓' } });
    for (const vector of randomVectors(4, 128, 7)) storage.faces.addEncoding('intruder', vector, { model: 'dlib' });
    storage.faces.removePerson(lfwLabels[0]!);

    const start = Date.UTC(2026, 10, 1);
    const ids = storage.events.storeEvents(Array.from({ length: 400 }, (_, i) => ({
      type: ['person', 'vehicle', 'doorbell_press', 'package'][i % 4]!,
      timestamp: start + Math.floor(i / 3) * 61_000,
      source: `camera-${i % 3}`,
      confidence: i % 5 === 0 ? null : (i % 97) / 100,
      label: i % 7 === 0 ? null : ['person', 'car', 'parcel'][i % 3]!,
      subLabel: i % 11 === 0 ? 'Zoë Müller' : null,
      data: { zone: i % 2 === 0 ? 'porch' : 'driveway', box: [i, i + 1, 20, 30], note: `event number ${i}` },
    })));
    storage.events.storeEvent({ type: 'face_recognized', source: 'face-engine', parentId: ids[10]!, personId: 'intruder', confidence: 0.93, timestamp: start + 300_000 });
    storage.events.updateEvent(ids[5]!, { endTime: start + 400_000, stage: 'enriched', enrichments: { plate: 'AB-123' }, errors: [{ stage: 'ocr', message: 'blurred' }] });
    storage.events.deleteEvents({ sources: ['camera-2'], end: start + 600_000 });

    const now = Date.now();
    for (let i = 0; i < 500; i++) storage.metrics.record('detector.fps', 4 + (i % 10) / 10, { tags: { camera: `camera-${i % 3}` }, timestamp: now - i * 10_000 });
    storage.metrics.record('doorbell.presses', 1, { type: 'counter', timestamp: now - 5_000 });
    storage.metrics.flush();
    storage.config.set('cameras', { front: { fps: 5 } }, { author: 'alice', comment: 'first camera' });
    storage.config.patch('cameras', { back: { fps: 10 } }, { author: 'bob' });
    storage.config.rollback('cameras', 1, { author: 'alice' });
  } finally {
    await storage.close();
  }
}

/** Reads every row of every data table with its values and SQLite storage classes. */
function snapshot(db: SqliteDatabase): Record<string, { values: unknown[][]; types: string[][] }> {
  const result: Record<string, { values: unknown[][]; types: string[][] }> = {};
  for (const table of listDataTables(db, STORES).tables) {
    const columns = table.columns.map(quoteIdentifier);
    const order = table.orderBy.map(quoteIdentifier).join(', ');
    const values = db.prepare(`SELECT ${columns.join(', ')} FROM ${quoteIdentifier(table.name)} ORDER BY ${order}`).safeIntegers(true).raw(true).all() as unknown[][];
    const types = db.prepare(`SELECT ${columns.map((column) => `typeof(${column})`).join(', ')} FROM ${quoteIdentifier(table.name)} ORDER BY ${order}`).raw(true).all() as string[][];
    result[table.name] = { values, types };
  }
  return result;
}

async function withStorage<T>(dataDirectory: string, action: (storage: StorageManager) => T | Promise<T>): Promise<T> {
  const storage = await openStorage({ ...QUIET, dataDirectory });
  try {
    return await action(storage);
  } finally {
    await storage.close();
  }
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function readManifest(): ExportManifest {
  return JSON.parse(readFileSync(join(exportDirectory, 'manifest.json'), 'utf8')) as ExportManifest;
}

/** Rewrites a table file of the export and records its new size and checksum in the manifest. */
function rewriteTableFile(table: string, edit: (lines: string[]) => string[]): void {
  const manifest = readManifest();
  const entry = manifest.tables.find((candidate) => candidate.table === table)!;
  const path = join(exportDirectory, entry.file);
  const lines = edit(readFileSync(path, 'utf8').split('\n').filter((line) => line.length > 0));
  writeFileSync(path, lines.map((line) => `${line}\n`).join(''));
  entry.rows = lines.length;
  entry.bytes = statSync(path).size;
  entry.sha256 = sha256(path);
  writeFileSync(join(exportDirectory, 'manifest.json'), JSON.stringify(manifest));
}

/** Counts the rows of the target's face and event tables; 0 when the import left no database behind. */
async function targetRowCount(): Promise<number> {
  if (!existsSync(join(targetDirectory, 'porchlight.db'))) return 0;
  return withStorage(targetDirectory, (storage) => storage.database.prepare('SELECT (SELECT count(*) FROM persons) + (SELECT count(*) FROM encodings) + (SELECT count(*) FROM face_models) + (SELECT count(*) FROM events)').pluck().get() as number);
}

async function importFails(): Promise<unknown> {
  try {
    await importStorage(exportDirectory, { dataDirectory: targetDirectory });
  } catch (error) {
    return error;
  }
  throw new Error('the import was expected to fail');
}

describe('export and import round trip', () => {
  it('reproduces every row exactly', async () => {
    await fillSource();
    const before = await withStorage(sourceDirectory, (storage) => snapshot(storage.database));
    await withStorage(sourceDirectory, (storage) => exportStorage(storage, exportDirectory));
    const summary = await importStorage(exportDirectory, { dataDirectory: targetDirectory });
    const after = await withStorage(targetDirectory, (storage) => snapshot(storage.database));

    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    for (const table of Object.keys(before)) {
      expect(after[table]!.values).toEqual(before[table]!.values);
      expect(after[table]!.types).toEqual(before[table]!.types);
    }
    expect(summary.rows).toBe(Object.values(before).reduce((sum, table) => sum + table.values.length, 0));
  });

  it('audit chain, config and metrics survive', async () => {
    await fillSource();
    const ask = (storage: StorageManager) => ({
      verification: storage.audit.verify(),
      records: storage.audit.query({ limit: 1000 }).records,
      config: storage.config.history('cameras'),
      latest: storage.config.get('cameras'),
      hourly: storage.metrics.history('detector.fps', { start: Date.now() - 2 * 86_400_000, resolution: 'minute', tags: { camera: 'camera-1' } }),
      metrics: storage.metrics.listMetrics(),
    });
    const before = await withStorage(sourceDirectory, ask);
    await withStorage(sourceDirectory, (storage) => exportStorage(storage, exportDirectory));
    await importStorage(exportDirectory, { dataDirectory: targetDirectory });
    const after = await withStorage(targetDirectory, ask);

    expect(before.verification.valid).toBe(true);
    expect(after.verification).toEqual(before.verification);
    expect(after.records).toEqual(before.records);
    expect(after.config).toEqual(before.config);
    expect(after.latest).toEqual(before.latest);
    expect(before.hourly.length).toBeGreaterThan(10);
    expect(after.hourly).toEqual(before.hourly);
    expect(after.metrics).toEqual(before.metrics);
  });

  it('moves between split and shared files', async () => {
    const split = { ...QUIET, databases: { events: 'events.db', metrics: 'metrics.db' } };
    const source = await openStorage({ ...split, dataDirectory: sourceDirectory });
    try {
      source.faces.addPerson({ id: 'ann', name: 'Ann', list: 'known' });
      source.faces.addEncoding('ann', new Float32Array(8).fill(0.5));
      source.events.storeEvents(Array.from({ length: 30 }, (_, i) => ({ type: 'motion', source: `camera-${i % 2}`, data: { note: `split ${i}` } })));
      source.metrics.record('detector.fps', 5);
      source.metrics.flush();
      expect(source.databaseFiles.map((file) => file.stores.join(','))).toEqual(['faces,config,audit', 'events', 'metrics']);
      exportStorage(source, exportDirectory);
    } finally {
      await source.close();
    }
    const tables = readManifest().tables.map((entry) => entry.table);
    expect(tables).toEqual(expect.arrayContaining(['persons', 'events', 'metric_series', 'audit_log']));

    const shared = join(directory.path, 'shared');
    await importStorage(exportDirectory, { ...QUIET, dataDirectory: shared });
    await importStorage(exportDirectory, { ...split, dataDirectory: targetDirectory });
    expect(existsSync(join(targetDirectory, 'events.db'))).toBe(true);

    for (const options of [{ ...QUIET, dataDirectory: shared }, { ...split, dataDirectory: targetDirectory }]) {
      const storage = await openStorage(options);
      try {
        expect(storage.events.queryEvents({ search: 'split', limit: 100 }).events).toHaveLength(30);
        expect(storage.faces.listPersons().map((person) => person.encodingCount)).toEqual([1]);
        expect(storage.metrics.latest('detector.fps')?.value).toBe(5);
        expect(storage.audit.verify().valid).toBe(true);
      } finally {
        await storage.close();
      }
    }
  });

  it('search and statistics match', async () => {
    await fillSource();
    const ask = (storage: StorageManager) => ({
      porch: storage.events.queryEvents({ search: 'porch', limit: 1000 }).events.map((event) => event.id),
      zoe: storage.events.queryEvents({ search: 'zoe', limit: 1000 }).events.map((event) => event.id),
      prefix: storage.events.queryEvents({ search: 'numb*', sources: ['camera-1'], limit: 1000 }).events.map((event) => event.id),
      statistics: storage.events.getEventStatistics({ start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 10, 2), bucket: 'hour' }),
    });
    const before = await withStorage(sourceDirectory, ask);
    await withStorage(sourceDirectory, (storage) => exportStorage(storage, exportDirectory));
    await importStorage(exportDirectory, { dataDirectory: targetDirectory });

    const after = await withStorage(targetDirectory, ask);
    expect(before.porch.length).toBeGreaterThan(100);
    expect(before.zoe.length).toBeGreaterThan(10);
    expect(after.porch).toEqual(before.porch);
    expect(after.zoe).toEqual(before.zoe);
    expect(after.prefix).toEqual(before.prefix);
    expect(after.statistics).toEqual(before.statistics);
  });

  it('second export is byte identical', async () => {
    await fillSource();
    await withStorage(sourceDirectory, (storage) => exportStorage(storage, exportDirectory));
    await importStorage(exportDirectory, { dataDirectory: targetDirectory });
    const again = join(directory.path, 'again');
    await withStorage(targetDirectory, (storage) => exportStorage(storage, again));

    const first = readManifest();
    const second = JSON.parse(readFileSync(join(again, 'manifest.json'), 'utf8')) as ExportManifest;
    expect(second.tables).toEqual(first.tables);
    for (const entry of first.tables) expect(sha256(join(again, entry.file))).toBe(entry.sha256);
  });

  it('imported index answers searches', async () => {
    await fillSource();
    const query = lfwRows[10]!;
    const expected = await withStorage(sourceDirectory, (storage) => storage.faces.searchFaces(query, { model: 'facenet', k: 5, threshold: 2 }));
    await withStorage(sourceDirectory, (storage) => exportStorage(storage, exportDirectory));
    await importStorage(exportDirectory, { dataDirectory: targetDirectory });

    const storage = await openStorage({ ...QUIET, dataDirectory: targetDirectory, faces: { models: { facenet: 'cosine' } } });
    try {
      expect(await storage.faces.searchFaces(query, { model: 'facenet', k: 5, threshold: 2 })).toEqual(expected);
      expect(storage.faces.indexOf('dlib')?.size).toBe(4);
    } finally {
      await storage.close();
    }
  });

  it('tags integral reals and large integers', async () => {
    await fillSource();
    await withStorage(sourceDirectory, (storage) => {
      storage.events.storeEvents([{ type: 'system', source: 'self-test', confidence: 1 }, { type: 'system', source: 'self-test', confidence: 0 }]);
    });
    await withStorage(sourceDirectory, (storage) => exportStorage(storage, exportDirectory));
    const entry = readManifest().tables.find((candidate) => candidate.table === 'events')!;
    const rows = readFileSync(join(exportDirectory, entry.file), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

    // seq is the timestamp times 16384, beyond 2^53; confidence is a REAL column.
    expect(rows.every((row) => typeof (row.seq as { $integer?: unknown }).$integer === 'string')).toBe(true);
    expect(rows.filter((row) => row.source === 'self-test').map((row) => row.confidence)).toEqual([{ $real: 1 }, { $real: 0 }]);

    await importStorage(exportDirectory, { dataDirectory: targetDirectory });
    const types = (dataDirectory: string) => withStorage(dataDirectory, (storage) => storage.database.prepare("SELECT typeof(confidence), confidence, seq FROM events WHERE source = 'self-test' ORDER BY seq").safeIntegers(true).raw(true).all());
    expect(await types(targetDirectory)).toEqual(await types(sourceDirectory));
  });

  it('writes owner-only files', async () => {
    await fillSource();
    await withStorage(sourceDirectory, (storage) => exportStorage(storage, exportDirectory));
    expect(statSync(exportDirectory).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(exportDirectory)) expect(statSync(join(exportDirectory, name)).mode & 0o777).toBe(0o600);
  });

  it('manifest lists tables and versions', async () => {
    await fillSource();
    await withStorage(sourceDirectory, (storage) => exportStorage(storage, exportDirectory));
    const manifest = readManifest();
    expect(manifest.format).toBe('porchlight-export');
    expect(manifest.schemaVersions.faces).toBe(1);
    expect(manifest.tables.map((entry) => `${entry.store}.${entry.table}`)).toEqual(expect.arrayContaining(['faces.persons', 'faces.encodings', 'faces.face_models']));
    expect(manifest.tables.find((entry) => entry.table === 'encodings')!.rows).toBe(300 - lfwLabels.slice(0, 300).filter((label) => label === lfwLabels[0]).length + 4);
  });

  it('encodings are base64 float32', async () => {
    await fillSource();
    await withStorage(sourceDirectory, (storage) => exportStorage(storage, exportDirectory));
    const entry = readManifest().tables.find((candidate) => candidate.table === 'encodings')!;
    const rows = readFileSync(join(exportDirectory, entry.file), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { person_id: string; vector: { $base64: string } });
    const row = rows.find((candidate) => candidate.person_id === lfwLabels[1])!;
    const vector = new Float32Array(Uint8Array.from(Buffer.from(row.vector.$base64, 'base64')).buffer);
    expect(Array.from(vector)).toEqual(Array.from(lfwRows[1]!));
  });
});

describe('row codec', () => {
  const cases: [string, unknown, unknown][] = [
    ['text', 'Zoë', 'Zoë'],
    ['null', null, null],
    ['safe integer', 42n, 42],
    ['large integer', 2n ** 60n, { $integer: String(2n ** 60n) }],
    ['fractional real', 0.25, 0.25],
    ['integral real', 3, { $real: 3 }],
    ['infinite real', Number.NEGATIVE_INFINITY, { $real: '-Infinity' }],
    ['blob', Buffer.from([1, 2, 3]), { $base64: 'AQID' }],
  ];
  for (const [name, value, encoded] of cases) {
    it(`round-trips ${name}`, () => {
      expect(encodeValue(value)).toEqual(encoded);
      expect(decodeValue(JSON.parse(JSON.stringify(encoded)))).toEqual(typeof value === 'number' || value === null || typeof value === 'string' || Buffer.isBuffer(value) || typeof value === 'bigint' ? value : undefined);
    });
  }

  it('rejects unknown tags', () => {
    expect(decodeValue({ $date: '2024' })).toBeUndefined();
    expect(decodeValue({ $integer: '12a' })).toBeUndefined();
    expect(decodeValue([1])).toBeUndefined();
  });
});

describe('import of damaged exports', () => {
  beforeEach(async () => {
    await fillSource();
    await withStorage(sourceDirectory, (storage) => exportStorage(storage, exportDirectory));
  });

  it('missing manifest is rejected', async () => {
    writeFileSync(join(exportDirectory, 'manifest.json'), '');
    expect(await importFails()).toMatchObject({ code: ErrorCodes.INVALID_FILE });
  });

  it('foreign manifest is rejected', async () => {
    writeFileSync(join(exportDirectory, 'manifest.json'), JSON.stringify({ format: 'frigate-backup' }));
    expect((await importFails() as Error).message).toMatch(/is not a Porchlight export manifest/);
  });

  it('newer format is rejected', async () => {
    writeFileSync(join(exportDirectory, 'manifest.json'), JSON.stringify({ ...readManifest(), formatVersion: 99 }));
    expect((await importFails() as Error).message).toMatch(/export format 99/);
  });

  it('edited file fails checksum', async () => {
    const entry = readManifest().tables.find((candidate) => candidate.table === 'persons')!;
    const path = join(exportDirectory, entry.file);
    writeFileSync(path, readFileSync(path, 'utf8').replace('Intruder', 'Intrudor'));
    const error = await importFails();
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_FILE, details: { file: entry.file } });
    expect((error as Error).message).toMatch(/does not match the manifest/);
    expect(await targetRowCount()).toBe(0);
  });

  it('truncated file fails checksum', async () => {
    const entry = readManifest().tables.find((candidate) => candidate.table === 'encodings')!;
    const path = join(exportDirectory, entry.file);
    writeFileSync(path, readFileSync(path).subarray(0, 5000));
    expect(await importFails()).toMatchObject({ code: ErrorCodes.INVALID_FILE });
  });

  it('bad row names file and line', async () => {
    rewriteTableFile('encodings', (lines) => lines.map((line, i) => (i === 6 ? line.replace('"vector":{"$base64"', '"vector":{"$blob"') : line)));
    const error = await importFails();
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RECORD, details: { line: 7 } });
    expect((error as Error).message).toMatch(/faces\.encodings\.jsonl: line 7: column "vector"/);
    expect(await targetRowCount()).toBe(0);
  });

  it('row violating a check fails', async () => {
    rewriteTableFile('persons', (lines) => lines.map((line, i) => (i === 2 ? line.replace('"list":"known"', '"list":"friends"') : line)));
    const error = await importFails();
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RECORD, details: { line: 3 } });
    expect(await targetRowCount()).toBe(0);
  });

  it('missing parent rows fail', async () => {
    rewriteTableFile('persons', (lines) => lines.filter((line) => !line.includes('"intruder"')));
    const error = await importFails();
    expect((error as Error).message).toMatch(/refers to a missing row of persons/);
    expect(await targetRowCount()).toBe(0);
  });

  it('schema version mismatch fails', async () => {
    writeFileSync(join(exportDirectory, 'manifest.json'), JSON.stringify({ ...readManifest(), schemaVersions: { faces: 7 } }));
    expect(await importFails()).toMatchObject({ code: ErrorCodes.SCHEMA_MISMATCH });
  });

  it('existing database is rejected', async () => {
    await importStorage(exportDirectory, { dataDirectory: targetDirectory });
    const rows = await targetRowCount();
    expect(await importFails()).toMatchObject({ code: ErrorCodes.ALREADY_EXISTS });
    expect(await targetRowCount()).toBe(rows);
  });

  it('failed import leaves no database', async () => {
    rewriteTableFile('events', (lines) => lines.map((line, i) => (i === 3 ? line.replace('"data":"{', '"data":"[{') : line)));
    expect(await importFails()).toMatchObject({ code: ErrorCodes.INVALID_RECORD, details: { line: 4 } });
    expect(existsSync(join(targetDirectory, 'porchlight.db'))).toBe(false);
  });

  it('export into used folder fails', async () => {
    const used = join(directory.path, 'used');
    mkdirSync(used);
    writeFileSync(join(used, 'keep.txt'), 'mine');
    const error = await withStorage(sourceDirectory, (storage) => {
      try {
        exportStorage(storage, used);
      } catch (caught) {
        return caught;
      }
      return undefined;
    });
    expect(error).toMatchObject({ code: ErrorCodes.ALREADY_EXISTS });
    expect(readdirSync(used)).toEqual(['keep.txt']);
  });
});

describe('porchlight export and import', () => {
  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks = { stdout: '', stderr: '' };
    stdout.on('data', (chunk) => { chunks.stdout += chunk; });
    stderr.on('data', (chunk) => { chunks.stderr += chunk; });
    const code = await runCli(args, { stdout, stderr });
    return { code, ...chunks };
  }

  it('round trip from the command line', async () => {
    await fillSource();
    const exported = await cli('--data-dir', sourceDirectory, 'export', exportDirectory);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(/exported \d+ rows of \d+ tables/);

    const imported = await cli('--data-dir', targetDirectory, 'import', exportDirectory);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/imported \d+ rows/);
    const listed = await cli('--data-dir', targetDirectory, 'faces', 'list', '--list', 'blacklist');
    expect(listed.stdout).toMatch(/intruder\tIntruder\tblacklist\t4 encodings/);
  });

  it('import of a non-export folder fails', async () => {
    mkdirSync(exportDirectory);
    const result = await cli('--data-dir', targetDirectory, 'import', exportDirectory);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/has no manifest\.json/);
  });
});
