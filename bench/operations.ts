// Operations: backup, verify and restore time and size of a full store, the event loop's longest
// pause while a backup runs under load, and the resident memory of a process in typical operation.
// PORCHLIGHT_BENCH_SCALE scales the data (default 1: 100,000 encodings and 1,000,000 events; 0.05
// for a quick run).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Logger } from '../src/logger.js';
import { openStorage, type StorageManager } from '../src/storage-manager.js';
import { markdownTable } from './machine.js';
import { seededRandom } from './random.js';

const SCALE = Number(process.env.PORCHLIGHT_BENCH_SCALE ?? '1');
const ENCODINGS = Math.round(100_000 * SCALE);
const EVENTS = Math.round(1_000_000 * SCALE);
const METRIC_POINTS = Math.round(1_000_000 * SCALE);
/** Metrics recorded every 10 s, as a doorbell's services would (camera fps, CPU, queue depth...). */
const METRIC_NAMES = ['camera.fps', 'camera.dropped_frames', 'detector.latency_ms', 'cpu.percent', 'memory.rss_mb', 'queue.depth', 'disk.free_gb', 'temperature.c', 'network.rx_kbps', 'network.tx_kbps'];
const EVENT_BATCH = 10_000;
const ENCODINGS_PER_PERSON = 4;
const DIMENSION = 128;
/** Encodings of the resident-memory process: a typical household gallery, not scaled. */
const RESIDENT_ENCODINGS = 10_000;
const RESIDENT_SECONDS = Number(process.env.PORCHLIGHT_BENCH_RESIDENT_SECONDS ?? '20');

/** Writes persons and encodings straight into the tables in one transaction, much faster than enrollMany; the next open loads them. */
export function fillFaces(storage: StorageManager, encodings: number, seed: number): void {
  const db = storage.database;
  const next = seededRandom(seed);
  const vector = new Float32Array(DIMENSION);
  const now = Date.now();
  db.transaction(() => {
    db.prepare("INSERT INTO face_models (name, dimension, metric, created_at) VALUES ('default', ?, 'l2', ?) ON CONFLICT DO NOTHING").run(DIMENSION, now);
    const person = db.prepare("INSERT INTO persons (id, name, list, metadata, created_at, updated_at) VALUES (?, ?, 'known', '{}', ?, ?)");
    const encoding = db.prepare("INSERT INTO encodings (person_id, model, dimension, vector, created_at) VALUES (?, 'default', ?, ?, ?)");
    for (let i = 0; i < encodings; i++) {
      const id = `person-${Math.floor(i / ENCODINGS_PER_PERSON)}`;
      if (i % ENCODINGS_PER_PERSON === 0) person.run(id, `Person ${i / ENCODINGS_PER_PERSON}`, now, now);
      for (let d = 0; d < DIMENSION; d++) vector[d] = next() * 0.2 - 0.1;
      encoding.run(id, DIMENSION, Buffer.from(vector.buffer), now);
    }
  })();
}

const CAMERAS = ['front_door', 'driveway', 'backyard', 'garage', 'side_gate', 'porch', 'street', 'garden'];
const EVENT_TYPES = ['motion', 'person', 'vehicle', 'animal', 'face_recognized', 'face_unknown', 'package', 'doorbell_press', 'system', 'blacklist_match'];

/** Stores `count` events spread over the 90 days before now, in batches, as a detector would write them. */
export function fillEvents(storage: StorageManager, count: number, seed: number): void {
  const next = seededRandom(seed);
  const end = Date.now();
  const span = 90 * 86_400_000;
  for (let from = 0; from < count; from += EVENT_BATCH) {
    const batch = [];
    for (let i = from; i < Math.min(count, from + EVENT_BATCH); i++) {
      const type = EVENT_TYPES[Math.floor(next() * next() * EVENT_TYPES.length)]!;
      const person = type === 'face_recognized' || type === 'blacklist_match';
      batch.push({
        type,
        timestamp: end - span + Math.floor((i * span) / count),
        source: CAMERAS[Math.floor(next() * CAMERAS.length)]!,
        confidence: Math.round((0.3 + next() * 0.7) * 1000) / 1000,
        label: type === 'motion' || type === 'system' ? null : 'person',
        subLabel: person ? `Person ${Math.floor(next() * 200)}` : null,
        personId: person ? `person-${Math.floor(next() * 200)}` : null,
        stage: 'complete',
        data: { zones: [next() < 0.5 ? 'porch' : 'yard'], box: [Math.floor(next() * 600), Math.floor(next() * 400), 80, 160], model: 'yolov8n' },
      });
    }
    storage.events.storeEvents(batch);
  }
}

