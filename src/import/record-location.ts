import { ErrorCodes, ValidationError, type ErrorCode } from '../errors.js';

/**
 * The position of a record in its file: a 1-based `line` of a JSON lines or CSV file, a 0-based `row`
 * of a `.npy` array, or a 0-based `entry` of a JSON array (the index NumPy or JavaScript would use).
 */
export interface RecordLocation {
  file: string;
  unit: 'line' | 'row' | 'entry';
  index: number;
}

/** `faces.csv line 4`, as printed in errors and summaries. */
export function formatLocation(location: RecordLocation): string {
  return `${location.file} ${location.unit} ${location.index}`;
}

/** Creates the error for one bad record. The message starts with its file and position, and `details` repeats both. */
export function invalidRecord(location: RecordLocation, message: string, options: { code?: ErrorCode; cause?: unknown } = {}): ValidationError {
  return new ValidationError(options.code ?? ErrorCodes.INVALID_RECORD, `${location.file}: ${location.unit} ${location.index}: ${message}`, {
    cause: options.cause,
    details: { file: location.file, [location.unit]: location.index },
  });
}
