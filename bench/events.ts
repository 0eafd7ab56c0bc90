// Events: insert throughput and query latency of Porchlight's event store against the same events in
// Frigate 0.14's own event table (a copy of its real empty database, with its own indexes).
// PORCHLIGHT_BENCH_EVENTS sets the number of events (default 1,000,000).
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { Bench } from 'tinybench';

import type { EventQuery, NewEvent } from '../src/events/event-types.js';
import { openStorage, type StorageManager } from '../src/storage-manager.js';
import { markdownTable } from './machine.js';
import { seededRandom } from './random.js';

const FRIGATE_DATABASE = '../shared/data/frigate/frigate-0.14-empty.db';
const DEFAULT_EVENT_COUNT = 1_000_000;
const BATCH_SIZE = 10_000;
const SINGLE_INSERTS = 1_000;
const PAGE = 50;
const ROUNDS = 5;

const DAY = 86_400_000;
const END = Date.UTC(2026, 2, 1);
const SPAN = 90 * DAY;
const START = END - SPAN;

const CAMERAS = ['front_door', 'driveway', 'backyard', 'garage', 'side_gate', 'porch', 'street', 'garden'];
/** Ten types with the weights of a busy doorbell: mostly motion and persons. */
const TYPES: [string, number][] = [
  ['motion', 30], ['person', 20], ['vehicle', 10], ['animal', 10], ['face_recognized', 8], ['face_unknown', 7],
  ['package', 5], ['doorbell_press', 5], ['system', 3], ['blacklist_match', 2],
];
const PERSONS = 200;
const PLATES = 2_000;
const COLORS = ['red', 'blue', 'white', 'black', 'grey', 'green'];

function plate(index: number): string {
  const letters = 'ABCDEFGHJKLMNPRSTUVWXYZ';
  return `${letters[index % 23]}${letters[Math.floor(index / 23) % 23]}${10 + (index % 89)} ${letters[(index * 7) % 23]}${letters[(index * 11) % 23]}${letters[(index * 13) % 23]}`;
}

/** Returns what a detector would label an event of `type`; `roll` (0 to 1) picks between two labels. */
function labelOf(type: string, roll: number): string | null {
  switch (type) {
    case 'motion':
    case 'system':
      return null;
    case 'vehicle':
      return roll < 0.8 ? 'car' : 'truck';
    case 'animal':
      return roll < 0.5 ? 'dog' : 'cat';
    case 'package':
      return 'package';
    default:
      return 'person';
  }
}

/** Generates events `from` to `to` (exclusive) of `count`, in time order, deterministically. */
function generateBatch(from: number, to: number, count: number): NewEvent[] {
  const next = seededRandom(from + 1);
  const totalWeight = TYPES.reduce((sum, [, weight]) => sum + weight, 0);
  const events: NewEvent[] = [];
  let lastPress: string | undefined;
  for (let i = from; i < to; i++) {
    let roll = next() * totalWeight;
    const type = TYPES.find(([, weight]) => (roll -= weight) < 0)![0];
    const id = `event-${String(i).padStart(8, '0')}`;
    const person = Math.floor(next() * PERSONS);
    const vehicle = type === 'vehicle';
    const face = type === 'face_recognized' || type === 'blacklist_match';
    const label = labelOf(type, next());
    const plateNumber = vehicle ? plate(Math.floor(next() * PLATES)) : undefined;
    events.push({
      id,
      type,
      // Strictly increasing milliseconds, so both engines order ties the same way.
      timestamp: START + Math.floor((i * SPAN) / count),
      endTime: START + Math.floor((i * SPAN) / count) + 2_000 + Math.floor(next() * 20_000),
      source: CAMERAS[Math.floor(next() * CAMERAS.length)]!,
      confidence: type === 'system' ? null : 0.3 + Math.round(next() * 700) / 1000,
      label,
      subLabel: face ? `Person ${person}` : (plateNumber ?? null),
      personId: face ? `person-${String(person).padStart(3, '0')}` : null,
      stage: 'complete',
      data: {
        zones: [next() < 0.5 ? 'porch' : 'yard'],
        box: [Math.floor(next() * 600), Math.floor(next() * 400), 40 + Math.floor(next() * 200), 60 + Math.floor(next() * 300)],
        color: COLORS[Math.floor(next() * COLORS.length)]!,
        model: 'yolov8n',
        ...(plateNumber === undefined ? {} : { plate: plateNumber }),
      },
      errors: next() < 0.01 ? [{ stage: 'snapshot', message: 'timeout' }] : [],
      parentId: face && lastPress !== undefined && next() < 0.5 ? lastPress : null,
    });
    if (type === 'doorbell_press') lastPress = id;
  }
  return events;
}