/** Records `count` points of ten metrics, one every 10 s per metric, ending now; then flushes. */
export function fillMetrics(storage: StorageManager, count: number, seed: number): void {
  const next = seededRandom(seed);
  const steps = Math.ceil(count / METRIC_NAMES.length);
  const end = Date.now();
  for (let step = 0; step < steps; step++) {
    const timestamp = end - (steps - step) * 10_000;
    for (let m = 0; m < METRIC_NAMES.length && step * METRIC_NAMES.length + m < count; m++) {
      storage.metrics.record(METRIC_NAMES[m]!, Math.round(next() * 1000) / 10, { timestamp, tags: { host: 'doorbell' } });
    }
  }
  storage.metrics.flush();
}

/** Collects the per-database copy and compression times that createBackup logs at debug level. */
function timingLogger(records: Record<string, unknown>[]): Logger {
  const discard = () => {};
  const logger: Logger = {
    trace: discard,
    debug: (object: unknown) => {
      if (typeof object === 'object' && object !== null && 'copyMs' in object) records.push(object as Record<string, unknown>);
    },
    info: discard,
    warn: discard,
    error: discard,
    fatal: discard,
    child: () => logger,
  };
  return logger;
}

/**
 * Runs `work` while a 1 ms interval timer measures how late each tick fires, and while the main thread
 * keeps doing a face search and a write every few milliseconds. Returns the longest lateness in ms.
 */
async function longestPause<T>(storage: StorageManager, work: () => Promise<T>): Promise<{ result: T; maxPauseMs: number; searches: number }> {
  let last = performance.now();
  let maxPauseMs = 0;
  let searches = 0;
  const probe = new Float32Array(DIMENSION).fill(0.01);
  const ticker = setInterval(() => {
    const now = performance.now();
    maxPauseMs = Math.max(maxPauseMs, now - last - 1);
    last = now;
    if (searches % 5 === 0) storage.faces.searchFacesSync(probe, { k: 1 });
    searches += 1;
  }, 1);
  try {
    const result = await work();
    // A block that lasts until the work resolves is seen by no tick, so the time since the last one counts too.
    maxPauseMs = Math.max(maxPauseMs, performance.now() - last - 1);
    return { result, maxPauseMs, searches };
  } finally {
    clearInterval(ticker);
  }
}

function megabytes(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

/** Starts the resident-memory process and returns its report. */
function measureResident(dataDirectory: string): Promise<{ maxRssBytes: number; finalRssBytes: number; heapUsedBytes: number; searches: number; queries: number; points: number }> {
  const script = fileURLToPath(new URL('./operations-resident.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dataDirectory, String(RESIDENT_SECONDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += String(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`the resident-memory process exited with code ${code}`));
      else resolve(JSON.parse(output));
    });
  });
}

