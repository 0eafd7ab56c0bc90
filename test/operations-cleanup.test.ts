import { statSync } from 'node:fs';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ErrorCodes } from '../src/errors.js';
import { openStorage, type StorageManager, type StorageOptions } from '../src/storage-manager.js';
import { randomVectors, temporaryDirectory } from './helpers/reference.js';

function options(dataDirectory: string, extra: Partial<StorageOptions> = {}): StorageOptions {
  // Operational metrics would write points after each cleanup and grow the WAL these tests measure.
  return { dataDirectory, operationalMetrics: false, ...extra, backup: { intervalMinutes: 0, ...extra.backup }, cleanup: { intervalMinutes: 0, ...extra.cleanup } };
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
    // Cleanup writes the buffered metric points first, so the WAL may have grown a little.
    expect(result.checkpoints[0]!.walBytesBefore).toBeGreaterThanOrEqual(before);
    expect(result.checkpoints).toEqual([{ database: 'main', walBytesBefore: result.checkpoints[0]!.walBytesBefore, walBytesAfter: 0, busy: false }]);
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
    // The audit log keeps a record of every change and grows by design; everything else must not.
    const auditBytes = () => storage.database.prepare("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'audit%'").pluck().get() as number;
    let size = 0;
    let audit = 0;
    for (let round = 0; round < 12; round++) {
      enroll(storage, `r${round}-`, 60, round);
      if (round > 0) for (let i = 0; i < 60; i++) storage.faces.removePerson(`r${round - 1}-${i}`);
      const result = await storage.cleanupOldData();
      expect(result.checkpoints[0]!.walBytesAfter).toBeLessThanOrEqual(threshold);
      if (round === 2) {
        size = statSync(storage.databasePath).size;
        audit = auditBytes();
      }
    }
    // Deleted pages are reused or returned, so constant churn does not grow the rest of the file.
    expect(statSync(storage.databasePath).size - (auditBytes() - audit)).toBeLessThanOrEqual(size * 1.2);
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

  describe('event retention', () => {
    const now = new Date('2024-06-01T12:00:00.000Z');
    const DAY = 86_400_000;
    const TYPES = ['motion', 'person', 'doorbell_press', 'blacklist_match'] as const;

    /** 400 events spread over 100 days: every 6 hours one of each type, every 10th flagged keep. */
    function storeHistory(target: StorageManager): { type: string; timestamp: number; keep: boolean; id: string }[] {
      const events = [];
      for (let i = 0; i < 400; i++) {
        const type = TYPES[i % TYPES.length]!;
        const timestamp = now.getTime() - Math.floor(i / TYPES.length) * DAY - (i % TYPES.length) * 6 * 3600_000 - 60_000;
        events.push({ type, timestamp, keep: i % 10 === 0, id: `event-${i}` });
      }
      target.events.storeEvents(events.map((event) => ({ id: event.id, type: event.type, source: 'front_door', timestamp: event.timestamp, label: 'person', data: { note: `visitor ${event.id}` }, ...(event.keep ? { keep: true } : {}) })));
      return events;
    }

    it('deletes by type rules', async () => {
      storage = await openStorage(options(folder.path, { retention: { eventDays: 30, eventTypeDays: { motion: 7, blacklist_match: null, doorbell_press: 60 } }, cleanup: { chunkSize: 7 } }));
      const events = storeHistory(storage);
      const result = await storage.cleanupOldData({ now });

      const days: Record<string, number | null> = { motion: 7, person: 30, doorbell_press: 60, blacklist_match: null };
      const expired = events.filter((event) => !event.keep && days[event.type] !== null && event.timestamp < now.getTime() - days[event.type]! * DAY);
      const byType: Record<string, number> = {};
      for (const event of expired) byType[event.type] = (byType[event.type] ?? 0) + 1;
      expect(result.events.deleted).toBe(expired.length);
      expect(result.events.byType).toEqual(byType);
      const remaining = new Set(storage.events.queryEvents({ limit: 10_000 }).events.map((event) => event.id));
      expect(events.filter((event) => !remaining.has(event.id)).map((event) => event.id).sort()).toEqual(expired.map((event) => event.id).sort());
    });

    it('keep wins over every rule', async () => {
      storage = await openStorage(options(folder.path, { retention: { eventDays: 1, eventTypeDays: { motion: 1 } } }));
      const events = storeHistory(storage);
      await storage.cleanupOldData({ now });
      const kept = events.filter((event) => event.keep);
      for (const event of kept) expect(storage.events.getEvent(event.id)?.keep).toBe(true);
      expect(storage.events.countEvents({ keep: false, end: now.getTime() - DAY })).toBe(0);
    });

    it('deletes in bounded chunks', async () => {
      storage = await openStorage(options(folder.path, { retention: { eventDays: 10 }, cleanup: { chunkSize: 5 } }));
      storeHistory(storage);
      const result = await storage.cleanupOldData({ now });
      // 4 types, each with about 90 expired events in chunks of 5, plus one final empty pass per type.
      expect(result.events.chunks).toBeGreaterThanOrEqual(Math.ceil(result.events.deleted / 5));
      expect(result.events.deleted).toBeGreaterThan(300);
    });

    it('search and statistics follow', async () => {
      storage = await openStorage(options(folder.path, { retention: { eventDays: 50 } }));
      const events = storeHistory(storage);
      const deleted = events.find((event) => !event.keep && event.timestamp < now.getTime() - 60 * DAY)!;
      const search = `visitor ${deleted.id}`;
      expect(storage.events.countEvents({ search })).toBe(1);
      await storage.cleanupOldData({ now });
      expect(storage.events.countEvents({ search })).toBe(0);
      const statistics = storage.events.getEventStatistics({ start: now.getTime() - 100 * DAY, end: now.getTime(), bucket: 'day' });
      const total = Object.values(statistics.byType).reduce((sum, count) => sum + count, 0);
      expect(total).toBe(storage.events.countEvents({}));
    });

    it('policy overrides type days', async () => {
      storage = await openStorage(options(folder.path, { retention: { eventDays: null } }));
      const events = storeHistory(storage);
      const result = await storage.cleanupOldData({ now, eventTypeDays: { person: 20 } });
      expect(result.events.byType).toEqual({ person: events.filter((event) => event.type === 'person' && !event.keep && event.timestamp < now.getTime() - 20 * DAY).length });
    });
  });
});
