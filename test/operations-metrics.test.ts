import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { OPERATIONAL_METRICS } from '../src/operations/operational-metrics.js';
import { openStorage, type StorageManager, type StorageOptions } from '../src/storage-manager.js';
import { temporaryDirectory } from './helpers/reference.js';

function options(dataDirectory: string, extra: Partial<StorageOptions> = {}): StorageOptions {
  return { dataDirectory, ...extra, backup: { intervalMinutes: 0 }, cleanup: { intervalMinutes: 0 } };
}

/** Sum of the raw points of `name` with `tags` over the last day. */
function total(storage: StorageManager, name: string, tags: Record<string, string>): { count: number; sum: number } {
  const buckets = storage.metrics.history(name, { tags, start: Date.now() - 86_400_000, end: Date.now() + 60_000 });
  return { count: buckets.length, sum: buckets.reduce((sum, bucket) => sum + bucket.sum, 0) };
}

describe('operational metrics', () => {
  let folder: ReturnType<typeof temporaryDirectory>;
  let storage: StorageManager;
  beforeEach(() => {
    folder = temporaryDirectory();
  });
  afterEach(async () => {
    await storage.close();
    folder.remove();
  });

  /** Closes the storage, which writes the gathered metrics, and reopens it without recording more. */
  async function reopen(): Promise<StorageManager> {
    await storage.close();
    storage = await openStorage(options(folder.path, { operationalMetrics: false }));
    return storage;
  }

  it('counts store calls', async () => {
    storage = await openStorage(options(folder.path));
    storage.faces.addPerson({ id: 'ann', name: 'Ann', list: 'known' });
    storage.faces.addEncoding('ann', new Float32Array(8).fill(0.5));
    for (let i = 0; i < 7; i++) await storage.faces.searchFaces(new Float32Array(8).fill(0.5));
    for (let i = 0; i < 3; i++) storage.events.queryEvents({ limit: 5 });
    await reopen();
    expect(total(storage, OPERATIONAL_METRICS.queryCount, { operation: 'faces.searchFaces' }).sum).toBe(7);
    expect(total(storage, OPERATIONAL_METRICS.queryCount, { operation: 'events.queryEvents' }).sum).toBe(3);
    const latency = total(storage, OPERATIONAL_METRICS.queryDuration, { operation: 'faces.searchFaces', stat: 'max' });
    expect(latency.count).toBe(1);
    expect(latency.sum).toBeGreaterThan(0);
  });

  it('records backup outcome', async () => {
    storage = await openStorage(options(folder.path));
    const result = await storage.backupAll();
    const blocked = join(folder.path, 'not-a-folder');
    writeFileSync(blocked, 'a file where the backup folder should go');
    await expect(storage.backupAll({ destination: blocked })).rejects.toMatchObject({ code: 'BACKUP_FAILED' });
    await reopen();
    expect(total(storage, OPERATIONAL_METRICS.backupDuration, { outcome: 'ok', reason: 'manual' }).count).toBe(1);
    expect(total(storage, OPERATIONAL_METRICS.backupDuration, { outcome: 'failed', reason: 'manual' }).count).toBe(1);
    expect(total(storage, OPERATIONAL_METRICS.backupBytes, { reason: 'manual' }).sum).toBe(result.bytes);
  });

  it('records cleanup and migrations', async () => {
    storage = await openStorage(options(folder.path));
    storage.events.storeEvents([{ type: 'motion', source: 'cam', timestamp: Date.now() - 90 * 86_400_000 }, { type: 'motion', source: 'cam' }]);
    const cleanup = await storage.cleanupOldData();
    expect(cleanup.events.deleted).toBe(1);
    await reopen();
    expect(total(storage, OPERATIONAL_METRICS.cleanupDuration, { outcome: 'ok' }).count).toBe(1);
    expect(total(storage, OPERATIONAL_METRICS.cleanupRemoved, { kind: 'events' }).sum).toBe(1);
    expect(total(storage, OPERATIONAL_METRICS.migrationDuration, { store: 'events', version: '2' }).count).toBe(1);
    expect(total(storage, OPERATIONAL_METRICS.migrationDuration, {}).count).toBe(storage.migrate.status().length);
  });

  it('records database sizes', async () => {
    storage = await openStorage(options(folder.path));
    await reopen();
    expect(total(storage, OPERATIONAL_METRICS.databaseBytes, { database: 'main', file: 'db' }).sum).toBeGreaterThan(0);
    expect(total(storage, OPERATIONAL_METRICS.databaseBytes, { database: 'main', file: 'wal' }).count).toBe(1);
  });

  it('off records nothing', async () => {
    storage = await openStorage(options(folder.path, { operationalMetrics: false }));
    await storage.faces.searchFaces(new Float32Array(8).fill(0.5));
    await storage.backupAll();
    await reopen();
    expect(storage.metrics.listMetrics().filter((metric) => metric.name.startsWith('porchlight.'))).toEqual([]);
  });

  it('metric retention by resolution', async () => {
    storage = await openStorage(options(folder.path, { operationalMetrics: false }));
    const now = Date.now();
    for (let day = 0; day < 20; day++) storage.metrics.record('door.opened', 1, { type: 'counter', timestamp: now - day * 86_400_000 });
    const result = await storage.cleanupOldData({ metricDays: { raw: 5, minute: 5, hour: 5, day: null } });
    expect(result.metrics.raw).toBeGreaterThan(0);
    const raw = storage.metrics.history('door.opened', { start: now - 30 * 86_400_000, end: now + 1 });
    expect(raw.every((point) => Date.parse(point.timestamp) >= now - 5 * 86_400_000 - 3_600_000)).toBe(true);
    const days = storage.metrics.history('door.opened', { resolution: 'day', start: now - 30 * 86_400_000, end: now + 1 });
    expect(days.reduce((sum, bucket) => sum + bucket.sum, 0)).toBe(20);
  });
});
