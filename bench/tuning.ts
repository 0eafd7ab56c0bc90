// The settings an operator can change, each measured against its alternatives in one run: journal
// mode and durability per commit, batch size of event and face writes, and the page cache size.
// Sizes are set by PORCHLIGHT_BENCH_TUNING_EVENTS (default 300,000 events for the cache runs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Bench } from 'tinybench';

import { openDatabase, type SqliteDatabase } from '../src/db/open-database.js';
import { EventStore } from '../src/events/event-store.js';
import type { NewEvent } from '../src/events/event-types.js';
import { openStorage } from '../src/storage-manager.js';
import { markdownTable } from './machine.js';
import { seededRandom } from './random.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
const CAMERAS = ['front_door', 'driveway', 'backyard', 'garage', 'side_gate', 'porch', 'street', 'garden'];
const TYPES = ['motion', 'person', 'vehicle', 'package', 'doorbell_press', 'face_recognized', 'face_unknown', 'system'];
const WORDS = ['red', 'blue', 'white', 'van', 'courier', 'parcel', 'bicycle', 'dog', 'cat', 'umbrella'];
const CACHE_EVENTS = Number(process.env.PORCHLIGHT_BENCH_TUNING_EVENTS ?? 300_000);

/** `count` events spread evenly over `days` days from START, with searchable words in data. */
function makeEvents(count: number, days: number, seed: number): NewEvent[] {
  const next = seededRandom(seed);
  const step = (days * DAY) / count;
  return Array.from({ length: count }, (_, i) => ({
    type: TYPES[Math.floor(next() * TYPES.length)]!,
    source: CAMERAS[Math.floor(next() * CAMERAS.length)]!,
    timestamp: START + Math.floor(i * step),
    confidence: Math.round(next() * 1000) / 1000,
    label: 'person',
    data: { description: `${WORDS[Math.floor(next() * WORDS.length)]} ${WORDS[Math.floor(next() * WORDS.length)]}`, box: [1, 2, 3, 4] },
  }));
}

interface Folder {
  path: string;
  db: SqliteDatabase;
  events: EventStore;
  remove(): void;
}

/** Creates a migrated events database in a new temporary folder, with the given journal mode and durability. */
async function eventsDatabase(journal: 'wal' | 'delete', durability: 'full' | 'normal'): Promise<Folder> {
  const path = mkdtempSync(join(tmpdir(), 'porchlight-tuning-'));
  const storage = await openStorage({ dataDirectory: path, migrations: { backup: false } });
  await storage.close();

  const db = openDatabase(join(path, 'porchlight.db'), { durability });
  if (journal === 'delete') db.pragma('journal_mode = DELETE');
  return { path, db, events: new EventStore(db), remove: () => { db.close(); rmSync(path, { recursive: true, force: true }); } };
}

