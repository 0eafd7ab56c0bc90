import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openStorage, type EventStatistics, type StorageManager } from '../src/index.js';
import { expectStatistics, referenceStatistics } from './helpers/event-statistics.js';
import { generateEvents, toNewEvent, type GeneratedEvent } from './helpers/events.js';
import { temporaryDirectory } from './helpers/reference.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Ten days around each 2026 daylight-saving change in Europe. */
const SPRING = Date.UTC(2026, 2, 24);
const AUTUMN = Date.UTC(2026, 9, 20);

describe('getEventStatistics', () => {
  const folder = temporaryDirectory();
  let storage: StorageManager;
  let events: GeneratedEvent[];

  beforeAll(async () => {
    storage = await openStorage({ dataDirectory: folder.path });
    events = [...generateEvents(2000, 21, 10 * DAY, SPRING), ...generateEvents(2000, 22, 10 * DAY, AUTUMN)];
    storage.events.storeEvents(events.map(toNewEvent), { requireParent: false });
  });

  afterAll(async () => {
    await storage.close();
    folder.remove();
  });

  const cases: [string, number, number, 'hour' | 'day', string | undefined][] = [
    ['UTC hours', SPRING + DAY, SPRING + 3 * DAY, 'hour', undefined],
    ['UTC days unaligned', SPRING + 17 * 60_000 + 5, SPRING + 7 * DAY - 1234, 'day', undefined],
    ['Berlin hours spring', Date.UTC(2026, 2, 28, 12), Date.UTC(2026, 2, 30, 12), 'hour', 'Europe/Berlin'],
    ['Berlin days spring', SPRING, SPRING + 10 * DAY, 'day', 'Europe/Berlin'],
    ['Berlin hours autumn', Date.UTC(2026, 9, 24, 12), Date.UTC(2026, 9, 26, 12), 'hour', 'Europe/Berlin'],
    ['Berlin days autumn', AUTUMN, AUTUMN + 10 * DAY, 'day', 'Europe/Berlin'],
    ['New York days', AUTUMN, AUTUMN + 10 * DAY, 'day', 'America/New_York'],
    ['Kolkata hours', SPRING + DAY, SPRING + 3 * DAY, 'hour', 'Asia/Kolkata'],
    ['St Johns hours autumn', Date.UTC(2026, 9, 24), Date.UTC(2026, 9, 26), 'hour', 'America/St_Johns'],
    ['empty range', SPRING + DAY, SPRING + DAY, 'hour', 'Europe/Berlin'],
  ];

  for (const [name, start, end, bucket, timeZone] of cases) {
    it(`matches reference ${name}`, () => {
      const actual = storage.events.getEventStatistics({ start, end, bucket, ...(timeZone === undefined ? {} : { timeZone }) });
      expectStatistics(actual, referenceStatistics(events, start, end, bucket, timeZone ?? 'UTC'));
    });
  }

  it('spring day has 23 hours', () => {
    const statistics = storage.events.getEventStatistics({ start: '2026-03-28T23:00:00Z', end: '2026-03-30T22:00:00Z', bucket: 'day', timeZone: 'Europe/Berlin' });
    expect(statistics.buckets.map((bucket) => [bucket.start, bucket.end])).toEqual([
      ['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z'],
      ['2026-03-29T22:00:00.000Z', '2026-03-30T22:00:00.000Z'],
    ]);
  });

  it('spring skips local 02:00', () => {
    const statistics = storage.events.getEventStatistics({ start: '2026-03-28T23:00:00Z', end: '2026-03-29T22:00:00Z', bucket: 'hour', timeZone: 'Europe/Berlin' });
    expect(statistics.buckets).toHaveLength(23);
    expect(statistics.buckets.slice(0, 3).map((bucket) => bucket.start)).toEqual(['2026-03-28T23:00:00.000Z', '2026-03-29T00:00:00.000Z', '2026-03-29T01:00:00.000Z']);
  });

  it('autumn day has 25 hours', () => {
    const statistics = storage.events.getEventStatistics({ start: '2026-10-24T22:00:00Z', end: '2026-10-25T23:00:00Z', bucket: 'day', timeZone: 'Europe/Berlin' });
    expect(statistics.buckets).toHaveLength(1);
    expect(Date.parse(statistics.buckets[0]!.end) - Date.parse(statistics.buckets[0]!.start)).toBe(25 * HOUR);
  });

  it('autumn repeats local 02:00', () => {
    const statistics = storage.events.getEventStatistics({ start: '2026-10-24T22:00:00Z', end: '2026-10-25T23:00:00Z', bucket: 'hour', timeZone: 'Europe/Berlin' });
    expect(statistics.buckets).toHaveLength(25);
    const localHours = statistics.buckets.map((bucket) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', hourCycle: 'h23' }).format(new Date(bucket.start)));
    expect(localHours.slice(0, 5)).toEqual(['00', '01', '02', '02', '03']);
  });

  it('time zone name is canonical', () => {
    const statistics = storage.events.getEventStatistics({ start: SPRING, end: SPRING + DAY, bucket: 'day', timeZone: 'utc' });
    expect(statistics.timeZone).toBe('UTC');
  });
});

describe('statistics after changes', () => {
  it('rollup follows updates and deletes', async () => {
    const folder = temporaryDirectory();
    try {
      let storage = await openStorage({ dataDirectory: folder.path });
      const events = generateEvents(1200, 31, 4 * DAY, SPRING);
      storage.events.storeEvents(events.map(toNewEvent), { requireParent: false });

      // Change label and confidence of every fifth event, through the API and in the reference.
      for (const event of events.filter((_, index) => index % 5 === 0)) {
        const patch = { label: event.label === 'car' ? 'package' : 'car', confidence: event.confidence === null ? 0.5 : null };
        storage.events.updateEvent(event.id, patch);
        Object.assign(event, patch);
      }
      const deleted = storage.events.deleteEvents({ sources: ['garden'], start: SPRING + DAY, end: SPRING + 2 * DAY });
      const remaining = events.filter((event) => !(event.source === 'garden' && event.timestamp >= SPRING + DAY && event.timestamp < SPRING + 2 * DAY));
      expect(deleted).toBe(events.length - remaining.length);

      await storage.close();
      storage = await openStorage({ dataDirectory: folder.path });
      const actual = storage.events.getEventStatistics({ start: SPRING, end: SPRING + 4 * DAY, bucket: 'hour', timeZone: 'Europe/Berlin' });
      expectStatistics(actual, referenceStatistics(remaining, SPRING, SPRING + 4 * DAY, 'hour', 'Europe/Berlin'));

      // No rollup row is left at zero or below once its events are gone.
      const empty = storage.database.prepare('SELECT count(*) FROM event_rollup WHERE events <= 0').pluck().get();
      expect(empty).toBe(0);
      await storage.close();
    } finally {
      folder.remove();
    }
  });
});
