import { CsvError, parse } from 'csv-parse/sync';

import { ErrorCodes, ValidationError } from '../errors.js';
import type { EncodingEntry } from './encoding-entry.js';

export interface CsvEncodingOptions {
  /** Header of the column with the person's id. Default: a column named person, name or label, else the first. */
  nameColumn?: string;
}

/** Header names recognised as the person column, lower case, in order of preference. */
const NAME_HEADERS = Object.freeze(['person', 'name', 'label']);

/** A decimal number as Python, NumPy and spreadsheets write it; no hex, no empty cell, no nan or inf. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

interface CsvRow {
  info: { lines: number };
  record: string[];
}

/**
 * Reads encodings from CSV: one person column and d value columns per row. The first row is a header
 * when it names the person column or contains a cell that is not a number. Records are located by line.
 */
export function parseCsvEncodings(text: string, file: string, options: CsvEncodingOptions = {}): EncodingEntry[] {
  const rows = parseRows(text, file);
  if (rows.length === 0) return [];

  const first = rows[0]!.record;
  const hasHeader = options.nameColumn !== undefined || isHeader(first);
  const nameIndex = hasHeader ? nameColumnIndex(first, options.nameColumn, file) : 0;
  const width = first.length;

  return rows.slice(hasHeader ? 1 : 0).map(({ info, record }) => {
    const location = { file, unit: 'line' as const, index: info.lines };
    if (record.length !== width) {
      return { kind: 'rejected', location, reason: `has ${record.length} columns, the ${hasHeader ? 'header' : 'first row'} has ${width}.` };
    }

    const personId = record[nameIndex]!;
    const vector: number[] = [];
    for (const [column, cell] of record.entries()) {
      if (column === nameIndex) continue;
      if (!DECIMAL.test(cell)) {
        return { kind: 'rejected', location, reason: `column ${column + 1} is ${JSON.stringify(cell)}, not a finite decimal number.` };
      }
      vector.push(Number(cell));
    }
    return { kind: 'record', location, personId, name: personId, vector };
  });
}

function parseRows(text: string, file: string): CsvRow[] {
  try {
    return parse(text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true, trim: true }) as unknown as CsvRow[];
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const line = typeof error.lines === 'number' ? error.lines : undefined;
    throw new ValidationError(ErrorCodes.INVALID_FILE, `${file}: is not valid CSV (${error.message}).`, { cause: error, details: { file, line } });
  }
}

function isHeader(cells: string[]): boolean {
  if (NAME_HEADERS.includes(cells[0]!.toLowerCase())) return true;
  return cells.slice(1).some((cell) => !DECIMAL.test(cell));
}

function nameColumnIndex(header: string[], requested: string | undefined, file: string): number {
  if (requested !== undefined) {
    const index = header.indexOf(requested);
    if (index === -1) {
      throw new ValidationError(ErrorCodes.INVALID_FILE, `${file}: has no column ${JSON.stringify(requested)}; its header is ${header.slice(0, 8).join(',')}${header.length > 8 ? ',...' : ''}.`, { details: { file, nameColumn: requested } });
    }
    return index;
  }

  const lower = header.map((cell) => cell.toLowerCase());
  for (const name of NAME_HEADERS) {
    const index = lower.indexOf(name);
    if (index !== -1) return index;
  }
  return 0;
}