/** Returns the events per second of `write`, which stores `events` events. */
function throughput(events: number, write: () => void): number {
  const started = performance.now();
  write();
  return events / ((performance.now() - started) / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Measures one event per transaction under each journal mode and durability, in alternating rounds. */
async function commitCost(): Promise<void> {
  const configurations = [['wal', 'full'], ['wal', 'normal'], ['delete', 'full'], ['delete', 'normal']] as const;
  const perRound = 300;
  const rounds = 4;
  const results = new Map<string, number[]>();
  const folders = await Promise.all(configurations.map(([journal, durability]) => eventsDatabase(journal, durability)));

  try {
    for (let round = 0; round < rounds; round++) {
      folders.forEach((folder, index) => {
        const events = makeEvents(perRound, 1, round * 10 + index);
        const rate = throughput(perRound, () => {
          for (const event of events) folder.events.storeEvent(event);
        });
        const key = configurations[index]!.join('/');
        results.set(key, [...(results.get(key) ?? []), rate]);
      });
    }
  } finally {
    for (const folder of folders) folder.remove();
  }

  const baseline = median(results.get('wal/full')!);
  const rows: (string | number)[][] = [['journal_mode / synchronous', 'events/s (median of rounds)', 'vs WAL + FULL']];
  for (const [key, rates] of results) rows.push([key.toUpperCase().replace('/', ' + '), Math.round(median(rates)), `${(median(rates) / baseline).toFixed(2)}x`]);
  process.stdout.write(`\nOne event per transaction, ${perRound} events x ${rounds} alternating rounds per setting.\n\n${markdownTable(rows)}\n`);
}

/** Measures events per second by the number of events per `storeEvents` call (WAL, synchronous FULL), sizes taking turns. */
async function eventBatchSizes(): Promise<void> {
  const sizes = [1, 10, 100, 1_000, 10_000];
  const rounds = 3;
  const folder = await eventsDatabase('wal', 'full');
  const rates = new Map<number, number[]>();

  try {
    for (let round = 0; round < rounds; round++) {
      for (const size of sizes) {
        const count = Math.min(10_000, size * 300);
        const events = makeEvents(count, 1, round * 100 + size);
        const rate = throughput(count, () => {
          for (let start = 0; start < count; start += size) folder.events.storeEvents(events.slice(start, start + size));
        });
        rates.set(size, [...(rates.get(size) ?? []), rate]);
      }
    }
  } finally {
    folder.remove();
  }

  const baseline = median(rates.get(1)!);
  const rows: (string | number)[][] = [['events per storeEvents call', 'events per round', 'events/s (median)', 'vs 1 per call']];
  for (const size of sizes) {
    const rate = median(rates.get(size)!);
    rows.push([size.toLocaleString('en-US'), Math.min(10_000, size * 300).toLocaleString('en-US'), Math.round(rate), `${(rate / baseline).toFixed(1)}x`]);
  }
  process.stdout.write(`\nBatch size of event writes (WAL, synchronous = FULL), median of ${rounds} rounds in which the sizes take turns.\n\n${markdownTable(rows)}\n`);
}

/** Measures encodings per second by the number of encodings per `enrollMany` call (512-d, WAL, FULL), sizes taking turns. */
async function faceBatchSizes(): Promise<void> {
  const sizes = [1, 100, 5_000];
  const rounds = 3;
  const next = seededRandom(42);
  const path = mkdtempSync(join(tmpdir(), 'porchlight-tuning-'));
  const storage = await openStorage({ dataDirectory: path, migrations: { backup: false } });
  const rates = new Map<number, number[]>();
  let person = 0;

  try {
    for (let round = 0; round < rounds; round++) {
      for (const size of sizes) {
        const count = Math.min(5_000, size * 300);
        const enrollments = Array.from({ length: count }, () => {
          person += 1;
          return { person: { id: `p${person}`, name: `Person ${person}`, list: 'known' as const }, encodings: [Float32Array.from({ length: 512 }, () => next() * 2 - 1)] };
        });
        const rate = throughput(count, () => {
          for (let start = 0; start < count; start += size) storage.faces.enrollMany(enrollments.slice(start, start + size));
        });
        rates.set(size, [...(rates.get(size) ?? []), rate]);
      }
    }
  } finally {
    await storage.close();
    rmSync(path, { recursive: true, force: true });
  }

  const baseline = median(rates.get(1)!);
  const rows: (string | number)[][] = [['encodings per enrollMany call', 'encodings per round', 'encodings/s (median)', 'vs 1 per call']];
  for (const size of sizes) {
    const rate = median(rates.get(size)!);
    rows.push([size.toLocaleString('en-US'), Math.min(5_000, size * 300).toLocaleString('en-US'), Math.round(rate), `${(rate / baseline).toFixed(1)}x`]);
  }
  process.stdout.write(`\nBatch size of face enrollment (one new person with one 512-d encoding per record), median of ${rounds} rounds.\n\n${markdownTable(rows)}\n`);
}

/** Measures query latency by page cache size on one database, the settings taking turns in each round. */
async function cacheSizes(): Promise<void> {
  const folder = await eventsDatabase('wal', 'full');
  const days = 90;
  try {
    const events = makeEvents(CACHE_EVENTS, days, 7);
    for (let start = 0; start < events.length; start += 10_000) folder.events.storeEvents(events.slice(start, start + 10_000));

    const settings = [['2 MiB (SQLite default)', -2_000], ['16 MiB', -16_384], ['64 MiB', -65_536]] as const;
    const next = seededRandom(99);
    const queries: [string, () => unknown][] = [
      ['one camera, random day', () => {
        const day = START + Math.floor(next() * days) * DAY;
        return folder.events.queryEvents({ sources: [CAMERAS[Math.floor(next() * CAMERAS.length)]!], start: day, end: day + DAY, limit: 50 });
      }],
      ['full-text word, random week', () => {
        const week = START + Math.floor(next() * (days - 7)) * DAY;
        return folder.events.queryEvents({ search: WORDS[Math.floor(next() * WORDS.length)]!, start: week, end: week + 7 * DAY, limit: 50 });
      }],
      ['count of a type, random 30 days', () => {
        const month = START + Math.floor(next() * (days - 30)) * DAY;
        return folder.events.countEvents({ types: [TYPES[Math.floor(next() * TYPES.length)]!], start: month, end: month + 30 * DAY });
      }],
    ];

    const medians = new Map<string, number[]>();
    for (let round = 0; round < 3; round++) {
      for (const [label, pages] of settings) {
        folder.db.pragma(`cache_size = ${pages}`);
        const bench = new Bench({ time: 300, warmupTime: 50 });
        for (const [name, query] of queries) bench.add(name, query);
        await bench.run();
        for (const task of bench.tasks) {
          const key = `${label}|${task.name}`;
          const result = task.result as { latency?: { p50?: number } } | undefined;
          medians.set(key, [...(medians.get(key) ?? []), result?.latency?.p50 ?? Number.NaN]);
        }
      }
    }

    const rows: (string | number)[][] = [['query', ...settings.map(([label]) => `${label} median ms`), 'time 2 MiB / 64 MiB']];
    for (const [name] of queries) {
      const values = settings.map(([label]) => median(medians.get(`${label}|${name}`)!));
      rows.push([name, ...values.map((value) => value.toFixed(3)), (values[0]! / values[2]!).toFixed(2)]);
    }
    process.stdout.write(`\nPage cache size (PRAGMA cache_size), ${CACHE_EVENTS.toLocaleString('en-US')} events over ${days} days; median of 3 alternating rounds.\n\n${markdownTable(rows)}\n`);
  } finally {
    folder.remove();
  }
}

export async function run(): Promise<void> {
  await commitCost();
  await eventBatchSizes();
  await faceBatchSizes();
  await cacheSizes();
}
