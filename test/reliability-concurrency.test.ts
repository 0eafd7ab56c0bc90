import { execFile } from 'node:child_process';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { checkFaceIndex } from '../src/operations/face-index-check.js';
import { openStorage, type StorageManager } from '../src/storage-manager.js';
import { EVENT_EPOCH, batch, eventBatch, personIds } from './fixtures/writer-data.mjs';
import { temporaryDirectory } from './helpers/reference.js';

const WORKERS = 4;
const READERS_PER_WORKER = 10;
const READERS_IN_PROCESS = 10;
const READ_MS = 1500;

interface ReaderReport {
  reads: number;
  errors: { code: string; message: string }[];
  torn: number;
  readers: number;
}

function readInWorker(dataDirectory: string): Promise<ReaderReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./fixtures/reader-worker.mjs', import.meta.url), { workerData: { dataDirectory, count: READERS_PER_WORKER, durationMs: READ_MS } });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

async function readInProcess(dataDirectory: string): Promise<ReaderReport> {
  const script = new URL('./fixtures/reader-process.mjs', import.meta.url).pathname;
  const { stdout } = await promisify(execFile)(process.execPath, [script, dataDirectory, String(READERS_IN_PROCESS), String(READ_MS)]);
  return JSON.parse(stdout) as ReaderReport;
}

describe('concurrent readers', () => {
  let folder: ReturnType<typeof temporaryDirectory>;
  let storage: StorageManager;
  beforeAll(async () => {
    folder = temporaryDirectory();
    // A tiny WAL threshold makes every cleanup truncate the WAL while the readers hold snapshots.
    storage = await openStorage({ dataDirectory: folder.path, backup: { intervalMinutes: 0 }, cleanup: { intervalMinutes: 0, walCheckpointBytes: 32 * 1024, chunkSize: 12 } });
    for (let sequence = 0; sequence < 100; sequence++) {
      storage.faces.enrollMany(batch(sequence));
      storage.events.storeEvents(eventBatch(sequence));
    }
  });
  afterAll(async () => {
    await storage.close();
    folder.remove();
  });

  it('50 readers, writer and cleanup', async () => {
    const readers = [...Array.from({ length: WORKERS }, () => readInWorker(folder.path)), readInProcess(folder.path)];
    let finished = false;
    const allRead = Promise.all(readers).finally(() => {
      finished = true;
    });

    let writes = 0;
    let cleanups = 0;
    let truncations = 0;
    let eventsDeleted = 0;
    for (let sequence = 100; !finished; sequence++) {
      storage.faces.enrollMany(batch(sequence));
      storage.events.storeEvents(eventBatch(sequence));
      writes += 1;
      if (sequence % 3 === 0) storage.faces.removePerson(personIds(sequence - 90)[1]!);
      if (sequence % 25 === 0) {
        // Event batches are a minute apart: keep the newest hour, delete the rest in chunks.
        const result = await storage.cleanupOldData({ now: new Date(EVENT_EPOCH + sequence * 60_000), eventDays: 1 / 24 });
        eventsDeleted += result.events.deleted;
        cleanups += 1;
        truncations += result.checkpoints.filter((checkpoint) => checkpoint.walBytesBefore > 32 * 1024 && checkpoint.walBytesAfter === 0).length;
      }
      await yieldToEventLoop();
    }
    const reports = await allRead;

    expect(reports.reduce((sum, report) => sum + report.readers, 0)).toBe(50);
    expect(reports.flatMap((report) => report.errors)).toEqual([]);
    expect(reports.reduce((sum, report) => sum + report.torn, 0)).toBe(0);
    for (const report of reports) expect(report.reads).toBeGreaterThan(0);
    expect(writes).toBeGreaterThan(0);
    expect(cleanups).toBeGreaterThan(0);
    expect(eventsDeleted).toBeGreaterThan(0);
    expect(truncations).toBeGreaterThan(0);
    expect(checkFaceIndex(storage.faces, storage.database).every((model) => model.matches)).toBe(true);
  });
});
