import { dirname } from 'node:path';

import { Migrator } from '../db/migrator.js';
import { fileSize, type SqliteDatabase } from '../db/open-database.js';
import type { FaceDatabase } from '../faces/face-database.js';
import type { DatabaseFile } from './database-layout.js';
import { freeDiskBytes } from './disk-space.js';
import { checkFaceIndex, type FaceIndexCheck } from './face-index-check.js';
import { listBackups } from './list-backups.js';
import { runBackupTask } from './run-backup-task.js';
import type { ScheduledRun } from './scheduler.js';
import type { StorageConfig } from './storage-config.js';

export interface StoreSchema {
  store: string;
  /** Highest applied migration; 0 when none is. */
  version: number;
  /** Highest migration this Porchlight has. */
  latestVersion: number;
  /** Names of migrations not applied yet. */
  pending: string[];
  /** Applied migrations whose file changed since, and recorded ones that no file defines (a newer Porchlight's). */
  changed: string[];
  unknown: string[];
}

export interface DatabaseHealth {
  name: string;
  path: string;
  stores: string[];
  /** The storage's own connection could read the schema. */
  reachable: boolean;
  /** Reason the database is not reachable. */
  error: string | undefined;
  /** `ok`, or the problems `PRAGMA quick_check` reported (through a separate connection). */
  quickCheck: string;
  sizeBytes: number;
  walBytes: number;
  /** Free space on the file system of the database. */
  freeDiskBytes: number;
  schema: StoreSchema[];
}

export interface HealthReport {
  /** False when any of `problems` applies; warnings do not count. */
  healthy: boolean;
  /** ISO 8601, UTC. */
  checkedAt: string;
  databases: DatabaseHealth[];
  /** Per face model: index rows and checksum against the encodings table. */
  faceIndex: FaceIndexCheck[];
  backups: {
    directory: string;
    lastBackupPath: string | undefined;
    /** ISO 8601, UTC. */
    lastBackupAt: string | undefined;
    secondsSinceLastBackup: number | undefined;
    lastScheduledRun: ScheduledRun | undefined;
  };
  /** One sentence per failed check. */
  problems: string[];
  /** Conditions worth a look that do not make the storage unhealthy. */
  warnings: string[];
}

export interface HealthInput {
  config: StorageConfig;
  databases: readonly { file: DatabaseFile; db: SqliteDatabase }[];
  faces: FaceDatabase;
  lastScheduledBackup: ScheduledRun | undefined;
  now?: Date;
}

/**
 * Checks each database (reachable, quick_check, sizes, schema), the face index against its table,
 * the free disk space and the age of the newest backup. Thresholds: free space below
 * `health.minFreeDiskBytes`, and with scheduled backups on, no backup within twice the interval or a
 * failed last scheduled backup, make the storage unhealthy.
 */
