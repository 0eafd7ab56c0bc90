import { ErrorCodes, ValidationError } from '../errors.js';

/** A point in time as callers may pass it: a `Date`, milliseconds since the Unix epoch, or an ISO 8601 string with a zone. */
export type TimeInput = Date | number | string;

/** 2000-01-01T00:00:00.000Z: earlier times are taken for a clock that was never set. */
export const MIN_TIMESTAMP = Date.UTC(2000, 0, 1);

/** 2100-01-01T00:00:00.000Z (exclusive): later times are taken for a unit mistake such as microseconds. */
export const MAX_TIMESTAMP = Date.UTC(2100, 0, 1);

// A date alone is UTC by the ECMAScript rules; a date with a time must carry Z or an offset, because
// Date.parse reads a bare date-time as local time.
const ISO_PATTERN = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * Converts a `TimeInput` to integer milliseconds since the Unix epoch (UTC), dropping fractions of a
 * millisecond. Throws INVALID_TIMESTAMP naming `name` for anything else or for a time outside
 * [2000-01-01, 2100-01-01).
 */
export function toEpochMs(value: unknown, name: string): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (value instanceof Date) {
    ms = value.getTime();
  } else if (typeof value === 'string' && ISO_PATTERN.test(value)) {
    ms = Date.parse(value);
  } else {
    throw invalidTimestamp(`${name} must be a Date, epoch milliseconds or an ISO 8601 string with Z or an offset (2024-05-01T12:00:00Z), got ${describe(value)}.`, name, value);
  }

  if (!Number.isFinite(ms)) throw invalidTimestamp(`${name} is not a valid time: ${describe(value)}.`, name, value);
  if (ms < MIN_TIMESTAMP || ms >= MAX_TIMESTAMP) {
    throw invalidTimestamp(`${name} must lie between 2000-01-01 and 2100-01-01 UTC, got ${describe(value)}; pass milliseconds, not seconds or microseconds.`, name, value);
  }
  return Math.floor(ms);
}

const DAY_MS = 86_400_000;
const DIGITS = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));
let cachedDay = Number.NaN;
let cachedDayPrefix = '';

/**
 * Formats epoch milliseconds as an ISO 8601 UTC string with milliseconds, exactly as
 * `Date.prototype.toISOString` does. Histories format hundreds of buckets of the same few days, so
 * the date part of the last day is kept and only the time of day is formatted, several times faster
 * than `toISOString`.
 */
export function toIsoString(ms: number): string {
  if (!Number.isInteger(ms) || ms < MIN_TIMESTAMP || ms >= MAX_TIMESTAMP) return new Date(ms).toISOString();

  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  let rest = ms - day * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return `${cachedDayPrefix}${DIGITS[hours]!.slice(1)}:${DIGITS[minutes]!.slice(1)}:${DIGITS[seconds]!.slice(1)}.${DIGITS[millis]}Z`;
}

function invalidTimestamp(message: string, name: string, value: unknown): ValidationError {
  return new ValidationError(ErrorCodes.INVALID_TIMESTAMP, message, { details: { [name]: value instanceof Date ? String(value) : value } });
}

function describe(value: unknown): string {
  if (value instanceof Date) return `Date(${String(value)})`;
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value) ?? String(value);
}
