import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

import { loadMigrations } from '../db/migrator.js';
import { NotFoundError } from '../errors.js';
import { MANIFEST_FILE, readManifest, type BackupManifest, type ManifestDatabase } from './backup-manifest.js';
import { packageRoot } from '../package-root.js';
import { runBackupTask } from './run-backup-task.js';

const STORE_NAME = /^[a-z0-9_]+$/;

/** Outcome of the checks on one database file of a backup. */
export interface VerifiedDatabase {
  name: string;
  file: string;
  /** The stored file's size and SHA-256 equal the manifest's. */
  fileChecksumOk: boolean;
  /** The decompressed database's size and SHA-256 equal the manifest's. */
  checksumOk: boolean;
  /** `ok`, or what `PRAGMA integrity_check` reported; undefined when the file could not be opened. */
  integrity: string | undefined;
}

export interface VerifyBackupResult {
  /** True when every check passed and this Porchlight can open every database of the backup. */
  ok: boolean;
  path: string;
  manifest: BackupManifest | undefined;
  databases: VerifiedDatabase[];
  /** One sentence per failed check, naming the file; empty when `ok`. */
  problems: string[];
}

export interface VerifyBackupOptions {
  /** Folder under which the databases are decompressed for the integrity check. Default: the OS temp folder. */
  temporaryDirectory?: string;
}

/**
 * Checks a backup folder (or its manifest.json): the manifest's fields, each stored file's size and
 * SHA-256, the decompressed database's size and SHA-256, `PRAGMA integrity_check` on it, and that this
 * Porchlight has migrations for its schema versions. Failed checks are returned in `problems`, not
 * thrown; a path that does not exist throws NOT_FOUND.
 */
export async function verifyBackup(path: string, options: VerifyBackupOptions = {}): Promise<VerifyBackupResult> {
  const folder = backupFolder(path);
  const work = mkdtempSync(join(options.temporaryDirectory ?? tmpdir(), 'porchlight-verify-'));
  try {
    return await checkBackup(folder, (database) => join(work, `${database.name}.db`));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Returns the backup folder named by `path`, which may also be its manifest.json. */
export function backupFolder(path: string): string {
  const absolute = resolve(path);
  if (!existsSync(absolute)) throw new NotFoundError(`Backup ${absolute} does not exist; list backups with "porchlight backup list".`, { details: { path: absolute } });
  return basename(absolute) === MANIFEST_FILE && statSync(absolute).isFile() ? resolve(absolute, '..') : absolute;
}

/**
 * Runs every check of `verifyBackup`, decompressing each database to `extractPathOf(database)`. The
 * decompressed files are left there for the caller (a restore moves them into place).
 */
export async function checkBackup(folder: string, extractPathOf: (database: ManifestDatabase) => string): Promise<VerifyBackupResult> {
  const { manifest, problem } = readManifest(folder);
  if (manifest === undefined) return { ok: false, path: folder, manifest: undefined, databases: [], problems: [problem] };

  const problems: string[] = [];
  const databases: VerifiedDatabase[] = [];
  for (const database of manifest.databases) {
    const filePath = join(folder, database.file);
    const verified: VerifiedDatabase = { name: database.name, file: filePath, fileChecksumOk: false, checksumOk: false, integrity: undefined };
    databases.push(verified);
    if (!existsSync(filePath)) {
      problems.push(`${filePath} is missing.`);
      continue;
    }

    const result = await runBackupTask({ kind: 'verify', filePath, compression: manifest.compression, extractPath: extractPathOf(database) });
    verified.fileChecksumOk = result.fileBytes === database.fileBytes && result.fileSha256 === database.fileSha256;
    if (!verified.fileChecksumOk) {
      problems.push(`${filePath} has ${result.fileBytes} bytes with SHA-256 ${result.fileSha256}, but the manifest records ${database.fileBytes} bytes with SHA-256 ${database.fileSha256}: the file is truncated or altered.`);
    }
    if (result.problem !== undefined) {
      problems.push(`${filePath}: ${result.problem}.`);
      continue;
    }
    verified.checksumOk = result.bytes === database.bytes && result.sha256 === database.sha256;
    if (!verified.checksumOk) {
      problems.push(`${filePath} decompresses to ${result.bytes} bytes with SHA-256 ${result.sha256}, but the manifest records ${database.bytes} bytes with SHA-256 ${database.sha256}.`);
    }
    verified.integrity = result.integrity;
    if (result.integrity !== 'ok') problems.push(`${filePath}: integrity_check reported ${result.integrity}.`);
    problems.push(...schemaProblems(filePath, result.schemaVersions ?? {}));
  }
  return { ok: problems.length === 0, path: folder, manifest, databases, problems };
}

/** Stores in the copy that this Porchlight has no migrations for, or at a version newer than its own. */
function schemaProblems(filePath: string, versions: Record<string, number>): string[] {
  const problems: string[] = [];
  for (const [store, version] of Object.entries(versions)) {
    if (!STORE_NAME.test(store) || !existsSync(join(packageRoot(), 'migrations', store))) {
      problems.push(`${filePath} holds the store ${JSON.stringify(store)}, which this version of Porchlight does not know; restore it with the version that wrote it.`);
      continue;
    }
    const latest = loadMigrations(store).length;
    if (version > latest) {
      problems.push(`${filePath} has schema version ${version} of "${store}", newer than this Porchlight's ${latest}; upgrade Porchlight before restoring it.`);
    }
  }
  return problems;
}
