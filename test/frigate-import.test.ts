import { createHash } from 'node:crypto';
import { copyFileSync, chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { runCli } from '../src/cli/run.js';
import { ErrorCodes } from '../src/errors.js';
import type { FrigateApiEvent } from '../src/frigate/frigate-types.js';
import { openFrigateDatabase, openFrigateDatabaseCopy, readFrigateEventRows } from '../src/frigate/frigate-database.js';
import { importFrigateDatabase, type FrigateImportOptions } from '../src/frigate/import-frigate-database.js';
import { openStorage, type StorageManager } from '../src/storage-manager.js';
import { temporaryDirectory } from './helpers/reference.js';

const FRIGATE = '../shared/data/frigate';
const apiEvents = JSON.parse(readFileSync(`${FRIGATE}/api-events-front-door.json`, 'utf8')) as FrigateApiEvent[];

let directory: { path: string; remove: () => void };
let dataDirectory: string;
let frigatePath: string;

beforeEach(() => {
  directory = temporaryDirectory();
  dataDirectory = join(directory.path, 'data');
  frigatePath = join(directory.path, 'frigate.db');
  copyFileSync(`${FRIGATE}/frigate-0.14-empty.db`, frigatePath);
  chmodSync(frigatePath, 0o600);
});

afterEach(() => directory.remove());

/** Writes rows into the copy's event table the way Frigate 0.14 stores them. */
function fillFrigate(events: FrigateApiEvent[], change: (row: Record<string, unknown>) => void = () => {}): void {
  const db = new Database(frigatePath);
  try {
    const insert = db.prepare(`INSERT INTO event (id, label, camera, start_time, end_time, top_score, false_positive, zones, thumbnail, has_clip,
      has_snapshot, retain_indefinitely, sub_label, data) VALUES (@id, @label, @camera, @start_time, @end_time, NULL, @false_positive, @zones,
      @thumbnail, @has_clip, @has_snapshot, 0, @sub_label, @data)`);
    db.transaction(() => {
      for (const event of events) {
        const row: Record<string, unknown> = {
          id: event.id, label: event.label, camera: event.camera, start_time: event.start_time, end_time: event.end_time,
          false_positive: event.false_positive ? 1 : 0, zones: JSON.stringify(event.zones), thumbnail: '', has_clip: event.has_clip ? 1 : 0,
          has_snapshot: event.has_snapshot ? 1 : 0, sub_label: null, data: JSON.stringify(event.data),
        };
        change(row);
        insert.run(row);
      }
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

async function withStorage<T>(action: (storage: StorageManager) => T): Promise<T> {
  const storage = await openStorage({ dataDirectory });
  try {
    return action(storage);
  } finally {
    await storage.close();
  }
}

async function runImport(options: FrigateImportOptions = {}) {
  return withStorage((storage) => importFrigateDatabase(storage, frigatePath, options));
}

async function importFails(options: FrigateImportOptions = {}): Promise<unknown> {
  try {
    await runImport(options);
  } catch (error) {
    return error;
  }
  throw new Error('the import was expected to fail');
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('importFrigateDatabase', () => {
  it('imports all 50 real events', async () => {
    fillFrigate(apiEvents);
    const summary = await runImport();
    expect(summary).toMatchObject({ rows: 50, imported: 50, updated: 0, unchanged: 0, skipped: 0 });

    await withStorage((storage) => {
      expect(storage.events.countEvents()).toBe(50);
      for (const source of apiEvents) {
        const event = storage.events.getEvent(source.id)!;
        expect(event.type).toBe('person');
        expect(event.source).toBe('front_door');
        expect(event.label).toBe('person');
        expect(event.timestamp).toBe(new Date(Math.round(source.start_time * 1000)).toISOString());
        expect(event.endTime).toBe(new Date(Math.round(source.end_time! * 1000)).toISOString());
        expect(event.confidence).toBe(source.data!.top_score);
        expect(event.stage).toBe('ended');
        expect(event.data.frigate).toMatchObject({ id: source.id, start_time: source.start_time, zones: source.zones, data: source.data });
      }
    });
  });

  it('rerun stores nothing twice', async () => {
    fillFrigate(apiEvents);
    await runImport();
    const again = await runImport();
    expect(again).toMatchObject({ imported: 0, updated: 0, unchanged: 50 });
    expect(await withStorage((storage) => storage.events.countEvents())).toBe(50);
  });

  it('never writes the Frigate file', async () => {
    fillFrigate(apiEvents);
    const before = sha256(frigatePath);
    await runImport();
    expect(sha256(frigatePath)).toBe(before);
  });

  it('reads a read-only file', async () => {
    fillFrigate(apiEvents);
    chmodSync(frigatePath, 0o400);
    expect((await runImport()).imported).toBe(50);
  });

  it('in-memory copy reads the same rows', () => {
    fillFrigate(apiEvents);
    const inPlace = openFrigateDatabase(frigatePath);
    const copy = openFrigateDatabaseCopy(frigatePath);
    try {
      const rows = [...readFrigateEventRows(copy, frigatePath)];
      expect(rows).toHaveLength(50);
      expect(rows).toEqual([...readFrigateEventRows(inPlace, frigatePath)]);
    } finally {
      inPlace.close();
      copy.close();
    }
  });

  it('ended event is updated on rerun', async () => {
    const open = apiEvents[3]!;
    fillFrigate(apiEvents, (row) => { if (row.id === open.id) row.end_time = null; });
    await runImport();
    expect(await withStorage((storage) => storage.events.getEvent(open.id))).toMatchObject({ endTime: null, stage: 'in_progress' });

    const db = new Database(frigatePath);
    db.prepare('UPDATE event SET end_time = ? WHERE id = ?').run(open.end_time, open.id);
    db.close();
    expect(await runImport()).toMatchObject({ imported: 0, updated: 1, unchanged: 49 });
    expect(await withStorage((storage) => storage.events.getEvent(open.id))).toMatchObject({
      endTime: new Date(Math.round(open.end_time! * 1000)).toISOString(),
      stage: 'ended',
    });
  });

  it('zones are searchable', async () => {
    fillFrigate(apiEvents);
    await runImport();
    const expected = apiEvents.filter((event) => event.zones.includes('bench')).map((event) => event.id).sort();
    const found = await withStorage((storage) => storage.events.queryEvents({ search: 'bench', limit: 100 }).events.map((event) => event.id).sort());
    expect(found).toEqual(expected);
  });

  it('maps labels and sub labels', async () => {
    fillFrigate(apiEvents.slice(0, 2), (row) => {
      if (row.id === apiEvents[0]!.id) Object.assign(row, { label: 'car', sub_label: 'ABC123' });
      else Object.assign(row, { label: 'traffic light' });
    });
    await runImport();
    await withStorage((storage) => {
      expect(storage.events.getEvent(apiEvents[0]!.id)).toMatchObject({ type: 'vehicle', label: 'car', subLabel: 'ABC123' });
      expect(storage.events.getEvent(apiEvents[1]!.id)).toMatchObject({ type: 'traffic_light', label: 'traffic light' });
    });
  });

  it('events in their own file', async () => {
    fillFrigate(apiEvents);
    const options = { dataDirectory, databases: { events: 'events.db' } };
    const storage = await openStorage(options);
    try {
      expect(importFrigateDatabase(storage, frigatePath).imported).toBe(50);
      expect(importFrigateDatabase(storage, frigatePath).unchanged).toBe(50);
      expect(storage.events.countEvents({ sources: ['front_door'] })).toBe(50);
    } finally {
      await storage.close();
    }
  });

  it('thumbnails kept on request', async () => {
    fillFrigate(apiEvents.slice(0, 1), (row) => { row.thumbnail = 'aGVsbG8='; });
    await runImport({ thumbnails: true });
    expect(await withStorage((storage) => storage.events.getEvent(apiEvents[0]!.id)!.data.frigate)).toMatchObject({ thumbnail: 'aGVsbG8=' });
  });
});

describe('importFrigateDatabase on malformed input', () => {
  it('bad zones name row and id', async () => {
    const bad = apiEvents[17]!;
    fillFrigate(apiEvents, (row) => { if (row.id === bad.id) row.zones = '["bench"'; });
    const error = await importFails();
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RECORD, details: { file: frigatePath, rowid: 18 } });
    expect((error as Error).message).toMatch(new RegExp(`rowid 18: event "${bad.id.replace('.', '\\.')}": column zones is not valid JSON`));
    expect(await withStorage((storage) => storage.events.countEvents())).toBe(0);
  });

  it('skip leaves bad rows out', async () => {
    fillFrigate(apiEvents, (row) => { if (row.id === apiEvents[5]!.id) row.data = '{"top_score": 7}'; });
    const summary = await runImport({ onInvalid: 'skip' });
    expect(summary).toMatchObject({ imported: 49, skipped: 1 });
    expect(summary.skippedRows[0]!.message).toMatch(/top_score must be a number from 0 to 1/);
  });

  it('event store rules name the row', async () => {
    fillFrigate(apiEvents, (row) => { if (row.id === apiEvents[2]!.id) row.camera = 'front\ndoor'; });
    const error = await importFails();
    expect(error).toMatchObject({ details: { rowid: 3 } });
    expect((error as Error).message).toMatch(/event\.source must be a string of 1 to 256 characters without control characters/);
    expect(await withStorage((storage) => storage.events.countEvents())).toBe(0);
  });

  it('milliseconds start time is rejected', async () => {
    fillFrigate(apiEvents.slice(0, 3), (row) => { row.start_time = (row.start_time as number) * 1000; row.end_time = null; });
    expect(await importFails()).toMatchObject({ code: ErrorCodes.INVALID_RECORD, details: { rowid: 1 } });
  });

  it('missing file is rejected', async () => {
    frigatePath = join(directory.path, 'nope.db');
    expect((await importFails() as Error).message).toMatch(/nope\.db: does not exist/);
  });

  it('non-SQLite file is rejected', async () => {
    writeFileSync(frigatePath, 'this is not a database, just text that is long enough to look like a header');
    expect(await importFails()).toMatchObject({ code: ErrorCodes.INVALID_FILE });
  });

  it('database without event table is rejected', async () => {
    const other = new Database(frigatePath);
    other.exec('DROP TABLE event');
    other.close();
    expect((await importFails() as Error).message).toMatch(/has no event table; it is not a Frigate database/);
  });

  it('unknown option is rejected', async () => {
    fillFrigate(apiEvents.slice(0, 1));
    expect((await importFails({ thumbnail: true } as FrigateImportOptions) as Error).message).toMatch(/Unknown key options\.thumbnail/);
  });
});

describe('porchlight import frigate', () => {
  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const chunks = { stdout: '', stderr: '' };
    stdout.on('data', (chunk) => { chunks.stdout += chunk; });
    stderr.on('data', (chunk) => { chunks.stderr += chunk; });
    const code = await runCli(['--data-dir', dataDirectory, ...args], { stdout, stderr });
    return { code, ...chunks };
  }

  it('prints the summary', async () => {
    fillFrigate(apiEvents);
    const first = await cli('import', 'frigate', frigatePath);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/imported 50 of 50 Frigate events .* \(0 updated, 0 already imported\)/);
    const second = await cli('import', 'frigate', frigatePath, '--json');
    expect(JSON.parse(second.stdout)).toMatchObject({ imported: 0, unchanged: 50 });
  });

  it('bad row exits non-zero', async () => {
    fillFrigate(apiEvents, (row) => { if (row.id === apiEvents[0]!.id) row.zones = 'bench'; });
    const result = await cli('import', 'frigate', frigatePath);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/rowid 1: .*column zones is not valid JSON .*\[INVALID_RECORD\]/);
  });
});
