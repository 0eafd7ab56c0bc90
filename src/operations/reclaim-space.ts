import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

import { fileSize, type SqliteDatabase } from '../db/open-database.js';
import type { DatabaseFile } from './database-layout.js';

/** Pages returned to the file system per `incremental_vacuum` step; about 4 MB with 4 KiB pages. */
const VACUUM_STEP_PAGES = 1000;
/**
 * Milliseconds a checkpoint waits for readers of an old snapshot before it gives up for this round.
 * It runs on the storage's connection in the calling thread, so a long wait would stall the event loop.
 */
const CHECKPOINT_BUSY_TIMEOUT_MS = 100;

export interface VacuumResult {
  database: string;
  /** `incremental`, or `none` for a file created without incremental auto-vacuum (see the README). */
  mode: 'incremental' | 'none';
  pagesFreed: number;
  bytesFreed: number;
}

export interface CheckpointResult {
  database: string;
  walBytesBefore: number;
  walBytesAfter: number;
  /** A reader of an old snapshot kept the WAL from being reset; the next cleanup tries again. */
  busy: boolean;
}

/**
 * Returns free pages to the file system with `PRAGMA incremental_vacuum`, a bounded step at a time with
 * the event loop free between steps, so writers of this process wait for one step at most.
 */
export async function vacuumFreePages(file: DatabaseFile, db: SqliteDatabase): Promise<VacuumResult> {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  if (db.pragma('auto_vacuum', { simple: true }) !== 2) return { database: file.name, mode: 'none', pagesFreed: 0, bytesFreed: 0 };

  const before = db.pragma('freelist_count', { simple: true }) as number;
  let remaining = before;
  while (remaining > 0) {
    db.pragma(`incremental_vacuum(${VACUUM_STEP_PAGES})`);
    const next = db.pragma('freelist_count', { simple: true }) as number;
    if (next >= remaining) break;
    remaining = next;
    await yieldToEventLoop();
  }
  const pagesFreed = before - remaining;
  return { database: file.name, mode: 'incremental', pagesFreed, bytesFreed: pagesFreed * pageSize };
}

/**
 * Copies the WAL into the database and truncates it to zero bytes once it has grown past
 * `thresholdBytes`; SQLite's automatic checkpoints copy pages back but never shrink the file.
 */
export function truncateWal(file: DatabaseFile, db: SqliteDatabase, thresholdBytes: number): CheckpointResult {
  const walBytesBefore = fileSize(`${file.path}-wal`);
  if (walBytesBefore <= thresholdBytes) return { database: file.name, walBytesBefore, walBytesAfter: walBytesBefore, busy: false };

  const busyTimeout = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma(`busy_timeout = ${CHECKPOINT_BUSY_TIMEOUT_MS}`);
  let busy: boolean;
  try {
    const [row] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    busy = row!.busy !== 0;
  } finally {
    db.pragma(`busy_timeout = ${busyTimeout}`);
  }
  return { database: file.name, walBytesBefore, walBytesAfter: fileSize(`${file.path}-wal`), busy };
}
