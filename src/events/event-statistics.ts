import type { Statement } from 'better-sqlite3';

import type { SqliteDatabase } from '../db/open-database.js';
import { ROLLUP_DIMENSIONS, ROLLUP_PERIODS } from './event-rollup.js';
import { firstSeqOf } from './event-filter.js';
import { toIso } from './event-time.js';
import type { EventStatistics } from './event-types.js';
import { DAY, HOUR, bucketBoundaries } from './time-buckets.js';

interface Range {
  from: number;
  to: number;
}

interface Totals {
  count: number;
  confidenceSum: number;
  confidenceCount: number;
}

interface Tally {
  byDimension: Map<string, Totals>[];
  bucketCounts: number[];
}

/**
 * Computes event statistics from the rollup for whole UTC hours, using its daily rows where whole
 * UTC days fit. Parts of a bucket that do not cover a whole UTC hour are read from the events
 * themselves: the edges of the range, and every bucket in zones whose offset is not whole hours.
 */
export class EventStatisticsReader {
  readonly #rollupTotals: Statement;
  readonly #rollupHours: Statement;
  readonly #rawEvents: Statement;

  constructor(db: SqliteDatabase) {
    this.#rollupTotals = db.prepare(`SELECT dimension, value, sum(events) AS count, sum(confidence_sum) AS confidenceSum, sum(confidence_count) AS confidenceCount
      FROM event_rollup WHERE period = ? AND dimension IN (${ROLLUP_DIMENSIONS.type}, ${ROLLUP_DIMENSIONS.source}, ${ROLLUP_DIMENSIONS.label})
        AND start >= ? AND start < ? GROUP BY dimension, value`).raw();
    this.#rollupHours = db.prepare(`SELECT start, events FROM event_rollup
      WHERE period = ${ROLLUP_PERIODS.hour} AND dimension = ${ROLLUP_DIMENSIONS.all} AND start >= ? AND start < ?`).raw();
    this.#rawEvents = db.prepare(`SELECT timestamp, type, source, label, confidence FROM events
      WHERE seq >= ${firstSeqOf('?')} AND seq < ${firstSeqOf('?')}`).raw();
  }

  /** Reads the statistics of [start, end); run it inside a read transaction so both sources see one snapshot. */
  read(start: number, end: number, unit: 'hour' | 'day', timeZone: string): EventStatistics {
    const boundaries = bucketBoundaries(start, end, unit, timeZone);
    const tally: Tally = { byDimension: [new Map(), new Map(), new Map()], bucketCounts: new Array(Math.max(0, boundaries.length - 1)).fill(0) };
    const { rollupRanges, rawRanges } = splitRanges(boundaries);

    for (const range of rollupRanges) this.#addRollup(range, boundaries, tally);
    for (const range of rawRanges) this.#addRaw(range, boundaries, tally);

    const [byType, bySource, byLabel] = tally.byDimension.map((totals) => sortedRecord(totals, (entry) => entry.count));
    return {
      start: toIso(start),
      end: toIso(end),
      bucket: unit,
      timeZone,
      total: tally.bucketCounts.reduce((sum, count) => sum + count, 0),
      byType: byType!,
      bySource: bySource!,
      byLabel: byLabel!,
      averageConfidenceByType: sortedRecord(tally.byDimension[ROLLUP_DIMENSIONS.type]!, (entry) => (entry.confidenceCount === 0 ? null : entry.confidenceSum / entry.confidenceCount)),
      buckets: tally.bucketCounts.map((count, index) => ({ start: toIso(boundaries[index]!), end: toIso(boundaries[index + 1]!), count })),
    };
  }

  #addRollup(range: Range, boundaries: number[], tally: Tally): void {
    // Whole UTC days inside the range come from daily rows, the hours around them from hourly rows.
    const firstDay = Math.ceil(range.from / DAY) * DAY;
    const lastDay = Math.floor(range.to / DAY) * DAY;
    const pieces: [number, number, number][] = firstDay < lastDay
      ? [[ROLLUP_PERIODS.hour, range.from, firstDay], [ROLLUP_PERIODS.day, firstDay, lastDay], [ROLLUP_PERIODS.hour, lastDay, range.to]]
      : [[ROLLUP_PERIODS.hour, range.from, range.to]];
    for (const [period, from, to] of pieces) {
      if (from >= to) continue;
      for (const [dimension, value, count, confidenceSum, confidenceCount] of this.#rollupTotals.iterate(period, from, to) as Iterable<[number, string, number, number, number]>) {
        if (count > 0) addTotals(tally.byDimension[dimension]!, value, count, confidenceSum, confidenceCount);
      }
    }

    let bucket = bucketIndex(boundaries, range.from);
    for (const [hour, count] of this.#rollupHours.iterate(range.from, range.to) as Iterable<[number, number]>) {
      while (hour >= boundaries[bucket + 1]!) bucket++;
      tally.bucketCounts[bucket]! += count;
    }
  }

  #addRaw(range: Range, boundaries: number[], tally: Tally): void {
    let bucket = bucketIndex(boundaries, range.from);
    const rows = this.#rawEvents.iterate(range.from, range.to) as Iterable<[number, string, string, string | null, number | null]>;
    for (const [timestamp, type, source, label, confidence] of rows) {
      while (timestamp >= boundaries[bucket + 1]!) bucket++;
      tally.bucketCounts[bucket]! += 1;
      const confidenceSum = confidence ?? 0;
      const confidenceCount = confidence === null ? 0 : 1;
      addTotals(tally.byDimension[ROLLUP_DIMENSIONS.type]!, type, 1, confidenceSum, confidenceCount);
      addTotals(tally.byDimension[ROLLUP_DIMENSIONS.source]!, source, 1, confidenceSum, confidenceCount);
      if (label !== null) addTotals(tally.byDimension[ROLLUP_DIMENSIONS.label]!, label, 1, confidenceSum, confidenceCount);
    }
  }
}

/**
 * Splits each bucket into whole UTC hours (read from the rollup) and the remainders (read from the
 * events), merging neighbours of the same kind so a range of hour-aligned buckets is one rollup read.
 */
function splitRanges(boundaries: number[]): { rollupRanges: Range[]; rawRanges: Range[] } {
  const rollupRanges: Range[] = [];
  const rawRanges: Range[] = [];
  const append = (ranges: Range[], from: number, to: number) => {
    if (from >= to) return;
    const last = ranges.at(-1);
    if (last !== undefined && last.to === from) last.to = to;
    else ranges.push({ from, to });
  };

  for (let index = 0; index + 1 < boundaries.length; index++) {
    const from = boundaries[index]!;
    const to = boundaries[index + 1]!;
    const firstHour = Math.ceil(from / HOUR) * HOUR;
    const lastHour = Math.floor(to / HOUR) * HOUR;
    if (firstHour < lastHour) {
      append(rawRanges, from, firstHour);
      append(rollupRanges, firstHour, lastHour);
      append(rawRanges, lastHour, to);
    } else {
      append(rawRanges, from, to);
    }
  }
  return { rollupRanges, rawRanges };
}

/** Index of the bucket that contains `instant`: the last boundary at or before it. */
function bucketIndex(boundaries: number[], instant: number): number {
  let low = 0;
  let high = boundaries.length - 2;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (boundaries[middle]! <= instant) low = middle;
    else high = middle - 1;
  }
  return low;
}

function addTotals(totals: Map<string, Totals>, value: string, count: number, confidenceSum: number, confidenceCount: number): void {
  const entry = totals.get(value);
  if (entry === undefined) {
    totals.set(value, { count, confidenceSum, confidenceCount });
    return;
  }
  entry.count += count;
  entry.confidenceSum += confidenceSum;
  entry.confidenceCount += confidenceCount;
}

/** Builds a record sorted by key. `Object.fromEntries` keeps keys such as `__proto__` as plain own properties. */
function sortedRecord<T>(totals: Map<string, Totals>, pick: (entry: Totals) => T): Record<string, T> {
  const keys = [...totals.keys()].sort();
  return Object.fromEntries(keys.map((key) => [key, pick(totals.get(key)!)]));
}
