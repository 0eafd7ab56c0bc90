import type { Compression } from './storage-config.js';

/**
 * Messages between the main thread and the backup worker, which copies, compresses, hashes and
 * checks database files on its own SQLite connection so the main event loop stays free.
 */

/** Copies a live database with SQLite's online backup API. */
export interface SnapshotTask {
  kind: 'snapshot';
  sourcePath: string;
  /** Path of the copy. */
  copyPath: string;
  /** Sync the copy to disk and hash it, for a copy that is stored as it is. */
  keep: boolean;
}

export interface SnapshotResult {
  kind: 'snapshot';
  /** Size of the database copy, and its SHA-256 (hex) when the copy is kept. */
  bytes: number;
  sha256: string | undefined;
  pageSize: number;
  pageCount: number;
  /** Highest applied migration per store, read from the copy. */
  schemaVersions: Record<string, number>;
  copyMs: number;
  hashMs: number;
}

/** Compresses bytes `start` to `end` (exclusive) of a file into a file of their own. */
export interface CompressTask {
  kind: 'compress';
  path: string;
  start: number;
  end: number;
  outputPath: string;
  compression: Exclude<Compression, 'none'>;
  level: number;
  /** Also hash the bytes read, saving a second pass when the range is the whole file. */
  hashInput: boolean;
}

export interface CompressResult {
  kind: 'compress';
  bytes: number;
  /** SHA-256 of the bytes read, when `hashInput` was set. */
  inputSha256: string | undefined;
}

/** Hashes a whole file. */
export interface HashTask {
  kind: 'hash';
  path: string;
}

export interface HashResult {
  kind: 'hash';
  bytes: number;
  sha256: string;
}

/**
 * Joins compressed parts into one file, in order, and hashes it; the parts are deleted. Gzip members
 * joined this way form one valid gzip file, which decompresses to the parts' inputs in order.
 */
export interface ConcatenateTask {
  kind: 'concatenate';
  parts: string[];
  outputPath: string;
}

export interface ConcatenateResult {
  kind: 'concatenate';
  bytes: number;
  sha256: string;
}

/** Checks one stored backup file: its hash, its decompressed hash and SQLite's integrity check. */
export interface VerifyTask {
  kind: 'verify';
  filePath: string;
  compression: Compression;
  /** Path of the decompressed database, which the caller removes or keeps. */
  extractPath: string;
}

export interface VerifyResult {
  kind: 'verify';
  fileBytes: number;
  fileSha256: string;
  /** Undefined when decompression failed, with the reason in `problem`. */
  bytes: number | undefined;
  sha256: string | undefined;
  /** `ok`, or the first lines that `PRAGMA integrity_check` reported. */
  integrity: string | undefined;
  schemaVersions: Record<string, number> | undefined;
  problem: string | undefined;
}

/** Runs `PRAGMA quick_check` on a live database through a connection of its own. */
export interface QuickCheckTask {
  kind: 'quickCheck';
  path: string;
}

export interface QuickCheckResult {
  kind: 'quickCheck';
  /** `ok`, or the first problems reported. */
  result: string;
  durationMs: number;
}

export type BackupTask = SnapshotTask | CompressTask | ConcatenateTask | HashTask | VerifyTask | QuickCheckTask;
export type BackupTaskResult = SnapshotResult | CompressResult | ConcatenateResult | HashResult | VerifyResult | QuickCheckResult;

/** The worker's reply: a result, or the error message and SQLite code of a failure. */
export type WorkerReply =
  | { ok: true; result: BackupTaskResult }
  | { ok: false; message: string; code: string | undefined };
