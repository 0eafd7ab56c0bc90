#!/usr/bin/env node
import { runCli } from './run.js';

// A reader that closes the pipe early (`porchlight faces list | head`) is not an error of the command:
// stop writing and exit with the status so far instead of crashing on EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
