import { existsSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Bytes an unprivileged process can still write on the file system that holds `path` (or would hold it). */
export function freeDiskBytes(path: string): number {
  let folder = resolve(path);
  while (!existsSync(folder) && dirname(folder) !== folder) folder = dirname(folder);
  const stats = statfsSync(folder);
  return stats.bavail * stats.bsize;
}
