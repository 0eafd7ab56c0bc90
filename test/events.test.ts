import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ErrorCodes, openStorage, type EventFilter, type StorageManager } from '../src/index.js';
import { BASE_TIME, generateEvents, ids, referenceFilter, toNewEvent, type GeneratedEvent } from './helpers/events.js';
import { toIso, MAX_TIMESTAMP } from '../src/events/event-time.js';
import { randomGenerator, temporaryDirectory } from './helpers/reference.js';

const DAY = 86_400_000;

async function expectCode(action: () => unknown, code: string): Promise<void> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected an error').toBeDefined();
  expect((caught as { code?: string }).code).toBe(code);
}

describe('toIso', () => {
  it('matches Date toISOString', () => {
    const next = randomGenerator(3);
    const samples = [0, 1, 999, 86_399_999, 86_400_000, Date.UTC(2024, 1, 29, 23, 59, 59, 999), MAX_TIMESTAMP];
    for (let i = 0; i < 10_000; i++) samples.push(Math.floor(next() * MAX_TIMESTAMP));
    for (const milliseconds of samples) expect(toIso(milliseconds)).toBe(new Date(milliseconds).toISOString());
  });
});

describe('EventStore queries', () => {
  const folder = temporaryDirectory();
  let storage: StorageManager;
  let events: GeneratedEvent[];

  beforeAll(async () => {
    storage = await openStorage({ dataDirectory: folder.path });
    events = generateEvents(1500, 11);
    storage.events.storeEvents(events.map(toNewEvent));
  });

  afterAll(async () => {
    await storage.close();
    folder.remove();
  });

  const cases: [string, EventFilter][] = [
    ['no filter', {}],
    ['time range', { start: BASE_TIME + 2 * DAY, end: BASE_TIME + 3 * DAY }],
    ['start only', { start: new Date(BASE_TIME + 9 * DAY) }],
    ['end as ISO string', { end: new Date(BASE_TIME + DAY).toISOString() }],
    ['end with offset', { end: '2026-03-21T02:00:00+02:00' }],
    ['one type', { types: ['vehicle'] }],
    ['custom type', { types: ['garage.door'] }],
    ['several types', { types: ['motion', 'person', 'doorbell_press'] }],
    ['one source', { sources: ['garage'] }],
    ['several sources', { sources: ['front_door', 'garden'] }],
    ['labels', { labels: ['car', 'package'] }],
    ['one person', { personIds: ['person-3'] }],
    ['500 persons', { personIds: Array.from({ length: 500 }, (_, i) => `person-${i}`) }],
    ['40,000 persons', { personIds: Array.from({ length: 40_000 }, (_, i) => `person-${i * 3}`) }],
    ['min confidence', { minConfidence: 0.8 }],
    ['max confidence', { maxConfidence: 0.1 }],
    ['confidence band', { minConfidence: 0.3, maxConfidence: 0.4 }],
    ['parent id', { parentId: 'ev-11-00042' }],
    ['has errors', { hasErrors: true }],
    ['has no errors', { hasErrors: false }],
    ['search data word', { search: 'umbrella' }],
    ['search two words', { search: 'courier porch' }],
    ['search upper case', { search: 'BICYCLE' }],
    ['search prefix', { search: 'umb*' }],
    ['search label', { search: 'package' }],
    ['search sub-label', { search: 'neighbour' }],
    ['search with source', { search: 'red', sources: ['driveway'] }],
    ['search with time', { search: 'blue', start: BASE_TIME + 4 * DAY, end: BASE_TIME + 6 * DAY }],
    ['combined', { types: ['person', 'face_recognized'], sources: ['front_door'], minConfidence: 0.2, start: BASE_TIME + DAY }],
  ];

  for (const [name, filter] of cases) {
    it(`filter ${name}`, () => {
      const expected = ids(referenceFilter(events, filter));
      const page = storage.events.queryEvents({ ...filter, limit: 10_000 });
      expect(ids(page.events)).toEqual(expected);
      expect(page.nextCursor).toBeNull();
      expect(storage.events.countEvents(filter)).toBe(expected.length);
    });
  }

  it('filters select something', () => {
    // Guards the table above: a filter that matches nothing would pass trivially.
    for (const [name, filter] of cases) expect(referenceFilter(events, filter).length, name).toBeGreaterThan(0);
  });

  it('search ignores JSON keys', () => {
    expect(storage.events.countEvents({ search: 'words' })).toBe(0);
  });

  it('search treats syntax as text', () => {
    expect(storage.events.countEvents({ search: 'porch AND OR NOT "' })).toBe(0);
    expect(storage.events.countEvents({ search: 'NEAR(porch' })).toBe(0);
  });

  it('order ascending', () => {
    const filter: EventFilter = { sources: ['garden'] };
    const page = storage.events.queryEvents({ ...filter, order: 'asc', limit: 10_000 });
    expect(ids(page.events)).toEqual(ids(referenceFilter(events, filter, 'asc')));
  });

  it('cursor pages to end', () => {
    for (const order of ['asc', 'desc'] as const) {
      const filter: EventFilter = { types: ['motion', 'person'] };
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = storage.events.queryEvents({ ...filter, order, limit: 23, cursor });
        seen.push(...ids(page.events));
        cursor = page.nextCursor ?? undefined;
        pages++;
      } while (cursor !== undefined);
      const expected = ids(referenceFilter(events, filter, order));
      expect(seen).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / 23));
    }
  });

  it('cursor pages a search', () => {
    const filter: EventFilter = { search: 'porch' };
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = storage.events.queryEvents({ ...filter, limit: 50, cursor });
      seen.push(...ids(page.events));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(seen).toEqual(ids(referenceFilter(events, filter)));
  });

  it('last page has no cursor', () => {
    const total = storage.events.countEvents({ sources: ['garage'] });
    const page = storage.events.queryEvents({ sources: ['garage'], limit: total });
    expect(page.events).toHaveLength(total);
    expect(page.nextCursor).toBeNull();
  });

  it('plans use indexes', () => {
    const plans: [EventFilter & { order?: 'asc' | 'desc' }, RegExp][] = [
      [{}, /^SCAN e$/],
      [{ sources: ['garage'] }, /USING INDEX events_source \(source=\?\)/],
      [{ types: ['vehicle'], start: BASE_TIME, end: BASE_TIME + DAY }, /USING INDEX events_type \(type=\? AND rowid>\? AND rowid<\?\)/],
      [{ personIds: ['person-3'], start: BASE_TIME }, /USING INDEX events_person \(person_id=\? AND rowid>\?\)/],
      [{ minConfidence: 0.9, start: BASE_TIME, end: BASE_TIME + 7 * DAY }, /USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/],
      [{ parentId: 'ev-11-00042' }, /USING INDEX events_parent/],
      [{ hasErrors: true }, /USING INDEX events_with_errors/],
      [{ search: 'porch' }, /SCAN events_fts VIRTUAL TABLE/],
    ];
    for (const [query, expected] of plans) {
      const plan = storage.events.explainQuery({ ...query, limit: 50 });
      expect(plan.join(' / '), JSON.stringify(query)).toMatch(expected);
      // Every listed query reads in index order: no sort of the matching events.
      expect(plan.join(' / '), JSON.stringify(query)).not.toMatch(/TEMP B-TREE/);
    }
  });

  it('cursor keyset uses rowid', () => {
    const first = storage.events.queryEvents({ sources: ['garage'], limit: 10 });
    const plan = storage.events.explainQuery({ sources: ['garage'], limit: 10, cursor: first.nextCursor! });
    expect(plan.join(' / ')).toMatch(/USING INDEX events_source \(source=\? AND rowid<\?\)/);
  });
});

