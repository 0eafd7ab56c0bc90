import { parseArgs } from 'node:util';

import { ErrorCodes, ValidationError } from '../../errors.js';
import { DEFAULT_MODEL, type PersonList } from '../../faces/face-database.js';
import type { Metric } from '../../faces/face-index.js';
import { ENCODING_FORMATS, type EncodingFormat } from '../../import/encoding-entry.js';
import { importFaceEncodings, type FaceImportSummary, type ImportFacesOptions } from '../../import/face-importer.js';
import { importFrigateDatabase } from '../../frigate/import-frigate-database.js';
import { importStorage } from '../../import/import-storage.js';
import { formatLocation } from '../../import/record-location.js';
import { UsageError, writeLine, type CliCommand, type CommandContext } from '../command.js';

const USAGE = `Usage:
  porchlight import DIR [--json]
  porchlight import frigate FRIGATE.db [--thumbnails] [--skip-invalid] [--json]
  porchlight import faces FILE [--labels LABELS.npy] [--format npy|json|jsonl|csv] [--name-column NAME]
                               [--list known|blacklist] [--model NAME] [--metric l2|cosine]
                               [--on-existing error|append|skip] [--skip-invalid] [--json]

DIR: a folder written by "porchlight export". The data directory must be empty in every exported
  table and at the export's schema versions; all rows are imported in one transaction after every
  file's checksum is verified. A folder named faces is given as ./faces.

frigate: reads the event table of a Frigate database (opened read-only, never written) and stores
  each row as an event with Frigate's id, so a second run stores nothing twice and only updates
  events that have ended since. --thumbnails keeps each event's base64 JPEG thumbnail.

faces: FILE is a float32 or float64 .npy of shape (n, d) with --labels, a unicode .npy of n person
  ids; JSON, an array of { "person": "id", "name"?: "display name", "encoding": [numbers] } or
  { "names": [...], "encodings": [[...]] }; JSON lines, one such object per line; or CSV, one person
  column (a header named person, name or label, or --name-column, else the first) and d value
  columns. The whole file is checked before anything is written: the first bad record is named by
  line, row or entry and nothing is imported, unless --skip-invalid leaves bad records out and lists
  them. Identical encodings of one person are stored once. --on-existing sets what happens to a
  record of a person that already exists (default error). --metric applies to a model's first
  import; a different --metric for an existing model is an error.`;

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'import an export folder, a Frigate database, or face encodings from .npy, JSON, JSON lines or CSV',
  usage: USAGE,
  async run(context) {
    const [kind, ...rest] = context.args;
    switch (kind) {
      case 'faces': return importFacesFromArgs(context, rest);
      case 'frigate': return importFrigateFromArgs(context, rest);
      case undefined:
      case '--help':
        writeLine(context.stdout, USAGE);
        return kind === undefined ? 2 : 0;
      default:
        return importExportFolder(context, context.args);
    }
  },
};

async function importExportFolder(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError(`import expects one export folder, got ${positionals.length}; see "porchlight import --help"`);

  const summary = await importStorage(positionals[0]!, context.storageOptions());
  if (values.json === true) {
    writeLine(context.stdout, JSON.stringify(summary));
    return 0;
  }
  for (const table of summary.tables) writeLine(context.stdout, `${table.table}\t${table.rows} rows`);
  writeLine(context.stdout, `imported ${summary.rows} rows of ${summary.tables.length} tables from ${summary.source} into ${context.dataDirectory} in ${(summary.durationMs / 1000).toFixed(2)} s`);
  return 0;
}

