import { extname } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { ErrorCodes, ValidationError } from '../../errors.js';
import type { PersonList } from '../../faces/face-database.js';
import type { VectorInput } from '../../faces/face-index.js';
import { npyRows, readNpy } from '../../import/npy.js';
import { readJsonFile } from '../../import/source-file.js';
import { UsageError, writeLine, type CliCommand, type CommandContext } from '../command.js';
import { importFacesFromArgs } from './import.js';

const USAGE = `Usage:
  porchlight faces import FILE [--labels LABELS.npy] [--list known|blacklist] [--model NAME] [--metric l2|cosine] [--append]
                               (and every option of "porchlight import faces")
  porchlight faces search --query FILE [--k N] [--threshold T] [--list known|blacklist] [--model NAME] [--json]
  porchlight faces list [--list known|blacklist] [--json]
  porchlight faces remove PERSON_ID

FILE is a float32 or float64 .npy of shape (n, d), JSON ([{ "person": "name", "encoding": [...] }]),
JSON lines or CSV; "porchlight import --help" describes each. Rows with the same label become one
person with several encodings. --metric applies to a model's first import and is recorded with it
(default l2); a different --metric for an existing model is an error. --append adds encodings to
persons that already exist.`;

export const facesCommand: CliCommand = {
  name: 'faces',
  summary: 'import, search, list and remove face encodings',
  usage: USAGE,
  async run(context) {
    const [action, ...rest] = context.args;
    const sub = { ...context, args: rest };
    switch (action) {
      case 'import': return importFacesFromArgs(sub, rest);
      case 'search': return searchFaces(sub);
      case 'list': return listFaces(sub);
      case 'remove': return removeFace(sub);
      case undefined:
      case '--help':
        writeLine(context.stdout, USAGE);
        return action === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown faces action "${action}"; expected import, search, list or remove`);
    }
  },
};

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, positionalCount: number, what: string) {
  const parsed = parseArgs({ args, options, allowPositionals: true as const, strict: true as const });
  if (parsed.positionals.length !== positionalCount) {
    throw new UsageError(`faces ${what} expects ${positionalCount === 0 ? 'no file argument' : `${positionalCount} argument`}, got ${parsed.positionals.length}; see "porchlight faces --help"`);
  }
  return parsed;
}

function listOption(value: string | boolean | undefined): PersonList | undefined {
  if (value === undefined) return undefined;
  if (value !== 'known' && value !== 'blacklist') throw new UsageError(`--list must be "known" or "blacklist", got "${String(value)}"`);
  return value;
}

function numberOption(name: string, value: string | boolean | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (typeof value !== 'string' || value.trim() === '' || !Number.isFinite(parsed) || parsed < 0 || (integer && !Number.isInteger(parsed))) {
    throw new UsageError(`--${name} must be a ${integer ? 'positive integer' : 'non-negative number'}, got "${String(value)}"`);
  }
  return parsed;
}

/** Reads query vectors: rows of a .npy, or JSON that is one vector, an array of vectors, or [{ "encoding" }]. */
function readQueries(file: string): VectorInput[] {
  if (extname(file).toLowerCase() === '.npy') return npyRows(readNpy(file), file);

  const parsed = readJsonFile(file);
  if (Array.isArray(parsed) && parsed.every((value) => typeof value === 'number')) return [parsed as number[]];
  if (Array.isArray(parsed)) {
    return parsed.map((entry: unknown, index) => {
      const vector = Array.isArray(entry) ? entry : (entry as { encoding?: unknown })?.encoding;
      if (!Array.isArray(vector)) throw new ValidationError(ErrorCodes.INVALID_FILE, `${file}: query ${index} is neither an array of numbers nor { "encoding": [...] }.`, { details: { file, entry: index } });
      return vector as number[];
    });
  }
  throw new ValidationError(ErrorCodes.INVALID_FILE, `${file}: expected a vector or an array of vectors.`, { details: { file } });
}

async function searchFaces(context: CommandContext): Promise<number> {
  const { values } = parse(context.args, {
    query: { type: 'string' },
    k: { type: 'string' },
    threshold: { type: 'string' },
    list: { type: 'string' },
    model: { type: 'string' },
    json: { type: 'boolean' },
  }, 0, 'search');
  if (values.query === undefined) throw new UsageError('faces search needs --query FILE (.npy or .json)');
  const k = numberOption('k', values.k, true);
  if (k === 0) throw new UsageError('--k must be a positive integer, got "0"');
  const threshold = numberOption('threshold', values.threshold, false);
  const list = listOption(values.list);
  const model = values.model as string | undefined;

  const queries = readQueries(values.query as string);
  const storage = await context.openStorage();
  for (const [index, query] of queries.entries()) {
    const started = performance.now();
    const matches = await storage.faces.searchFaces(query, { k, threshold, list, model });
    const elapsed = performance.now() - started;
    if (values.json === true) {
      writeLine(context.stdout, JSON.stringify(matches));
      continue;
    }
    writeLine(context.stdout, `query ${index}: ${matches.length} match${matches.length === 1 ? '' : 'es'} in ${elapsed.toFixed(2)} ms`);
    for (const match of matches) {
      writeLine(context.stdout, `  ${match.name} (${match.personId}, ${match.list})  distance ${match.distance.toFixed(4)}  confidence ${match.confidence.toFixed(3)}  encoding ${match.encodingId}`);
    }
  }
  return 0;
}

async function listFaces(context: CommandContext): Promise<number> {
  const { values } = parse(context.args, { list: { type: 'string' }, json: { type: 'boolean' } }, 0, 'list');
  const storage = await context.openStorage();
  const persons = storage.faces.listPersons({ list: listOption(values.list) });
  if (values.json === true) {
    writeLine(context.stdout, JSON.stringify(persons));
    return 0;
  }
  for (const person of persons) {
    writeLine(context.stdout, `${person.id}\t${person.name}\t${person.list}\t${person.encodingCount} encoding${person.encodingCount === 1 ? '' : 's'}`);
  }
  writeLine(context.stdout, `${persons.length} person${persons.length === 1 ? '' : 's'}`);
  return 0;
}

async function removeFace(context: CommandContext): Promise<number> {
  const { positionals } = parse(context.args, {}, 1, 'remove');
  const storage = await context.openStorage();
  storage.faces.removePerson(positionals[0]!);
  writeLine(context.stdout, `removed person ${positionals[0]} and their encodings`);
  return 0;
}
