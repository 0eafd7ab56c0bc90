import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { basename, extname, join } from 'node:path';

import { ErrorCodes, StorageError } from '../errors.js';
import { DIRECTORY_MODE, FILE_MODE, type SqliteDatabase } from './open-database.js';

/**
 * Copies a live database into a new owner-only file in `directory` with SQLite's online backup API,
 * and resolves to the copy's path. The name holds the UTC time and `reason`, for example
 * `porchlight-20260329T010203045Z-before-migration.db`; an existing file is never overwritten.
 */
export async function backupDatabase(db: SqliteDatabase, directory: string, reason: string): Promise<string> {
  const stem = basename(db.name, extname(db.name));
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  mkdirSync(directory, { recursive: true, mode: DIRECTORY_MODE });

  let path = join(directory, `${stem}-${stamp}-${reason}.db`);
  for (let attempt = 2; existsSync(path); attempt++) path = join(directory, `${stem}-${stamp}-${reason}-${attempt}.db`);

  try {
    // Creating the file first gives it the owner-only mode; the backup then fills it.
    closeSync(openSync(path, 'wx', FILE_MODE));
    await db.backup(path);
    return path;
  } catch (error) {
    rmSync(path, { force: true });
    throw new StorageError(ErrorCodes.DATABASE_ERROR, `Could not back up ${db.name} to ${path}: ${(error as Error).message}. Free disk space or choose another backup directory.`, { cause: error, details: { path } });
  }
}
