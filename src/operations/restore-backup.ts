import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { DIRECTORY_MODE } from '../db/open-database.js';
import { ErrorCodes, StorageError } from '../errors.js';
import type { Logger } from '../logger.js';
import { readManifest, type BackupManifest } from './backup-manifest.js';
import type { DatabaseFile } from './database-layout.js';
import { freeDiskBytes } from './disk-space.js';
import { backupFolder, checkBackup } from './verify-backup.js';

/** Files SQLite keeps beside a database; a stale one beside a restored file would be replayed into it. */
const SIDE_FILES = ['-wal', '-shm', '-journal'];

interface StagedFile {
  database: DatabaseFile;
  /** The verified, decompressed copy, in a staging folder beside the live file (same file system, so rename is atomic). */
  staged: string;
  stagingDirectory: string;
}

/** A verified backup, decompressed beside the live files and ready to be swapped in. */
export interface PreparedRestore {
  folder: string;
  manifest: BackupManifest;
  files: StagedFile[];
}

/**
 * Checks that the backup matches the database layout and that each target folder has room for the
 * decompressed copies, then verifies the backup while decompressing it into staging folders beside the
 * live files. Nothing live is touched: a bad backup throws BACKUP_INVALID and a full disk
 * INSUFFICIENT_DISK_SPACE, after the staging folders are removed.
 */
