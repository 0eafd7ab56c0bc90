import { ErrorCodes, ValidationError, type ErrorCode } from '../errors.js';

/**
 * The position of a record in its file: a 1-based `line` of a JSON lines or CSV file, or a 0-based
 * `row` of a `.npy` array. A JSON array element has its 0-based `entry`, the index NumPy or
 * JavaScript would use, and a SQLite table row its `rowid`.
 */
export interface RecordLocation {
  file: string;
  unit: 'line' | 'row' | 'entry' | 'rowid';
  index: number;
}

/** `faces.csv line 4`, as printed in errors and summaries. */
export function formatLocation(location: RecordLocation): string {
  return `${location.file} ${location.unit} ${location.index}`;
}

/**
 * Creates the error for one bad record. The message starts with its file and position, and `details`
 * repeats both. A record that has no file, such as an MQTT message, is named by a string instead.
 */
export function invalidRecord(location: RecordLocation | string, message: string, options: { code?: ErrorCode; cause?: unknown } = {}): ValidationError {
  const code = options.code ?? ErrorCodes.INVALID_RECORD;
  if (typeof location === 'string') return new ValidationError(code, `${location}: ${message}`, { cause: options.cause, details: { source: location } });

  return new ValidationError(code, `${location.file}: ${location.unit} ${location.index}: ${message}`, {
    cause: options.cause,
    details: { file: location.file, [location.unit]: location.index },
  });
}
