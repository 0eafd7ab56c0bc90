import { existsSync, mkdirSync } from 'node:fs';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { DIRECTORY_MODE, FILE_MODE, fileSize } from '../db/open-database.js';
import { ErrorCodes, StorageError } from '../errors.js';
import type { Logger } from '../logger.js';
import { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, BACKUP_PREFIX, MANIFEST_FILE, porchlightVersion, type BackupManifest, type BackupReason, type ManifestDatabase } from './backup-manifest.js';
import type { DatabaseFile } from './database-layout.js';
import { freeDiskBytes } from './disk-space.js';
import { rotateBackups } from './rotate-backups.js';
import { runBackupTask } from './run-backup-task.js';
import type { Compression } from './storage-config.js';

const FILE_SUFFIX: Readonly<Record<Compression, string>> = Object.freeze({ brotli: '.br', gzip: '.gz', none: '' });

/** Most gzip workers one database is split across; each takes a part of at least MIN_PART_BYTES. */
const MAX_COMPRESS_WORKERS = 4;
const MIN_PART_BYTES = 16 * 1024 * 1024;

export interface CreateBackupOptions {
  directory: string;
  reason: BackupReason;
  compression: Compression;
  compressionLevel: number;
  /** Backups kept in `directory` after this one. */
  keep: number;
  logger: Logger;
}

export interface BackupResult {
  /** The backup folder. */
  path: string;
  manifest: BackupManifest;
  durationMs: number;
  /** Sum of the stored files' sizes. */
  bytes: number;
  /** Maximum event-loop delay of this thread while the backup ran, in milliseconds. */
  maxEventLoopDelayMs: number;
  /** Older backups deleted by rotation. */
  removed: string[];
}

/**
 * Takes a consistent copy of every database with SQLite's online backup API while writes continue,
 * and compresses and hashes it in a worker thread. The files and `manifest.json` go into a temporary
 * folder that is renamed to `porchlight-backup-<UTC time>` only when complete. Then the backups beyond
 * `keep` are deleted. A failure removes the temporary folder and throws BACKUP_FAILED.
 */
export async function createBackup(databases: readonly DatabaseFile[], options: CreateBackupOptions): Promise<BackupResult> {
  const started = performance.now();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const directory = resolve(options.directory);
  const createdAt = new Date();
  const name = uniqueName(directory, `${BACKUP_PREFIX}${createdAt.toISOString().replace(/:/g, '-')}`);
  const temporary = join(directory, `.${name}.partial-${process.pid}`);
  options.logger.info({ directory, reason: options.reason }, 'backup starting');

  try {
    checkFreeSpace(databases, directory);
    mkdirSync(directory, { recursive: true, mode: DIRECTORY_MODE });
    mkdirSync(temporary, { mode: DIRECTORY_MODE });

    const entries: ManifestDatabase[] = [];
    for (const database of databases) {
      const copyPath = join(temporary, `${database.name}.db`);
      const file = `${database.name}.db${FILE_SUFFIX[options.compression]}`;
      const keep = options.compression === 'none';
      const snapshot = await runBackupTask({ kind: 'snapshot', sourcePath: database.path, copyPath, keep });
      const compressStarted = performance.now();
      const stored = keep
        ? { bytes: snapshot.bytes, sha256: snapshot.sha256!, inputSha256: snapshot.sha256! }
        : await compressCopy(copyPath, snapshot.bytes, join(temporary, file), options.compression as Exclude<Compression, 'none'>, options.compressionLevel);
      entries.push({
        name: database.name,
        stores: [...database.stores],
        file,
        bytes: snapshot.bytes,
        sha256: stored.inputSha256,
        fileBytes: stored.bytes,
        fileSha256: stored.sha256,
        pageSize: snapshot.pageSize,
        pageCount: snapshot.pageCount,
        schemaVersions: snapshot.schemaVersions,
      });
      const compressMs = performance.now() - compressStarted;
      options.logger.debug({ database: database.name, bytes: snapshot.bytes, fileBytes: stored.bytes, copyMs: snapshot.copyMs, hashMs: snapshot.hashMs, compressMs }, 'database backed up');
    }

    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      formatVersion: BACKUP_FORMAT_VERSION,
      createdAt: createdAt.toISOString(),
      porchlightVersion: porchlightVersion(),
      reason: options.reason,
      compression: options.compression,
      databases: entries,
    };
    await writeFile(join(temporary, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: FILE_MODE, flush: true });
    await syncDirectory(temporary);
    const path = join(directory, name);
    await rename(temporary, path);
    await syncDirectory(directory);

    const removed = await rotateBackups(directory, options.keep, options.logger);
    delay.disable();
    const result: BackupResult = {
      path,
      manifest,
      durationMs: performance.now() - started,
      bytes: entries.reduce((sum, entry) => sum + entry.fileBytes, 0),
      maxEventLoopDelayMs: delay.max / 1e6,
      removed,
    };
    options.logger.info({ path, reason: options.reason, bytes: result.bytes, durationMs: result.durationMs, maxEventLoopDelayMs: result.maxEventLoopDelayMs, removed: removed.length }, 'backup written');
    return result;
  } catch (error) {
    delay.disable();
    // The backup's own error is the one to report; a failed clean-up is logged beside it.
    await rm(temporary, { recursive: true, force: true }).catch((cleanupError: unknown) => {
      options.logger.warn({ err: cleanupError, path: temporary }, 'removing the partial backup folder failed');
    });
    if (error instanceof StorageError) throw error;
    throw new StorageError(ErrorCodes.BACKUP_FAILED, `Backup into ${directory} failed: ${(error as Error).message}. Nothing was kept of it; check the folder's permissions and free space, then retry.`, { cause: error, details: { directory } });
  }
}