describe('EventStore writes', () => {
  let folder: ReturnType<typeof temporaryDirectory>;
  let storage: StorageManager;

  beforeEach(async () => {
    folder = temporaryDirectory();
    storage = await openStorage({ dataDirectory: folder.path });
  });

  afterEach(async () => {
    await storage.close();
    folder.remove();
  });

  async function reopen(): Promise<StorageManager> {
    await storage.close();
    storage = await openStorage({ dataDirectory: folder.path });
    return storage;
  }

  it('stores every field', async () => {
    storage.events.storeEvent({ id: 'press-1', type: 'doorbell_press', source: 'front_door', timestamp: '2026-03-29T01:30:00.123Z' });
    const id = storage.events.storeEvent({
      id: 'face-1',
      type: 'face_recognized',
      timestamp: Date.UTC(2026, 2, 29, 1, 30, 0, 456),
      endTime: new Date(Date.UTC(2026, 2, 29, 1, 30, 5)),
      source: 'front_door',
      confidence: 0.93,
      label: 'person',
      subLabel: 'Alice',
      personId: 'alice',
      stage: 'recognized',
      data: { box: [1, 2, 3, 4], zone: 'porch', nested: { ok: true, none: null } },
      enrichments: { weather: 'rain' },
      errors: [{ stage: 'snapshot', message: 'disk full' }],
      parentId: 'press-1',
    });
    expect(id).toBe('face-1');

    const stored = (await reopen()).events.getEvent('face-1')!;
    expect(stored).toMatchObject({
      id: 'face-1',
      type: 'face_recognized',
      timestamp: '2026-03-29T01:30:00.456Z',
      endTime: '2026-03-29T01:30:05.000Z',
      source: 'front_door',
      confidence: 0.93,
      label: 'person',
      subLabel: 'Alice',
      personId: 'alice',
      stage: 'recognized',
      data: { box: [1, 2, 3, 4], zone: 'porch', nested: { ok: true, none: null } },
      enrichments: { weather: 'rain' },
      errors: [{ stage: 'snapshot', message: 'disk full' }],
      parentId: 'press-1',
    });
    expect(stored.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(stored.updatedAt).toBe(stored.createdAt);
  });

  it('stores timestamps as UTC milliseconds', () => {
    storage.events.storeEvent({ id: 'a', type: 'motion', source: 'cam', timestamp: '2026-10-25T02:30:00.5+02:00' });
    const row = storage.database.prepare('SELECT timestamp, typeof(timestamp) AS kind FROM events WHERE id = ?').get('a') as { timestamp: number; kind: string };
    expect(row.kind).toBe('integer');
    expect(row.timestamp).toBe(Date.UTC(2026, 9, 25, 0, 30, 0, 500));
  });

  it('generated ids are UUIDv7', () => {
    const timestamp = Date.UTC(2026, 0, 1, 12);
    const [first, second] = storage.events.storeEvents([
      { type: 'motion', source: 'cam', timestamp },
      { type: 'motion', source: 'cam', timestamp: timestamp + 1 },
    ]);
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(first!.replace(/-/g, '').slice(0, 12), 16)).toBe(timestamp);
    expect(first! < second!).toBe(true);
  });

  it('default timestamp is now', () => {
    const before = Date.now();
    const id = storage.events.storeEvent({ type: 'system', source: 'porchlight' });
    const after = Date.now();
    const stored = Date.parse(storage.events.getEvent(id)!.timestamp);
    expect(stored).toBeGreaterThanOrEqual(before);
    expect(stored).toBeLessThanOrEqual(after);
  });

  it('same millisecond keeps insert order', () => {
    const timestamp = Date.UTC(2026, 0, 1);
    storage.events.storeEvents(Array.from({ length: 300 }, (_, i) => ({ id: `t${i}`, type: 'motion', source: 'cam', timestamp })));
    storage.events.storeEvent({ id: 't300', type: 'motion', source: 'cam', timestamp });
    const asc = storage.events.queryEvents({ order: 'asc', limit: 1000 });
    expect(ids(asc.events)).toEqual(Array.from({ length: 301 }, (_, i) => `t${i}`));
  });

  it('backfill continues millisecond order', () => {
    storage.events.storeEvents([
      { id: 'old-1', type: 'motion', source: 'cam', timestamp: 1000 },
      { id: 'new-1', type: 'motion', source: 'cam', timestamp: 5000 },
    ]);
    storage.events.storeEvents([
      { id: 'old-2', type: 'motion', source: 'cam', timestamp: 1000 },
      { id: 'middle', type: 'motion', source: 'cam', timestamp: 3000 },
      { id: 'old-3', type: 'motion', source: 'cam', timestamp: 1000 },
    ]);
    expect(ids(storage.events.queryEvents({ order: 'asc' }).events)).toEqual(['old-1', 'old-2', 'old-3', 'middle', 'new-1']);
  });

  it('unsorted batch keeps millisecond order', () => {
    storage.events.storeEvents([
      { id: 'b-1', type: 'motion', source: 'cam', timestamp: 5000 },
      { id: 'a-1', type: 'motion', source: 'cam', timestamp: 1000 },
      { id: 'b-2', type: 'motion', source: 'cam', timestamp: 5000 },
      { id: 'c-1', type: 'motion', source: 'cam', timestamp: 9000 },
      { id: 'b-3', type: 'motion', source: 'cam', timestamp: 5000 },
      { id: 'a-2', type: 'motion', source: 'cam', timestamp: 1000 },
    ]);
    storage.events.storeEvents([
      { id: 'b-4', type: 'motion', source: 'cam', timestamp: 5000 },
      { id: 'c-2', type: 'motion', source: 'cam', timestamp: 9000 },
    ]);
    expect(ids(storage.events.queryEvents({ order: 'asc' }).events)).toEqual(['a-1', 'a-2', 'b-1', 'b-2', 'b-3', 'b-4', 'c-1', 'c-2']);
  });

  it('millisecond holds 16,384 events', async () => {
    const batch = Array.from({ length: 16_385 }, () => ({ type: 'motion', source: 'cam', timestamp: 1000 }));
    await expectCode(() => storage.events.storeEvents(batch), ErrorCodes.INVALID_ARGUMENT);
    expect(storage.events.countEvents()).toBe(0);
    expect(storage.events.storeEvents(batch.slice(1))).toHaveLength(16_384);
  });

  it('batch is one transaction', async () => {
    storage.events.storeEvent({ id: 'existing', type: 'motion', source: 'cam' });
    await expectCode(() => storage.events.storeEvents([
      { id: 'new-1', type: 'motion', source: 'cam' },
      { id: 'existing', type: 'motion', source: 'cam' },
    ]), ErrorCodes.ALREADY_EXISTS);
    expect(storage.events.getEvent('new-1')).toBeUndefined();
    expect((await reopen()).events.countEvents()).toBe(1);
  });

  it('parent must exist', async () => {
    await expectCode(() => storage.events.storeEvent({ type: 'face_unknown', source: 'cam', parentId: 'missing' }), ErrorCodes.NOT_FOUND);
    expect(storage.events.countEvents()).toBe(0);
  });

  it('parent may be in batch', () => {
    const stored = storage.events.storeEvents([
      { id: 'child', type: 'face_unknown', source: 'cam', parentId: 'press' },
      { id: 'press', type: 'doorbell_press', source: 'cam' },
    ]);
    expect(stored).toEqual(['child', 'press']);
    expect(ids(storage.events.queryEvents({ parentId: 'press' }).events)).toEqual(['child']);
  });

  it('parent check can be off', () => {
    storage.events.storeEvent({ id: 'orphan', type: 'face_unknown', source: 'cam', parentId: 'gone' }, { requireParent: false });
    expect(storage.events.getEvent('orphan')!.parentId).toBe('gone');
  });

  it('update merges and appends', async () => {
    storage.events.storeEvent({ id: 'e', type: 'person', source: 'cam', timestamp: 1_000_000, label: 'person', data: { zone: 'porch', keep: 1 }, enrichments: { a: 1, b: 2 }, errors: ['first'] });
    const updated = storage.events.updateEvent('e', {
      endTime: 1_005_000,
      stage: 'enriched',
      confidence: 0.7,
      subLabel: 'Bob',
      personId: 'bob',
      data: { zone: 'garden', extra: 'courier' },
      enrichments: { b: null, c: { d: 3 } },
      errors: [{ message: 'second' }],
    });
    expect(updated.endTime).toBe('1970-01-01T00:16:45.000Z');
    expect(updated.stage).toBe('enriched');
    expect(updated.data).toEqual({ zone: 'garden', keep: 1, extra: 'courier' });
    expect(updated.enrichments).toEqual({ a: 1, c: { d: 3 } });
    expect(updated.errors).toEqual(['first', { message: 'second' }]);

    const reopened = await reopen();
    expect(reopened.events.getEvent('e')).toEqual(updated);
    expect(reopened.events.countEvents({ search: 'courier' })).toBe(1);
    expect(reopened.events.countEvents({ search: 'porch' })).toBe(0);
    expect(reopened.events.countEvents({ search: 'bob' })).toBe(1);
    expect(reopened.events.countEvents({ personIds: ['bob'] })).toBe(1);
  });

  it('update unknown id fails', async () => {
    await expectCode(() => storage.events.updateEvent('nope', { stage: 'x' }), ErrorCodes.NOT_FOUND);
  });

  it('update end before start', async () => {
    storage.events.storeEvent({ id: 'e', type: 'person', source: 'cam', timestamp: 2_000_000 });
    await expectCode(() => storage.events.updateEvent('e', { endTime: 1_000_000 }), ErrorCodes.INVALID_TIME_RANGE);
    expect(storage.events.getEvent('e')!.endTime).toBeNull();
  });

  it('delete by filter', async () => {
    const events = generateEvents(400, 5);
    storage.events.storeEvents(events.map(toNewEvent), { requireParent: false });
    const filter: EventFilter = { end: BASE_TIME + 4 * DAY, types: ['motion', 'vehicle'] };
    const expected = referenceFilter(events, filter);
    expect(storage.events.deleteEvents(filter)).toBe(expected.length);

    const remaining = events.filter((event) => !expected.includes(event));
    const reopened = await reopen();
    expect(ids(reopened.events.queryEvents({ limit: 1000 }).events)).toEqual(ids(referenceFilter(remaining, {})));
    expect(reopened.events.countEvents({ search: 'porch' })).toBe(referenceFilter(remaining, { search: 'porch' }).length);
  });

  it('delete by search', () => {
    const events = generateEvents(300, 6);
    storage.events.storeEvents(events.map(toNewEvent), { requireParent: false });
    const expected = referenceFilter(events, { search: 'bicycle' });
    expect(storage.events.deleteEvents({ search: 'bicycle' })).toBe(expected.length);
    expect(storage.events.countEvents()).toBe(300 - expected.length);
    expect(storage.events.countEvents({ search: 'bicycle' })).toBe(0);
  });

  it('delete keeps person link', async () => {
    storage.faces.addPerson({ id: 'alice', name: 'Alice', list: 'known' });
    storage.events.storeEvent({ id: 'seen', type: 'face_recognized', source: 'cam', personId: 'alice' });
    storage.faces.removePerson('alice');
    expect((await reopen()).events.getEvent('seen')!.personId).toBe('alice');
  });

  it('pages stable during inserts', () => {
    const events = generateEvents(600, 8);
    storage.events.storeEvents(events.map(toNewEvent), { requireParent: false });
    for (const order of ['desc', 'asc'] as const) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let round = 0;
      do {
        const page = storage.events.queryEvents({ sources: ['garden', 'garage'], order, limit: 17, cursor });
        seen.push(...ids(page.events));
        cursor = page.nextCursor ?? undefined;
        // Between pages: newer events, events in the same millisecond as the last one seen, and older ones.
        const last = page.events.at(-1);
        if (last !== undefined) {
          storage.events.storeEvents([
            { id: `${order}-new-${round}`, type: 'motion', source: 'garden', timestamp: BASE_TIME + 20 * DAY + round },
            { id: `${order}-tie-${round}`, type: 'motion', source: 'garage', timestamp: last.timestamp },
          ]);
        }
        round++;
      } while (cursor !== undefined);

      expect(new Set(seen).size).toBe(seen.length);
      const original = ids(referenceFilter(events, { sources: ['garden', 'garage'] }, order));
      expect(seen.filter((id) => id.startsWith('ev-'))).toEqual(original);
    }
  });
});

