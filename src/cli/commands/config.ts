import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { FILE_MODE } from '../../db/open-database.js';
import { ErrorCodes, NotFoundError, ValidationError } from '../../errors.js';
import type { ConfigChangeOptions } from '../../config/config-store.js';
import type { StorageManager } from '../../storage-manager.js';
import { UsageError, writeLine, type CliCommand, type CommandContext } from '../command.js';

const USAGE = `Usage:
  porchlight config get KEY [--version N] [--output FILE]
  porchlight config set KEY FILE --author NAME [--comment TEXT] [--schema SCHEMA.json]
  porchlight config history KEY [--json]
  porchlight config diff KEY FROM_VERSION TO_VERSION [--json]
  porchlight config rollback KEY VERSION --author NAME [--comment TEXT] [--schema SCHEMA.json]

get prints the newest (or the given) version of a document as JSON, or writes it to FILE (mode 0600).
set stores the JSON in FILE as the next version. rollback stores an old version's document as the
next version; history is never rewritten. diff lists JSON Pointer paths: "+" added, "-" removed,
"~" changed. Validators registered by an application do not run here; pass --schema to check the
document against a JSON Schema file before it is stored.`;

export const configCommand: CliCommand = {
  name: 'config',
  summary: 'get, set, diff and roll back versioned configuration documents',
  usage: USAGE,
  async run(context) {
    const [action, ...rest] = context.args;
    const sub = { ...context, args: rest };
    switch (action) {
      case 'get': return getConfig(sub);
      case 'set': return setConfig(sub);
      case 'history': return showHistory(sub);
      case 'diff': return showDiff(sub);
      case 'rollback': return rollbackConfig(sub);
      case undefined:
      case '--help':
        writeLine(context.stdout, USAGE);
        return action === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown config action "${action}"; expected get, set, history, diff or rollback`);
    }
  },
};

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, positionalNames: readonly string[], action: string) {
  const parsed = parseArgs({ args, options, allowPositionals: true as const, strict: true as const });
  if (parsed.positionals.length !== positionalNames.length) {
    throw new UsageError(`config ${action} expects ${positionalNames.join(' ')}, got ${parsed.positionals.length} argument${parsed.positionals.length === 1 ? '' : 's'}; see "porchlight config --help"`);
  }
  return parsed;
}

function versionArgument(name: string, value: string): number {
  const version = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(version) || version < 1) throw new UsageError(`${name} must be a positive integer, got "${value}"`);
  return version;
}

function changeOptions(values: { author?: string | boolean; comment?: string | boolean }): ConfigChangeOptions {
  if (typeof values.author !== 'string') throw new UsageError('--author NAME is required: every version records who made it');
  return typeof values.comment === 'string' ? { author: values.author, comment: values.comment } : { author: values.author };
}

function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ValidationError(ErrorCodes.INVALID_FILE, `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check the path.`, { cause: error, details: { file } });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError(ErrorCodes.INVALID_FILE, `${file}: is not valid JSON (${(error as Error).message}).`, { cause: error, details: { file } });
  }
}

async function openWithSchema(context: CommandContext, key: string, schemaFile: string | boolean | undefined): Promise<StorageManager> {
  const schema = typeof schemaFile === 'string' ? readJsonFile(schemaFile) : undefined;
  const storage = await context.openStorage();
  if (schema !== undefined) storage.config.setValidator(key, schema as object);
  return storage;
}

async function getConfig(context: CommandContext): Promise<number> {
  const { values, positionals } = parse(context.args, { version: { type: 'string' }, output: { type: 'string' } }, ['KEY'], 'get');
  const key = positionals[0]!;
  const version = values.version === undefined ? undefined : versionArgument('--version', values.version as string);

  const storage = await context.openStorage();
  const found = storage.config.get(key, version === undefined ? {} : { version });
  if (found === undefined) {
    throw new NotFoundError(version === undefined ? `Configuration ${JSON.stringify(key)} does not exist.` : `Version ${version} of configuration ${JSON.stringify(key)} does not exist.`, { details: { key, version } });
  }
  const text = `${JSON.stringify(found.value, null, 2)}\n`;
  if (typeof values.output === 'string') {
    writeFileSync(values.output, text, { mode: FILE_MODE });
    writeLine(context.stdout, `wrote version ${found.version} of ${key} to ${values.output}`);
  } else {
    context.stdout.write(text);
  }
  return 0;
}

async function setConfig(context: CommandContext): Promise<number> {
  const { values, positionals } = parse(context.args, { author: { type: 'string' }, comment: { type: 'string' }, schema: { type: 'string' } }, ['KEY', 'FILE'], 'set');
  const [key, file] = positionals as [string, string];
  const change = changeOptions(values);
  const document = readJsonFile(file);

  const storage = await openWithSchema(context, key, values.schema);
  const stored = storage.config.set(key, document, change);
  writeLine(context.stdout, `stored ${key} version ${stored.version} (sha256 ${stored.checksum.slice(0, 12)})`);
  return 0;
}

async function showHistory(context: CommandContext): Promise<number> {
  const { values, positionals } = parse(context.args, { json: { type: 'boolean' } }, ['KEY'], 'history');
  const key = positionals[0]!;

  const storage = await context.openStorage();
  const versions = storage.config.history(key);
  if (values.json === true) {
    writeLine(context.stdout, JSON.stringify(versions));
    return 0;
  }
  if (versions.length === 0) throw new NotFoundError(`Configuration ${JSON.stringify(key)} does not exist.`, { details: { key } });
  for (const entry of versions) {
    const operation = entry.operation === 'rollback' ? `rollback to ${entry.restoredVersion}` : entry.operation;
    writeLine(context.stdout, `${String(entry.version).padStart(4)}  ${entry.createdAt}  ${entry.author}  ${operation}  ${entry.checksum.slice(0, 12)}${entry.comment === null ? '' : `  ${entry.comment}`}`);
  }
  return 0;
}

async function showDiff(context: CommandContext): Promise<number> {
  const { values, positionals } = parse(context.args, { json: { type: 'boolean' } }, ['KEY', 'FROM_VERSION', 'TO_VERSION'], 'diff');
  const key = positionals[0]!;
  const from = versionArgument('FROM_VERSION', positionals[1]!);
  const to = versionArgument('TO_VERSION', positionals[2]!);

  const storage = await context.openStorage();
  const changes = storage.config.diff(key, from, to);
  if (values.json === true) {
    writeLine(context.stdout, JSON.stringify(changes));
    return 0;
  }
  if (changes.length === 0) writeLine(context.stdout, `versions ${from} and ${to} of ${key} are equal`);
  for (const change of changes) {
    const path = change.path === '' ? '(document)' : change.path;
    if (change.kind === 'added') writeLine(context.stdout, `+ ${path}  ${JSON.stringify(change.after)}`);
    else if (change.kind === 'removed') writeLine(context.stdout, `- ${path}  ${JSON.stringify(change.before)}`);
    else writeLine(context.stdout, `~ ${path}  ${JSON.stringify(change.before)} -> ${JSON.stringify(change.after)}`);
  }
  return 0;
}

async function rollbackConfig(context: CommandContext): Promise<number> {
  const { values, positionals } = parse(context.args, { author: { type: 'string' }, comment: { type: 'string' }, schema: { type: 'string' } }, ['KEY', 'VERSION'], 'rollback');
  const key = positionals[0]!;
  const version = versionArgument('VERSION', positionals[1]!);
  const change = changeOptions(values);

  const storage = await openWithSchema(context, key, values.schema);
  const stored = storage.config.rollback(key, version, change);
  writeLine(context.stdout, `stored ${key} version ${stored.version}, equal to version ${version} (sha256 ${stored.checksum.slice(0, 12)})`);
  return 0;
}