/**
 * Compresses a database copy into `outputPath` and deletes the copy; returns the stored file's size
 * and SHA-256 and the copy's SHA-256. Gzip splits a large copy into parts that parallel workers
 * compress, and consecutive gzip members form one valid gzip file; another worker hashes the copy
 * meanwhile. Brotli has no such form, so one worker compresses and hashes the copy in one pass.
 */
async function compressCopy(copyPath: string, bytes: number, outputPath: string, compression: Exclude<Compression, 'none'>, level: number): Promise<{ bytes: number; sha256: string; inputSha256: string }> {
  const workers = compression === 'gzip' ? Math.max(1, Math.min(MAX_COMPRESS_WORKERS, availableParallelism(), Math.floor(bytes / MIN_PART_BYTES))) : 1;
  const partBytes = Math.ceil(bytes / workers);
  const parts = Array.from({ length: workers }, (_, i) => ({ start: i * partBytes, end: Math.min(bytes, (i + 1) * partBytes), outputPath: `${outputPath}.part${i}` }));
  let inputSha256: string;
  try {
    const [hashed, ...compressed] = await Promise.all([
      workers === 1 ? undefined : runBackupTask({ kind: 'hash', path: copyPath }),
      ...parts.map((part) => runBackupTask({ kind: 'compress', path: copyPath, ...part, compression, level, hashInput: workers === 1 })),
    ]);
    inputSha256 = hashed?.sha256 ?? compressed[0]!.inputSha256!;
  } finally {
    await rm(copyPath, { force: true });
  }
  const joined = await runBackupTask({ kind: 'concatenate', parts: parts.map((part) => part.outputPath), outputPath });
  return { ...joined, inputSha256 };
}

/** Rejects a backup that cannot fit: the uncompressed copies of every database and WAL must fit. */
function checkFreeSpace(databases: readonly DatabaseFile[], directory: string): void {
  const needed = databases.reduce((sum, database) => sum + fileSize(database.path) + fileSize(`${database.path}-wal`), 0);
  const free = freeDiskBytes(directory);
  if (free < needed) {
    throw new StorageError(ErrorCodes.INSUFFICIENT_DISK_SPACE, `A backup needs up to ${needed} bytes in ${directory} for the uncompressed copies, but only ${free} bytes are free. Free space there, or back up to another folder with { destination }.`, { details: { directory, needed, free } });
  }
}

function uniqueName(directory: string, base: string): string {
  let name = base;
  for (let suffix = 1; existsSync(join(directory, name)); suffix++) name = `${base}-${suffix}`;
  return name;
}

/** Makes a rename or a new file in `folder` durable. */
async function syncDirectory(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
