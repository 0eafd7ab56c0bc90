import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { CONFIG_FILE_NAME, DEFAULT_CONFIG_TEXT, loadConfigFile } from '../../operations/config-file.js';
import { FILE_MODE } from '../../db/open-database.js';
import { UsageError, writeLine, type CliCommand } from '../command.js';

const USAGE = `Usage: porchlight init [FILE] [--force]

Writes a configuration file with every setting at its default and a comment saying what it does
(default ./${CONFIG_FILE_NAME}). Other commands read that file from the working folder, or from
--config FILE. An existing file is only replaced with --force.`;

export const initCommand: CliCommand = {
  name: 'init',
  summary: 'write a commented default configuration file',
  usage: USAGE,
  async run(context) {
    const { values, positionals } = parseArgs({ args: context.args, options: { force: { type: 'boolean' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
    if (values.help === true) {
      writeLine(context.stdout, USAGE);
      return 0;
    }
    if (positionals.length > 1) throw new UsageError(`init takes at most one file name, got ${positionals.length}`);

    const path = resolve(positionals[0] ?? CONFIG_FILE_NAME);
    if (existsSync(path) && values.force !== true) {
      writeLine(context.stderr, `porchlight: ${path} already exists; pass --force to replace it with the defaults`);
      return 1;
    }
    writeFileSync(path, DEFAULT_CONFIG_TEXT, { mode: FILE_MODE });
    // The file must load as written, so a broken template is caught here rather than at the next start.
    loadConfigFile(path);
    writeLine(context.stdout, `wrote ${path}; edit it, then run commands from its folder or pass --config ${path}`);
    return 0;
  },
};