export async function prepareRestore(path: string, layout: readonly DatabaseFile[], logger: Logger): Promise<PreparedRestore> {
  const folder = backupFolder(path);
  const { manifest, problem } = readManifest(folder);
  if (manifest === undefined) throw new StorageError(ErrorCodes.BACKUP_INVALID, `Cannot restore ${folder}: ${problem}. Nothing was changed.`, { details: { path: folder } });

  const backupNames = manifest.databases.map((database) => database.name).sort();
  const liveNames = layout.map((database) => database.name).sort();
  if (backupNames.join(',') !== liveNames.join(',')) {
    throw new StorageError(ErrorCodes.BACKUP_INVALID, `Cannot restore ${folder}: it holds the database files ${backupNames.join(', ')} but the configuration has ${liveNames.join(', ')}. Set the "databases" option as it was when the backup was taken. Nothing was changed.`, { details: { path: folder, backup: backupNames, configured: liveNames } });
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const files: StagedFile[] = layout.map((database) => {
    const stagingDirectory = join(dirname(database.path), `.porchlight-restore-${stamp}-${process.pid}`);
    return { database, staged: join(stagingDirectory, basename(database.path)), stagingDirectory };
  });
  checkFreeSpace(files, manifest);

  const stagingDirectories = [...new Set(files.map((file) => file.stagingDirectory))];
  try {
    for (const directory of stagingDirectories) mkdirSync(directory, { recursive: true, mode: DIRECTORY_MODE });
    const stagedByName = new Map(files.map((file) => [file.database.name, file.staged]));
    const verified = await checkBackup(folder, (database) => stagedByName.get(database.name)!);
    if (!verified.ok) {
      throw new StorageError(ErrorCodes.BACKUP_INVALID, `Cannot restore ${folder}, it failed verification: ${verified.problems.join(' ')} Nothing was changed.`, { details: { path: folder, problems: verified.problems } });
    }
  } catch (error) {
    for (const directory of stagingDirectories) rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  logger.info({ path: folder, databases: files.length }, 'backup verified and staged for restore');
  return { folder, manifest, files };
}

/** Removes the staging folders of a prepared restore that will not be swapped in. */
export function discardPreparedRestore(prepared: PreparedRestore): void {
  for (const file of prepared.files) rmSync(file.stagingDirectory, { recursive: true, force: true });
}

/** Undo and clean-up of a swap done by `swapInRestoredFiles`. */
export interface SwappedFiles {
  /** Puts the previous files back in place of the restored ones. */
  rollback(): void;
  /**
   * Deletes the previous files, or with `keep` renames each staging folder's `previous` folder to a
   * visible `porchlight-previous-<time>` beside the live files. Returns the folders kept.
   */
  finish(keep: boolean): string[];
}

/**
 * Puts the staged files in place of the live ones. The connections to the live files must be closed.
 * Each live file is first hard-linked (or, where links are not supported, moved) into the staging
 * folder with its -wal, -shm and -journal files, then replaced by the staged copy with one atomic
 * rename, so at every moment the live path contains either the old or the restored database.
 */
export function swapInRestoredFiles(prepared: PreparedRestore): SwappedFiles {
  const done: { file: StagedFile; aside: string; hadLive: boolean; sideFiles: string[] }[] = [];
  try {
    for (const file of prepared.files) {
      const live = file.database.path;
      const asideDirectory = join(file.stagingDirectory, 'previous');
      mkdirSync(asideDirectory, { recursive: true, mode: DIRECTORY_MODE });
      const aside = join(asideDirectory, basename(live));
      const entry = { file, aside, hadLive: existsSync(live), sideFiles: [] as string[] };
      done.push(entry);

      if (entry.hadLive) keepAside(live, aside);
      for (const suffix of SIDE_FILES) {
        if (!existsSync(`${live}${suffix}`)) continue;
        renameSync(`${live}${suffix}`, `${aside}${suffix}`);
        entry.sideFiles.push(suffix);
      }
      renameSync(file.staged, live);
      syncDirectory(dirname(live));
    }
  } catch (error) {
    rollback(done);
    throw new StorageError(ErrorCodes.RESTORE_FAILED, `Could not put the restored files in place: ${(error as Error).message}. The previous files were put back.`, { cause: error, details: { path: prepared.folder } });
  }

  return {
    rollback: () => rollback(done),
    finish: (keep) => {
      const kept: string[] = [];
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      for (const directory of keep ? new Set(prepared.files.map((file) => file.stagingDirectory)) : []) {
        const target = join(dirname(directory), `porchlight-previous-${stamp}`);
        renameSync(join(directory, 'previous'), target);
        kept.push(target);
      }
      discardPreparedRestore(prepared);
      return kept;
    },
  };
}

function rollback(done: { file: StagedFile; aside: string; hadLive: boolean; sideFiles: string[] }[]): void {
  for (const entry of [...done].reverse()) {
    const live = entry.file.database.path;
    for (const suffix of SIDE_FILES) rmSync(`${live}${suffix}`, { force: true });
    if (entry.hadLive && existsSync(entry.aside)) {
      renameSync(entry.aside, live);
    } else if (!entry.hadLive) {
      rmSync(live, { force: true });
    }
    for (const suffix of entry.sideFiles) renameSync(`${entry.aside}${suffix}`, `${live}${suffix}`);
    syncDirectory(dirname(live));
  }
}

/** Keeps the live file's content at `aside` while the live path still exists, so no moment lacks a database file. */
function keepAside(live: string, aside: string): void {
  try {
    linkSync(live, aside);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw error;
    // NOTE: without hard links (FAT, exFAT) the live path is missing until the restored file is renamed in.
    renameSync(live, aside);
  }
}

function checkFreeSpace(files: readonly StagedFile[], manifest: BackupManifest): void {
  const neededByDirectory = new Map<string, number>();
  for (const file of files) {
    const bytes = manifest.databases.find((database) => database.name === file.database.name)!.bytes;
    const directory = dirname(file.database.path);
    neededByDirectory.set(directory, (neededByDirectory.get(directory) ?? 0) + bytes);
  }
  for (const [directory, needed] of neededByDirectory) {
    const free = freeDiskBytes(directory);
    if (free < needed) {
      throw new StorageError(ErrorCodes.INSUFFICIENT_DISK_SPACE, `Restoring needs ${needed} bytes in ${directory} for the decompressed databases, but only ${free} bytes are free. Free space there and retry; nothing was changed.`, { details: { directory, needed, free } });
    }
  }
}

function syncDirectory(folder: string): void {
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
