import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ErrorCodes } from '../src/errors.js';
import { ROLLUP_WIDTHS } from '../src/metrics/resolutions.js';
import { toIsoString } from '../src/metrics/timestamp.js';
import { DATABASE_FILE, openStorage, type StorageManager, type StorageOptions } from '../src/storage-manager.js';
import { randomGenerator, temporaryDirectory } from './helpers/reference.js';

const T0 = Date.UTC(2024, 2, 10, 22, 0, 0);
const DAY = 86_400_000;

interface RawPoint {
  time: number;
  value: number;
  camera: string;
}

interface ReferenceBucket {
  timestamp: string;
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** Count, sum, min and max per bucket, computed from the raw points the test recorded. */
function referenceBuckets(points: RawPoint[], width: number, start: number, end: number): ReferenceBucket[] {
  const first = start - (start % width);
  const buckets = new Map<number, ReferenceBucket>();
  for (const point of points) {
    const bucket = point.time - (point.time % width);
    if (bucket < first || bucket >= end) continue;
    const entry = buckets.get(bucket) ?? { timestamp: toIsoString(bucket), count: 0, sum: 0, min: Infinity, max: -Infinity };
    entry.count += 1;
    entry.sum += point.value;
    entry.min = Math.min(entry.min, point.value);
    entry.max = Math.max(entry.max, point.value);
    buckets.set(bucket, entry);
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([, entry]) => entry);
}

function expectBuckets(actual: { timestamp: string; count: number; sum: number; min: number; max: number; average: number }[], expected: ReferenceBucket[]): void {
  expect(actual.map((bucket) => bucket.timestamp)).toEqual(expected.map((bucket) => bucket.timestamp));
  expect(actual.map((bucket) => bucket.count)).toEqual(expected.map((bucket) => bucket.count));
  expect(actual.map((bucket) => bucket.min)).toEqual(expected.map((bucket) => bucket.min));
  expect(actual.map((bucket) => bucket.max)).toEqual(expected.map((bucket) => bucket.max));
  actual.forEach((bucket, i) => {
    expect(bucket.sum).toBeCloseTo(expected[i]!.sum, 6);
    expect(bucket.average).toBeCloseTo(expected[i]!.sum / expected[i]!.count, 6);
  });
}

/** Random points of two cameras over three days, shuffled so flushes see them out of order. */
function randomPoints(count: number, seed: number): RawPoint[] {
  const next = randomGenerator(seed);
  const points = Array.from({ length: count }, () => ({
    time: T0 + Math.floor(next() * 3 * DAY),
    value: Math.round((next() * 200 - 100) * 1000) / 1000,
    camera: next() < 0.5 ? 'front' : 'back',
  }));
  // A few points share a time, which the raw order must keep in recording order.
  points.push({ ...points[0]!, value: 1.5 }, { ...points[0]!, value: -2.5 });
  return points;
}

describe('metrics', () => {
  let directory: { path: string; remove: () => void };
  const opened: StorageManager[] = [];

  async function open(options: Omit<StorageOptions, 'dataDirectory'> = {}): Promise<StorageManager> {
    const storage = await openStorage({ dataDirectory: directory.path, ...options });
    opened.push(storage);
    return storage;
  }

  function storedPointCount(): number {
    const db = new Database(join(directory.path, DATABASE_FILE), { readonly: true });
    try {
      return (db.prepare('SELECT coalesce(sum(count), 0) AS n FROM metric_blocks').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  beforeEach(() => {
    directory = temporaryDirectory();
  });

  afterEach(async () => {
    vi.useRealTimers();
    for (const storage of opened.splice(0)) await storage.close();
    directory.remove();
  });

  it('rollups match raw reference', async () => {
    const points = randomPoints(3000, 7);
    const storage = await open({ metrics: { flushSize: 97 } });
    for (const point of points) storage.metrics.record('door.motion', point.value, { tags: { camera: point.camera }, timestamp: point.time });
    await storage.close();

    const reopened = await open();
    const start = T0 + 5 * 60_000 + 17;
    const end = T0 + 2 * DAY + 30_000;
    for (const resolution of ['minute', 'hour', 'day'] as const) {
      const width = ROLLUP_WIDTHS[resolution];
      expectBuckets(reopened.metrics.history('door.motion', { start, end, resolution }), referenceBuckets(points, width, start, end));
      const front = points.filter((point) => point.camera === 'front');
      expectBuckets(reopened.metrics.history('door.motion', { start, end, resolution, tags: { camera: 'front' } }), referenceBuckets(front, width, start, end));
    }
  });

  it('raw history in time order', async () => {
    const points = randomPoints(500, 11);
    const storage = await open({ metrics: { flushSize: 50 } });
    for (const point of points) storage.metrics.record('door.motion', point.value, { tags: { camera: point.camera }, timestamp: new Date(point.time) });

    const start = T0 + DAY;
    const end = T0 + 2 * DAY;
    const expected = points
      .map((point, order) => ({ ...point, order }))
      .filter((point) => point.time >= start && point.time < end)
      .sort((a, b) => a.time - b.time || a.order - b.order);
    const history = storage.metrics.history('door.motion', { start: toIsoString(start), end, resolution: 'raw' });
    expect(history.map((bucket) => bucket.timestamp)).toEqual(expected.map((point) => toIsoString(point.time)));
    expect(history.map((bucket) => bucket.average)).toEqual(expected.map((point) => point.value));
  });

  it('raw range start inclusive end exclusive', async () => {
    const storage = await open();
    for (const offset of [-1, 0, 1, 999, 1000]) storage.metrics.record('bell', offset, { timestamp: T0 + offset });
    const history = storage.metrics.history('bell', { start: T0, end: T0 + 1000 });
    expect(history.map((bucket) => bucket.sum)).toEqual([0, 1, 999]);
  });

  it('tags select series by subset', async () => {
    const storage = await open();
    storage.metrics.record('fps', 5, { tags: { camera: 'front', zone: 'porch' }, timestamp: T0 });
    storage.metrics.record('fps', 7, { tags: { zone: 'yard', camera: 'front' }, timestamp: T0 + 1 });
    storage.metrics.record('fps', 11, { tags: { camera: 'back', zone: 'porch' }, timestamp: T0 + 2 });
    const range = { start: T0, end: T0 + 60_000, resolution: 'minute' as const };
    expect(storage.metrics.history('fps', { ...range, tags: { camera: 'front' } }).map((bucket) => bucket.sum)).toEqual([12]);
    expect(storage.metrics.history('fps', { ...range, tags: { zone: 'porch' } }).map((bucket) => bucket.sum)).toEqual([16]);
    expect(storage.metrics.history('fps', { ...range, tags: { zone: 'porch', camera: 'back' } }).map((bucket) => bucket.sum)).toEqual([11]);
    expect(storage.metrics.history('fps', { ...range, tags: { camera: 'side' } })).toEqual([]);
    expect(storage.metrics.history('no.such.metric', range)).toEqual([]);
  });

  it('small flushes share a block', async () => {
    const storage = await open({ metrics: { flushIntervalMs: 3_600_000 } });
    const next = randomGenerator(13);
    const recorded: { time: number; value: number; order: number }[] = [];
    // 1,100 flushes of one point each within one hour, in random order with repeated times.
    for (let order = 0; order < 1100; order++) {
      const time = T0 + Math.floor(next() * 600) * 1000;
      storage.metrics.record('load', order, { timestamp: time });
      storage.metrics.flush();
      recorded.push({ time, value: order, order });
    }
    const blocks = storage.database.prepare('SELECT count FROM metric_blocks ORDER BY rowid').pluck().all();
    expect(blocks).toEqual([1024, 76]);
    const expected = recorded.sort((a, b) => a.time - b.time || a.order - b.order);
    const raw = storage.metrics.history('load', { start: T0, end: T0 + 3_600_000 });
    expect(raw.map((point) => point.timestamp)).toEqual(expected.map((point) => toIsoString(point.time)));
    expect(raw.map((point) => point.sum)).toEqual(expected.map((point) => point.value));
  });

  it('flushes when buffer is full', async () => {
    const storage = await open({ metrics: { flushSize: 10, flushIntervalMs: 3_600_000 } });
    for (let i = 0; i < 9; i++) storage.metrics.record('load', i, { timestamp: T0 + i });
    expect(storage.metrics.pending).toBe(9);
    expect(storedPointCount()).toBe(0);
    storage.metrics.record('load', 9, { timestamp: T0 + 9 });
    expect(storage.metrics.pending).toBe(0);
    expect(storedPointCount()).toBe(10);
  });

  it('flushes after the interval', async () => {
    const storage = await open({ metrics: { flushSize: 1000, flushIntervalMs: 250 } });
    vi.useFakeTimers();
    storage.metrics.record('load', 1, { timestamp: T0 });
    storage.metrics.record('load', 2, { timestamp: T0 + 1 });
    vi.advanceTimersByTime(249);
    expect(storedPointCount()).toBe(0);
    vi.advanceTimersByTime(1);
    expect(storage.metrics.pending).toBe(0);
    expect(storedPointCount()).toBe(2);
  });

  it('failed flush keeps points', async () => {
    const storage = await open({ metrics: { flushSize: 4, flushIntervalMs: 3_600_000 } });
    storage.metrics.record('load', 0, { timestamp: T0 });
    storage.database.exec("CREATE TRIGGER fail_blocks BEFORE INSERT ON metric_blocks BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    for (let i = 1; i < 4; i++) storage.metrics.record('load', i, { timestamp: T0 + i });
    expect(storage.metrics.pending).toBe(4);
    expect(() => storage.metrics.record('load', 4, { timestamp: T0 + 4 })).toThrow(expect.objectContaining({ code: ErrorCodes.DATABASE_ERROR }));
    expect(() => storage.metrics.flush()).toThrow(/disk full/);
    expect(storage.metrics.pending).toBe(4);
    storage.database.exec('DROP TRIGGER fail_blocks');
    expect(storage.metrics.flush()).toBe(4);
    expect(storage.metrics.history('load', { start: T0, end: T0 + 10 }).map((bucket) => bucket.sum)).toEqual([0, 1, 2, 3]);
  });

  it('close writes buffered points', async () => {
    const storage = await open({ metrics: { flushSize: 1000, flushIntervalMs: 3_600_000 } });
    for (let i = 0; i < 5; i++) storage.metrics.record('load', i, { timestamp: T0 + i });
    await storage.close();
    expect(storedPointCount()).toBe(5);
    const reopened = await open();
    expect(reopened.metrics.history('load', { start: T0, end: T0 + 10 }).length).toBe(5);
  });

  it('flush returns points written', async () => {
    const storage = await open({ metrics: { flushIntervalMs: 3_600_000 } });
    storage.metrics.record('load', 1, { timestamp: T0 });
    expect(storage.metrics.flush()).toBe(1);
    expect(storage.metrics.flush()).toBe(0);
  });

  it('latest and listMetrics', async () => {
    const storage = await open();
    storage.metrics.record('temp', 20, { tags: { room: 'hall' }, timestamp: T0 + 10 });
    storage.metrics.record('temp', 21, { tags: { room: 'hall' }, timestamp: T0 + 5 });
    storage.metrics.record('temp', 18, { tags: { room: 'porch' }, timestamp: T0 + 7 });
    storage.metrics.record('detections', 1, { type: 'counter', timestamp: T0 });

    expect(storage.metrics.latest('temp')).toEqual({ timestamp: toIsoString(T0 + 10), value: 20, tags: { room: 'hall' } });
    expect(storage.metrics.latest('temp', { tags: { room: 'porch' } })).toEqual({ timestamp: toIsoString(T0 + 7), value: 18, tags: { room: 'porch' } });
    expect(storage.metrics.latest('nothing')).toBeUndefined();
    expect(storage.metrics.listMetrics()).toEqual([
      { name: 'detections', type: 'counter', series: [{ tags: {}, lastTimestamp: toIsoString(T0), lastValue: 1 }] },
      { name: 'temp', type: 'gauge', series: [
        { tags: { room: 'hall' }, lastTimestamp: toIsoString(T0 + 10), lastValue: 20 },
        { tags: { room: 'porch' }, lastTimestamp: toIsoString(T0 + 7), lastValue: 18 },
      ] },
    ]);
  });

  it('counter keeps its type', async () => {
    const storage = await open();
    storage.metrics.record('presses', 1, { type: 'counter', timestamp: T0 });
    storage.metrics.record('presses', 2, { timestamp: T0 + 1 });
    expect(storage.metrics.listMetrics()[0]!.type).toBe('counter');
    expect(storage.metrics.history('presses', { start: T0, end: T0 + 60_000, resolution: 'minute' })[0]!.sum).toBe(3);
  });

  it('retention boundaries per resolution', async () => {
    const now = Date.UTC(2024, 5, 20, 12, 30, 0);
    const retention = { raw: 1, minute: 2, hour: 3, day: 5 };
    const storage = await open({ metrics: { retention, retentionChunkSize: 2, flushSize: 5000 } });
    const rawCutoff = now - DAY;
    // Raw points on both sides of the cutoff, all in one UTC hour, so one block straddles it.
    const rawTimes = [rawCutoff - 60_000, rawCutoff - 1, rawCutoff, rawCutoff + 1, rawCutoff + 60_000];
    for (const time of rawTimes) storage.metrics.record('m', 1, { timestamp: time });
    // One point per minute for six days, to leave rollups on both sides of every cutoff.
    for (let time = now - 6 * DAY; time < now; time += 60_000) storage.metrics.record('m', 2, { timestamp: time });
    storage.metrics.flush();
    const before = {
      raw: storage.metrics.history('m', { start: now - 7 * DAY, end: now, resolution: 'raw' }).length,
    };

    const deleted = await storage.metrics.applyRetention(now);

    const raw = storage.metrics.history('m', { start: now - 7 * DAY, end: now, resolution: 'raw' });
    expect(raw[0]!.timestamp).toBe(toIsoString(rawCutoff));
    expect(raw.filter((point) => point.sum === 1).map((point) => point.timestamp)).toEqual([rawCutoff, rawCutoff + 1, rawCutoff + 60_000].map(toIsoString));
    expect(deleted.raw).toBe(before.raw - raw.length);
    for (const [resolution, days] of [['minute', 2], ['hour', 3], ['day', 5]] as const) {
      const width = ROLLUP_WIDTHS[resolution];
      const cutoff = now - days * DAY;
      const buckets = storage.metrics.history('m', { start: now - 7 * DAY, end: now, resolution });
      // The oldest bucket kept is the first that ends after the cutoff.
      const firstKept = cutoff - (cutoff % width);
      expect(buckets[0]!.timestamp).toBe(toIsoString(firstKept));
      expect(Date.parse(buckets[0]!.timestamp) + width).toBeGreaterThan(cutoff);
    }
    expect(deleted.minute).toBe(4 * 24 * 60);
    expect(deleted.hour).toBe(3 * 24);
    expect(deleted.day).toBe(1);
    await storage.close();
    const reopened = await open();
    expect(reopened.metrics.history('m', { start: now - 7 * DAY, end: now, resolution: 'raw' }).length).toBe(raw.length);
  });

  it('retention keeps forever when null', async () => {
    const storage = await open({ metrics: { retention: { raw: null, minute: null, hour: null, day: null } } });
    storage.metrics.record('m', 1, { timestamp: T0 });
    expect(await storage.metrics.applyRetention(T0 + 1000 * DAY)).toEqual({ raw: 0, minute: 0, hour: 0, day: 0 });
    expect(storage.metrics.history('m', { start: T0, end: T0 + 1 }).length).toBe(1);
  });

  describe('bad input', () => {
    const cases: [string, (storage: StorageManager) => unknown, string][] = [
      ['NaN value', (s) => s.metrics.record('m', Number.NaN), ErrorCodes.INVALID_ARGUMENT],
      ['infinite value', (s) => s.metrics.record('m', Number.POSITIVE_INFINITY), ErrorCodes.INVALID_ARGUMENT],
      ['string value', (s) => s.metrics.record('m', '3' as unknown as number), ErrorCodes.INVALID_ARGUMENT],
      ['empty name', (s) => s.metrics.record('', 1), ErrorCodes.INVALID_ARGUMENT],
      ['name with space', (s) => s.metrics.record('door motion', 1), ErrorCodes.INVALID_ARGUMENT],
      ['numeric tag value', (s) => s.metrics.record('m', 1, { tags: { camera: 3 as unknown as string } }), ErrorCodes.INVALID_ARGUMENT],
      ['nested tag value', (s) => s.metrics.record('m', 1, { tags: { camera: { id: 'x' } as unknown as string } }), ErrorCodes.INVALID_ARGUMENT],
      ['empty tag value', (s) => s.metrics.record('m', 1, { tags: { camera: '' } }), ErrorCodes.INVALID_ARGUMENT],
      ['tags as array', (s) => s.metrics.record('m', 1, { tags: ['front'] as unknown as Record<string, string> }), ErrorCodes.INVALID_ARGUMENT],
      ['tags as Map', (s) => s.metrics.record('m', 1, { tags: new Map() as unknown as Record<string, string> }), ErrorCodes.INVALID_ARGUMENT],
      ['bad tag key', (s) => s.metrics.record('m', 1, { tags: { 'a b': 'x' } }), ErrorCodes.INVALID_ARGUMENT],
      ['timestamp in seconds', (s) => s.metrics.record('m', 1, { timestamp: 1_700_000_000 }), ErrorCodes.INVALID_TIMESTAMP],
      ['timestamp in microseconds', (s) => s.metrics.record('m', 1, { timestamp: 1_700_000_000_000_000 }), ErrorCodes.INVALID_TIMESTAMP],
      ['timestamp without zone', (s) => s.metrics.record('m', 1, { timestamp: '2024-01-01T10:00:00' }), ErrorCodes.INVALID_TIMESTAMP],
      ['timestamp not a date', (s) => s.metrics.record('m', 1, { timestamp: 'yesterday' }), ErrorCodes.INVALID_TIMESTAMP],
      ['invalid Date', (s) => s.metrics.record('m', 1, { timestamp: new Date('nope') }), ErrorCodes.INVALID_TIMESTAMP],
      ['NaN timestamp', (s) => s.metrics.record('m', 1, { timestamp: Number.NaN }), ErrorCodes.INVALID_TIMESTAMP],
      ['unknown type', (s) => s.metrics.record('m', 1, { type: 'histogram' as 'gauge' }), ErrorCodes.INVALID_ARGUMENT],
      ['unknown option', (s) => s.metrics.record('m', 1, { time: T0 } as never), ErrorCodes.INVALID_ARGUMENT],
      ['negative counter', (s) => s.metrics.record('m', -1, { type: 'counter' }), ErrorCodes.INVALID_ARGUMENT],
      ['unknown resolution', (s) => s.metrics.history('m', { resolution: 'week' as 'day' }), ErrorCodes.INVALID_ARGUMENT],
      ['end before start', (s) => s.metrics.history('m', { start: T0 + 1, end: T0 }), ErrorCodes.INVALID_TIME_RANGE],
      ['history bad tags', (s) => s.metrics.history('m', { tags: { camera: 1 as unknown as string } }), ErrorCodes.INVALID_ARGUMENT],
      ['history bad start', (s) => s.metrics.history('m', { start: 'last week' }), ErrorCodes.INVALID_TIMESTAMP],
      ['retention bad now', (s) => s.metrics.applyRetention(-5), ErrorCodes.INVALID_TIMESTAMP],
    ];
    for (const [name, call, code] of cases) {
      it(`rejects ${name}`, async () => {
        const storage = await open();
        let error: unknown;
        try {
          await call(storage);
        } catch (caught) {
          error = caught;
        }
        expect((error as { code?: string })?.code).toBe(code);
        expect(storage.metrics.pending).toBe(0);
        expect(storage.metrics.listMetrics()).toEqual([]);
      });
    }

    it('rejects type mismatch', async () => {
      const storage = await open();
      storage.metrics.record('m', 1, { type: 'gauge', timestamp: T0 });
      expect(() => storage.metrics.record('m', 1, { type: 'counter', timestamp: T0 })).toThrow(expect.objectContaining({ code: ErrorCodes.METRIC_TYPE_MISMATCH }));
      expect(() => storage.metrics.record('m', 1, { type: 'counter', tags: { a: 'b' }, timestamp: T0 })).toThrow(expect.objectContaining({ code: ErrorCodes.METRIC_TYPE_MISMATCH }));
      expect(storage.metrics.pending).toBe(1);
      expect(storage.metrics.listMetrics()[0]!.series.length).toBe(1);
    });

    it('rejects too many series', async () => {
      const storage = await open({ metrics: { maxSeries: 2 } });
      storage.metrics.record('m', 1, { tags: { id: 'a' } });
      storage.metrics.record('m', 1, { tags: { id: 'b' } });
      expect(() => storage.metrics.record('m', 1, { tags: { id: 'c' } })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_ARGUMENT }));
      expect(storage.metrics.pending).toBe(2);
    });

    it('rejects oversized history', async () => {
      const storage = await open({ metrics: { maxHistoryPoints: 3 } });
      for (let i = 0; i < 4; i++) storage.metrics.record('m', i, { timestamp: T0 + i });
      expect(() => storage.metrics.history('m', { start: T0, end: T0 + 10 })).toThrow(expect.objectContaining({ code: ErrorCodes.RESULT_TOO_LARGE }));
      expect(storage.metrics.history('m', { start: T0, end: T0 + 3 }).length).toBe(3);
    });

    it('rejects use after close', async () => {
      const storage = await open();
      await storage.close();
      expect(() => storage.metrics.record('m', 1)).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
      expect(() => storage.metrics.history('m')).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
    });

    it('rejects bad options', async () => {
      await expect(open({ metrics: { flushSize: 0 } })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
      await expect(open({ metrics: { flushIntervalMs: 1.5 } })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
      await expect(open({ metrics: { flushSise: 10 } as never })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
      await expect(open({ metrics: { retention: { raw: -1 } } })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
      await expect(open({ metrics: { retention: { week: 3 } as never } })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    });
  });

  it('formats ISO like Date', () => {
    const next = randomGenerator(3);
    for (let i = 0; i < 10_000; i++) {
      const ms = Math.floor(Date.UTC(2000, 0, 1) + next() * (Date.UTC(2100, 0, 1) - Date.UTC(2000, 0, 1)));
      expect(toIsoString(ms)).toBe(new Date(ms).toISOString());
    }
  });
});
