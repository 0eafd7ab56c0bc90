import { LRUCache } from 'lru-cache';

import { invalidArgument, showValue } from '../errors.js';

export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** Most buckets one statistics call returns: over eleven years of hours. */
export const MAX_BUCKETS = 100_000;

const formatters = new LRUCache<string, Intl.DateTimeFormat>({ max: 64 });
const offsets = new LRUCache<string, number>({ max: 50_000 });

/** Checks an IANA time zone name and returns its canonical spelling, for example `UTC` for `utc`. */
export function canonicalTimeZone(timeZone: unknown, name: string): string {
  if (typeof timeZone !== 'string' || timeZone.length === 0) {
    throw invalidArgument(`${name} must be an IANA time zone name such as "Europe/Berlin", got ${showValue(timeZone)}.`, { name });
  }
  try {
    return formatterFor(timeZone).resolvedOptions().timeZone;
  } catch (error) {
    if (error instanceof RangeError) throw invalidArgument(`${name} ${JSON.stringify(timeZone)} is not a time zone this Node.js knows; use an IANA name such as "Europe/Berlin" or "UTC".`, { name });
    throw error;
  }
}

/**
 * Returns the bucket boundaries from `start` to `end`: `start`, every instant in between where a new
 * local hour or day of `timeZone` begins, and `end`. Across a daylight-saving change a local day has
 * 23 or 25 hours, and the repeated local hour of autumn is two buckets (one per UTC offset).
 */
export function bucketBoundaries(start: number, end: number, unit: 'hour' | 'day', timeZone: string): number[] {
  const size = unit === 'hour' ? HOUR : DAY;
  const boundaries = [start];
  const push = (instant: number) => {
    if (instant > boundaries.at(-1)! && instant < end) boundaries.push(instant);
  };

  const segments = offsetSegments(start, end, timeZone);
  segments.forEach((segment, index) => {
    if (index > 0) {
      // A change of offset starts a new hour bucket; it starts a new day only if the local date changes with it.
      const before = segments[index - 1]!.offset;
      if (unit === 'hour' || localDay(segment.from - 1, before) !== localDay(segment.from, segment.offset)) push(segment.from);
    }
    const firstLocal = Math.ceil((segment.from + segment.offset) / size) * size;
    for (let instant = firstLocal - segment.offset; instant < segment.to && instant < end; instant += size) push(instant);
  });

  if (end > start) boundaries.push(end);
  return boundaries;
}

interface OffsetSegment {
  from: number;
  to: number;
  /** Local time minus UTC, in milliseconds. */
  offset: number;
}

/**
 * Splits [start, end) into stretches of constant UTC offset. Offsets are sampled at every UTC
 * midnight and each change is located to the second by bisection.
 * NOTE: two offset changes within one UTC day that cancel out would be missed. No zone of the IANA
 * database since 1970 is known to have such a pair.
 */
function offsetSegments(start: number, end: number, timeZone: string): OffsetSegment[] {
  if (timeZone === 'UTC') return [{ from: start, to: end, offset: 0 }];

  const segments: OffsetSegment[] = [{ from: start, to: end, offset: offsetAt(start, timeZone) }];
  let previous = start;
  let previousOffset = segments[0]!.offset;
  for (let sample = Math.floor(start / DAY) * DAY + DAY; previous < end; sample += DAY) {
    const point = Math.min(sample, end);
    const offset = offsetAt(point, timeZone);
    if (offset !== previousOffset) {
      const change = findChange(previous, point, previousOffset, timeZone);
      segments.at(-1)!.to = change;
      segments.push({ from: change, to: end, offset });
    }
    previous = point;
    previousOffset = offset;
  }
  return segments;
}

/** Finds the first whole second in (low, high] whose offset differs from `lowOffset`. */
function findChange(low: number, high: number, lowOffset: number, timeZone: string): number {
  let below = Math.floor(low / 1000);
  let above = Math.ceil(high / 1000);
  while (above - below > 1) {
    const middle = Math.floor((below + above) / 2);
    if (offsetAt(middle * 1000, timeZone) === lowOffset) below = middle;
    else above = middle;
  }
  return Math.max(above * 1000, low + 1);
}

function localDay(instant: number, offset: number): number {
  return Math.floor((instant + offset) / DAY);
}

/** Local time minus UTC at `instant`, in milliseconds, as the time zone database of Node.js's ICU gives it. */
export function offsetAt(instant: number, timeZone: string): number {
  const second = Math.floor(instant / 1000) * 1000;
  const key = `${timeZone}@${second}`;
  const cached = offsets.get(key);
  if (cached !== undefined) return cached;

  const fields: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(second)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const local = Date.UTC(fields.year!, fields.month! - 1, fields.day!, fields.hour!, fields.minute!, fields.second!);
  const offset = local - second;
  offsets.set(key, offset);
  return offset;
}

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}
