import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ErrorCodes, openStorage, type EventFilter, type EventStatistics, type NewEvent, type StorageManager } from '../src/index.js';
import { MAX_TIMESTAMP } from '../src/events/event-time.js';
import { expectStatistics, referenceStatistics } from './helpers/event-statistics.js';
import { randomGenerator, temporaryDirectory } from './helpers/reference.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const SEQUENCE_SPAN = 16_384;
/** 2026-05-04T00:00:00.000Z */
const BASE = Date.UTC(2026, 4, 4);

interface ModelEvent {
  id: string;
  type: string;
  source: string;
  label: string | null;
  confidence: number | null;
  timestamp: number;
  /** Global insert order, the tie-breaker within one millisecond. */
  order: number;
}

interface RollupRow {
  period: number;
  dimension: number;
  start: number;
  value: string;
  events: number;
  confidence_sum: number;
  confidence_count: number;
}

function caught(action: () => unknown): { code?: string; name?: string; details?: Record<string, unknown> } | undefined {
  try {
    action();
  } catch (error) {
    return error as { code?: string; name?: string; details?: Record<string, unknown> };
  }
  return undefined;
}

function valid(index: number, extra: Partial<NewEvent> = {}): NewEvent {
  return { id: `valid-${index}`, type: 'motion', source: 'porch', timestamp: BASE + index, confidence: 0.5, label: 'person', ...extra };
}

function rollupRows(storage: StorageManager): RollupRow[] {
  return storage.database.prepare('SELECT period, dimension, start, value, events, confidence_sum, confidence_count FROM event_rollup ORDER BY period, dimension, start, value').all() as RollupRow[];
}

/** The rollup rows the events of `model` should produce, found by counting each event. */
function referenceRollup(model: Iterable<ModelEvent>): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  const add = (period: number, dimension: number, start: number, value: string, event: ModelEvent) => {
    const key = `${period}|${dimension}|${start}|${value}`;
    let row = rows.get(key);
    if (row === undefined) {
      row = { period, dimension, start, value, events: 0, confidence_sum: 0, confidence_count: 0 };
      rows.set(key, row);
    }
    row.events += 1;
    if (event.confidence !== null) {
      row.confidence_sum += event.confidence;
      row.confidence_count += 1;
    }
  };
  for (const event of model) {
    const hour = event.timestamp - (event.timestamp % HOUR);
    const day = event.timestamp - (event.timestamp % DAY);
    add(0, 3, hour, '', event);
    for (const [period, start] of [[0, hour], [1, day]] as const) {
      add(period, 0, start, event.type, event);
      add(period, 1, start, event.source, event);
      if (event.label !== null) add(period, 2, start, event.label, event);
    }
  }
  return [...rows.values()].sort(compareRows);
}

/** Compares rollup rows by their primary key, the order of `rollupRows`. */
function compareRows(a: RollupRow, b: RollupRow): number {
  const byNumbers = a.period - b.period || a.dimension - b.dimension || a.start - b.start;
  if (byNumbers !== 0) return byNumbers;
  if (a.value === b.value) return 0;
  return a.value < b.value ? -1 : 1;
}

/** Rollup rows without the float sum, which is compared separately with a tolerance. */
function countsOf(rows: RollupRow[]): string[] {
  return rows.map((row) => `${row.period} ${row.dimension} ${row.start} ${row.value} events=${row.events} confidences=${row.confidence_count}`);
}

function allAscending(storage: StorageManager, limit = 10_000): string[] {
  const found: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = storage.events.queryEvents({ order: 'asc', limit, ...(cursor === undefined ? {} : { cursor }) });
    found.push(...page.events.map((event) => event.id));
    if (page.nextCursor === null) return found;
    cursor = page.nextCursor;
  }
}

function expectedAscending(model: Iterable<ModelEvent>): string[] {
  return [...model].sort((a, b) => a.timestamp - b.timestamp || a.order - b.order).map((event) => event.id);
}