export async function run(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'porchlight-bench-operations-'));
  try {
    const dataDirectory = join(folder, 'data');
    const records: Record<string, unknown>[] = [];
    // The person cache holds every person, as the README advises, so the probe's searches read no rows
    // from SQLite and the pause it measures is the event loop's, not a read waiting for the disk.
    const options = {
      dataDirectory,
      operationalMetrics: false,
      faces: { personCacheSize: Math.ceil(ENCODINGS / ENCODINGS_PER_PERSON) + 1 },
      backup: { intervalMinutes: 0 },
      cleanup: { intervalMinutes: 0 },
      logger: timingLogger(records),
    };

    let started = performance.now();
    let storage = await openStorage(options);
    fillFaces(storage, ENCODINGS, 1);
    fillEvents(storage, EVENTS, 3);
    fillMetrics(storage, METRIC_POINTS, 5);
    storage.database.pragma('wal_checkpoint(TRUNCATE)');
    await storage.close();
    const fillMs = performance.now() - started;

    // The same store backed up with each codec in turn, so their times compare within one run.
    const codecs: Record<string, { backup: Awaited<ReturnType<StorageManager['backupAll']>>; maxPauseMs: number; copyMs: number; compressMs: number }> = {};
    let openMs = 0;
    for (const compression of ['gzip', 'none', 'brotli'] as const) {
      records.length = 0;
      started = performance.now();
      storage = await openStorage({ ...options, backup: { ...options.backup, compression } });
      openMs = performance.now() - started;
      const measured = await longestPause(storage, () => storage.backupAll());
      codecs[compression] = {
        backup: measured.result,
        maxPauseMs: measured.maxPauseMs,
        copyMs: records.reduce((sum, record) => sum + (record.copyMs as number) + (record.hashMs as number), 0),
        compressMs: records.reduce((sum, record) => sum + (record.compressMs as number), 0),
      };
      if (compression !== 'brotli') await storage.close();
    }
    const backup = codecs.brotli!;
    const rawBytes = backup.backup.manifest.databases.reduce((sum, database) => sum + database.bytes, 0);
    const idle = await longestPause(storage, () => new Promise((resolve) => setTimeout(resolve, 3000)));

    started = performance.now();
    const verified = await storage.verifyBackup(backup.backup.path);
    const verifyMs = performance.now() - started;
    if (!verified.ok) throw new Error(`the benchmark's backup failed verification: ${verified.problems.join(' ')}`);

    const restore = await longestPause(storage, () => storage.restoreFromBackup(backup.backup.path));
    const indexRows = storage.faces.indexOf()?.size ?? 0;
    if (indexRows !== ENCODINGS) throw new Error(`the restored index has ${indexRows} rows, expected ${ENCODINGS}`);
    await storage.close();

    const resident = join(folder, 'resident');
    const residentStorage = await openStorage({ dataDirectory: resident, backup: { intervalMinutes: 0 }, cleanup: { intervalMinutes: 0 } });
    fillFaces(residentStorage, RESIDENT_ENCODINGS, 2);
    fillEvents(residentStorage, EVENTS, 4);
    await residentStorage.close();
    const memory = await measureResident(resident);

    const content = `${ENCODINGS.toLocaleString('en-US')} encodings of ${DIMENSION} floats, ${EVENTS.toLocaleString('en-US')} events and ${METRIC_POINTS.toLocaleString('en-US')} metric points`;
    process.stdout.write(`Store: ${content}, ${megabytes(rawBytes)} MiB (filled in ${(fillMs / 1000).toFixed(1)} s, opened with index load in ${(openMs / 1000).toFixed(2)} s).\n\n`);
    const codecRow = (name: string, entry: (typeof codecs)[string]) => [
      `backupAll, ${name}`,
      (entry.backup.durationMs / 1000).toFixed(2),
      (entry.copyMs / 1000).toFixed(2),
      (entry.compressMs / 1000).toFixed(2),
      megabytes(entry.backup.bytes),
      entry.maxPauseMs.toFixed(1),
    ];
    process.stdout.write(`${markdownTable([
      ['operation', 'total (s)', 'online copy + SHA-256 (s)', 'compress + SHA-256 (s)', 'backup (MiB)', 'longest event-loop pause (ms)'],
      codecRow('brotli level 1 (default)', codecs.brotli!),
      codecRow(`gzip level 1, ${Math.min(4, availableParallelism())} workers`, codecs.gzip!),
      codecRow('no compression', codecs.none!),
      ['verifyBackup (SHA-256, decompress, integrity_check)', (verifyMs / 1000).toFixed(2), '', '', '', ''],
      ['restoreFromBackup (verify, swap, reopen, index load)', (restore.result.durationMs / 1000).toFixed(2), '', '', '', restore.maxPauseMs.toFixed(1)],
      ['idle, same probe (3 s)', '', '', '', '', idle.maxPauseMs.toFixed(1)],
    ])}\n\n`);
    process.stdout.write(`Event-loop pause: a 1 ms timer on the main thread, which also ran a face search every 5 ticks, measured how late each tick fired. The default backup also reported max ${backup.backup.maxEventLoopDelayMs.toFixed(1)} ms from monitorEventLoopDelay. The restore pauses the loop by design: it reopens the databases and reloads the face index synchronously.\n\n`);
    process.stdout.write(`${markdownTable([
      ['resident process', 'value'],
      ['content', `${RESIDENT_ENCODINGS.toLocaleString('en-US')} encodings, ${EVENTS.toLocaleString('en-US')} events`],
      ['duration', `${RESIDENT_SECONDS} s: ${memory.searches} face searches, ${memory.queries} event queries, ${memory.points} metric points recorded`],
      ['max RSS (MiB)', megabytes(memory.maxRssBytes)],
      ['final RSS (MiB)', megabytes(memory.finalRssBytes)],
      ['heap used (MiB)', megabytes(memory.heapUsedBytes)],
    ])}\n`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