describe('EventStore rejects bad input', () => {
  const folder = temporaryDirectory();
  let storage: StorageManager;

  beforeAll(async () => {
    storage = await openStorage({ dataDirectory: folder.path });
    storage.events.storeEvent({ id: 'kept', type: 'motion', source: 'cam', timestamp: BASE_TIME });
  });

  afterAll(async () => {
    await storage.close();
    folder.remove();
  });

  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;

  const badEvents: [string, unknown, string][] = [
    ['unknown key', { type: 'motion', source: 'cam', camera: 'x' }, ErrorCodes.INVALID_ARGUMENT],
    ['missing source', { type: 'motion' }, ErrorCodes.INVALID_ARGUMENT],
    ['bad type', { type: 'has space', source: 'cam' }, ErrorCodes.INVALID_ARGUMENT],
    ['confidence above 1', { type: 'motion', source: 'cam', confidence: 1.5 }, ErrorCodes.INVALID_ARGUMENT],
    ['confidence NaN', { type: 'motion', source: 'cam', confidence: Number.NaN }, ErrorCodes.INVALID_ARGUMENT],
    ['naive local time', { type: 'motion', source: 'cam', timestamp: '2026-03-29T02:30:00' }, ErrorCodes.INVALID_ARGUMENT],
    ['impossible date', { type: 'motion', source: 'cam', timestamp: '2026-02-30T00:00:00Z' }, ErrorCodes.INVALID_ARGUMENT],
    ['fractional milliseconds', { type: 'motion', source: 'cam', timestamp: 1.5 }, ErrorCodes.INVALID_ARGUMENT],
    ['invalid Date', { type: 'motion', source: 'cam', timestamp: new Date('x') }, ErrorCodes.INVALID_ARGUMENT],
    ['end before start', { type: 'motion', source: 'cam', timestamp: 2000, endTime: 1000 }, ErrorCodes.INVALID_TIME_RANGE],
    ['data not object', { type: 'motion', source: 'cam', data: [1, 2] }, ErrorCodes.INVALID_JSON],
    ['data with Date', { type: 'motion', source: 'cam', data: { at: new Date() } }, ErrorCodes.INVALID_JSON],
    ['data with bigint', { type: 'motion', source: 'cam', data: { n: 10n } }, ErrorCodes.INVALID_JSON],
    ['data with undefined', { type: 'motion', source: 'cam', data: { n: undefined } }, ErrorCodes.INVALID_JSON],
    ['data with Infinity', { type: 'motion', source: 'cam', data: { n: Infinity } }, ErrorCodes.INVALID_JSON],
    ['data with cycle', { type: 'motion', source: 'cam', data: cyclic }, ErrorCodes.INVALID_JSON],
    ['errors not array', { type: 'motion', source: 'cam', errors: 'oops' }, ErrorCodes.INVALID_JSON],
    ['missing parent', { type: 'motion', source: 'cam', parentId: 'nobody' }, ErrorCodes.NOT_FOUND],
    ['duplicate id', { id: 'kept', type: 'motion', source: 'cam' }, ErrorCodes.ALREADY_EXISTS],
    ['keep not boolean', { type: 'motion', source: 'cam', keep: 'yes' }, ErrorCodes.INVALID_ARGUMENT],
    ['empty label', { type: 'motion', source: 'cam', label: '' }, ErrorCodes.INVALID_ARGUMENT],
    ['person id with newline', { type: 'motion', source: 'cam', personId: 'a\nb' }, ErrorCodes.INVALID_ARGUMENT],
    ['timestamp before epoch', { type: 'motion', source: 'cam', timestamp: -1 }, ErrorCodes.INVALID_ARGUMENT],
  ];

  for (const [name, event, code] of badEvents) {
    it(`storeEvent ${name}`, async () => {
      await expectCode(() => storage.events.storeEvent(event as never), code);
      expect(storage.events.countEvents()).toBe(1);
    });
  }

  it('batch error names event', () => {
    const batch = [{ type: 'motion', source: 'cam' }, { type: 'motion', source: 'cam' }, { type: 'motion', source: 'cam', confidence: 2 }];
    expect(() => storage.events.storeEvents(batch)).toThrow(/events\[2\]\.confidence/);
    expect(storage.events.countEvents()).toBe(1);
  });

  const badQueries: [string, unknown, string][] = [
    ['unknown filter key', { camera: 'x' }, ErrorCodes.INVALID_ARGUMENT],
    ['limit zero', { limit: 0 }, ErrorCodes.INVALID_ARGUMENT],
    ['limit fraction', { limit: 2.5 }, ErrorCodes.INVALID_ARGUMENT],
    ['limit string', { limit: '10' }, ErrorCodes.INVALID_ARGUMENT],
    ['limit too large', { limit: 10_001 }, ErrorCodes.INVALID_ARGUMENT],
    ['garbage cursor', { cursor: 'not a cursor!' }, ErrorCodes.INVALID_CURSOR],
    ['forged cursor', { cursor: Buffer.from('1.5.0.d.0123456789abcdef').toString('base64url') }, ErrorCodes.INVALID_CURSOR],
    ['truncated cursor', { cursor: 'MS4xNzc0' }, ErrorCodes.INVALID_CURSOR],
    ['end before start', { start: BASE_TIME + DAY, end: BASE_TIME }, ErrorCodes.INVALID_TIME_RANGE],
    ['empty list', { types: [] }, ErrorCodes.INVALID_ARGUMENT],
    ['list of numbers', { sources: [1, 2] }, ErrorCodes.INVALID_ARGUMENT],
    ['list not array', { sources: 'cam' }, ErrorCodes.INVALID_ARGUMENT],
    ['confidence band reversed', { minConfidence: 0.8, maxConfidence: 0.2 }, ErrorCodes.INVALID_ARGUMENT],
    ['hasErrors not boolean', { hasErrors: 'yes' }, ErrorCodes.INVALID_ARGUMENT],
    ['search punctuation only', { search: '*** --' }, ErrorCodes.INVALID_ARGUMENT],
    ['order unknown', { order: 'newest' }, ErrorCodes.INVALID_ARGUMENT],
  ];

  for (const [name, query, code] of badQueries) {
    it(`queryEvents ${name}`, async () => {
      await expectCode(() => storage.events.queryEvents(query as never), code);
    });
  }

  it('cursor of other query', async () => {
    storage.events.storeEvents([{ type: 'motion', source: 'cam' }, { type: 'motion', source: 'cam' }]);
    const page = storage.events.queryEvents({ limit: 1 });
    expect(page.nextCursor).not.toBeNull();
    await expectCode(() => storage.events.queryEvents({ limit: 1, cursor: page.nextCursor!, sources: ['cam'] }), ErrorCodes.INVALID_CURSOR);
    await expectCode(() => storage.events.queryEvents({ limit: 1, cursor: page.nextCursor!, order: 'asc' }), ErrorCodes.INVALID_CURSOR);
    storage.events.deleteEvents({ start: BASE_TIME + 1 });
  });

  it('deleteEvents empty filter', async () => {
    await expectCode(() => storage.events.deleteEvents({}), ErrorCodes.INVALID_ARGUMENT);
    expect(storage.events.countEvents()).toBe(1);
  });

  it('updateEvent bad patch', async () => {
    await expectCode(() => storage.events.updateEvent('kept', { type: 'person' } as never), ErrorCodes.INVALID_ARGUMENT);
    await expectCode(() => storage.events.updateEvent('kept', {}), ErrorCodes.INVALID_ARGUMENT);
    await expectCode(() => storage.events.updateEvent('kept', { enrichments: { when: new Map() } } as never), ErrorCodes.INVALID_JSON);
    expect(storage.events.getEvent('kept')!.enrichments).toEqual({});
  });

  it('statistics bad options', async () => {
    await expectCode(() => storage.events.getEventStatistics({ start: BASE_TIME, end: BASE_TIME - 1, bucket: 'hour' }), ErrorCodes.INVALID_TIME_RANGE);
    await expectCode(() => storage.events.getEventStatistics({ start: BASE_TIME, end: BASE_TIME + DAY, bucket: 'week' as never }), ErrorCodes.INVALID_ARGUMENT);
    await expectCode(() => storage.events.getEventStatistics({ start: BASE_TIME, end: BASE_TIME + DAY, bucket: 'hour', timeZone: 'Mars/Olympus' }), ErrorCodes.INVALID_ARGUMENT);
    await expectCode(() => storage.events.getEventStatistics({ start: BASE_TIME, end: BASE_TIME + DAY, bucket: 'hour', zone: 'UTC' } as never), ErrorCodes.INVALID_ARGUMENT);
  });

});
