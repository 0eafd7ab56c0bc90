import { parseArgs } from 'node:util';

import { listBackups } from '../../operations/list-backups.js';
import { verifyBackup } from '../../operations/verify-backup.js';
import { resolveStorageConfig } from '../../operations/storage-config.js';
import { UsageError, writeLine, type CliCommand, type CommandContext } from '../command.js';

const USAGE = `Usage:
  porchlight backup create [--destination DIR] [--json]
  porchlight backup list [--json]
  porchlight backup verify PATH [--json]

create writes a consistent copy of every database, compressed, with a manifest of SHA-256 checksums,
into a new folder of the backup directory (or DIR), and deletes the oldest beyond backup.keep.
verify checks a backup folder's manifest, checksums and SQLite integrity without touching the live
databases; it exits 1 when a check fails.`;

export const backupCommand: CliCommand = {
  name: 'backup',
  summary: 'create, list and verify backups',
  usage: USAGE,
  async run(context) {
    const [action, ...rest] = context.args;
    const sub = { ...context, args: rest };
    switch (action) {
      case 'create': return createBackup(sub);
      case 'list': return listAll(sub);
      case 'verify': return verify(sub);
      case undefined:
      case '--help':
        writeLine(context.stdout, USAGE);
        return action === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown backup action "${action}"; expected create, list or verify`);
    }
  },
};

async function createBackup(context: CommandContext): Promise<number> {
  const { values } = parseArgs({ args: context.args, options: { destination: { type: 'string' }, json: { type: 'boolean' } }, strict: true });
  const storage = await context.openStorage();
  const result = await storage.backupAll(values.destination === undefined ? {} : { destination: values.destination });
  if (values.json === true) {
    writeLine(context.stdout, JSON.stringify(result));
    return 0;
  }
  writeLine(context.stdout, `backup written to ${result.path}`);
  for (const database of result.manifest.databases) {
    writeLine(context.stdout, `  ${database.name}: ${formatBytes(database.bytes)} stored as ${database.file} (${formatBytes(database.fileBytes)})`);
  }
  writeLine(context.stdout, `took ${(result.durationMs / 1000).toFixed(2)} s; ${result.removed.length} old backup(s) deleted`);
  return 0;
}

async function listAll(context: CommandContext): Promise<number> {
  const { values } = parseArgs({ args: context.args, options: { json: { type: 'boolean' } }, strict: true });
  const directory = resolveStorageConfig(context.storageOptions()).backupDirectory;
  const backups = listBackups(directory);
  if (values.json === true) {
    writeLine(context.stdout, JSON.stringify(backups.map(({ path, createdAt, bytes, manifest, problem }) => ({ path, createdAt, bytes, reason: manifest?.reason, problem }))));
    return 0;
  }
  if (backups.length === 0) {
    writeLine(context.stdout, `no backups in ${directory}`);
    return 0;
  }
  for (const backup of backups) {
    const what = backup.manifest === undefined ? `not usable: ${backup.problem}` : `${backup.createdAt}  ${backup.manifest.reason.padEnd(13)}  ${formatBytes(backup.bytes)}`;
    writeLine(context.stdout, `${backup.path}  ${what}`);
  }
  return 0;
}

async function verify(context: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({ args: context.args, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError('backup verify expects one backup folder, for example "porchlight backup verify data/backups/porchlight-backup-..."');
  const result = await verifyBackup(positionals[0]!);
  if (values.json === true) {
    writeLine(context.stdout, JSON.stringify(result));
  } else if (result.ok) {
    writeLine(context.stdout, `${result.path}: ok (${result.databases.map((database) => `${database.name} integrity ${database.integrity}`).join(', ')})`);
  } else {
    writeLine(context.stdout, `${result.path}: FAILED`);
    for (const problem of result.problems) writeLine(context.stdout, `  ${problem}`);
  }
  return result.ok ? 0 : 1;
}

/** Formats a byte count with a binary unit, for people. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