export async function checkHealth(input: HealthInput): Promise<HealthReport> {
  const { config } = input;
  const now = input.now ?? new Date();
  const problems: string[] = [];
  const warnings: string[] = [];

  const databases: DatabaseHealth[] = [];
  for (const { file, db } of input.databases) {
    const health = await checkDatabase(file, db);
    databases.push(health);
    if (!health.reachable) problems.push(`${file.path} cannot be read through the storage's connection: ${health.error}`);
    if (health.quickCheck !== 'ok') problems.push(`${file.path}: quick_check reported ${health.quickCheck}`);
    for (const schema of health.schema) {
      if (schema.pending.length > 0) problems.push(`${file.path}: migrations of ${schema.store} are pending (${schema.pending.join(', ')}).`);
      if (schema.changed.length > 0) problems.push(`${file.path}: applied migrations of ${schema.store} changed since (${schema.changed.join(', ')}).`);
      if (schema.unknown.length > 0) problems.push(`${file.path}: ${schema.store} has migrations that this Porchlight does not know (${schema.unknown.join(', ')}).`);
    }
    if (health.freeDiskBytes < config.health.minFreeDiskBytes) {
      problems.push(`Only ${health.freeDiskBytes} bytes are free on the disk of ${file.path}, below health.minFreeDiskBytes (${config.health.minFreeDiskBytes}).`);
    }
    if (config.cleanup.walCheckpointBytes > 0 && health.walBytes > 4 * config.cleanup.walCheckpointBytes) {
      warnings.push(`The WAL of ${file.path} has ${health.walBytes} bytes, over 4 times cleanup.walCheckpointBytes: a long-running reader may be holding back checkpoints.`);
    }
  }

  let faceIndex: FaceIndexCheck[] = [];
  const facesDatabase = input.databases.find((entry) => entry.file.stores.includes('faces'));
  try {
    faceIndex = facesDatabase === undefined ? [] : checkFaceIndex(input.faces, facesDatabase.db);
  } catch (error) {
    problems.push(`The face index could not be compared with the encodings table: ${(error as Error).message}`);
  }
  for (const model of faceIndex.filter((entry) => !entry.matches)) {
    problems.push(`The face index of model ${JSON.stringify(model.model)} does not match the encodings table (${model.indexRows} rows in the index, ${model.tableRows} in the table, ${model.vectorMismatches} vectors differ); reopen the storage to rebuild it.`);
  }

  const newest = listBackups(config.backupDirectory).find((entry) => entry.manifest !== undefined);
  const lastBackupAt = newest?.createdAt;
  const secondsSinceLastBackup = lastBackupAt === undefined ? undefined : Math.max(0, (now.getTime() - Date.parse(lastBackupAt)) / 1000);
  const intervalSeconds = config.backup.intervalMinutes * 60;
  if (intervalSeconds > 0 && secondsSinceLastBackup !== undefined && secondsSinceLastBackup > 2 * intervalSeconds) {
    problems.push(`The newest backup in ${config.backupDirectory} is ${Math.round(secondsSinceLastBackup / 3600)} hours old, more than twice backup.intervalMinutes.`);
  }
  if (lastBackupAt === undefined) warnings.push(`There is no backup in ${config.backupDirectory} yet; take one with "porchlight backup create".`);
  if (input.lastScheduledBackup !== undefined && !input.lastScheduledBackup.ok) {
    problems.push(`The last scheduled backup, at ${input.lastScheduledBackup.startedAt}, failed: ${input.lastScheduledBackup.error}`);
  }

  return {
    healthy: problems.length === 0,
    checkedAt: now.toISOString(),
    databases,
    faceIndex,
    backups: { directory: config.backupDirectory, lastBackupPath: newest?.path, lastBackupAt, secondsSinceLastBackup, lastScheduledRun: input.lastScheduledBackup },
    problems,
    warnings,
  };
}

async function checkDatabase(file: DatabaseFile, db: SqliteDatabase): Promise<DatabaseHealth> {
  let error: string | undefined;
  let schema: StoreSchema[] = [];
  try {
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    const statuses = new Migrator(db, file.stores, { backup: false }).status();
    schema = file.stores.map((store) => {
      const own = statuses.filter((status) => status.store === store);
      const named = (state: string) => own.filter((status) => status.state === state).map((status) => `${String(status.version).padStart(4, '0')}_${status.name}`);
      return {
        store,
        version: Math.max(0, ...own.filter((status) => status.applied).map((status) => status.version)),
        latestVersion: own.filter((status) => status.state !== 'unknown').length,
        pending: named('pending'),
        changed: named('changed'),
        unknown: named('unknown'),
      };
    });
  } catch (failure) {
    error = (failure as Error).message;
  }

  let quickCheck: string;
  try {
    quickCheck = (await runBackupTask({ kind: 'quickCheck', path: file.path })).result;
  } catch (failure) {
    quickCheck = `failed: ${(failure as Error).message}`;
  }

  return {
    name: file.name,
    path: file.path,
    stores: [...file.stores],
    reachable: error === undefined,
    error,
    quickCheck,
    sizeBytes: fileSize(file.path),
    walBytes: fileSize(`${file.path}-wal`),
    freeDiskBytes: freeDiskBytes(dirname(file.path)),
    schema,
  };
}
