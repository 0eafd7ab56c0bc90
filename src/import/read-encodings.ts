import { extname } from 'node:path';

import { invalidArgument, showValue } from '../errors.js';
import { ENCODING_FORMATS, type EncodingEntry, type EncodingFormat } from './encoding-entry.js';
import { parseCsvEncodings } from './csv-encodings.js';
import { parseJsonEncodings, parseJsonLinesEncodings } from './json-encodings.js';
import { readNpyEncodings } from './npy-encodings.js';
import { readTextFile } from './source-file.js';

export interface ReadEncodingsOptions {
  /** File format. Default: from the extension (.npy, .json, .jsonl or .ndjson, .csv). */
  format?: EncodingFormat;
  /** A unicode `.npy` with one person label per row; `.npy` input only. */
  labels?: string;
  /** Header of the CSV column with the person's id; CSV input only. */
  nameColumn?: string;
}

const EXTENSIONS: Readonly<Record<string, EncodingFormat>> = Object.freeze({
  '.npy': 'npy',
  '.json': 'json',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.csv': 'csv',
});

/** Returns `format` when given, else the format that the file's extension names. */
export function encodingFormatOf(file: string, format?: EncodingFormat): EncodingFormat {
  if (format !== undefined) {
    if (!ENCODING_FORMATS.includes(format)) throw invalidArgument(`options.format must be one of ${ENCODING_FORMATS.join(', ')}, got ${showValue(format)}.`, { format });
    return format;
  }

  const detected = EXTENSIONS[extname(file).toLowerCase()];
  if (detected === undefined) {
    throw invalidArgument(`Cannot tell the format of ${file} from its extension; name it .npy, .json, .jsonl or .csv, or pass the format (${ENCODING_FORMATS.join(', ')}).`, { file });
  }
  return detected;
}

/** Reads every record of an encodings file, in file order; records that cannot be interpreted come back rejected. */
export function readEncodingFile(file: string, options: ReadEncodingsOptions = {}): EncodingEntry[] {
  const format = encodingFormatOf(file, options.format);
  if (options.labels !== undefined && format !== 'npy') {
    throw invalidArgument(`A labels file applies to .npy input only; ${format} records carry their own person.`, { labels: options.labels });
  }
  if (options.nameColumn !== undefined && format !== 'csv') {
    throw invalidArgument(`A name column applies to CSV input only, got ${format} input.`, { nameColumn: options.nameColumn });
  }

  switch (format) {
    case 'npy': return readNpyEncodings(file, options.labels);
    case 'json': return parseJsonEncodings(readTextFile(file), file);
    case 'jsonl': return parseJsonLinesEncodings(readTextFile(file), file);
    case 'csv': return parseCsvEncodings(readTextFile(file), file, { nameColumn: options.nameColumn });
  }
}
