// Runs in a worker thread: one task per worker, posted as `workerData`, one reply posted back.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { constants, createBrotliCompress, createBrotliDecompress, createGunzip, createGzip } from 'node:zlib';

import Database from 'better-sqlite3';

import type { BackupTask, BackupTaskResult, CompressResult, CompressTask, ConcatenateResult, ConcatenateTask, QuickCheckResult, SnapshotResult, SnapshotTask, VerifyResult, VerifyTask, WorkerReply } from './backup-messages.js';

const FILE_MODE = 0o600;
/** Milliseconds the worker's connection waits for a lock held by another connection. */
const BUSY_TIMEOUT_MS = 10_000;
/** Nice value of the worker thread: below normal priority, as background work should be. */
const WORKER_NICE = 10;
/** Lines of `integrity_check` output kept in a result. */
const MAX_INTEGRITY_LINES = 10;

/** A pass-through stream that feeds every chunk to a SHA-256 and counts the bytes. */
class HashingStream extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

async function snapshot(task: SnapshotTask): Promise<SnapshotResult> {
  let started = performance.now();
  // Created first so that SQLite writes into an owner-only file.
  await (await open(task.copyPath, 'w', FILE_MODE)).close();

  const source = new Database(task.sourcePath, { fileMustExist: true });
  try {
    source.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // The first step only reads the page count. Returning a huge step size makes the second step copy
    // every page under one read transaction, so the copy is one consistent snapshot. In WAL mode that
    // read transaction does not block writers, and in this worker it does not block the main thread.
    await source.backup(task.copyPath, { progress: () => 0x7fffffff });
  } finally {
    source.close();
  }
  const copyMs = performance.now() - started;

  const copy = new Database(task.copyPath, { fileMustExist: true });
  let pageSize: number;
  let pageCount: number;
  let schemaVersions: Record<string, number>;
  try {
    pageSize = copy.pragma('page_size', { simple: true }) as number;
    pageCount = copy.pragma('page_count', { simple: true }) as number;
    schemaVersions = readSchemaVersions(copy);
  } finally {
    copy.close();
  }

  started = performance.now();
  if (!task.keep) return { kind: 'snapshot', bytes: (await stat(task.copyPath)).size, sha256: undefined, pageSize, pageCount, schemaVersions, copyMs, hashMs: 0 };
  await syncFile(task.copyPath);
  const { bytes, sha256 } = await hashFile(task.copyPath);
  return { kind: 'snapshot', bytes, sha256, pageSize, pageCount, schemaVersions, copyMs, hashMs: performance.now() - started };
}

async function compress(task: CompressTask): Promise<CompressResult> {
  const input = new HashingStream();
  const output = new HashingStream();
  await pipeline(
    createReadStream(task.path, { start: task.start, end: task.end - 1 }),
    input,
    compressor(task.compression, task.level, task.end - task.start),
    output,
    createWriteStream(task.outputPath, { mode: FILE_MODE }),
  );
  return { kind: 'compress', bytes: output.bytes, inputSha256: task.hashInput ? input.hash.digest('hex') : undefined };
}

async function concatenate(task: ConcatenateTask): Promise<ConcatenateResult> {
  const output = new HashingStream();
  const writer = createWriteStream(task.outputPath, { mode: FILE_MODE });
  await pipeline(async function* joined() {
    for (const part of task.parts) yield* createReadStream(part);
  }, output, writer);
  await syncFile(task.outputPath);
  for (const part of task.parts) await rm(part);
  return { kind: 'concatenate', bytes: output.bytes, sha256: output.hash.digest('hex') };
}

async function verify(task: VerifyTask): Promise<VerifyResult> {
  const file = new HashingStream();
  const raw = new HashingStream();
  const result: VerifyResult = { kind: 'verify', fileBytes: 0, fileSha256: '', bytes: undefined, sha256: undefined, integrity: undefined, schemaVersions: undefined, problem: undefined };

  try {
    if (task.compression !== 'none') {
      await pipeline(createReadStream(task.filePath), file, task.compression === 'gzip' ? createGunzip() : createBrotliDecompress(), raw, createWriteStream(task.extractPath, { mode: FILE_MODE }));
    } else {
      await pipeline(createReadStream(task.filePath), file, raw, createWriteStream(task.extractPath, { mode: FILE_MODE }));
    }
  } catch (error) {
    // Decompression may stop early, so the whole file is hashed again for the checksum comparison.
    const whole = await hashFile(task.filePath);
    result.fileBytes = whole.bytes;
    result.fileSha256 = whole.sha256;
    result.problem = `${task.compression === 'none' ? 'copy' : 'decompression'} failed: ${(error as Error).message}`;
    return result;
  }
  result.fileBytes = file.bytes;
  result.fileSha256 = file.hash.digest('hex');
  result.bytes = raw.bytes;
  result.sha256 = raw.hash.digest('hex');
  await syncFile(task.extractPath);

  let db: Database.Database | undefined;
  try {
    db = new Database(task.extractPath, { fileMustExist: true });
    const lines = (db.pragma(`integrity_check(${MAX_INTEGRITY_LINES})`) as { integrity_check: string }[]).map((row) => row.integrity_check);
    result.integrity = lines.join('; ');
    result.schemaVersions = readSchemaVersions(db);
  } catch (error) {
    result.problem = `the restored file cannot be read by SQLite: ${(error as Error).message}`;
  } finally {
    db?.close();
  }
  return result;
}

function compressor(compression: 'brotli' | 'gzip', level: number, sizeHint: number): Transform {
  if (compression === 'gzip') return createGzip({ level });
  return createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: level, [constants.BROTLI_PARAM_SIZE_HINT]: sizeHint } });
}

function quickCheck(path: string): QuickCheckResult {
  const started = performance.now();
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const lines = (db.pragma(`quick_check(${MAX_INTEGRITY_LINES})`) as { quick_check: string }[]).map((row) => row.quick_check);
    return { kind: 'quickCheck', result: lines.join('; '), durationMs: performance.now() - started };
  } finally {
    db.close();
  }
}

function readSchemaVersions(db: Database.Database): Record<string, number> {
  const table = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (table === undefined) return {};
  const rows = db.prepare('SELECT store, max(version) AS version FROM schema_migrations GROUP BY store ORDER BY store').all() as { store: string; version: number }[];
  return Object.fromEntries(rows.map((row) => [row.store, row.version]));
}

async function hashFile(path: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function run(task: BackupTask): Promise<BackupTaskResult> {
  switch (task.kind) {
    case 'snapshot': return snapshot(task);
    case 'compress': return compress(task);
    case 'concatenate': return concatenate(task);
    case 'hash': return { kind: 'hash', ...(await hashFile(task.path)) };
    case 'verify': return verify(task);
    case 'quickCheck': return quickCheck(task.path);
  }
}

// On Linux the nice value belongs to the thread, so this lowers only the worker's priority and the
// main thread keeps the processor when both want it. Elsewhere it could lower the whole process.
if (process.platform === 'linux') setPriority(WORKER_NICE);

try {
  const result = await run(workerData as BackupTask);
  parentPort!.postMessage({ ok: true, result } satisfies WorkerReply);
} catch (error) {
  parentPort!.postMessage({ ok: false, message: (error as Error).message, code: (error as { code?: string }).code } satisfies WorkerReply);
}
