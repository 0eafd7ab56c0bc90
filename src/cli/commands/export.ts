import { parseArgs } from 'node:util';

import { exportStorage } from '../../export/export-storage.js';
import { UsageError, writeLine, type CliCommand } from '../command.js';

const USAGE = `Usage:
  porchlight export DIR [--json]

Writes every store of the data directory to DIR as JSON lines, one file per table (blobs such as
face encodings as base64 of their float32 bytes), with manifest.json listing row counts, SHA-256
checksums and schema versions. DIR must not exist or be empty; it appears only once complete.
"porchlight import DIR" reads it back into an empty data directory.`;

export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'write every store as JSON lines with a manifest',
  usage: USAGE,
  async run(context) {
    const { values, positionals } = parseArgs({ args: context.args, options: { json: { type: 'boolean' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (values.help === true) {
      writeLine(context.stdout, USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(`export expects one folder, got ${positionals.length}; see "porchlight export --help"`);

    const storage = await context.openStorage();
    const summary = exportStorage(storage, positionals[0]!);
    if (values.json === true) {
      writeLine(context.stdout, JSON.stringify(summary));
      return 0;
    }
    for (const table of summary.manifest.tables) writeLine(context.stdout, `${table.table}\t${table.rows} rows\t${table.file}`);
    const rows = summary.manifest.tables.reduce((sum, table) => sum + table.rows, 0);
    writeLine(context.stdout, `exported ${rows} rows of ${summary.manifest.tables.length} tables to ${summary.directory} in ${(summary.durationMs / 1000).toFixed(2)} s`);
    return 0;
  },
};
