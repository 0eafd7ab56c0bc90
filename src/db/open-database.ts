import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

import Database from 'better-sqlite3';

import { ErrorCodes, StorageError } from '../errors.js';

export type SqliteDatabase = Database.Database;

export interface OpenDatabaseOptions {
  /** SQLite `synchronous`: `full` syncs every commit; `normal` in WAL mode may lose the last commits on power loss. Default `full`. */
  durability?: 'full' | 'normal';
  /** Milliseconds a writer waits for another connection's lock before SQLITE_BUSY. Default 5000. */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

/** Owner read and write only: face encodings are biometric personal data. */
export const FILE_MODE = 0o600;
export const DIRECTORY_MODE = 0o700;

/**
 * Opens (creating when missing) a SQLite database with WAL, foreign keys, a busy timeout and
 * incremental auto-vacuum, in an owner-only file. SQLite gives the -wal and -shm files the same mode.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): SqliteDatabase {
  const durability = options.durability ?? 'full';
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;

  const created = !existsSync(path);
  if (!options.readonly) {
    mkdirSync(dirname(path), { recursive: true, mode: DIRECTORY_MODE });
    if (created) closeSync(openSync(path, 'a', FILE_MODE));
    chmodSync(path, FILE_MODE);
  }

  let db: SqliteDatabase | undefined;
  try {
    db = new Database(path, { readonly: options.readonly === true, fileMustExist: options.readonly === true });
    // Reading the schema fails at once on a file that is not a SQLite database.
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    if (created) db.pragma('auto_vacuum = INCREMENTAL');
    if (!options.readonly) db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
    return db;
  } catch (error) {
    db?.close();
    throw new StorageError(ErrorCodes.DATABASE_ERROR, `Could not open ${path} as a SQLite database: ${(error as Error).message}. Check that the file is a Porchlight database, or restore it from a backup.`, { cause: error, details: { path } });
  }
}
