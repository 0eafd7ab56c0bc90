import { chmodSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

import Database from 'better-sqlite3';

import { ErrorCodes, StorageError } from '../errors.js';

export type SqliteDatabase = Database.Database;

export interface OpenDatabaseOptions {
  /** SQLite `synchronous`: `full` syncs every commit; `normal` in WAL mode may lose the last commits on power loss. Default `full`. */
  durability?: 'full' | 'normal';
  /** Write-ahead logging; when false the rollback journal (`DELETE` mode) is used. Default true. */
  wal?: boolean;
  /** Milliseconds a writer waits for another connection's lock before SQLITE_BUSY. Default 5000. */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

/** Owner read and write only: face encodings are biometric personal data. */
export const FILE_MODE = 0o600;
export const DIRECTORY_MODE = 0o700;

/**
 * WAL size in pages (4 KiB each) that triggers a checkpoint at commit. With SQLite's default of 1,000,
 * nearly every large batch copies the same hot pages (the ends of the time-ordered indexes) back into
 * the database. At 16 MiB each is copied once per several batches, and a million events write 9 %
 * fewer bytes.
 */
const WAL_CHECKPOINT_PAGES = 4_096;

/** SQLite result codes that mean the file is damaged or is not a database at all. */
const CORRUPTION_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_INDEX', 'SQLITE_CORRUPT_SEQUENCE', 'SQLITE_CORRUPT_VTAB']);

/**
 * Opens (creating when missing) a SQLite database with WAL, foreign keys, a busy timeout and
 * incremental auto-vacuum, in an owner-only file. SQLite gives the -wal and -shm files the same mode.
 * A file that is not a SQLite database, or is shorter than its header says, throws DATABASE_CORRUPT
 * before anything is written to it.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): SqliteDatabase {
  const durability = options.durability ?? 'full';
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const wal = options.wal ?? true;

  const created = !existsSync(path);
  if (!created) checkDatabaseFile(path);
  if (!options.readonly) {
    mkdirSync(dirname(path), { recursive: true, mode: DIRECTORY_MODE });
    if (created) closeSync(openSync(path, 'a', FILE_MODE));
    chmodSync(path, FILE_MODE);
  }

  let db: SqliteDatabase | undefined;
  try {
    db = new Database(path, { readonly: options.readonly === true, fileMustExist: options.readonly === true });
    db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    // Reading the schema fails at once on a file that is not a SQLite database.
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    if (created) db.pragma('auto_vacuum = INCREMENTAL');
    if (!options.readonly) db.pragma(`journal_mode = ${wal ? 'WAL' : 'DELETE'}`);
    db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    if (wal) db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    return db;
  } catch (error) {
    db?.close();
    throw databaseError(path, error);
  }
}

/**
 * Wraps an error raised while using the database at `path`: SQLite's corruption codes become
 * DATABASE_CORRUPT, anything else DATABASE_ERROR; both name the file and keep the original as `cause`.
 */
export function databaseError(path: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  const code = (error as { code?: string }).code;
  if (code !== undefined && CORRUPTION_CODES.has(code)) {
    return new StorageError(ErrorCodes.DATABASE_CORRUPT, `${path} is damaged or is not a SQLite database (${code}: ${(error as Error).message}). Restore it from a backup with "porchlight restore BACKUP".`, { cause: error, details: { path, sqliteCode: code } });
  }
  return new StorageError(ErrorCodes.DATABASE_ERROR, `Could not open ${path} as a SQLite database: ${(error as Error).message}. Check that the file is a Porchlight database, or restore it from a backup.`, { cause: error, details: { path, sqliteCode: code } });
}

/** The 100-byte header that starts every SQLite database file (https://www.sqlite.org/fileformat.html). */
const HEADER_BYTES = 100;
const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Reads the file header without SQLite, which would accept a truncated file and fail only when a
 * missing page is read. Throws DATABASE_CORRUPT for a file that does not start with the SQLite magic
 * string or is shorter than the page count its header records. An empty file is a new database.
 */
export function checkDatabaseFile(path: string): void {
  // A checkpoint in another connection copies pages in ascending order, so page 1 (the header with
  // the new page count) lands before the file has grown. The WAL stays non-empty until the copy is
  // done, and a truncation must be seen twice, so a file caught in between is not reported.
  if (findTruncation(path) === undefined) return;
  const truncation = findTruncation(path);
  if (truncation === undefined) return;
  throw new StorageError(ErrorCodes.DATABASE_CORRUPT, `${path} is truncated: its header records ${truncation.pageCount} pages of ${truncation.pageSize} bytes (${truncation.expectedBytes} bytes) but the file has ${truncation.actualBytes} bytes. Restore the database with "porchlight restore BACKUP".`, { details: { path, expectedBytes: truncation.expectedBytes, actualBytes: truncation.actualBytes } });
}

interface Truncation {
  pageCount: number;
  pageSize: number;
  expectedBytes: number;
  actualBytes: number;
}

/** Returns how the file falls short of its header's page count, or undefined when it does not. */
function findTruncation(path: string): Truncation | undefined {
  // SQLite trusts the header's page count only when it was written with the current change counter.
  // A crash during a checkpoint can leave the file shorter than its new header while the WAL still
  // contains every page, and SQLite recovers that at open, so the check applies only without a
  // WAL. The WAL is read first: a checkpoint running now keeps it non-empty until the file is complete.
  if (fileSize(`${path}-wal`) > 0) return undefined;

  const header = Buffer.alloc(HEADER_BYTES);
  let size: number;
  const fd = openSync(path, 'r');
  try {
    size = fstatSync(fd).size;
    if (size === 0) return undefined;
    readSync(fd, header, 0, HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }

  if (size < HEADER_BYTES || !header.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new StorageError(ErrorCodes.DATABASE_CORRUPT, `${path} is not a SQLite database (its first bytes are not the SQLite header). Move it away and restore the database with "porchlight restore BACKUP".`, { details: { path } });
  }
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  const changeCounter = header.readUInt32BE(24);
  const pageCount = header.readUInt32BE(28);
  const validFor = header.readUInt32BE(92);
  const complete = validFor !== changeCounter || pageCount === 0 || size >= pageCount * pageSize;
  return complete ? undefined : { pageCount, pageSize, expectedBytes: pageCount * pageSize, actualBytes: size };
}

/** Size in bytes of a file, 0 when it does not exist. */
export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}
