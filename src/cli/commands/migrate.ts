import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { AuditLog } from '../../audit/audit-log.js';
import { hasAuditLog, recordMigrationRun } from '../../audit/migration-records.js';
import { MigrationSet, type MigrationSetRun } from '../../db/migration-set.js';
import { loadMigrations, Migrator, type MigrationStatus } from '../../db/migrator.js';
import { openDatabase, type SqliteDatabase } from '../../db/open-database.js';
import { databaseLayout, type DatabaseFile } from '../../operations/database-layout.js';
import { resolveStorageConfig, type StorageConfig } from '../../operations/storage-config.js';
import { STORES } from '../../storage-manager.js';
import { UsageError, writeLine, type CliCommand, type CommandContext } from '../command.js';

const USAGE = `Usage:
  porchlight migrate status [--json]
  porchlight migrate up [--to N] [--store NAME] [--no-backup]
  porchlight migrate down --to N [--store NAME] [--no-backup]

Each store (${STORES.join(', ')}) has its own numbered migrations. --store limits the command to
one store. Without --store, --to applies to every store: up stops each at version N, down reverts
each store above N to N (down --to 0 removes every table). When the configuration gives stores
database files of their own, each file is migrated with the stores it holds. Before up or down
changes a database that holds rows, a copy is written with SQLite's online backup to the backup
folder (DATA_DIR/backups unless the configuration names another); --no-backup skips it.`;

export const migrateCommand: CliCommand = {
  name: 'migrate',
  summary: 'show, apply or revert database migrations',
  usage: USAGE,
  async run(context) {
    const [action, ...rest] = context.args;
    switch (action) {
      case 'status': return showStatus(context, rest);
      case 'up':
      case 'down': return migrate(context, action, rest);
      case undefined:
      case '--help':
        writeLine(context.stdout, USAGE);
        return action === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown migrate action "${action}"; expected status, up or down`);
    }
  },
};

async function showStatus(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (positionals.length > 0) throw new UsageError(`migrate status takes no arguments, got "${positionals[0]}"`);

  const databases = layoutOf(context).map((file) => ({ path: file.path, exists: existsSync(file.path), migrations: statusOf(file) }));
  if (values.json === true) {
    writeLine(context.stdout, JSON.stringify({ databases, migrations: databases.flatMap((database) => database.migrations) }, null, 2));
    return 0;
  }

  for (const database of databases) {
    writeLine(context.stdout, database.exists ? `Database ${database.path}` : `No database at ${database.path} yet; every migration is pending.`);
    const rows = [['store', 'version', 'name', 'state', 'applied at'], ...database.migrations.map((status) => [status.store, String(status.version), status.name, status.state, status.appliedAt ?? ''])];
    const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
    for (const row of rows) writeLine(context.stdout, row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
  }
  return 0;
}

/** Reads the migration states of one database file; a missing file has every migration pending. */
function statusOf(file: DatabaseFile): MigrationStatus[] {
  if (!existsSync(file.path)) {
    return file.stores.flatMap((store) => loadMigrations(store).map((migration) => ({ store, version: migration.version, name: migration.name, applied: false, appliedAt: undefined, state: 'pending' as const })));
  }
  const db = openDatabase(file.path, { readonly: true });
  try {
    return new Migrator(db, file.stores, { backup: false }).status();
  } finally {
    db.close();
  }
}

async function migrate(context: CommandContext, direction: 'up' | 'down', args: string[]): Promise<number> {
  // parseArgs reads "--to -1" as two options and reports an ambiguity instead of the bad number.
  const toIndex = args.indexOf('--to');
  if (toIndex !== -1 && args[toIndex + 1]?.startsWith('-') === true && /^-\d/.test(args[toIndex + 1]!)) versionOption(args[toIndex + 1]!);
  const { values, positionals } = parseArgs({
    args,
    options: { to: { type: 'string' }, store: { type: 'string' }, 'no-backup': { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0) throw new UsageError(`migrate ${direction} takes no arguments, got "${positionals[0]}"`);
  if (values.store !== undefined && !(STORES as readonly string[]).includes(values.store)) {
    throw new UsageError(`--store must be one of ${STORES.join(', ')}, got "${values.store}"`);
  }
  if (direction === 'down' && values.to === undefined) throw new UsageError('migrate down needs --to N, the version to revert to (0 removes the store)');
  const to = values.to === undefined ? undefined : versionOption(values.to);

  const config = resolveStorageConfig(context.storageOptions());
  const concerned = databaseLayout(config, STORES).filter((file) => values.store === undefined || file.stores.includes(values.store));
  // Files that were never created have nothing to revert.
  const files = direction === 'down' ? concerned.filter((file) => existsSync(file.path)) : concerned;
  if (files.length === 0) throw new UsageError(`no database at ${concerned.map((file) => file.path).join(' or ')}; nothing to revert`);

  // The set reports every run that changed something, also one that failed part-way. The run is
  // printed and audited after the files are closed, and then a failure is thrown.
  const opened: { file: DatabaseFile; db: SqliteDatabase }[] = [];
  let run: MigrationSetRun | undefined;
  let failure: unknown;
  try {
    for (const file of files) opened.push({ file, db: openDatabase(file.path, { durability: config.durability, wal: config.wal }) });
    const backup = { backup: values['no-backup'] !== true && config.migrations.backup, backupDirectory: config.migrations.backupDirectory ?? config.backupDirectory };
    const migrations = new MigrationSet(opened.map(({ file, db }) => ({ path: file.path, stores: file.stores, migrator: new Migrator(db, file.stores, backup) })), { onRun: (done) => { run = done; } });
    const scope = values.store === undefined ? {} : { store: values.store };
    if (direction === 'up') await migrations.up({ ...scope, to });
    else await migrations.down({ ...scope, to: to! });
  } catch (error) {
    failure = error;
  } finally {
    for (const { db } of opened) db.close();
  }

  if (run !== undefined) {
    recordInAuditLog(config, run);
    for (const backupPath of run.backupPaths) writeLine(context.stdout, `Backup written to ${backupPath}`);
    for (const step of run.steps) {
      writeLine(context.stdout, `${direction === 'up' ? 'Applied' : 'Reverted'} ${step.store} ${step.version} ${step.name} (${step.durationMs.toFixed(0)} ms)`);
    }
  }
  if (failure !== undefined) throw failure;
  if (run === undefined) writeLine(context.stdout, direction === 'up' ? 'Nothing to apply.' : 'Nothing to revert.');
  return 0;
}

/** Appends the run to the audit log, unless the run changed nothing or the audit store is not there (reverted or never created). */
function recordInAuditLog(config: StorageConfig, run: MigrationSetRun): void {
  if (run.steps.length === 0 && run.backupPaths.length === 0) return;
  const file = databaseLayout(config, STORES).find((entry) => entry.stores.includes('audit'))!;
  if (!existsSync(file.path)) return;

  const db = openDatabase(file.path, { durability: config.durability, wal: config.wal });
  try {
    if (hasAuditLog(db)) recordMigrationRun(new AuditLog(db, { actor: config.audit.actor }), db, run);
  } finally {
    db.close();
  }
}

/** Returns the database files of the configured layout: one file, plus one per store given a path of its own. */
function layoutOf(context: CommandContext): DatabaseFile[] {
  return databaseLayout(resolveStorageConfig(context.storageOptions()), STORES);
}

function versionOption(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new UsageError(`--to must be a version number (0 or more), got "${value}"`);
  return Number(value);
}
