import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { runCli } from '../src/cli/run.js';
import { checkDatabaseFile } from '../src/db/open-database.js';
import { ErrorCodes } from '../src/errors.js';
import { openStorage, type StorageOptions } from '../src/storage-manager.js';
import { sha256File } from './fixtures/database-rows.js';
import { randomVectors, temporaryDirectory } from './helpers/reference.js';

function options(dataDirectory: string): StorageOptions {
  return { dataDirectory, backup: { intervalMinutes: 0 }, cleanup: { intervalMinutes: 0 } };
}

/** Builds a closed database of some pages, so that truncation cuts real data. */
async function populatedDatabase(dataDirectory: string): Promise<string> {
  const storage = await openStorage(options(dataDirectory));
  const vectors = randomVectors(400, 64, 9);
  storage.faces.enrollMany(Array.from({ length: 200 }, (_, i) => ({ person: { id: `p${i}`, name: `P ${i}`, list: 'known' as const }, encodings: [vectors[2 * i]!, vectors[2 * i + 1]!] })));
  const path = storage.databasePath;
  await storage.close();
  return path;
}

async function openFailure(dataDirectory: string): Promise<{ code: string; message: string; name: string }> {
  try {
    const storage = await openStorage(options(dataDirectory));
    await storage.close();
  } catch (error) {
    return error as { code: string; message: string; name: string };
  }
  throw new Error('expected openStorage to fail');
}

describe('bad database files', () => {
  let folder: ReturnType<typeof temporaryDirectory>;
  beforeEach(() => {
    folder = temporaryDirectory();
  });
  afterEach(() => folder.remove());

  it('text file rejected untouched', async () => {
    const path = join(folder.path, 'porchlight.db');
    writeFileSync(path, 'camera front-door\nmotion 2024-06-01\n');
    const failure = await openFailure(folder.path);
    expect(failure.code).toBe(ErrorCodes.DATABASE_CORRUPT);
    expect(failure.name).toBe('StorageError');
    expect(failure.message).toContain(path);
    expect(readFileSync(path, 'utf8')).toBe('camera front-door\nmotion 2024-06-01\n');
  });

  it('random bytes rejected untouched', async () => {
    const path = join(folder.path, 'porchlight.db');
    const bytes = Buffer.from(randomVectors(1, 4096, 3)[0]!.buffer);
    writeFileSync(path, bytes);
    const failure = await openFailure(folder.path);
    expect(failure.code).toBe(ErrorCodes.DATABASE_CORRUPT);
    expect(failure.message).toContain(path);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('truncated database rejected untouched', async () => {
    const path = await populatedDatabase(folder.path);
    const size = readFileSync(path).length;
    truncateSync(path, Math.floor(size / 2 / 4096) * 4096);
    const before = sha256File(path);
    const failure = await openFailure(folder.path);
    expect(failure.code).toBe(ErrorCodes.DATABASE_CORRUPT);
    expect(failure.message).toContain(path);
    expect(failure.message).toContain('truncated');
    expect(sha256File(path)).toBe(before);
  });

  it('short file beside a WAL passes', async () => {
    // A checkpoint of another connection looks like this while it runs: the WAL still contains the pages.
    const path = await populatedDatabase(folder.path);
    truncateSync(path, Math.floor(readFileSync(path).length / 2 / 4096) * 4096);
    writeFileSync(`${path}-wal`, Buffer.alloc(32));
    expect(() => checkDatabaseFile(path)).not.toThrow();
  });

  it('header-only database rejected', async () => {
    const path = await populatedDatabase(folder.path);
    truncateSync(path, 100);
    const failure = await openFailure(folder.path);
    expect(failure.code).toBe(ErrorCodes.DATABASE_CORRUPT);
    expect(failure.message).toContain(path);
  });

  it('newer schema rejected untouched', async () => {
    const path = await populatedDatabase(folder.path);
    const db = new Database(path);
    db.prepare("INSERT INTO schema_migrations (store, version, name, checksum, applied_at) VALUES ('faces', 99, 'from_the_future', 'x', '2030-01-01T00:00:00.000Z')").run();
    db.close();
    const before = sha256File(path);
    const failure = await openFailure(folder.path);
    expect(failure.code).toBe(ErrorCodes.SCHEMA_TOO_NEW);
    expect(failure.name).toBe('MigrationError');
    expect(failure.message).toContain(path);
    expect(failure.message).toContain('from_the_future');
    expect(sha256File(path)).toBe(before);
  });

  it('pending migration rejected when manual', async () => {
    const path = join(folder.path, 'porchlight.db');
    const db = new Database(path);
    db.exec('CREATE TABLE unrelated (x INTEGER)');
    db.close();
    await expect(openStorage({ ...options(folder.path), migrations: { auto: false } })).rejects.toMatchObject({ code: ErrorCodes.MIGRATION_PENDING, message: expect.stringContaining(path) });
  });

  it('health CLI reports corrupt file', async () => {
    writeFileSync(join(folder.path, 'porchlight.db'), 'not a database at all');
    let out = '';
    const stdout = new Writable({ write(chunk, _encoding, callback) { out += String(chunk); callback(); } });
    const stderr = new Writable({ write(_chunk, _encoding, callback) { callback(); } });
    expect(await runCli(['--data-dir', folder.path, 'health', '--json'], { stdout, stderr })).toBe(1);
    const report = JSON.parse(out) as { healthy: boolean; code: string; problems: string[] };
    expect(report.healthy).toBe(false);
    expect(report.code).toBe(ErrorCodes.DATABASE_CORRUPT);
    expect(report.problems[0]).toContain(join(folder.path, 'porchlight.db'));
  });
});
