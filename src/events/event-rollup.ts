import type { Statement } from 'better-sqlite3';

import type { SqliteDatabase } from '../db/open-database.js';
import { DAY, HOUR } from './time-buckets.js';

/** Values of `event_rollup.dimension`; `all` counts every event under the value ''. */
export const ROLLUP_DIMENSIONS = Object.freeze({ type: 0, source: 1, label: 2, all: 3 } as const);

/** Values of `event_rollup.period`. */
export const ROLLUP_PERIODS = Object.freeze({ hour: 0, day: 1 } as const);

/** The fields of an event that its rollup rows count. */
export interface RollupEntry {
  timestamp: number;
  type: string;
  source: string;
  label: string | null;
  confidence: number | null;
}

/**
 * Collects the rollup changes of a batch of inserted, updated or deleted events and writes them with
 * one upsert per (period, dimension, start, value), inside the caller's transaction. Rows that fall
 * to zero events are removed.
 */
export class RollupWriter {
  readonly #upsert: Statement;
  readonly #removeEmpty: Statement;

  constructor(db: SqliteDatabase) {
    this.#upsert = db.prepare(`INSERT INTO event_rollup (period, dimension, start, value, events, confidence_sum, confidence_count)
      VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET
        events = events + excluded.events,
        confidence_sum = confidence_sum + excluded.confidence_sum,
        confidence_count = confidence_count + excluded.confidence_count`);
    this.#removeEmpty = db.prepare('DELETE FROM event_rollup WHERE period = ? AND dimension = ? AND start = ? AND value = ? AND events <= 0');
  }

  /** Starts collecting the changes of one transaction. */
  batch(): RollupBatch {
    return new RollupBatch(this.#upsert, this.#removeEmpty);
  }
}

export class RollupBatch {
  /** Changes per UTC hour, keyed by the hour's number since the epoch. Day rows are summed from these on write. */
  readonly #hours = new Map<number, HourChanges>();
  readonly #upsert: Statement;
  readonly #removeEmpty: Statement;

  // Events usually arrive in time order, so most of them fall into the hour of the one before.
  #lastHour = -1;
  #lastChanges: HourChanges | undefined;

  constructor(upsert: Statement, removeEmpty: Statement) {
    this.#upsert = upsert;
    this.#removeEmpty = removeEmpty;
  }

  /** Counts `entry` once (`sign` 1, an insert) or removes it (`sign` -1, a delete or the old side of an update). */
  add(entry: RollupEntry, sign: 1 | -1): void {
    const hour = Math.floor(entry.timestamp / HOUR);
    let changes = this.#lastChanges;
    if (hour !== this.#lastHour || changes === undefined) {
      changes = this.#hours.get(hour);
      if (changes === undefined) {
        changes = { all: newCounts(), type: new Map(), source: new Map(), label: new Map() };
        this.#hours.set(hour, changes);
      }
      this.#lastHour = hour;
      this.#lastChanges = changes;
    }

    const confidence = entry.confidence;
    count(changes.all, confidence, sign);
    count(countsOf(changes.type, entry.type), confidence, sign);
    count(countsOf(changes.source, entry.source), confidence, sign);
    if (entry.label !== null) count(countsOf(changes.label, entry.label), confidence, sign);
  }

  /** Writes the collected changes; call inside the transaction that changed the events. */
  write(): void {
    const days = new Map<number, HourChanges>();
    for (const [hour, changes] of this.#hours) {
      const start = hour * HOUR;
      this.#writeCell(ROLLUP_PERIODS.hour, ROLLUP_DIMENSIONS.all, start, '', changes.all);
      this.#writeDimensions(ROLLUP_PERIODS.hour, start, changes);

      const day = start - (start % DAY);
      let dayChanges = days.get(day);
      if (dayChanges === undefined) {
        dayChanges = { all: newCounts(), type: new Map(), source: new Map(), label: new Map() };
        days.set(day, dayChanges);
      }
      for (const dimension of DIMENSION_NAMES) {
        for (const [value, counts] of changes[dimension]) addCounts(countsOf(dayChanges[dimension], value), counts);
      }
    }
    // Only hourly rows count all events.
    for (const [day, changes] of days) this.#writeDimensions(ROLLUP_PERIODS.day, day, changes);

    this.#hours.clear();
    this.#lastHour = -1;
    this.#lastChanges = undefined;
  }

  #writeDimensions(period: number, start: number, changes: HourChanges): void {
    for (const dimension of DIMENSION_NAMES) {
      for (const [value, counts] of changes[dimension]) this.#writeCell(period, ROLLUP_DIMENSIONS[dimension], start, value, counts);
    }
  }

  #writeCell(period: number, dimension: number, start: number, value: string, counts: Counts): void {
    if (counts.events === 0 && counts.confidenceCount === 0 && counts.confidenceSum === 0) return;
    this.#upsert.run(period, dimension, start, value, counts.events, counts.confidenceSum, counts.confidenceCount);
    if (counts.events < 0) this.#removeEmpty.run(period, dimension, start, value);
  }
}

/** Changes of one row of event_rollup. */
interface Counts {
  events: number;
  confidenceSum: number;
  confidenceCount: number;
}

/** Changes of one hour or day: all events, and per type, source and label. */
interface HourChanges {
  all: Counts;
  type: Map<string, Counts>;
  source: Map<string, Counts>;
  label: Map<string, Counts>;
}

const DIMENSION_NAMES = ['type', 'source', 'label'] as const;

function newCounts(): Counts {
  return { events: 0, confidenceSum: 0, confidenceCount: 0 };
}

function countsOf(values: Map<string, Counts>, value: string): Counts {
  let counts = values.get(value);
  if (counts === undefined) {
    counts = newCounts();
    values.set(value, counts);
  }
  return counts;
}

function count(counts: Counts, confidence: number | null, sign: 1 | -1): void {
  counts.events += sign;
  if (confidence !== null) {
    counts.confidenceSum += sign * confidence;
    counts.confidenceCount += sign;
  }
}

function addCounts(target: Counts, source: Counts): void {
  target.events += source.events;
  target.confidenceSum += source.confidenceSum;
  target.confidenceCount += source.confidenceCount;
}