describe('EventStore edge cases', () => {
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

  describe('field checks', () => {
    class Point {
      x = 1;
    }
    const cases: [string, keyof NewEvent, unknown, string][] = [
      ['confidence above 1', 'confidence', 1.5, ErrorCodes.INVALID_ARGUMENT],
      ['confidence below 0', 'confidence', -0.1, ErrorCodes.INVALID_ARGUMENT],
      ['confidence NaN', 'confidence', Number.NaN, ErrorCodes.INVALID_ARGUMENT],
      ['confidence as string', 'confidence', '0.5', ErrorCodes.INVALID_ARGUMENT],
      ['confidence as Number object', 'confidence', new Number(0.5), ErrorCodes.INVALID_ARGUMENT],
      ['confidence as bigint', 'confidence', 0n, ErrorCodes.INVALID_ARGUMENT],
      ['timestamp negative', 'timestamp', -1, ErrorCodes.INVALID_ARGUMENT],
      ['timestamp fraction', 'timestamp', BASE + 0.5, ErrorCodes.INVALID_ARGUMENT],
      ['timestamp past the maximum', 'timestamp', MAX_TIMESTAMP + 1, ErrorCodes.INVALID_ARGUMENT],
      ['timestamp huge', 'timestamp', 1e300, ErrorCodes.INVALID_ARGUMENT],
      ['timestamp digits as string', 'timestamp', String(BASE), ErrorCodes.INVALID_ARGUMENT],
      ['timestamp invalid Date', 'timestamp', new Date(Number.NaN), ErrorCodes.INVALID_ARGUMENT],
      ['timestamp null', 'timestamp', null, ErrorCodes.INVALID_ARGUMENT],
      ['timestamp bigint', 'timestamp', BigInt(BASE), ErrorCodes.INVALID_ARGUMENT],
      ['endTime before start', 'endTime', BASE - 1, ErrorCodes.INVALID_TIME_RANGE],
      ['endTime fraction', 'endTime', BASE + 10.5, ErrorCodes.INVALID_ARGUMENT],
      ['type with a space', 'type', 'door bell', ErrorCodes.INVALID_ARGUMENT],
      ['type of 65 characters', 'type', 'a'.repeat(65), ErrorCodes.INVALID_ARGUMENT],
      ['type as String object', 'type', new String('motion'), ErrorCodes.INVALID_ARGUMENT],
      ['source empty', 'source', '', ErrorCodes.INVALID_ARGUMENT],
      ['source with a newline', 'source', 'por\nch', ErrorCodes.INVALID_ARGUMENT],
      ['source with DEL', 'source', 'porch\u007f', ErrorCodes.INVALID_ARGUMENT],
      ['source of 257 characters', 'source', 'a'.repeat(257), ErrorCodes.INVALID_ARGUMENT],
      ['id as number', 'id', 7, ErrorCodes.INVALID_ARGUMENT],
      ['id null', 'id', null, ErrorCodes.INVALID_ARGUMENT],
      ['label empty', 'label', '', ErrorCodes.INVALID_ARGUMENT],
      ['subLabel with a tab', 'subLabel', 'a\tb', ErrorCodes.INVALID_ARGUMENT],
      ['personId as number', 'personId', 3, ErrorCodes.INVALID_ARGUMENT],
      ['stage as array', 'stage', ['a'], ErrorCodes.INVALID_ARGUMENT],
      ['parentId empty', 'parentId', '', ErrorCodes.INVALID_ARGUMENT],
      ['keep as string', 'keep', 'true', ErrorCodes.INVALID_ARGUMENT],
      ['keep as number', 'keep', 1, ErrorCodes.INVALID_ARGUMENT],
      ['keep null', 'keep', null, ErrorCodes.INVALID_ARGUMENT],
      ['data as Date', 'data', new Date(BASE), ErrorCodes.INVALID_JSON],
      ['data as string', 'data', 'zone', ErrorCodes.INVALID_JSON],
      ['data as array', 'data', [], ErrorCodes.INVALID_JSON],
      ['data as Map', 'data', new Map(), ErrorCodes.INVALID_JSON],
      ['data as class instance', 'data', new Point(), ErrorCodes.INVALID_JSON],
      ['data as false', 'data', false, ErrorCodes.INVALID_JSON],
      ['data as zero', 'data', 0, ErrorCodes.INVALID_JSON],
      ['data with an empty plain prototype', 'data', Object.create({}), ErrorCodes.INVALID_JSON],
      ['data with NaN inside', 'data', { score: Number.NaN }, ErrorCodes.INVALID_JSON],
      ['enrichments as Date', 'enrichments', new Date(BASE), ErrorCodes.INVALID_JSON],
      ['enrichments as empty array', 'enrichments', [], ErrorCodes.INVALID_JSON],
      ['errors as object', 'errors', {}, ErrorCodes.INVALID_JSON],
      ['errors as string', 'errors', '', ErrorCodes.INVALID_JSON],
      ['errors with length 0', 'errors', { length: 0 }, ErrorCodes.INVALID_JSON],
      ['errors with undefined', 'errors', [undefined], ErrorCodes.INVALID_JSON],
      ['errors sparse', 'errors', [, 1], ErrorCodes.INVALID_JSON],
      ['data with a sparse array', 'data', { boxes: [1, , 3] }, ErrorCodes.INVALID_JSON],
    ];

    for (const [title, field, value, code] of cases) {
      it(`rejects ${title} at events[2]`, () => {
        storage.events.storeEvent(valid(100));
        const before = rollupRows(storage);
        const error = caught(() => storage.events.storeEvents([valid(0), valid(1), { ...valid(2), [field]: value }]));
        expect(error?.code).toBe(code);
        expect(String(error?.details?.name).startsWith(`events[2].${field}`)).toBe(true);
        expect(storage.events.countEvents()).toBe(1);
        expect(rollupRows(storage)).toEqual(before);
      });
    }

    it('names an undefined value once', () => {
      expect(() => storage.events.storeEvent({ ...valid(0), data: { d: undefined } } as unknown as NewEvent)).toThrow('event.data.d is undefined, which is not JSON');
    });

    it('names a single event as event', () => {
      const error = caught(() => storage.events.storeEvent({ ...valid(0), confidence: 2 }));
      expect(error?.details?.name).toBe('event.confidence');
    });

    it('rejects an unknown own key', () => {
      const error = caught(() => storage.events.storeEvents([valid(0), { ...valid(1), colour: 'red' } as NewEvent]));
      expect(error?.code).toBe(ErrorCodes.INVALID_ARGUMENT);
      expect(storage.events.countEvents()).toBe(0);
    });

    it('ignores an inherited unknown key', () => {
      const event = Object.assign(Object.create({ colour: 'red' }), valid(0)) as NewEvent;
      storage.events.storeEvent(event);
      expect(storage.events.countEvents()).toBe(1);
    });

    it('rejects a non-object entry', () => {
      for (const entry of [null, 'motion', 5, [valid(0)]]) {
        const error = caught(() => storage.events.storeEvents([valid(0), entry as NewEvent]));
        expect(error?.details?.name, JSON.stringify(entry)).toBe('events[1]');
      }
      expect(storage.events.countEvents()).toBe(0);
    });

    it('rejects a hole in the batch', () => {
      const batch = [valid(0), valid(1)];
      batch.length = 3;
      const error = caught(() => storage.events.storeEvents(batch));
      expect(error?.details?.name).toBe('events[2]');
      expect(storage.events.countEvents()).toBe(0);
    });

    it('stores null JSON fields as empty', () => {
      const id = storage.events.storeEvent({ ...valid(0), data: null, errors: null, enrichments: null } as unknown as NewEvent);
      const stored = storage.events.getEvent(id)!;
      expect(stored.data).toEqual({});
      expect(stored.errors).toEqual([]);
      expect(stored.enrichments).toEqual({});
      expect(storage.events.countEvents({ hasErrors: false })).toBe(1);
    });

    it('accepts negative zero', () => {
      const id = storage.events.storeEvent({ ...valid(0), timestamp: -0, confidence: -0 });
      const stored = storage.events.getEvent(id)!;
      expect(stored.timestamp).toBe('1970-01-01T00:00:00.000Z');
      expect(stored.confidence).toBe(0);
    });

    it('accepts the bounds', () => {
      storage.events.storeEvents([{ ...valid(0), timestamp: 0, confidence: 0 }, { ...valid(1), timestamp: MAX_TIMESTAMP, endTime: MAX_TIMESTAMP, confidence: 1 }]);
      expect(allAscending(storage)).toEqual(['valid-0', 'valid-1']);
    });

    it('accepts prototype-less data', () => {
      const data = Object.assign(Object.create(null), { zone: 'yard' });
      const id = storage.events.storeEvent({ ...valid(0), data });
      expect(storage.events.getEvent(id)!.data).toEqual({ zone: 'yard' });
    });

    it('keeps a polluted prototype out', () => {
      const prototype = Object.prototype as Record<string, unknown>;
      prototype.polluted = 'yes';
      try {
        const id = storage.events.storeEvent({ ...valid(0), data: {} });
        expect(storage.events.getEvent(id)!.data).toEqual({});
      } finally {
        delete prototype.polluted;
      }
    });

    it('stores only checked getter values', () => {
      // The getter returns a different source after its first read. The stored source must be one that passed the check.
      let reads = 0;
      const event = { ...valid(0) } as Record<string, unknown>;
      Object.defineProperty(event, 'source', { enumerable: true, get: () => (reads++ === 0 ? 'porch' : 'bad\u0000source') });
      let error: unknown;
      try {
        storage.events.storeEvent(event as unknown as NewEvent);
      } catch (thrown) {
        error = thrown;
      }
      const stored = storage.events.getEvent('valid-0');
      if (error === undefined) expect(stored?.source).toBe('porch');
      else expect(stored).toBeUndefined();
    });
  });

  describe('nested store', () => {
    it('rejects a store from a getter', () => {
      const event = { ...valid(1) } as Record<string, unknown>;
      Object.defineProperty(event, 'stage', { enumerable: true, get: () => (storage.events.storeEvent(valid(5)), 'done') });
      const error = caught(() => storage.events.storeEvents([valid(0), event as unknown as NewEvent]));
      expect(error?.code).toBe(ErrorCodes.INVALID_ARGUMENT);
      expect(storage.events.countEvents()).toBe(0);
    });

    it('stores again after the rejection', () => {
      const event = { ...valid(1) } as Record<string, unknown>;
      Object.defineProperty(event, 'stage', { enumerable: true, get: () => (storage.events.storeEvent(valid(5)), 'done') });
      caught(() => storage.events.storeEvents([valid(0), event as unknown as NewEvent]));
      storage.events.storeEvents([valid(0), valid(1)]);
      expect(allAscending(storage)).toEqual(['valid-0', 'valid-1']);
    });
  });

  describe('batch rollback', () => {
    function seed(): void {
      storage.events.storeEvents(Array.from({ length: 20 }, (_, index) => valid(index * 600_000, { id: `seed-${index}`, label: index % 2 === 0 ? 'car' : null })));
    }

    function snapshot() {
      return {
        count: storage.events.countEvents(),
        rollup: rollupRows(storage),
        statistics: storage.events.getEventStatistics({ start: BASE - DAY, end: BASE + 2 * DAY, bucket: 'hour' }),
        search: storage.events.countEvents({ search: 'late' }),
      };
    }

    const late = (index: number) => valid(1_000_000 + index, { id: `late-${index}`, data: { note: 'late' }, label: 'bike' });

    const failures: [string, (batch: NewEvent[]) => NewEvent[], string][] = [
      ['bad confidence last', (batch) => [...batch, { ...late(999), confidence: 7 }], ErrorCodes.INVALID_ARGUMENT],
      ['duplicate id within the batch', (batch) => [...batch, { ...late(999), id: 'late-3' }], ErrorCodes.ALREADY_EXISTS],
      ['id of a stored event', (batch) => [...batch, { ...late(999), id: 'seed-4' }], ErrorCodes.ALREADY_EXISTS],
      ['missing parent', (batch) => [...batch, { ...late(999), parentId: 'nobody' }], ErrorCodes.NOT_FOUND],
      ['missing parent first', (batch) => [{ ...late(999), parentId: 'nobody' }, ...batch], ErrorCodes.NOT_FOUND],
    ];

    for (const [title, build, code] of failures) {
      it(`leaves nothing after ${title}`, () => {
        seed();
        const before = snapshot();
        const batch = build(Array.from({ length: 50 }, (_, index) => late(index)));
        const error = caught(() => storage.events.storeEvents(batch));
        expect(error?.code).toBe(code);
        const after = snapshot();
        expect(after.count).toBe(before.count);
        expect(after.rollup).toEqual(before.rollup);
        expect(after.statistics).toEqual(before.statistics);
        expect(after.search).toBe(before.search);
        expect(storage.events.getEvent('late-0')).toBeUndefined();
      });
    }

    it('stores after a rejected batch', () => {
      seed();
      expect(caught(() => storage.events.storeEvents([late(0), { ...late(1), confidence: 2 }]))).toBeDefined();
      storage.events.storeEvents([late(0), late(1)]);
      expect(storage.events.countEvents({ labels: ['bike'] })).toBe(2);
      expect(countsOf(rollupRows(storage))).toEqual(countsOf(referenceRollup([
        ...Array.from({ length: 20 }, (_, index) => ({ id: `seed-${index}`, type: 'motion', source: 'porch', label: index % 2 === 0 ? 'car' : null, confidence: 0.5, timestamp: BASE + index * 600_000, order: index })),
        ...[0, 1].map((index) => ({ id: `late-${index}`, type: 'motion', source: 'porch', label: 'bike', confidence: 0.5, timestamp: BASE + 1_000_000 + index, order: 20 + index })),
      ])));
    });
  });

  describe('parents', () => {
    it('returns ids in input order', () => {
      const ids = storage.events.storeEvents([valid(5, { id: undefined }), valid(0), valid(3, { id: undefined })]);
      expect(ids[1]).toBe('valid-0');
      expect(ids[0]!.replace(/-/g, '').slice(0, 12)).toBe((BASE + 5).toString(16).padStart(12, '0'));
      expect(storage.events.getEvent(ids[2]!)?.timestamp).toBe(new Date(BASE + 3).toISOString());
    });

    it('accepts a later parent in batch', () => {
      storage.events.storeEvents([valid(0, { parentId: 'valid-1' }), valid(1)]);
      expect(storage.events.countEvents({ parentId: 'valid-1' })).toBe(1);
    });

    it('accepts an event as its own parent', () => {
      storage.events.storeEvent(valid(0, { parentId: 'valid-0' }));
      expect(storage.events.countEvents()).toBe(1);
    });

    it('skips the check when not required', () => {
      storage.events.storeEvents([valid(0, { parentId: 'nobody' })], { requireParent: false });
      expect(storage.events.countEvents({ parentId: 'nobody' })).toBe(1);
    });
  });

  describe('insert order', () => {
    it('orders same millisecond by insertion', () => {
      const ids = Array.from({ length: 50 }, (_, index) => `same-${String(index).padStart(2, '0')}`).reverse();
      storage.events.storeEvents(ids.map((id) => ({ id, type: 'motion', source: 'porch', timestamp: BASE })));
      expect(allAscending(storage)).toEqual(ids);
    });

    it('orders shuffled timestamps in a batch', () => {
      const stamps = [BASE + 5, BASE + 3, BASE + 5, BASE + 1, BASE + 3, BASE + 9, BASE + 1, BASE + 5];
      const model = stamps.map((timestamp, order) => ({ id: `e${order}`, type: 'motion', source: 'porch', label: null, confidence: null, timestamp, order }));
      storage.events.storeEvents(model.map(({ id, timestamp }) => ({ id, type: 'motion', source: 'porch', timestamp })));
      expect(allAscending(storage)).toEqual(expectedAscending(model));
    });

    it('continues a millisecond across batches', () => {
      storage.events.storeEvents([{ id: 'a', type: 'motion', source: 'porch', timestamp: BASE }, { id: 'b', type: 'motion', source: 'porch', timestamp: BASE + 10 }]);
      storage.events.storeEvents([{ id: 'c', type: 'motion', source: 'porch', timestamp: BASE + 10 }, { id: 'd', type: 'motion', source: 'porch', timestamp: BASE }]);
      storage.events.storeEvents([{ id: 'e', type: 'motion', source: 'porch', timestamp: BASE }, { id: 'f', type: 'motion', source: 'porch', timestamp: BASE + 10 }]);
      expect(allAscending(storage)).toEqual(['a', 'd', 'e', 'b', 'c', 'f']);
    });

    it('numbers after deleting the newest', () => {
      storage.events.storeEvents(['a', 'b', 'c'].map((id) => ({ id, type: 'motion', source: 'porch', timestamp: BASE })));
      storage.events.storeEvent({ id: 'z', type: 'vehicle', source: 'porch', timestamp: BASE + 1 });
      expect(storage.events.deleteEvents({ types: ['vehicle'] })).toBe(1);
      storage.events.storeEvents([{ id: 'd', type: 'motion', source: 'porch', timestamp: BASE }, { id: 'e', type: 'motion', source: 'porch', timestamp: BASE - 1 }]);
      expect(allAscending(storage)).toEqual(['e', 'a', 'b', 'c', 'd']);
    });

    it('orders random batches stably', () => {
      const next = randomGenerator(41);
      const pool = Array.from({ length: 30 }, () => BASE + Math.floor(next() * 3 * HOUR));
      const model: ModelEvent[] = [];
      for (let batch = 0; batch < 40; batch++) {
        const events: NewEvent[] = [];
        const size = 1 + Math.floor(next() * 60);
        for (let index = 0; index < size; index++) {
          const timestamp = next() < 0.7 ? pool[Math.floor(next() * pool.length)]! : BASE + Math.floor(next() * 3 * HOUR);
          const id = `r${model.length}`;
          model.push({ id, type: 'motion', source: 'porch', label: null, confidence: null, timestamp, order: model.length });
          // Most times are numbers; the rest are Dates or ISO strings, which take the slower checks.
          const form = next();
          let input: number | Date | string = timestamp;
          if (form >= 0.8) input = new Date(timestamp).toISOString();
          else if (form >= 0.6) input = new Date(timestamp);
          events.push({ id, type: 'motion', source: 'porch', timestamp: input });
        }
        storage.events.storeEvents(events);
      }
      expect(allAscending(storage)).toEqual(expectedAscending(model));
      expect(allAscending(storage, 7)).toEqual(expectedAscending(model));
      const descending = storage.events.queryEvents({ limit: 10_000 }).events.map((event) => event.id);
      expect(descending).toEqual(expectedAscending(model).reverse());
    });

    it('rejects millisecond overflow', () => {
      const batch = Array.from({ length: SEQUENCE_SPAN + 1 }, (_, index) => ({ id: `m${index}`, type: 'motion', source: 'porch', timestamp: BASE }));
      const error = caught(() => storage.events.storeEvents(batch));
      expect(error?.code).toBe(ErrorCodes.INVALID_ARGUMENT);
      expect(storage.events.countEvents()).toBe(0);
    });

    it('rejects overflow in older millisecond', () => {
      storage.events.storeEvents(Array.from({ length: SEQUENCE_SPAN }, (_, index) => ({ id: `m${index}`, type: 'motion', source: 'porch', timestamp: BASE })));
      storage.events.storeEvent({ id: 'newer', type: 'motion', source: 'porch', timestamp: BASE + 1 });
      const error = caught(() => storage.events.storeEvents([{ id: 'extra', type: 'motion', source: 'porch', timestamp: BASE }]));
      expect(error?.code).toBe(ErrorCodes.INVALID_ARGUMENT);
      expect(storage.events.countEvents()).toBe(SEQUENCE_SPAN + 1);
    });
  });

  describe('rollup', () => {
    it('removes emptied rows on update', () => {
      storage.events.storeEvent(valid(0, { label: 'cat', confidence: 0.25 }));
      storage.events.updateEvent('valid-0', { label: 'dog', confidence: null });
      expect(rollupRows(storage).filter((row) => row.value === 'cat')).toEqual([]);
      expect(rollupRows(storage).filter((row) => row.events <= 0)).toEqual([]);
      expect(countsOf(rollupRows(storage))).toEqual(countsOf(referenceRollup([{ id: 'valid-0', type: 'motion', source: 'porch', label: 'dog', confidence: null, timestamp: BASE, order: 0 }])));
    });

    it('empties when all are deleted', () => {
      storage.events.storeEvents(Array.from({ length: 30 }, (_, index) => valid(index * 7_000_000, { id: `d${index}` })));
      expect(storage.events.deleteEvents({ start: 0 })).toBe(30);
      expect(rollupRows(storage)).toEqual([]);
    });

    it('drops rows deleted by search', () => {
      storage.events.storeEvents([valid(0, { data: { note: 'red umbrella' } }), valid(HOUR, { data: { note: 'blue bicycle' }, label: 'dog' }), valid(DAY, { data: { note: 'red kite' }, label: null })]);
      expect(storage.events.deleteEvents({ search: 'red' })).toBe(2);
      expect(countsOf(rollupRows(storage))).toEqual(countsOf(referenceRollup([{ id: `valid-${HOUR}`, type: 'motion', source: 'porch', label: 'dog', confidence: 0.5, timestamp: BASE + HOUR, order: 0 }])));
    });

    it('counts days from hours across midnight', () => {
      const stamps = [BASE - 1, BASE, BASE + DAY - 1, BASE + DAY, BASE + 23 * HOUR, BASE - HOUR];
      const model = stamps.map((timestamp, order) => ({ id: `n${order}`, type: 'motion', source: 'porch', label: 'cat', confidence: 0.5, timestamp, order }));
      storage.events.storeEvents(model.map(({ id, timestamp }) => ({ id, type: 'motion', source: 'porch', label: 'cat', confidence: 0.5, timestamp })));
      expect(countsOf(rollupRows(storage))).toEqual(countsOf(referenceRollup(model)));
    });

    it('matches random inserts, updates, deletes', () => {
      const next = randomGenerator(97);
      const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
      const types = ['motion', 'person', 'vehicle'];
      const sources = ['porch', 'yard', 'garage'];
      const labels = ['car', 'cat', 'dog', null];
      const model = new Map<string, ModelEvent>();
      let order = 0;
      const check = (step: string) => {
        const actual = rollupRows(storage);
        const expected = referenceRollup(model.values());
        expect(countsOf(actual), step).toEqual(countsOf(expected));
        for (let index = 0; index < Math.min(actual.length, expected.length); index++) {
          expect(actual[index]!.confidence_sum, step).toBeCloseTo(expected[index]!.confidence_sum, 9);
        }
      };

      for (let step = 0; step < 450; step++) {
        const roll = next();
        if (roll < 0.45) {
          const size = 1 + Math.floor(next() * 30);
          const batch: ModelEvent[] = [];
          for (let index = 0; index < size; index++) {
            const timestamp = BASE + Math.floor(next() * 2 * DAY) - 12 * HOUR;
            batch.push({ id: `s${order}`, type: pick(types), source: pick(sources), label: pick(labels), confidence: next() < 0.2 ? null : Math.round(next() * 100) / 100, timestamp, order: order++ });
          }
          const fail = next() < 0.3;
          const events: NewEvent[] = batch.map(({ id, type, source, label, confidence, timestamp }) => ({ id, type, source, label, confidence, timestamp }));
          if (fail) events.splice(Math.floor(next() * events.length) + 1, 0, { type: 'motion', source: 'porch', confidence: 3 });
          const error = caught(() => storage.events.storeEvents(events));
          expect(error === undefined, `step ${step}`).toBe(!fail);
          if (!fail) for (const event of batch) model.set(event.id, event);
        } else if (roll < 0.8 && model.size > 0) {
          const event = pick([...model.values()]);
          const kind = next();
          let patch: { label?: string | null; confidence?: number | null };
          if (kind < 0.4) patch = { label: pick(labels) };
          else if (kind < 0.55) patch = { confidence: null };
          else if (kind < 0.8) patch = { confidence: Math.round(next() * 100) / 100 };
          else patch = { label: pick(labels), confidence: Math.round(next() * 100) / 100 };
          storage.events.updateEvent(event.id, patch);
          model.set(event.id, { ...event, ...patch });
        } else if (model.size > 0) {
          const kind = next();
          let filter: EventFilter;
          let matches: (event: ModelEvent) => boolean;
          if (kind < 0.4) {
            const type = pick(types);
            const source = pick(sources);
            filter = { types: [type], sources: [source] };
            matches = (event) => event.type === type && event.source === source;
          } else if (kind < 0.8) {
            const start = BASE + Math.floor(next() * DAY) - 12 * HOUR;
            const end = BASE + Math.floor(next() * DAY) + 12 * HOUR;
            const label = pick(labels) ?? 'car';
            filter = { start, end, labels: [label] };
            matches = (event) => event.timestamp >= start && event.timestamp < end && event.label === label;
          } else {
            const minConfidence = Math.round(next() * 100) / 100;
            filter = { minConfidence };
            matches = (event) => event.confidence !== null && event.confidence >= minConfidence;
          }
          const doomed = [...model.values()].filter(matches);
          expect(storage.events.deleteEvents(filter), `step ${step}`).toBe(doomed.length);
          for (const event of doomed) model.delete(event.id);
        }
        check(`step ${step}`);
      }

      const events = [...model.values()];
      for (const [start, end] of [[BASE - 12 * HOUR, BASE + 36 * HOUR], [BASE - DAY, BASE + 2 * DAY], [BASE + 1_234_567, BASE + DAY + 7_654_321]]) {
        for (const bucket of ['hour', 'day'] as const) {
          for (const timeZone of ['UTC', 'Asia/Kolkata']) {
            const label = `${bucket} ${timeZone} ${start}`;
            expectStatistics(storage.events.getEventStatistics({ start: start!, end: end!, bucket, timeZone }), referenceStatistics(events, start!, end!, bucket, timeZone), label);
          }
        }
      }
      expect(allAscending(storage)).toEqual(expectedAscending(events));
    });
  });
});
