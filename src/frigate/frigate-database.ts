import { existsSync, readFileSync } from 'node:fs';

import Database from 'better-sqlite3';

import type { SqliteDatabase } from '../db/open-database.js';
import { ErrorCodes, ValidationError } from '../errors.js';
import type { FrigateEventRow } from './frigate-types.js';

/** Columns of Frigate's `event` table that the importer reads; a column an older Frigate lacks reads as null. */
const EVENT_COLUMNS = Object.freeze([
  'id', 'label', 'camera', 'start_time', 'end_time', 'top_score', 'false_positive', 'zones', 'thumbnail', 'has_clip',
  'has_snapshot', 'region', 'box', 'area', 'retain_indefinitely', 'sub_label', 'ratio', 'plus_id', 'score', 'model_hash',
  'detector_type', 'model_type', 'data',
] as const);

const REQUIRED_COLUMNS = Object.freeze(['id', 'label', 'camera', 'start_time']);

function invalidFile(path: string, message: string, cause?: unknown): ValidationError {
  return new ValidationError(ErrorCodes.INVALID_FILE, `${path}: ${message}`, { cause, details: { file: path } });
}

/**
 * Opens a Frigate database without writing to it. The file is opened read-only in place, which reads
 * what a running Frigate has committed to its WAL. SQLite creates the `-shm` and `-wal` files of a
 * WAL database when they are missing, but never writes the database file. Where even that is
 * impossible (a read-only folder), the file is read into memory instead, which is complete only when
 * no `-wal` file exists.
 */
export function openFrigateDatabase(path: string): SqliteDatabase {
  if (!existsSync(path)) throw invalidFile(path, 'does not exist; give the path of Frigate\'s frigate.db.');

  let db: SqliteDatabase;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    if ((error as { code?: string }).code !== 'SQLITE_CANTOPEN' || existsSync(`${path}-wal`)) throw invalidFile(path, `cannot be opened (${(error as Error).message}).`, error);
    db = openFrigateDatabaseCopy(path);
  }

  try {
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
  } catch (error) {
    db.close();
    throw invalidFile(path, `is not a SQLite database (${(error as Error).message}).`, error);
  }
  return db;
}

/** Reads a Frigate database file into memory and opens the copy; the file is only read. */
export function openFrigateDatabaseCopy(path: string): SqliteDatabase {
  const bytes = readFileSync(path);
  // A serialized database must not claim WAL mode (header bytes 18 and 19 set to 2); 1 is the rollback journal.
  if (bytes.length >= 20 && bytes[18] === 2) bytes[18] = 1;
  if (bytes.length >= 20 && bytes[19] === 2) bytes[19] = 1;
  return new Database(bytes);
}

/** Yields the rows of Frigate's `event` table in rowid order, each with its rowid. */
export function* readFrigateEventRows(db: SqliteDatabase, path: string): Generator<FrigateEventRow & { rowid: number }> {
  const present = new Set(db.prepare("SELECT name FROM pragma_table_info('event')").pluck().all() as string[]);
  const missing = REQUIRED_COLUMNS.filter((column) => !present.has(column));
  if (present.size === 0 || missing.length > 0) {
    throw invalidFile(path, present.size === 0
      ? 'has no event table; it is not a Frigate database.'
      : `has an event table without the column(s) ${missing.join(', ')}; it is not a Frigate database Porchlight can read.`);
  }

  const columns = EVENT_COLUMNS.map((column) => (present.has(column) ? `"${column}"` : `NULL AS "${column}"`)).join(', ');
  yield* db.prepare(`SELECT rowid AS rowid, ${columns} FROM event ORDER BY rowid`).iterate() as IterableIterator<FrigateEventRow & { rowid: number }>;
}
