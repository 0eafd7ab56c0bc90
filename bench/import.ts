// Import and export throughput on real data: LFW face embeddings from .npy and CSV, a Frigate 0.14
// database filled with copies of real /api/events records, and an export round trip of the result.
// PORCHLIGHT_BENCH_IMPORT_EVENTS sets the number of Frigate events (default 100,000).
import { copyFileSync, chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Database from 'better-sqlite3';

import { exportStorage } from '../src/export/export-storage.js';
import { importFrigateDatabase } from '../src/frigate/import-frigate-database.js';
import type { FrigateApiEvent } from '../src/frigate/frigate-types.js';
import { importFaceEncodings } from '../src/import/face-importer.js';
import { importStorage } from '../src/import/import-storage.js';
import { npyRows, readNpy } from '../src/import/npy.js';
import { openStorage, type StorageManager } from '../src/storage-manager.js';
import { markdownTable } from './machine.js';

const LFW = '../shared/data/lfw-facenet512';
const FRIGATE = '../shared/data/frigate';
const EVENT_COUNT = Number(process.env.PORCHLIGHT_BENCH_IMPORT_EVENTS ?? 100_000);

function seconds(started: number): number {
  return (performance.now() - started) / 1000;
}

function folderBytes(path: string): number {
  return readdirSync(path).reduce((sum, name) => sum + statSync(join(path, name)).size, 0);
}

/** Fills a copy of Frigate's empty 0.14 database with `count` events cycled from the 50 real records, one second apart per cycle. */
function fillFrigate(path: string, count: number): void {
  copyFileSync(`${FRIGATE}/frigate-0.14-empty.db`, path);
  chmodSync(path, 0o600);
  const records = JSON.parse(readFileSync(`${FRIGATE}/api-events-front-door.json`, 'utf8')) as FrigateApiEvent[];
  const db = new Database(path);
  const insert = db.prepare(`INSERT INTO event (id, label, camera, start_time, end_time, false_positive, zones, thumbnail, has_clip,
    has_snapshot, retain_indefinitely, data) VALUES (?, ?, ?, ?, ?, 0, ?, '', 1, 0, 0, ?)`);
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const record = records[i % records.length]!;
      const shift = Math.floor(i / records.length) * 86_400;
      insert.run(`${(record.start_time + shift).toFixed(6)}-${i.toString(36).padStart(6, '0')}`, record.label, `camera_${i % 8}`,
        record.start_time + shift, record.end_time! + shift, JSON.stringify(record.zones), JSON.stringify(record.data));
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

async function withStorage<T>(dataDirectory: string, action: (storage: StorageManager) => T): Promise<T> {
  const storage = await openStorage({ dataDirectory, migrations: { backup: false } });
  try {
    return action(storage);
  } finally {
    await storage.close();
  }
}

export async function run(): Promise<void> {
  if (!existsSync(`${LFW}/lfw_embeddings.npy`)) throw new Error(`${LFW} is missing; the import benchmark reads the LFW embeddings from there`);
  if (!Number.isInteger(EVENT_COUNT) || EVENT_COUNT < 50) throw new Error(`PORCHLIGHT_BENCH_IMPORT_EVENTS must be an integer of at least 50, got ${process.env.PORCHLIGHT_BENCH_IMPORT_EVENTS}`);
  const root = mkdtempSync(join(tmpdir(), 'porchlight-bench-import-'));
  const rows: (string | number)[][] = [['step', 'records', 'seconds', 'records/s', 'size']];

  try {
    // Faces: the real embeddings as .npy and as CSV (the same values, written with full float32 precision).
    const embeddings = npyRows(readNpy(`${LFW}/lfw_embeddings.npy`), 'lfw') as Float32Array[];
    const labels = readNpy(`${LFW}/lfw_labels.npy`).data as string[];
    const csv = join(root, 'lfw.csv');
    writeFileSync(csv, embeddings.map((row, i) => [labels[i], ...Array.from(row, String)].join(',')).join('\n'));

    const source = join(root, 'source');
    for (const [step, file, options] of [['faces from .npy + labels', `${LFW}/lfw_embeddings.npy`, { labels: `${LFW}/lfw_labels.npy`, model: 'npy' }], ['faces from CSV (same persons, second model)', csv, { model: 'csv', onExisting: 'append' }]] as const) {
      const started = performance.now();
      const summary = await withStorage(source, (storage) => importFaceEncodings(storage, file, options));
      const elapsed = seconds(started);
      rows.push([step, summary.encodingsImported, elapsed.toFixed(2), Math.round(summary.encodingsImported / elapsed), `${(statSync(file).size / 1e6).toFixed(1)} MB file`]);
    }

    // Frigate: a filled copy of the real 0.14 schema, imported and imported again.
    const frigate = join(root, 'frigate.db');
    fillFrigate(frigate, EVENT_COUNT);
    for (const step of ['Frigate database, first import', 'Frigate database, re-run (nothing new)']) {
      const started = performance.now();
      const summary = await withStorage(source, (storage) => importFrigateDatabase(storage, frigate));
      const elapsed = seconds(started);
      rows.push([step, summary.rows, elapsed.toFixed(2), Math.round(summary.rows / elapsed), `${(statSync(frigate).size / 1e6).toFixed(1)} MB file`]);
    }

    // Export of everything above, then import into a new data directory.
    const exported = join(root, 'export');
    let started = performance.now();
    const { manifest } = await withStorage(source, (storage) => exportStorage(storage, exported));
    const exportSeconds = seconds(started);
    const total = manifest.tables.reduce((sum, table) => sum + table.rows, 0);
    rows.push(['export, every table', total, exportSeconds.toFixed(2), Math.round(total / exportSeconds), `${(folderBytes(exported) / 1e6).toFixed(1)} MB of JSON lines`]);

    started = performance.now();
    await importStorage(exported, { dataDirectory: join(root, 'target'), migrations: { backup: false } });
    const importSeconds = seconds(started);
    rows.push(['import of that export', total, importSeconds.toFixed(2), Math.round(total / importSeconds), `${(statSync(join(root, 'target', 'porchlight.db')).size / 1e6).toFixed(1)} MB database`]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }

  process.stdout.write(`\n1,435 LFW FaceNet-512 embeddings; ${EVENT_COUNT.toLocaleString('en-US')} Frigate events (the 50 real records cycled over days and 8 cameras).\n\n${markdownTable(rows)}\n`);
}