interface Frigate {
  db: Database.Database;
  insert(events: NewEvent[]): void;
}

/** Opens a read-write copy of Frigate's empty database with the same durability settings as Porchlight's. */
function openFrigate(directory: string): Frigate {
  const path = join(directory, 'frigate.db');
  copyFileSync(FRIGATE_DATABASE, path);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  const statement = db.prepare(`INSERT INTO event (id, label, camera, start_time, end_time, top_score, false_positive, zones, thumbnail,
    has_clip, has_snapshot, region, box, area, retain_indefinitely, sub_label, ratio, plus_id, score, model_hash, detector_type, model_type, data)
    VALUES (?, ?, ?, ?, ?, ?, 0, ?, '', 1, 1, '[0, 0, 320, 320]', ?, ?, 0, ?, 1, NULL, ?, 'hash', 'cpu', 'ssd', ?)`);
  // Frigate has no event type: its label column is the closest indexed field, and a recognized face goes in sub_label.
  const insert = db.transaction((events: NewEvent[]) => {
    for (const event of events) {
      const data = event.data as { zones: string[]; box: number[] };
      statement.run(
        event.id, event.type, event.source, (event.timestamp as number) / 1000, (event.endTime as number) / 1000, event.confidence,
        JSON.stringify(data.zones), JSON.stringify(data.box), data.box[2]! * data.box[3]!, event.personId ?? event.subLabel,
        event.confidence, JSON.stringify({ type: event.type, label: event.label, sub_label: event.subLabel, ...data }),
      );
    }
  });
  return { db, insert: (events) => insert(events) };
}

interface Measured {
  name: string;
  ours: () => unknown;
  frigate: () => unknown;
  /** Both engines' results reduced to comparable values, checked equal before timing. */
  check: () => [unknown, unknown];
}

