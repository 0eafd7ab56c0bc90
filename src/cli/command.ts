import type { Writable } from 'node:stream';

import type { StorageManager, StorageOptions } from '../storage-manager.js';

/** What every CLI command receives: its own arguments and the process's streams. */
export interface CommandContext {
  /** Arguments after the command name, for example `["import", "faces.npy", "--list", "known"]`. */
  args: string[];
  dataDirectory: string;
  stdout: Writable;
  stderr: Writable;
  /**
   * Opens the storage of `dataDirectory` with the configuration file's settings, without scheduled
   * backups or cleanups; the runner closes it when the command ends.
   */
  openStorage(options?: Omit<StorageOptions, 'dataDirectory'>): Promise<StorageManager>;
  /** The options `openStorage` uses: the configuration file's (when there is one) with `dataDirectory` applied. */
  storageOptions(): StorageOptions;
}

export interface CliCommand {
  name: string;
  /** One line for `porchlight --help`. */
  summary: string;
  usage: string;
  /** Resolves to the process exit code. */
  run(context: CommandContext): Promise<number>;
}

/** Wrong arguments on the command line: printed as one line with the usage hint, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function writeLine(stream: Writable, line = ''): void {
  stream.write(`${line}\n`);
}
