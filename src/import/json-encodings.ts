import { ErrorCodes, ValidationError } from '../errors.js';
import { entryFromObject, type EncodingEntry } from './encoding-entry.js';
import { parseJsonDocument } from './source-file.js';

/**
 * Reads encodings from a JSON document: an array of `{ "person", "encoding" }` objects, or the
 * column form `{ "names": [...], "encodings": [[...], ...] }` that face_recognition scripts pickle.
 * Records are located by their 0-based entry index.
 */
export function parseJsonEncodings(text: string, file: string): EncodingEntry[] {
  const document = parseJsonDocument(text, file);

  if (Array.isArray(document)) {
    return document.map((value, index) => entryFromObject(value, { file, unit: 'entry', index }));
  }

  const columns = document as { names?: unknown; encodings?: unknown } | null;
  if (columns !== null && typeof columns === 'object' && Array.isArray(columns.names) && Array.isArray(columns.encodings)) {
    const { names, encodings } = columns as { names: unknown[]; encodings: unknown[] };
    if (names.length !== encodings.length) {
      throw new ValidationError(ErrorCodes.INVALID_FILE, `${file}: has ${names.length} names for ${encodings.length} encodings; give one name per encoding.`, { details: { file } });
    }
    return names.map((name, index) => entryFromObject({ name, encoding: encodings[index] }, { file, unit: 'entry', index }));
  }

  throw new ValidationError(ErrorCodes.INVALID_FILE, `${file}: expected a JSON array of { "person": "id", "encoding": [numbers] } or an object { "names": [...], "encodings": [...] }.`, { details: { file } });
}

/** Reads encodings from JSON lines: one `{ "person", "encoding" }` object per line; blank lines are ignored. */
export function parseJsonLinesEncodings(text: string, file: string): EncodingEntry[] {
  const entries: EncodingEntry[] = [];
  const lines = text.split('\n');

  for (const [offset, rawLine] of lines.entries()) {
    const line = rawLine.trim();
    if (line.length === 0) continue;

    const location = { file, unit: 'line' as const, index: offset + 1 };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      entries.push({ kind: 'rejected', location, reason: `is not valid JSON (${(error as Error).message}).` });
      continue;
    }
    entries.push(entryFromObject(value, location));
  }
  return entries;
}
