import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

import Database from 'better-sqlite3';

import { DIRECTORY_MODE, FILE_MODE, type SqliteDatabase } from '../db/open-database.js';
import { ConflictError, invalidArgument, showValue } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { StorageManager } from '../storage-manager.js';
import { listDataTables, quoteIdentifier, type DataTable } from './database-tables.js';
import { EXPORT_FORMAT, EXPORT_FORMAT_VERSION, MANIFEST_FILE, type ExportedTableEntry, type ExportManifest } from './export-manifest.js';
import { encodeValue } from './row-codec.js';

export interface ExportSummary {
  /** The export folder, absolute. */
  directory: string;
  manifest: ExportManifest;
  durationMs: number;
}

/** Bytes of JSON lines collected before each write to the file. */
const WRITE_CHUNK = 1 << 20;

/**
 * Writes every table of every store as JSON lines, one file per table, with a manifest of row
 * counts, checksums and schema versions. Each database file is read in one transaction, so the
 * export is a consistent snapshot of each file while writers go on. Stores split into several files
 * are each consistent, but not with each other. The folder appears complete or not at all: it is
 * written under a temporary name beside `destination` and renamed when every file is synced.
 */
export function exportStorage(storage: StorageManager, destination: string): ExportSummary {
  if (typeof destination !== 'string' || destination.length === 0) throw invalidArgument(`The export destination must be a folder path, got ${showValue(destination)}.`, { destination });
  const target = resolve(destination);
  checkDestination(target);
  const started = performance.now();

  mkdirSync(dirname(target), { recursive: true, mode: DIRECTORY_MODE });
  const partial = join(dirname(target), `.${basename(target)}.partial-${process.pid}-${Date.now()}`);
  mkdirSync(partial, { mode: DIRECTORY_MODE });
  try {
    const manifest = writeFiles(storage, partial);
    writeSynced(join(partial, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    syncDirectory(partial);

    if (existsSync(target)) rmdirSync(target);
    renameSync(partial, target);
    syncDirectory(dirname(target));
    return { directory: target, manifest, durationMs: performance.now() - started };
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    throw error;
  }
}

/** Exports the tables of every database file; the main file also carries tables that no store creates. */
function writeFiles(storage: StorageManager, folder: string): ExportManifest {
  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    formatVersion: EXPORT_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    porchlightVersion: (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version,
    schemaVersions: {},
    tables: [],
    rebuiltIndexes: [],
  };

  for (const file of storage.databaseFiles) {
    const main = file.path === storage.databasePath;
    // The main file is read on the storage's own connection; another file gets a read-only one.
    const db = main ? storage.database : new Database(file.path, { readonly: true, fileMustExist: true });
    try {
      db.transaction(() => writeDatabase(db, file.stores, main, folder, manifest))();
    } finally {
      if (!main) db.close();
    }
  }
  return manifest;
}

function writeDatabase(db: SqliteDatabase, stores: readonly string[], main: boolean, folder: string, manifest: ExportManifest): void {
  const { tables, rebuilt } = listDataTables(db, stores);
  const versions = db.prepare('SELECT store, max(version) AS version FROM schema_migrations GROUP BY store ORDER BY store').all() as { store: string; version: number }[];
  for (const row of versions) manifest.schemaVersions[row.store] = row.version;

  for (const table of tables) {
    if (table.store === null && !main) continue;
    manifest.tables.push(writeTable(db, table, folder));
  }
  manifest.rebuiltIndexes.push(...rebuilt.map((index) => index.name));
}

function checkDestination(target: string): void {
  if (!existsSync(target)) return;
  if (!statSync(target).isDirectory() || readdirSync(target).length > 0) {
    throw new ConflictError(`The export destination ${target} exists and is not an empty folder; choose a new folder.`, { details: { destination: target } });
  }
}

function writeTable(db: SqliteDatabase, table: DataTable, folder: string): ExportedTableEntry {
  const file = `${table.store ?? 'other'}.${table.name}.jsonl`;
  const columns = table.columns.map(quoteIdentifier).join(', ');
  const order = table.orderBy.map(quoteIdentifier).join(', ');
  const rows = db.prepare(`SELECT ${columns} FROM ${quoteIdentifier(table.name)} ORDER BY ${order}`).safeIntegers(true).raw(true).iterate() as IterableIterator<unknown[]>;

  const hash = createHash('sha256');
  const descriptor = openSync(join(folder, file), 'wx', FILE_MODE);
  let count = 0;
  let bytes = 0;
  let pending = '';
  const flush = () => {
    const chunk = Buffer.from(pending, 'utf8');
    writeSync(descriptor, chunk);
    hash.update(chunk);
    bytes += chunk.length;
    pending = '';
  };

  try {
    for (const values of rows) {
      const object: Record<string, unknown> = {};
      table.columns.forEach((column, index) => { object[column] = encodeValue(values[index]); });
      pending += `${JSON.stringify(object)}\n`;
      count += 1;
      if (pending.length >= WRITE_CHUNK) flush();
    }
    flush();
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  return { store: table.store, table: table.name, file, columns: table.columns, rows: count, bytes, sha256: hash.digest('hex') };
}

function writeSynced(path: string, text: string): void {
  const descriptor = openSync(path, 'wx', FILE_MODE);
  try {
    writeSync(descriptor, text);
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

/** Syncs a folder so the names created in it survive a power loss. */
function syncDirectory(path: string): void {
  const descriptor = openSync(path, 'r');
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}
