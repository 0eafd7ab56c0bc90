import { ErrorCodes, ValidationError } from '../errors.js';

/**
 * A SQLite value as it appears in an export's JSON lines. Text, null and numbers that round-trip
 * through JSON unchanged are written as themselves. Blobs, integers outside JavaScript's safe range
 * and reals that JSON would read back as integers are tagged, so an import rebinds every value with
 * its original storage class.
 */
export type ExportedValue =
  | null
  | string
  | number
  | { $base64: string }
  | { $integer: string }
  | { $real: number | 'Infinity' | '-Infinity' };

/** Encodes one value read with `safeIntegers(true)`: integers arrive as bigint, reals as number. */
export function encodeValue(value: unknown): ExportedValue {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : { $integer: value.toString() };
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { $real: value > 0 ? 'Infinity' : '-Infinity' };
    return Number.isInteger(value) ? { $real: value } : value;
  }
  if (Buffer.isBuffer(value)) return { $base64: value.toString('base64') };
  throw new TypeError(`Cannot export a value of type ${typeof value}.`);
}

/**
 * Decodes a value of an export into what better-sqlite3 binds with the same storage class: a bigint
 * for an integer, a number for a real, a Buffer for a blob. Returns undefined for a value that no
 * export writes, so the caller can name the line.
 */
export function decodeValue(value: unknown): bigint | number | string | Buffer | null | undefined {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (typeof value !== 'object' || Array.isArray(value)) return undefined;

  const tagged = value as Record<string, unknown>;
  const keys = Object.keys(tagged);
  if (keys.length !== 1) return undefined;
  if (typeof tagged.$base64 === 'string') return Buffer.from(tagged.$base64, 'base64');
  if (typeof tagged.$integer === 'string' && /^-?\d+$/.test(tagged.$integer)) return BigInt(tagged.$integer);
  if (typeof tagged.$real === 'number') return tagged.$real;
  if (tagged.$real === 'Infinity') return Number.POSITIVE_INFINITY;
  if (tagged.$real === '-Infinity') return Number.NEGATIVE_INFINITY;
  return undefined;
}

/** Decodes a row object of an export into values in `columns` order; throws naming the bad column. */
export function decodeRow(row: unknown, columns: readonly string[]): unknown[] {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    throw new ValidationError(ErrorCodes.INVALID_RECORD, 'expected a JSON object with one key per column.');
  }
  const object = row as Record<string, unknown>;
  const extra = Object.keys(object).find((key) => !columns.includes(key));
  if (extra !== undefined) throw new ValidationError(ErrorCodes.INVALID_RECORD, `column ${JSON.stringify(extra)} is not in the manifest's column list.`);

  return columns.map((column) => {
    if (!(column in object)) throw new ValidationError(ErrorCodes.INVALID_RECORD, `column ${JSON.stringify(column)} is missing.`);
    const decoded = decodeValue(object[column]);
    if (decoded === undefined) throw new ValidationError(ErrorCodes.INVALID_RECORD, `column ${JSON.stringify(column)} has ${JSON.stringify(object[column])}, which no export writes.`);
    return decoded;
  });
}