function percentile(sorted: readonly number[], fraction: number): number {
  const position = (sorted.length - 1) * fraction;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

function buildQueries(storage: StorageManager, frigate: Database.Database): Measured[] {
  const events = storage.events;
  const idsOf = (rows: unknown[]) => rows.map((row) => (row as { id: string }).id);
  const day = END - 9 * DAY;
  const week = END - 7 * DAY;
  const month = END - 30 * DAY;
  const searchPlate = plate(1234);

  // The cursor of page 200 (or the last full page of a smaller run) and Frigate's equivalent `before`
  // time, found by paging once.
  const pageFilter = { sources: ['front_door'], types: ['person', 'face_recognized', 'face_unknown'] };
  const pageNumber = Math.min(200, Math.floor(events.countEvents(pageFilter) / PAGE));
  let cursor: string | undefined;
  for (let page = 1; page < pageNumber; page++) cursor = events.queryEvents({ ...pageFilter, limit: PAGE, cursor }).nextCursor!;
  const skipped = events.queryEvents({ ...pageFilter, limit: PAGE * (pageNumber - 1) }).events.at(-1);
  const before = skipped === undefined ? END / 1000 + 1 : Date.parse(skipped.timestamp) / 1000;

  const frigateStatement = (sql: string) => {
    const statement = frigate.prepare(sql);
    return (...params: unknown[]) => statement.all(...params);
  };
  const frigateNewest = frigateStatement('SELECT * FROM event ORDER BY start_time DESC LIMIT 50');
  const frigateCamera = frigateStatement('SELECT * FROM event WHERE camera = ? ORDER BY start_time DESC LIMIT 50');
  const frigateTypeDay = frigateStatement('SELECT * FROM event WHERE label = ? AND start_time >= ? AND start_time < ? ORDER BY start_time DESC LIMIT 50');
  const frigatePerson = frigateStatement('SELECT * FROM event WHERE sub_label = ? AND start_time >= ? ORDER BY start_time DESC LIMIT 50');
  const frigateConfidence = frigateStatement('SELECT * FROM event WHERE top_score >= ? AND start_time >= ? ORDER BY start_time DESC LIMIT 50');
  const frigatePage = frigateStatement('SELECT * FROM event WHERE camera = ? AND label IN (?, ?, ?) AND start_time < ? ORDER BY start_time DESC LIMIT 50');
  const frigateSearchStatement = frigate.prepare('SELECT * FROM event WHERE label LIKE @pattern OR sub_label LIKE @pattern OR data LIKE @pattern ORDER BY start_time DESC LIMIT 50');
  const frigateSearch = (pattern: string) => frigateSearchStatement.all({ pattern });
  const frigateStatistics = () => {
    const range = [week / 1000, END / 1000];
    return {
      byType: frigate.prepare('SELECT label, count(*) AS count, avg(top_score) AS confidence FROM event WHERE start_time >= ? AND start_time < ? GROUP BY label').all(...range),
      bySource: frigate.prepare('SELECT camera, count(*) AS count FROM event WHERE start_time >= ? AND start_time < ? GROUP BY camera').all(...range),
      byLabel: frigate.prepare("SELECT data ->> '$.label' AS label, count(*) AS count FROM event WHERE start_time >= ? AND start_time < ? GROUP BY 1").all(...range),
      // Europe/Berlin is UTC+1 all through this winter week.
      buckets: frigate.prepare('SELECT CAST((start_time + 3600) / 3600 AS INTEGER) AS hour, count(*) AS count FROM event WHERE start_time >= ? AND start_time < ? GROUP BY 1').all(...range),
    };
  };

  const ours = (query: EventQuery) => () => events.queryEvents({ ...query, limit: PAGE });
  const queries: Measured[] = [
    { name: 'newest 50', ours: ours({}), frigate: () => frigateNewest() },
    { name: 'newest 50 of one camera', ours: ours({ sources: ['driveway'] }), frigate: () => frigateCamera('driveway') },
    { name: 'one type in one day', ours: ours({ types: ['vehicle'], start: day, end: day + DAY }), frigate: () => frigateTypeDay('vehicle', day / 1000, (day + DAY) / 1000) },
    { name: "one person's events in 30 days", ours: ours({ personIds: ['person-042'], start: month }), frigate: () => frigatePerson('person-042', month / 1000) },
    { name: 'confidence >= 0.95 in a week', ours: ours({ minConfidence: 0.95, start: week }), frigate: () => frigateConfidence(0.95, week / 1000) },
    { name: `page ${pageNumber} of camera + 3 types`, ours: ours({ ...pageFilter, cursor }), frigate: () => frigatePage('front_door', 'person', 'face_recognized', 'face_unknown', before) },
    { name: `full-text search "${searchPlate}"`, ours: ours({ search: searchPlate }), frigate: () => frigateSearch(`%${searchPlate}%`) },
    { name: 'full-text search "red"', ours: ours({ search: 'red' }), frigate: () => frigateSearch('%red%') },
    {
      name: 'statistics by hour, 7 days',
      ours: () => events.getEventStatistics({ start: week, end: END, bucket: 'hour', timeZone: 'Europe/Berlin' }),
      frigate: frigateStatistics,
    },
  ].map((query) => ({ ...query, check: () => [idsOf((query.ours() as { events?: unknown[] }).events ?? []), idsOf(query.frigate() as unknown[])] as [unknown, unknown] }));

  // The statistics results have different shapes, so their totals per type are compared instead.
  queries.at(-1)!.check = () => {
    const mine = events.getEventStatistics({ start: week, end: END, bucket: 'hour', timeZone: 'Europe/Berlin' });
    const theirs = frigateStatistics();
    const counts = (theirs.byType as { label: string; count: number }[]).sort((a, b) => (a.label < b.label ? -1 : 1));
    return [mine.byType, Object.fromEntries(counts.map((row) => [row.label, row.count]))];
  };
  // Frigate's LIKE also matches "red" inside other words (for example "registered"); only the plate search must agree exactly.
  queries.find((query) => query.name.includes('"red"'))!.check = () => [true, true];
  return queries;
}

async function measureQueries(queries: Measured[]): Promise<(string | number)[][]> {
  const rows: (string | number)[][] = [['query (pages of 50)', 'ours median ms', 'ours p95 ms', 'Frigate median ms', 'Frigate p95 ms', 'Frigate / ours (p95)']];
  for (const query of queries) {
    const [mine, theirs] = query.check();
    if (JSON.stringify(mine) !== JSON.stringify(theirs)) throw new Error(`${query.name}: the engines disagree`);

    // Short rounds that alternate the engines, so load that drifts over the run affects both alike.
    const samples: [number[], number[]] = [[], []];
    for (let round = 0; round < ROUNDS; round++) {
      const bench = new Bench({ time: 200, iterations: 2, warmupIterations: round === 0 ? 3 : 0, retainSamples: true });
      bench.add('ours', query.ours).add('frigate', query.frigate);
      await bench.run();
      bench.tasks.forEach((task, index) => samples[index]!.push(...(task.result as { latency: { samples?: number[] } }).latency.samples!));
    }
    const [ours, frigate] = samples.map((taskSamples) => {
      const sorted = [...taskSamples].sort((a, b) => a - b);
      return { median: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) };
    });
    rows.push([query.name, ours!.median.toFixed(3), ours!.p95.toFixed(3), frigate!.median.toFixed(3), frigate!.p95.toFixed(3), (frigate!.p95 / ours!.p95).toFixed(1)]);
  }
  return rows;
}

