import { existsSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { Logger } from '../logger.js';
import { BACKUP_PREFIX } from './backup-manifest.js';
import { listBackups } from './list-backups.js';

/** Temporary folders of backups being written: `.porchlight-backup-<time>.partial-<pid>`. */
const PARTIAL_PATTERN = new RegExp(`^\\.${BACKUP_PREFIX}.*\\.partial-(\\d+)$`);

/**
 * Deletes the oldest backups of `directory` beyond the newest `keep` valid ones, and temporary
 * folders left by backups whose process has died. Folders without a valid manifest are left alone
 * and logged, since they may hold the only copy of something. Returns the deleted paths.
 */
export async function rotateBackups(directory: string, keep: number, logger: Logger): Promise<string[]> {
  const removed: string[] = [];
  if (!existsSync(directory)) return removed;
  const backups = listBackups(directory);
  const valid = backups.filter((entry) => entry.manifest !== undefined);
  for (const entry of valid.slice(keep)) {
    await rm(entry.path, { recursive: true, force: true });
    removed.push(entry.path);
  }
  for (const entry of backups.filter((candidate) => candidate.problem !== undefined)) {
    logger.warn({ path: entry.path, problem: entry.problem }, 'backup folder without a valid manifest left in place');
  }

  for (const name of readdirSync(directory)) {
    const match = PARTIAL_PATTERN.exec(name);
    if (match === null || processIsAlive(Number(match[1]))) continue;
    await rm(join(directory, name), { recursive: true, force: true });
    removed.push(join(directory, name));
  }
  return removed;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
