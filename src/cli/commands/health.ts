import { parseArgs } from 'node:util';

import { PorchlightError } from '../../errors.js';
import { writeLine, type CliCommand } from '../command.js';
import { formatBytes } from './backup.js';

const USAGE = `Usage: porchlight health [--json]

Checks every database (reachable, quick_check, size, WAL size, schema version and pending
migrations, free disk space), the face index against the encodings table, and the age of the newest
backup. Exits 0 when healthy and 1 when any check fails.`;

export const healthCommand: CliCommand = {
  name: 'health',
  summary: 'check the databases, the face index and the backups',
  usage: USAGE,
  async run(context) {
    const { values } = parseArgs({ args: context.args, options: { json: { type: 'boolean' }, help: { type: 'boolean' } }, strict: true });
    if (values.help === true) {
      writeLine(context.stdout, USAGE);
      return 0;
    }

    let storage;
    try {
      storage = await context.openStorage();
    } catch (error) {
      // A database that cannot be opened is the most important finding, so --json still reports it.
      if (!(error instanceof PorchlightError) || values.json !== true) throw error;
      writeLine(context.stdout, JSON.stringify({ healthy: false, checkedAt: new Date().toISOString(), problems: [error.message], code: error.code }));
      return 1;
    }
    const report = await storage.healthCheck();
    if (values.json === true) {
      writeLine(context.stdout, JSON.stringify(report));
      return report.healthy ? 0 : 1;
    }

    writeLine(context.stdout, report.healthy ? 'healthy' : 'UNHEALTHY');
    for (const database of report.databases) {
      const schema = database.schema.map((entry) => `${entry.store} v${entry.version}/${entry.latestVersion}`).join(', ');
      writeLine(context.stdout, `  ${database.name} ${database.path}: quick_check ${database.quickCheck}; ${formatBytes(database.sizeBytes)}, WAL ${formatBytes(database.walBytes)}; ${schema}; ${formatBytes(database.freeDiskBytes)} free`);
    }
    for (const model of report.faceIndex) {
      writeLine(context.stdout, `  face index ${model.model}: ${model.indexRows} rows, table ${model.tableRows}, ${model.matches ? 'matches' : 'DOES NOT MATCH'}`);
    }
    const age = report.backups.secondsSinceLastBackup;
    writeLine(context.stdout, `  last backup: ${report.backups.lastBackupAt === undefined ? 'none' : `${report.backups.lastBackupAt} (${(age! / 3600).toFixed(1)} hours ago)`}`);
    for (const problem of report.problems) writeLine(context.stdout, `  problem: ${problem}`);
    for (const warning of report.warnings) writeLine(context.stdout, `  warning: ${warning}`);
    return report.healthy ? 0 : 1;
  },
};
