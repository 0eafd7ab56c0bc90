import { statSync } from 'node:fs';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ErrorCodes } from '../src/errors.js';
import { openStorage, type StorageManager, type StorageOptions } from '../src/storage-manager.js';
import { randomVectors, temporaryDirectory } from './helpers/reference.js';

function options(dataDirectory: string, extra: Partial<StorageOptions> = {}): StorageOptions {
  return { dataDirectory, ...extra, backup: { intervalMinutes: 0, ...extra.backup }, cleanup: { intervalMinutes: 0, ...extra.cleanup } };
}

/** Enrolls `count` persons with two 256-float encodings each: about 2 KiB of incompressible data per person. */
function enroll(storage: StorageManager, prefix: string, count: number, seed: number): void {
  const vectors = randomVectors(count * 2, 256, seed);
  storage.faces.enrollMany(Array.from({ length: count }, (_, i) => ({ person: { id: `${prefix}${i}`, name: prefix, list: 'known' as const }, encodings: [vectors[2 * i]!, vectors[2 * i + 1]!] })));
}

function walBytes(storage: StorageManager): number {
  try {
    return statSync(`${storage.databasePath}-wal`).size;
  } catch {
    return 0;
  }
}

describe('cleanupOldData', () => {
  let folder: ReturnType<typeof temporaryDirectory>;
  let storage: StorageManager;
  beforeEach(() => {
    folder = temporaryDirectory();
  });
  afterEach(async () => {
    await storage.close();
    folder.remove();
  });

  it('truncates WAL past threshold', async () => {
    storage = await openStorage(options(folder.path, { cleanup: { walCheckpointBytes: 64 * 1024 } }));
    enroll(storage, 'a', 200, 1);
    const before = walBytes(storage);
    expect(before).toBeGreaterThan(64 * 1024);
    const result = await storage.cleanupOldData();
    expect(result.checkpoints).toEqual([{ database: 'main', walBytesBefore: before, walBytesAfter: 0, busy: false }]);
    expect(walBytes(storage)).toBe(0);
  });

  it('leaves small WAL alone', async () => {
    storage = await openStorage(options(folder.path, { cleanup: { walCheckpointBytes: 64 * 1024 * 1024 } }));
    enroll(storage, 'a', 20, 1);
    const before = walBytes(storage);
    const result = await storage.cleanupOldData();
    expect(result.checkpoints[0]!.walBytesAfter).toBe(before);
    expect(walBytes(storage)).toBe(before);
  });

  it('deleted rows give disk back', async () => {
    storage = await openStorage(options(folder.path, { durability: 'normal', cleanup: { walCheckpointBytes: 0 } }));
    enroll(storage, 'a', 600, 2);
    await storage.cleanupOldData();
    const full = statSync(storage.databasePath).size;
    for (let i = 0; i < 500; i++) storage.faces.removePerson(`a${i}`);
    const result = await storage.cleanupOldData();
    expect(result.vacuum[0]!.mode).toBe('incremental');
    expect(result.vacuum[0]!.pagesFreed).toBeGreaterThan(0);
    expect(storage.database.pragma('freelist_count', { simple: true })).toBe(0);
    const after = statSync(storage.databasePath).size;
    expect(full - after).toBe(result.vacuum[0]!.bytesFreed);
    expect(after).toBeLessThan(full / 2);
    expect(storage.faces.indexOf()!.size).toBe(200);
  });

  it('WAL bounded under churn', async () => {
    const threshold = 128 * 1024;
    storage = await openStorage(options(folder.path, { durability: 'normal', cleanup: { walCheckpointBytes: threshold } }));
    let size = 0;
    for (let round = 0; round < 12; round++) {
      enroll(storage, `r${round}-`, 60, round);
      if (round > 0) for (let i = 0; i < 60; i++) storage.faces.removePerson(`r${round - 1}-${i}`);
      const result = await storage.cleanupOldData();
      expect(result.checkpoints[0]!.walBytesAfter).toBeLessThanOrEqual(threshold);
      if (round === 2) size = statSync(storage.databasePath).size;
    }
    // Deleted pages are reused or returned, so constant churn does not grow the file.
    expect(statSync(storage.databasePath).size).toBeLessThanOrEqual(size * 1.5);
  });

  it('policy keeps fewer backups', async () => {
    storage = await openStorage(options(folder.path));
    const paths = [];
    for (let i = 0; i < 3; i++) paths.push((await storage.backupAll()).path);
    const result = await storage.cleanupOldData({ backupsKept: 1 });
    expect(result.backupsRemoved.sort()).toEqual([paths[0], paths[1]].sort());
    expect(storage.listBackups().map((entry) => entry.path)).toEqual([paths[2]]);
    expect(result.policy.backupsKept).toBe(1);
  });

  it('policy overrides merge', async () => {
    storage = await openStorage(options(folder.path, { retention: { eventDays: 30, eventTypeDays: { motion: 7 } } }));
    const now = new Date('2024-06-01T00:00:00Z');
    const result = await storage.cleanupOldData({ eventTypeDays: { doorbell_press: null }, metricDays: { raw: 1 }, now });
    expect(result.policy.eventDays).toBe(30);
    expect(result.policy.eventTypeDays).toEqual({ motion: 7, doorbell_press: null });
    expect(result.policy.metricDays.raw).toBe(1);
    expect(result.policy.now).toBe(now);
  });

  const badPolicies: [string, Record<string, unknown>][] = [
    ['eventDayz', { eventDayz: 3 }],
    ['eventDays', { eventDays: -1 }],
    ['eventTypeDays.motion', { eventTypeDays: { motion: '7' } }],
    ['metricDays.weekly', { metricDays: { weekly: 3 } }],
    ['backupsKept', { backupsKept: 0 }],
    ['now', { now: 'yesterday' }],
  ];
  for (const [key, policy] of badPolicies) {
    it(`rejects policy ${key}`, async () => {
      storage = await openStorage(options(folder.path));
      await expect(storage.cleanupOldData(policy as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT, details: { key } });
    });
  }
});
