import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
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

  // Creating the file with 'wx' claims the name atomically, so two processes backing up in the same
  // millisecond get different files, and the file has the owner-only mode before the backup fills it.
  let path = join(directory, `${stem}-${stamp}-${reason}.db`);
  for (let attempt = 2; ; attempt++) {
    try {
      closeSync(openSync(path, 'wx', FILE_MODE));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StorageError(ErrorCodes.DATABASE_ERROR, `Could not create the backup file ${path}: ${(error as Error).message}. Free disk space or choose another backup directory.`, { cause: error, details: { path } });
      }
      path = join(directory, `${stem}-${stamp}-${reason}-${attempt}.db`);
    }
  }

  try {
    await db.backup(path);
    return path;
  } catch (error) {
    rmSync(path, { force: true });
    throw new StorageError(ErrorCodes.DATABASE_ERROR, `Could not back up ${db.name} to ${path}: ${(error as Error).message}. Free disk space or choose another backup directory.`, { cause: error, details: { path } });
  }
}
