import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { openStorage, type StorageManager, type StorageOptions } from '../src/storage-manager.js';
import { randomVectors, temporaryDirectory } from './helpers/reference.js';

function options(dataDirectory: string, extra: Partial<StorageOptions> = {}): StorageOptions {
  return { dataDirectory, ...extra, backup: { intervalMinutes: 0, ...extra.backup }, cleanup: { intervalMinutes: 0, ...extra.cleanup } };
}

async function populated(dataDirectory: string, extra: Partial<StorageOptions> = {}): Promise<StorageManager> {
  const storage = await openStorage(options(dataDirectory, extra));
  const vectors = randomVectors(300, 32, 11);
  storage.faces.enrollMany(Array.from({ length: 150 }, (_, i) => ({ person: { id: `p${i}`, name: `P ${i}`, list: 'known' as const }, encodings: [vectors[2 * i]!, vectors[2 * i + 1]!] })));
  storage.faces.addPerson({ id: 'arc', name: 'Arc', list: 'blacklist' });
  storage.faces.addEncoding('arc', Float64Array.from(vectors[0]!, (value) => value * 1.000000123), { model: 'arcface' });
  return storage;
}

describe('healthCheck', () => {
  let folder: ReturnType<typeof temporaryDirectory>;
  let storage: StorageManager;
  beforeEach(async () => {
    folder = temporaryDirectory();
    storage = await populated(folder.path, { faces: { models: { arcface: 'cosine' } } });
  });
  afterEach(async () => {
    await storage.close();
    folder.remove();
  });

  it('fresh storage is healthy', async () => {
    const report = await storage.healthCheck();
    expect(report.healthy).toBe(true);
    expect(report.problems).toEqual([]);
    const [main] = report.databases;
    expect(main!.reachable).toBe(true);
    expect(main!.quickCheck).toBe('ok');
    expect(main!.sizeBytes).toBeGreaterThan(0);
    expect(main!.walBytes).toBeGreaterThan(0);
    expect(main!.freeDiskBytes).toBeGreaterThan(0);
    expect(main!.schema).toEqual([
      { store: 'faces', version: 1, latestVersion: 1, pending: [], changed: [], unknown: [] },
      { store: 'events', version: 3, latestVersion: 3, pending: [], changed: [], unknown: [] },
      { store: 'metrics', version: 1, latestVersion: 1, pending: [], changed: [], unknown: [] },
      { store: 'config', version: 1, latestVersion: 1, pending: [], changed: [], unknown: [] },
      { store: 'audit', version: 1, latestVersion: 1, pending: [], changed: [], unknown: [] },
    ]);
    expect(report.faceIndex.map((model) => [model.model, model.indexRows, model.tableRows, model.matches])).toEqual([['arcface', 1, 1, true], ['default', 300, 300, true]]);
    expect(report.faceIndex[1]!.indexChecksum).toBe(report.faceIndex[1]!.tableChecksum);
    expect(report.backups.lastBackupAt).toBeUndefined();
    expect(report.warnings.join(' ')).toContain('no backup');
  });

  it('row behind index detected', async () => {
    storage.database.prepare("INSERT INTO encodings (person_id, model, dimension, vector, created_at) VALUES ('p1', 'default', 32, ?, 0)").run(Buffer.alloc(128));
    const report = await storage.healthCheck();
    expect(report.healthy).toBe(false);
    const model = report.faceIndex.find((entry) => entry.model === 'default')!;
    expect(model.tableRows).toBe(301);
    expect(model.indexRows).toBe(300);
    expect(model.indexChecksum).not.toBe(model.tableChecksum);
    expect(report.problems.join(' ')).toContain('"default"');
  });

  it('changed vector detected', async () => {
    storage.database.prepare('UPDATE encodings SET vector = ? WHERE id = 7').run(Buffer.from(new Float32Array(32).fill(0.25).buffer));
    const model = (await storage.healthCheck()).faceIndex.find((entry) => entry.model === 'default')!;
    expect(model.indexChecksum).toBe(model.tableChecksum);
    expect(model.vectorMismatches).toBe(1);
    expect(model.matches).toBe(false);
  });

  it('pending migration reported', async () => {
    storage.database.prepare("DELETE FROM schema_migrations WHERE store = 'faces'").run();
    const report = await storage.healthCheck();
    expect(report.healthy).toBe(false);
    expect(report.databases[0]!.schema[0]).toEqual({ store: 'faces', version: 0, latestVersion: 1, pending: ['0001_create_faces'], changed: [], unknown: [] });
  });

  it('damaged page fails quick_check', async () => {
    storage.database.pragma('wal_checkpoint(TRUNCATE)');
    const pages = storage.database.prepare("SELECT pageno FROM dbstat WHERE name = 'encodings_person' ORDER BY pageno").pluck().all() as number[];
    const pageSize = storage.database.pragma('page_size', { simple: true }) as number;
    const fd = openSync(storage.databasePath, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (pages[0]! - 1) * pageSize);
    closeSync(fd);
    const report = await storage.healthCheck();
    expect(report.healthy).toBe(false);
    expect(report.databases[0]!.quickCheck).not.toBe('ok');
  });

  it('low disk space reported', async () => {
    await storage.close();
    storage = await openStorage(options(folder.path, { health: { minFreeDiskBytes: Number.MAX_SAFE_INTEGER } }));
    const report = await storage.healthCheck();
    expect(report.healthy).toBe(false);
    expect(report.problems.join(' ')).toContain('health.minFreeDiskBytes');
  });

  it('old backup reported when scheduled', async () => {
    const backup = await storage.backupAll();
    await storage.close();
    const manifestPath = join(backup.path, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { createdAt: string };
    manifest.createdAt = new Date(Date.now() - 3 * 3600_000).toISOString();
    writeFileSync(manifestPath, JSON.stringify(manifest));

    storage = await openStorage({ dataDirectory: folder.path, backup: { intervalMinutes: 60 }, cleanup: { intervalMinutes: 0 } });
    const report = await storage.healthCheck();
    expect(report.backups.lastBackupPath).toBe(backup.path);
    expect(report.backups.secondsSinceLastBackup).toBeGreaterThan(3 * 3600 - 60);
    expect(report.healthy).toBe(false);
    expect(report.problems.join(' ')).toContain('twice backup.intervalMinutes');
  });

  it('recent backup is healthy', async () => {
    await storage.backupAll();
    const report = await storage.healthCheck();
    expect(report.backups.secondsSinceLastBackup).toBeLessThan(600);
    expect(report.warnings).toEqual([]);
  });
});
