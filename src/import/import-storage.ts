import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { Migrator } from '../db/migrator.js';
import { openDatabase, type SqliteDatabase } from '../db/open-database.js';
import { ConflictError, ErrorCodes, PorchlightError, ValidationError, invalidArgument, showValue } from '../errors.js';
import { listDataTables, quoteIdentifier } from '../export/database-tables.js';
import { CONTENTLESS_REBUILDERS, invalidJsonColumn, rebuildExternalContentIndex } from '../export/derived-indexes.js';
import { EXPORT_FORMAT, EXPORT_FORMAT_VERSION, MANIFEST_FILE, type ExportedTableEntry, type ExportManifest } from '../export/export-manifest.js';
import { decodeRow } from '../export/row-codec.js';
import { loadConfigFile } from '../operations/config-file.js';
import { MAIN_DATABASE, databaseLayout, type DatabaseFile } from '../operations/database-layout.js';
import { resolveStorageConfig, type StorageConfig } from '../operations/storage-config.js';
import { STORES, type StorageOptions } from '../storage-manager.js';
import { readLinesSync } from './read-lines.js';
import { invalidRecord } from './record-location.js';
import { readJsonFile } from './source-file.js';

export interface StorageImportSummary {
  /** The export folder, absolute. */
  source: string;
  tables: { table: string; rows: number }[];
  rows: number;
  durationMs: number;
}

/**
 * Imports a folder written by `exportStorage` into a new data directory. The manifest and every file's
 * size and SHA-256 are verified before anything is created. Then each database file of the target's
 * layout is created and migrated, and its rows go in with one transaction, foreign keys checked at
 * its end. On any failure the new database files are removed again, so the import happens completely
 * or not at all. `options` is what `openStorage` takes: an options object or a configuration file.
 * Open the storage afterwards with `openStorage`, which loads the imported encodings into the index.
 */
export async function importStorage(source: string, options: StorageOptions | string): Promise<StorageImportSummary> {
  if (typeof source !== 'string' || source.length === 0) throw invalidArgument(`The import source must be an export folder, got ${showValue(source)}.`, { source });
  const config = typeof options === 'string' ? resolveStorageConfig(loadConfigFile(options)) : resolveStorageConfig(options);
  const folder = resolve(source);
  const started = performance.now();

  const manifest = readManifest(folder);
  for (const entry of manifest.tables) verifyFile(folder, entry);
  const files = databaseLayout(config, STORES);
  const entriesOf = (file: DatabaseFile) => manifest.tables.filter((entry) => (entry.store === null ? file.name === MAIN_DATABASE : file.stores.includes(entry.store)));
  const unplaced = manifest.tables.find((entry) => entry.store !== null && !STORES.includes(entry.store as (typeof STORES)[number]));
  if (unplaced !== undefined) {
    throw new PorchlightError(ErrorCodes.SCHEMA_MISMATCH, `${folder}: table ${unplaced.table} belongs to the store ${unplaced.store}, which this Porchlight does not have. Import it with the Porchlight version that wrote the export.`, { details: { table: unplaced.table, store: unplaced.store } });
  }
  const existing = files.find((file) => existsSync(file.path));
  if (existing !== undefined) {
    throw new ConflictError(`${existing.path} already exists; import an export into a new data directory, so no row of the export collides with existing data.`, { details: { path: existing.path } });
  }

  const created: string[] = [];
  try {
    for (const file of files) {
      created.push(file.path);
      await importDatabase(file, entriesOf(file), manifest, folder, config);
    }
  } catch (error) {
    for (const path of created) {
      for (const name of [path, `${path}-wal`, `${path}-shm`]) rmSync(name, { force: true });
    }
    throw error;
  }

  const tables = manifest.tables.map((entry) => ({ table: entry.table, rows: entry.rows }));
  return { source: folder, tables, rows: tables.reduce((sum, table) => sum + table.rows, 0), durationMs: performance.now() - started };
}

