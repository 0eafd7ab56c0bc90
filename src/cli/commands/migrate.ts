import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { loadMigrations, Migrator, type MigrationRun, type MigrationStatus } from '../../db/migrator.js';
import { openDatabase } from '../../db/open-database.js';
import { DATABASE_FILE, STORES } from '../../storage-manager.js';
import { UsageError, writeLine, type CliCommand, type CommandContext } from '../command.js';

const USAGE = `Usage:
  porchlight migrate status [--json]
  porchlight migrate up [--to N] [--store NAME] [--no-backup]
  porchlight migrate down --to N [--store NAME] [--no-backup]

Each store (${STORES.join(', ')}) has its own numbered migrations. --store limits the command to
one store. Without --store, --to applies to every store: up stops each at version N, down reverts
each store above N to N (down --to 0 removes every table). Before up or down changes a database
that holds rows, a copy is written to DATA_DIR/backups with SQLite's online backup; --no-backup
skips it.`;

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

  const databasePath = join(context.dataDirectory, DATABASE_FILE);
  let statuses: MigrationStatus[];
  if (existsSync(databasePath)) {
    const db = openDatabase(databasePath, { readonly: true });
    try {
      statuses = new Migrator(db, STORES, { backup: false }).status();
    } finally {
      db.close();
    }
  } else {
    statuses = STORES.flatMap((store) => loadMigrations(store).map((migration) => ({ store, version: migration.version, name: migration.name, applied: false, appliedAt: undefined, state: 'pending' as const })));
  }

  if (values.json === true) {
    writeLine(context.stdout, JSON.stringify({ databasePath, exists: existsSync(databasePath), migrations: statuses }, null, 2));
    return 0;
  }
  writeLine(context.stdout, existsSync(databasePath) ? `Database ${databasePath}` : `No database at ${databasePath} yet; every migration is pending.`);
  const rows = [['store', 'version', 'name', 'state', 'applied at'], ...statuses.map((status) => [status.store, String(status.version), status.name, status.state, status.appliedAt ?? ''])];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) writeLine(context.stdout, row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
  return 0;
}

async function migrate(context: CommandContext, direction: 'up' | 'down', args: string[]): Promise<number> {
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

  const databasePath = join(context.dataDirectory, DATABASE_FILE);
  if (direction === 'down' && !existsSync(databasePath)) throw new UsageError(`no database at ${databasePath}; nothing to revert`);

  const db = openDatabase(databasePath);
  let run: MigrationRun;
  try {
    const migrator = new Migrator(db, STORES, { backup: values['no-backup'] !== true });
    const scope = values.store === undefined ? {} : { store: values.store };
    run = direction === 'up' ? await migrator.up({ ...scope, to }) : await migrator.down({ ...scope, to: to! });
  } finally {
    db.close();
  }

  if (run.backupPath !== undefined) writeLine(context.stdout, `Backup written to ${run.backupPath}`);
  if (run.steps.length === 0) writeLine(context.stdout, direction === 'up' ? 'Nothing to apply.' : 'Nothing to revert.');
  for (const step of run.steps) {
    writeLine(context.stdout, `${direction === 'up' ? 'Applied' : 'Reverted'} ${step.store} ${step.version} ${step.name} (${step.durationMs.toFixed(0)} ms)`);
  }
  return 0;
}

function versionOption(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new UsageError(`--to must be a version number (0 or more), got "${value}"`);
  return Number(value);
}