async function importFrigateFromArgs(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { thumbnails: { type: 'boolean' }, 'skip-invalid': { type: 'boolean' }, json: { type: 'boolean' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError(`import frigate expects the path of one Frigate database, got ${positionals.length}; see "porchlight import --help"`);

  const storage = await context.openStorage();
  const summary = importFrigateDatabase(storage, positionals[0]!, { thumbnails: values.thumbnails === true, onInvalid: values['skip-invalid'] === true ? 'skip' : 'error' });
  if (values.json === true) {
    writeLine(context.stdout, JSON.stringify(summary));
    return 0;
  }
  writeLine(context.stdout, `imported ${summary.imported} of ${summary.rows} Frigate events from ${summary.file} (${summary.updated} updated, ${summary.unchanged} already imported) in ${(summary.durationMs / 1000).toFixed(2)} s`);
  if (summary.skipped > 0) writeLine(context.stdout, `skipped ${summary.skipped} rows:`);
  for (const row of summary.skippedRows) writeLine(context.stdout, `  ${row.message}`);
  return 0;
}

/** Runs a face import from command-line arguments; `porchlight faces import` shares it. */
export async function importFacesFromArgs(context: CommandContext, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      labels: { type: 'string' },
      format: { type: 'string' },
      'name-column': { type: 'string' },
      list: { type: 'string' },
      model: { type: 'string' },
      metric: { type: 'string' },
      'on-existing': { type: 'string' },
      append: { type: 'boolean' },
      'skip-invalid': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError(`import faces expects one FILE, got ${positionals.length}; see "porchlight import --help"`);

  const options: ImportFacesOptions = {
    labels: values.labels,
    format: choice('format', values.format, ENCODING_FORMATS) as EncodingFormat | undefined,
    nameColumn: values['name-column'],
    list: choice('list', values.list, ['known', 'blacklist']) as PersonList | undefined,
    model: values.model,
    onExisting: values.append === true ? 'append' : choice('on-existing', values['on-existing'], ['error', 'append', 'skip']) as ImportFacesOptions['onExisting'],
    onInvalid: values['skip-invalid'] === true ? 'skip' : 'error',
    onProgress: (checked, total) => {
      if (checked < total) writeLine(context.stderr, `checked ${checked} of ${total} records`);
    },
  };
  if (values.append === true && values['on-existing'] !== undefined && values['on-existing'] !== 'append') {
    throw new UsageError('--append means --on-existing append; give one of them');
  }
  const metric = (choice('metric', values.metric, ['l2', 'cosine']) ?? 'l2') as Metric;

  const storage = await context.openStorage({ faces: { metric } });
  // A model keeps the metric of its first import, so a different --metric would be ignored.
  const existing = storage.faces.listModels().find((model) => model.name === (options.model ?? DEFAULT_MODEL));
  if (values.metric !== undefined && existing !== undefined && existing.metric !== metric) {
    throw new ValidationError(ErrorCodes.METRIC_MISMATCH, `model "${existing.name}" already uses metric ${existing.metric}, so --metric ${metric} would be ignored; drop --metric, or import into a new model with --model NAME.`, { details: { model: existing.name, stored: existing.metric, requested: metric } });
  }
  const summary = importFaceEncodings(storage, positionals[0]!, options);
  if (values.json === true) {
    writeLine(context.stdout, JSON.stringify(summary));
    return 0;
  }
  for (const line of describeFaceImport(summary)) writeLine(context.stdout, line);
  return 0;
}

/** Formats the summary for the terminal: what was imported, then each listed skipped record. */
export function describeFaceImport(summary: FaceImportSummary): string[] {
  const persons = summary.personsAdded + summary.personsExtended;
  const lines = [
    `imported ${summary.encodingsImported} encodings of ${persons} persons (${summary.personsAdded} new, ${summary.personsExtended} existing) ` +
      `from ${summary.file} (${summary.format}, ${summary.records} records) into model "${summary.model}" in ${(summary.durationMs / 1000).toFixed(2)} s`,
  ];
  if (summary.skipped === 0) return lines;

  const reasons = Object.entries(summary.skippedByReason).map(([reason, count]) => `${count} ${reason}`).join(', ');
  lines.push(`skipped ${summary.skipped} records: ${reasons}`);
  for (const record of summary.skippedRecords) lines.push(`  ${formatLocation(record.location)} (${record.reason}): ${record.message}`);
  if (summary.skippedRecords.length < summary.skipped) lines.push(`  ... and ${summary.skipped - summary.skippedRecords.length} more`);
  return lines;
}

function choice(name: string, value: string | undefined, allowed: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value;
}