/** Creates one database file of the target, migrates it and fills its tables in one transaction. */
async function importDatabase(file: DatabaseFile, entries: ExportedTableEntry[], manifest: ExportManifest, folder: string, config: StorageConfig): Promise<void> {
  const db = openDatabase(file.path, { durability: config.durability, wal: config.wal });
  try {
    // No backup: the database was created a moment ago and is empty.
    await new Migrator(db, file.stores, { backup: false }).up();
    checkTarget(db, file.stores, entries, manifest, folder);
    const indexes = manifest.rebuiltIndexes.filter((name) => db.prepare('SELECT 1 FROM sqlite_schema WHERE name = ?').get(name) !== undefined);

    db.transaction(() => {
      db.pragma('defer_foreign_keys = ON');
      for (const entry of entries) {
        // Rows a migration inserted (a singleton, for example) are replaced by the exported ones.
        db.prepare(`DELETE FROM ${quoteIdentifier(entry.table)}`).run();
        insertRows(db, folder, entry);
      }
      checkImported(db, entries, folder);
      for (const index of indexes) rebuildIndex(db, index);
    }).immediate();
  } finally {
    db.close();
  }
}

function rebuildIndex(db: SqliteDatabase, name: string): void {
  const rebuild = CONTENTLESS_REBUILDERS[name];
  if (rebuild !== undefined) rebuild(db);
  else rebuildExternalContentIndex(db, name);
}

function invalidExport(folder: string, message: string, details: Record<string, unknown> = {}): ValidationError {
  return new ValidationError(ErrorCodes.INVALID_FILE, `${folder}: ${message}`, { details: { source: folder, ...details } });
}

function readManifest(folder: string): ExportManifest {
  const path = join(folder, MANIFEST_FILE);
  if (!existsSync(path)) throw invalidExport(folder, `has no ${MANIFEST_FILE}; pass a folder written by "porchlight export".`);
  const manifest = readJsonFile(path) as Partial<ExportManifest> | null;

  if (manifest === null || typeof manifest !== 'object' || manifest.format !== EXPORT_FORMAT) {
    throw invalidExport(folder, `${MANIFEST_FILE} is not a Porchlight export manifest (format ${JSON.stringify(manifest?.format)}).`);
  }
  if (typeof manifest.formatVersion !== 'number' || manifest.formatVersion > EXPORT_FORMAT_VERSION) {
    throw invalidExport(folder, `was written in export format ${String(manifest.formatVersion)}; this Porchlight reads format ${EXPORT_FORMAT_VERSION} and older. Import it with a newer Porchlight.`);
  }
  const tablesValid = Array.isArray(manifest.tables) && manifest.tables.every((entry) =>
    typeof entry?.table === 'string' && typeof entry.file === 'string' && !entry.file.includes('/') && !entry.file.includes('\\')
    && Array.isArray(entry.columns) && entry.columns.every((column) => typeof column === 'string')
    && Number.isSafeInteger(entry.rows) && Number.isSafeInteger(entry.bytes) && typeof entry.sha256 === 'string');
  const versionsValid = manifest.schemaVersions !== null && typeof manifest.schemaVersions === 'object'
    && Object.values(manifest.schemaVersions).every((version) => Number.isSafeInteger(version));
  const indexesValid = Array.isArray(manifest.rebuiltIndexes) && manifest.rebuiltIndexes.every((name) => typeof name === 'string');
  if (!tablesValid || !versionsValid || !indexesValid) {
    throw invalidExport(folder, `${MANIFEST_FILE} lacks a valid tables, schemaVersions or rebuiltIndexes entry; the export is damaged, so write it again.`);
  }
  return manifest as ExportManifest;
}

/** Checks a table file's size and SHA-256 against the manifest, reading it in 1 MiB chunks. */
function verifyFile(folder: string, entry: ExportedTableEntry): void {
  const path = join(folder, entry.file);
  if (!existsSync(path)) throw invalidExport(folder, `the manifest lists ${entry.file}, which is missing.`, { file: entry.file });

  const hash = createHash('sha256');
  const buffer = Buffer.alloc(1 << 20);
  const descriptor = openSync(path, 'r');
  let bytes = 0;
  try {
    for (let read = readSync(descriptor, buffer); read > 0; read = readSync(descriptor, buffer)) {
      hash.update(buffer.subarray(0, read));
      bytes += read;
    }
  } finally {
    closeSync(descriptor);
  }
  const digest = hash.digest('hex');
  if (bytes !== entry.bytes || digest !== entry.sha256) {
    throw invalidExport(folder, `${entry.file} does not match the manifest (${bytes} bytes, SHA-256 ${digest}; expected ${entry.bytes} bytes, ${entry.sha256}). The file changed or was truncated after the export; write the export again.`, { file: entry.file });
  }
}

