import { ErrorCodes, ValidationError, showValue } from '../errors.js';
import type { TimeInput } from './event-types.js';

/** Latest storable time, 9999-12-31T23:59:59.999Z; earliest is the Unix epoch. */
export const MAX_TIMESTAMP = 253_402_300_799_999;

const ISO_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Converts a Date, an integer of milliseconds since the epoch, or an ISO 8601 string with `Z` or an
 * offset to milliseconds since the epoch. A string without a zone is rejected: it would be read in
 * the machine's local time.
 */
export function toEpochMilliseconds(value: TimeInput, name: string): number {
  let milliseconds: number;
  if (value instanceof Date) {
    milliseconds = value.getTime();
    if (Number.isNaN(milliseconds)) throw invalidTime(`${name} is an invalid Date.`, name, value);
  } else if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw invalidTime(`${name} must be an integer of milliseconds since the Unix epoch, got ${value}.`, name, value);
    milliseconds = value;
  } else if (typeof value === 'string') {
    milliseconds = parseIso(value, name);
  } else {
    throw invalidTime(`${name} must be a Date, milliseconds since the Unix epoch or an ISO 8601 string, got ${typeof value}.`, name, value);
  }

  if (milliseconds < 0 || milliseconds > MAX_TIMESTAMP) {
    throw invalidTime(`${name} must be between 1970-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z, got ${String(value)}.`, name, value);
  }
  return milliseconds;
}

const DAY = 86_400_000;
const TWO_DIGITS = Array.from({ length: 60 }, (_, value) => String(value).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, value) => String(value).padStart(3, '0'));

// `YYYY-MM-DDT` of recently formatted days. Date#toISOString dominated the cost of returning a page
// of events. The date part repeats across a page, so only the time of day is formatted per call.
const dayPrefixes = new Map<number, string>();
const MAX_DAY_PREFIXES = 4096;

/** Formats milliseconds since the epoch (0 to MAX_TIMESTAMP) as Date#toISOString does: `2026-03-29T01:30:00.000Z`. */
export function toIso(milliseconds: number): string {
  const day = Math.floor(milliseconds / DAY);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    if (dayPrefixes.size >= MAX_DAY_PREFIXES) dayPrefixes.clear();
    prefix = new Date(day * DAY).toISOString().slice(0, 11);
    dayPrefixes.set(day, prefix);
  }
  const time = milliseconds - day * DAY;
  const hours = Math.floor(time / 3_600_000);
  const minutes = Math.floor(time / 60_000) % 60;
  const seconds = Math.floor(time / 1000) % 60;
  return `${prefix}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${THREE_DIGITS[time % 1000]}Z`;
}

function parseIso(text: string, name: string): number {
  const match = ISO_PATTERN.exec(text);
  if (match === null) {
    throw invalidTime(`${name} must be an ISO 8601 time with a zone, such as 2026-03-29T01:30:00.000Z or 2026-03-29T03:30:00+02:00, got ${showValue(text)}.`, name, text);
  }
  const [, year, month, day, hour, minute, second = '0', fraction = '', zone] = match;
  const daysInMonth = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
  if (Number(month) < 1 || Number(month) > 12 || Number(day) < 1 || Number(day) > daysInMonth || Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) {
    throw invalidTime(`${name} is not a real date and time: ${JSON.stringify(text)}.`, name, text);
  }

  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1;
    const [hours, minutes] = zone!.slice(1).split(':').map(Number);
    if (hours! > 23 || minutes! > 59) throw invalidTime(`${name} has an invalid offset ${zone}.`, name, text);
    offsetMinutes = sign * (hours! * 60 + minutes!);
  }

  // Digits past the millisecond are dropped: times are stored with millisecond precision.
  const milliseconds = Number(fraction.padEnd(3, '0').slice(0, 3));
  const utc = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second), milliseconds);
  return utc - offsetMinutes * 60_000;
}

function invalidTime(message: string, name: string, value: unknown): ValidationError {
  return new ValidationError(ErrorCodes.INVALID_ARGUMENT, message, { details: { name, value: value instanceof Date ? String(value) : value } });
}
