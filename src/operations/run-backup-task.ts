import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import { ErrorCodes, StorageError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { BackupTask, CompressResult, CompressTask, ConcatenateResult, ConcatenateTask, HashResult, HashTask, QuickCheckResult, QuickCheckTask, SnapshotResult, SnapshotTask, VerifyResult, VerifyTask, WorkerReply } from './backup-messages.js';

/**
 * The compiled worker script. Under the build it sits beside this file; when this file runs as
 * TypeScript (vitest), Node cannot start a .ts worker, so the build output is used.
 */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return join(here, '..', 'backup-worker.js');
  const built = join(packageRoot(), 'dist', 'src', 'operations', 'backup-worker.js');
  if (!existsSync(built)) {
    throw new StorageError(ErrorCodes.BACKUP_FAILED, `The backup worker ${built} is missing; run "npm run build" first.`, { details: { path: built } });
  }
  return built;
}

export function runBackupTask(task: SnapshotTask): Promise<SnapshotResult>;
export function runBackupTask(task: CompressTask): Promise<CompressResult>;
export function runBackupTask(task: ConcatenateTask): Promise<ConcatenateResult>;
export function runBackupTask(task: HashTask): Promise<HashResult>;
export function runBackupTask(task: VerifyTask): Promise<VerifyResult>;
export function runBackupTask(task: QuickCheckTask): Promise<QuickCheckResult>;
/**
 * Runs one task in a new worker thread and resolves to its result. A task that fails rejects with an
 * Error carrying the worker's message and SQLite code; a worker that dies rejects with its exit code.
 */
export function runBackupTask(task: BackupTask): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerScript(), { workerData: task });
    let replied = false;
    worker.once('message', (reply: WorkerReply) => {
      replied = true;
      if (reply.ok) {
        resolve(reply.result);
      } else {
        reject(Object.assign(new Error(reply.message), { code: reply.code }));
      }
    });
    worker.once('error', (error) => {
      replied = true;
      reject(error);
    });
    worker.once('exit', (exitCode) => {
      if (!replied) reject(new Error(`The backup worker for a ${task.kind} task exited with code ${exitCode} before it replied.`));
    });
  });
}
