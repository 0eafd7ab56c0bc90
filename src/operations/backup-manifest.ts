import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { packageRoot } from '../package-root.js';
import type { Compression } from './storage-config.js';

export const MANIFEST_FILE = 'manifest.json';
export const BACKUP_FORMAT = 'porchlight-backup';
export const BACKUP_FORMAT_VERSION = 1;
/** Backup folders are named `porchlight-backup-<UTC time>`, so they sort by age. */
export const BACKUP_PREFIX = 'porchlight-backup-';

export type BackupReason = 'manual' | 'scheduled';

/** One database file in a backup. */
export interface ManifestDatabase {
  /** `main`, or the stores of a file of its own joined by `-`. */
  name: string;
  stores: string[];
  /** File name inside the backup folder. */
  file: string;
  /** Size and SHA-256 (hex) of the database file after decompression. */
  bytes: number;
  sha256: string;
  /** Size and SHA-256 of the stored file. */
  fileBytes: number;
  fileSha256: string;
  pageSize: number;
  pageCount: number;
  /** Highest applied migration per store. */
  schemaVersions: Record<string, number>;
}

/** `manifest.json` of a backup folder. */
export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  formatVersion: number;
  /** ISO 8601, UTC. */
  createdAt: string;
  porchlightVersion: string;
  reason: BackupReason;
  compression: Compression;
  databases: ManifestDatabase[];
}

let version: string | undefined;

export function porchlightVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}

/** Reads and checks `manifest.json` of a backup folder: the manifest, or the reason it cannot be used. */
export function readManifest(folder: string): { manifest: BackupManifest; problem?: undefined } | { manifest?: undefined; problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(join(folder, MANIFEST_FILE), 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? `${folder} has no ${MANIFEST_FILE}, so it is not a Porchlight backup` : `${join(folder, MANIFEST_FILE)} cannot be read as JSON: ${(error as Error).message}` };
  }
  const problem = manifestProblem(parsed);
  return problem === undefined ? { manifest: parsed as BackupManifest } : { problem: `${join(folder, MANIFEST_FILE)}: ${problem}` };
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const SAFE_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The first field of `value` that a manifest of this format version may not have, or undefined. */
function manifestProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return 'the manifest is not a JSON object';
  const manifest = value as Record<string, unknown>;
  if (manifest.format !== BACKUP_FORMAT) return `format is ${JSON.stringify(manifest.format)}, expected "${BACKUP_FORMAT}"`;
  if (manifest.formatVersion !== BACKUP_FORMAT_VERSION) {
    return `formatVersion ${JSON.stringify(manifest.formatVersion)} is not supported by this Porchlight (it reads version ${BACKUP_FORMAT_VERSION}); restore it with the Porchlight version that wrote it`;
  }
  if (typeof manifest.createdAt !== 'string' || Number.isNaN(Date.parse(manifest.createdAt))) return 'createdAt is not an ISO 8601 time';
  if (!['brotli', 'gzip', 'none'].includes(manifest.compression as string)) return `compression ${JSON.stringify(manifest.compression)} is not "brotli", "gzip" or "none"`;
  if (!Array.isArray(manifest.databases) || manifest.databases.length === 0) return 'databases is not a non-empty list';

  const names = new Set<string>();
  for (const [position, entry] of (manifest.databases as unknown[]).entries()) {
    const database = entry as Record<string, unknown> | null;
    const where = `databases[${position}]`;
    if (database === null || typeof database !== 'object') return `${where} is not an object`;
    if (typeof database.name !== 'string' || database.name.length === 0 || names.has(database.name)) return `${where}.name is missing or repeated`;
    names.add(database.name);
    // The file name is joined to the backup folder, so it must not climb out of it.
    if (typeof database.file !== 'string' || !SAFE_FILE.test(database.file)) return `${where}.file is not a plain file name`;
    if (!Array.isArray(database.stores) || !database.stores.every((store) => typeof store === 'string')) return `${where}.stores is not a list of names`;
    for (const field of ['bytes', 'fileBytes', 'pageSize', 'pageCount']) {
      if (!Number.isSafeInteger(database[field]) || (database[field] as number) < 0) return `${where}.${field} is not a non-negative integer`;
    }
    for (const field of ['sha256', 'fileSha256']) {
      if (typeof database[field] !== 'string' || !HEX_SHA256.test(database[field] as string)) return `${where}.${field} is not a SHA-256 in hex`;
    }
    const versions = database.schemaVersions as Record<string, unknown> | null;
    if (versions === null || typeof versions !== 'object' || !Object.values(versions).every((entryVersion) => Number.isSafeInteger(entryVersion))) {
      return `${where}.schemaVersions is not a map of store to version`;
    }
  }
  return undefined;
}
