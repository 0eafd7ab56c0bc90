import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';

import { ErrorCodes, ValidationError } from '../errors.js';
import { resolveStorageConfig, type StorageOptions } from './storage-config.js';

/** Name that `porchlight init` writes and the CLI reads from the working folder when `--config` is not given. */
export const CONFIG_FILE_NAME = 'porchlight.config.jsonc';

/**
 * Reads a configuration file: JSON that may contain `//` and `/* *\/` comments and trailing commas.
 * Every key is checked as `openStorage` checks an options object, but errors carry the code
 * INVALID_CONFIG and name the file. Relative `dataDirectory`, `backupDirectory` and
 * `migrations.backupDirectory` are resolved against the file's folder, so the file works from any working folder.
 */
export function loadConfigFile(path: string): StorageOptions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationError(ErrorCodes.INVALID_CONFIG, `Cannot read the configuration file ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check the path, or write a default one with "porchlight init".`, { cause: error, details: { file: path } });
  }

  const errors: ParseError[] = [];
  const options = parse(text, errors, { allowTrailingComma: true, disallowComments: false }) as unknown;
  if (errors.length > 0) {
    const first = errors[0]!;
    const { line, column } = lineAndColumn(text, first.offset);
    throw new ValidationError(ErrorCodes.INVALID_CONFIG, `${path}:${line}:${column}: ${printParseErrorCode(first.error)}; the file must be JSON (comments and trailing commas are allowed).`, { details: { file: path, line, column } });
  }

  const baseDirectory = dirname(resolve(path));
  resolveStorageConfig(options as StorageOptions, { label: `${path}: `, baseDirectory, code: ErrorCodes.INVALID_CONFIG });

  const fileOptions = options as StorageOptions;
  return {
    ...fileOptions,
    dataDirectory: resolve(baseDirectory, fileOptions.dataDirectory),
    ...(fileOptions.backupDirectory === undefined ? {} : { backupDirectory: resolve(baseDirectory, fileOptions.backupDirectory) }),
    ...(fileOptions.migrations?.backupDirectory === undefined ? {} : { migrations: { ...fileOptions.migrations, backupDirectory: resolve(baseDirectory, fileOptions.migrations.backupDirectory) } }),
  };
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

/** The file `porchlight init` writes: every key with its default and what it means. */
export const DEFAULT_CONFIG_TEXT = `// Porchlight configuration. JSON with comments; relative paths are resolved against this file's folder.
// Every key is optional except dataDirectory; a misspelled key is an error, so typos cannot go unnoticed.
{
  // Folder of the databases, created owner-only (0700) when missing.
  "dataDirectory": "./data",

  // Folder of backups. Default: <dataDirectory>/backups. Put it on another disk to survive a disk failure.
  // "backupDirectory": "/mnt/usb/porchlight-backups",

  // SQLite write-ahead logging, so readers and the writer do not wait for each other. Turn it off only on a file system
  // without shared memory support (a network share); then readers and the writer wait for each other.
  "wal": true,

  // "full" syncs every commit to disk: nothing acknowledged is lost, even on power loss.
  // "normal" syncs only at WAL checkpoints: commits are faster and a crashed process still loses
  // nothing, but a power cut or kernel panic can undo the last commits before the checkpoint.
  "durability": "full",

  // A database file per store, relative to dataDirectory. By default every store shares
  // porchlight.db, so an event, a face change and its audit record commit together. A store moved to
  // a file of its own commits separately from the others: after a crash, its file and the shared one
  // can disagree about the last moments. faces and config cannot be separated from each other, because
  // their changes commit with their audit records.
  // "databases": { "events": "events.db", "metrics": "metrics.db" },

  "retention": {
    // Days an event is kept; null keeps events forever. Events flagged to keep are never deleted.
    "eventDays": 30,
    // Days per event type, overriding eventDays, for example { "motion": 7, "blacklist_match": null }.
    "eventTypeDays": {},
    // Days metric points are kept per resolution; null keeps them forever.
    "metricDays": { "raw": 7, "minute": 30, "hour": 365, "day": null }
  },

  "migrations": {
    // Apply pending schema migrations when the storage opens. When false, opening fails while one is pending.
    "auto": true,
    // Copy a database that contains rows into backupDirectory before migrating it.
    "backup": true
  },

  "backup": {
    // Minutes between scheduled backups; 0 turns them off. A backup also runs soon after start when
    // the newest one in backupDirectory is older than this.
    "intervalMinutes": 1440,
    // Backups kept; older ones are deleted after each new one.
    "keep": 7,
    // "brotli", "gzip" or "none". Brotli at level 1 was the faster of the two on the benchmark store,
    // for a file about 5% larger; gzip splits large files across parallel workers.
    "compression": "brotli",
    // Codec level, fastest first: brotli 0 to 11, gzip 1 to 9.
    "compressionLevel": 1
  },

  "cleanup": {
    // Minutes between scheduled retention cleanups; 0 turns them off.
    "intervalMinutes": 60,
    // Rows deleted per transaction, so writers wait at most one chunk.
    "chunkSize": 2000,
    // WAL size in bytes past which cleanup truncates the WAL (64 MiB).
    "walCheckpointBytes": 67108864
  },

  "health": {
    // Free disk space in bytes below which "porchlight health" fails (256 MiB).
    "minFreeDiskBytes": 268435456
  },

  // Record Porchlight's own metrics (store latencies, backup, cleanup and migration durations,
  // database and WAL sizes; names start with "porchlight.") in the metrics store.
  "operationalMetrics": true,

  "faces": {
    // Metric of face models not listed in "models": "l2" for dlib-style encodings, "cosine" for ArcFace or FaceNet.
    "metric": "l2",
    // Metric per model name, for example { "arcface": "cosine" }.
    "models": {},
    // Persons kept in the name cache used to build matches.
    "personCacheSize": 10000
  }
}
`;
