import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { BACKUP_PREFIX, readManifest, type BackupManifest } from './backup-manifest.js';

/** A backup folder found in a backup directory. */
export interface BackupEntry {
  path: string;
  /** From the manifest; for a folder without a readable manifest, undefined. */
  createdAt: string | undefined;
  /** Sum of the stored files' sizes in bytes. */
  bytes: number;
  manifest: BackupManifest | undefined;
  /** Why the folder is not a usable backup; undefined when its manifest is valid. */
  problem: string | undefined;
}

/**
 * Lists the backup folders of `directory`, newest first. Only folders named like Porchlight backups
 * are listed; their files are not checked here (see verifyBackup). A missing directory has none.
 */
export function listBackups(directory: string): BackupEntry[] {
  let names: string[];
  try {
    names = readdirSync(directory, { withFileTypes: true }).filter((entry) => entry.isDirectory() && entry.name.startsWith(BACKUP_PREFIX)).map((entry) => entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }

  const entries = names.map((name): BackupEntry => {
    const path = join(directory, name);
    const { manifest, problem } = readManifest(path);
    return {
      path,
      createdAt: manifest?.createdAt,
      bytes: manifest?.databases.reduce((sum, database) => sum + database.fileBytes, 0) ?? 0,
      manifest,
      problem,
    };
  });
  // Folder names embed the creation time, so name order is age order even without a manifest.
  return entries.sort((a, b) => (a.path < b.path ? 1 : a.path > b.path ? -1 : 0));
}
