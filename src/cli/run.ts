import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Writable } from 'node:stream';

import { PorchlightError } from '../errors.js';
import { CONFIG_FILE_NAME, loadConfigFile } from '../operations/config-file.js';
import { openStorage, type StorageManager, type StorageOptions } from '../storage-manager.js';
import { UsageError, writeLine, type CliCommand } from './command.js';
import { configCommand } from './commands/config.js';
import { demoCommand } from './commands/demo.js';
import { facesCommand } from './commands/faces.js';
import { migrateCommand } from './commands/migrate.js';
import { initCommand } from './commands/init.js';
import { backupCommand } from './commands/backup.js';
import { restoreCommand } from './commands/restore.js';
import { healthCommand } from './commands/health.js';
import { importCommand } from './commands/import.js';
import { exportCommand } from './commands/export.js';

/** Every command group; `porchlight NAME ...` runs the one named NAME. */
export const COMMANDS: readonly CliCommand[] = [facesCommand, demoCommand, migrateCommand, configCommand, initCommand, backupCommand, restoreCommand, healthCommand, importCommand, exportCommand];

const GLOBAL_OPTIONS = ['--data-dir', '--config'];

const GLOBAL_USAGE = `Usage: porchlight [--config FILE] [--data-dir DIR] COMMAND ...

Options:
  --config FILE    configuration file (default ./${CONFIG_FILE_NAME} when it exists)
  --data-dir DIR   folder of the databases (default: the configuration's, else ./data)
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
      options: { 'data-dir': { type: 'string' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
    // The global options are parsed from the whole line, so one after the command would apply
    // silently or surface as the command's unknown option.
    const misplaced = argv.slice(commandIndex + 1).find((arg) => GLOBAL_OPTIONS.some((option) => arg === option || arg.startsWith(`${option}=`)));
    if (misplaced !== undefined) {
      const option = misplaced.split('=')[0]!;
      throw new UsageError(`${option} is an option of porchlight itself and goes before the command, as in "porchlight ${option} VALUE ${command.name} ..."`);
    }
    if (typeof values['data-dir'] === 'boolean') throw new UsageError('--data-dir needs a folder path');
    if (typeof values.config === 'boolean') throw new UsageError('--config needs a file path');

    const globalArgs = argv.slice(0, commandIndex).filter((arg) => !['--data-dir', values['data-dir'], '--config', values.config].includes(arg));
    const unknownGlobal = globalArgs.find((arg) => arg.startsWith('-'));
    if (unknownGlobal !== undefined) throw new UsageError(`unknown option ${unknownGlobal}; options before the command are --config, --data-dir and --help`);

    // init writes the configuration file, so it must not fail on a broken one.
    const configPath = command.name === 'init' ? undefined : (values.config as string | undefined) ?? (existsSync(CONFIG_FILE_NAME) ? CONFIG_FILE_NAME : undefined);
    const fileOptions: Partial<StorageOptions> = configPath === undefined ? {} : loadConfigFile(configPath);
    const dataDirectory = (values['data-dir'] as string | undefined) ?? fileOptions.dataDirectory ?? './data';
    const storageOptions = (): StorageOptions => ({ ...fileOptions, dataDirectory });

    return await command.run({
      args: argv.slice(commandIndex + 1),
      dataDirectory,
      stdout,
      stderr,
      storageOptions,
      openStorage: async (options = {}) => {
        // A command runs for seconds, so the schedulers would only start work that close() then waits for.
        const base = storageOptions();
        const storage = await openStorage({
          ...base,
          ...options,
          dataDirectory,
          backup: { ...base.backup, ...options.backup, intervalMinutes: 0 },
          cleanup: { ...base.cleanup, ...options.cleanup, intervalMinutes: 0 },
        });
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
