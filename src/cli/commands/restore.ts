import { parseArgs } from 'node:util';

import { restoreFromBackup } from '../../storage-manager.js';
import { UsageError, writeLine, type CliCommand } from '../command.js';

const USAGE = `Usage: porchlight restore PATH [--keep-previous] [--json]

Replaces every database with the copy in the backup folder PATH. The backup is verified (manifest,
checksums, SQLite integrity) and decompressed beside the databases first; a bad backup or a lack of
disk space changes nothing. The live databases are not read, so this works when they are corrupt.
Stop every process that uses the storage first. --keep-previous keeps the replaced files in
porchlight-previous-<time> beside them.`;

export const restoreCommand: CliCommand = {
  name: 'restore',
  summary: 'replace the databases with a verified backup',
  usage: USAGE,
  async run(context) {
    const { values, positionals } = parseArgs({ args: context.args, options: { 'keep-previous': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (values.help === true) {
      writeLine(context.stdout, USAGE);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('restore expects one backup folder; list them with "porchlight backup list"');

    const result = await restoreFromBackup(context.storageOptions(), positionals[0]!, { keepPrevious: values['keep-previous'] === true });
    if (values.json === true) {
      writeLine(context.stdout, JSON.stringify(result));
      return 0;
    }
    writeLine(context.stdout, `restored ${result.databases.join(', ')} from ${result.path} (taken ${result.backupCreatedAt}) in ${(result.durationMs / 1000).toFixed(2)} s`);
    for (const folder of result.previousFiles) writeLine(context.stdout, `the replaced files are kept in ${folder}`);
    return 0;
  },
};
