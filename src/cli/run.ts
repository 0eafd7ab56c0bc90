import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';

import { PorchlightError } from '../errors.js';
import { openStorage, type StorageManager } from '../storage-manager.js';
import { UsageError, writeLine, type CliCommand } from './command.js';
import { configCommand } from './commands/config.js';
import { demoCommand } from './commands/demo.js';
import { facesCommand } from './commands/faces.js';
import { migrateCommand } from './commands/migrate.js';

/** Every command group; `porchlight NAME ...` runs the one named NAME. */
export const COMMANDS: readonly CliCommand[] = [facesCommand, demoCommand, migrateCommand, configCommand];

const GLOBAL_USAGE = `Usage: porchlight [--data-dir DIR] COMMAND ...

Options:
  --data-dir DIR   folder of the databases (default ./data)
  --help           this text

Commands:`;

export interface RunStreams {
  stdout: Writable;
  stderr: Writable;
}

/** Runs one CLI invocation and resolves to its exit code: 0 success, 1 failure, 2 usage error. */
export async function runCli(argv: string[], streams: RunStreams): Promise<number> {
  const { stdout, stderr } = streams;
  const opened: StorageManager[] = [];
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: false,
    });
    const commandIndex = argv.findIndex((arg) => arg === positionals[0]);
    const command = COMMANDS.find((candidate) => candidate.name === positionals[0]);
    if (positionals.length === 0 || (values.help === true && command === undefined)) {
      writeLine(stdout, GLOBAL_USAGE);
      for (const entry of COMMANDS) writeLine(stdout, `  ${entry.name.padEnd(15)}  ${entry.summary}`);
      return positionals.length === 0 && values.help !== true ? 2 : 0;
    }
    if (command === undefined) throw new UsageError(`unknown command "${positionals[0]}"; run "porchlight --help" for the list`);
    if (typeof values['data-dir'] === 'boolean') throw new UsageError('--data-dir needs a folder path');

    const dataDirectory = (values['data-dir'] as string | undefined) ?? './data';
    const globalArgs = argv.slice(0, commandIndex).filter((arg) => arg !== '--data-dir' && arg !== values['data-dir']);
    const unknownGlobal = globalArgs.find((arg) => arg.startsWith('-'));
    if (unknownGlobal !== undefined) throw new UsageError(`unknown option ${unknownGlobal}; options before the command are --data-dir and --help`);

    return await command.run({
      args: argv.slice(commandIndex + 1),
      dataDirectory,
      stdout,
      stderr,
      openStorage: async (options = {}) => {
        const storage = await openStorage({ ...options, dataDirectory });
        opened.push(storage);
        return storage;
      },
    });
  } catch (error) {
    if (error instanceof UsageError) {
      writeLine(stderr, `porchlight: ${error.message}`);
      return 2;
    }
    if (error instanceof PorchlightError) {
      writeLine(stderr, `porchlight: ${error.message} [${error.code}]`);
      return 1;
    }
    if (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      writeLine(stderr, `porchlight: ${error.message}`);
      return 2;
    }
    throw error;
  } finally {
    for (const storage of opened) await storage.close();
  }
}