function checkTarget(db: SqliteDatabase, stores: readonly string[], entries: ExportedTableEntry[], manifest: ExportManifest, folder: string): void {
  const versions = new Map((db.prepare('SELECT store, max(version) AS version FROM schema_migrations GROUP BY store').all() as { store: string; version: number }[]).map((row) => [row.store, row.version]));
  for (const [store, version] of Object.entries(manifest.schemaVersions)) {
    if (!stores.includes(store)) continue;
    if (versions.get(store) !== version) {
      throw new PorchlightError(ErrorCodes.SCHEMA_MISMATCH, `${folder}: was exported at ${store} schema version ${version}, this Porchlight is at ${versions.get(store) ?? 'none'}. Import it with the Porchlight version that wrote it, then upgrade that storage.`, { details: { store, exported: version, current: versions.get(store) } });
    }
  }

  const tables = new Map(listDataTables(db, stores).tables.map((table) => [table.name, table]));
  for (const entry of entries) {
    const table = tables.get(entry.table);
    if (table === undefined) throw new PorchlightError(ErrorCodes.SCHEMA_MISMATCH, `${folder}: table ${entry.table} does not exist in this Porchlight's schema.`, { details: { table: entry.table } });
    const same = table.columns.length === entry.columns.length && table.columns.every((column) => entry.columns.includes(column));
    if (!same) {
      throw new PorchlightError(ErrorCodes.SCHEMA_MISMATCH, `${folder}: table ${entry.table} has columns ${entry.columns.join(', ')} in the export but ${table.columns.join(', ')} here.`, { details: { table: entry.table } });
    }
  }
}

function insertRows(db: SqliteDatabase, folder: string, entry: ExportedTableEntry): void {
  const columns = entry.columns.map(quoteIdentifier).join(', ');
  const insert = db.prepare(`INSERT INTO ${quoteIdentifier(entry.table)} (${columns}) VALUES (${entry.columns.map(() => '?').join(', ')})`);

  for (const { line, text } of readLinesSync(join(folder, entry.file))) {
    const location = { file: join(folder, entry.file), unit: 'line' as const, index: line };
    let values: unknown[];
    try {
      values = decodeRow(JSON.parse(text), entry.columns);
    } catch (error) {
      if (!(error instanceof SyntaxError || error instanceof ValidationError)) throw error;
      throw invalidRecord(location, error.message, { cause: error });
    }
    entry.columns.forEach((column, index) => {
      const problem = invalidJsonColumn(entry.table, column, values[index]);
      if (problem !== undefined) throw invalidRecord(location, problem);
    });
    try {
      insert.run(values);
    } catch (error) {
      throw invalidRecord(location, `cannot be inserted into ${entry.table}: ${(error as Error).message}.`, { cause: error });
    }
  }
}

/** Checks, before the commit, that each table has exactly the exported rows and every foreign key resolves. */
function checkImported(db: SqliteDatabase, entries: ExportedTableEntry[], folder: string): void {
  for (const entry of entries) {
    const count = db.prepare(`SELECT count(*) FROM ${quoteIdentifier(entry.table)}`).pluck().get() as number;
    if (count !== entry.rows) {
      throw invalidExport(folder, `${entry.table} has ${count} rows after the import, the manifest lists ${entry.rows}; the export is damaged, so write it again.`, { table: entry.table });
    }
  }
  const violation = db.prepare('SELECT "table", rowid, parent FROM pragma_foreign_key_check').get() as { table: string; rowid: number; parent: string } | undefined;
  if (violation !== undefined) {
    throw invalidExport(folder, `row ${violation.rowid} of ${violation.table} refers to a missing row of ${violation.parent}; the export is incomplete, so write it again.`, { ...violation });
  }
}