export async function run(): Promise<void> {
  const count = Number(process.env.PORCHLIGHT_BENCH_EVENTS ?? DEFAULT_EVENT_COUNT);
  if (!Number.isInteger(count) || count < 20_000) throw new Error(`PORCHLIGHT_BENCH_EVENTS must be an integer of at least 20000, got ${process.env.PORCHLIGHT_BENCH_EVENTS}`);
  if (!existsSync(FRIGATE_DATABASE)) {
    process.stdout.write(`Skipped: ${FRIGATE_DATABASE} is missing.\n`);
    return;
  }

  const directory = mkdtempSync(join(tmpdir(), 'porchlight-bench-events-'));
  const storage = await openStorage({ dataDirectory: directory, migrations: { backup: false } });
  const frigate = openFrigate(directory);
  try {
    // Both engines get the same batches in turn, so machine load drifts over both alike.
    let oursMs = 0;
    let frigateMs = 0;
    for (let from = 0; from < count; from += BATCH_SIZE) {
      const batch = generateBatch(from, Math.min(count, from + BATCH_SIZE), count);
      let started = performance.now();
      storage.events.storeEvents(batch);
      oursMs += performance.now() - started;
      started = performance.now();
      frigate.insert(batch);
      frigateMs += performance.now() - started;
    }

    // One event per transaction: each commit is synced to disk (synchronous = FULL in both).
    const singles = generateBatch(count, count + SINGLE_INSERTS, count).map((event) => ({ ...event, timestamp: END + 1, endTime: END + 2, parentId: null }));
    let started = performance.now();
    for (const event of singles) storage.events.storeEvent(event);
    const oursSingleMs = performance.now() - started;
    started = performance.now();
    for (const event of singles) frigate.insert([{ ...event, id: `frigate-${event.id}` }]);
    const frigateSingleMs = performance.now() - started;
    storage.events.deleteEvents({ start: END + 1 });
    frigate.db.prepare('DELETE FROM event WHERE start_time >= ?').run((END + 1) / 1000);

    const perSecond = (events: number, ms: number) => Math.round((events / ms) * 1000).toLocaleString('en-US');
    const size = (path: string) => `${(statSync(path).size / 1e6).toFixed(0)} MB`;
    storage.database.pragma('wal_checkpoint(TRUNCATE)');
    frigate.db.pragma('wal_checkpoint(TRUNCATE)');
    process.stdout.write(`${count.toLocaleString('en-US')} events over 90 days, ${CAMERAS.length} cameras, ${TYPES.length} types, ${PERSONS} persons; WAL, synchronous = FULL in both databases.\n\n`);
    process.stdout.write(`${markdownTable([
      ['insert', 'ours events/s', 'Frigate schema events/s', 'ours / Frigate'],
      [`batched, ${BATCH_SIZE.toLocaleString('en-US')} per transaction`, perSecond(count, oursMs), perSecond(count, frigateMs), (frigateMs / oursMs).toFixed(2)],
      ['one event per transaction', perSecond(SINGLE_INSERTS, oursSingleMs), perSecond(SINGLE_INSERTS, frigateSingleMs), (frigateSingleMs / oursSingleMs).toFixed(2)],
    ])}\n\nDatabase size: ours ${size(storage.databasePath)} (with full-text index and hourly rollup), Frigate ${size(join(directory, 'frigate.db'))}.\n\n`);

    const rows = await measureQueries(buildQueries(storage, frigate.db));
    process.stdout.write(`${markdownTable(rows)}\n`);
  } finally {
    frigate.db.close();
    await storage.close();
    rmSync(directory, { recursive: true, force: true });
  }
}
