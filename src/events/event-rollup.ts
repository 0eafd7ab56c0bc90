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

interface Cell {
  period: number;
  dimension: number;
  start: number;
  value: string;
  events: number;
  confidenceSum: number;
  confidenceCount: number;
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
  readonly #cells = new Map<string, Cell>();
  readonly #upsert: Statement;
  readonly #removeEmpty: Statement;

  constructor(upsert: Statement, removeEmpty: Statement) {
    this.#upsert = upsert;
    this.#removeEmpty = removeEmpty;
  }

  /** Counts `entry` once (`sign` 1, an insert) or removes it (`sign` -1, a delete or the old side of an update). */
  add(entry: RollupEntry, sign: 1 | -1): void {
    const hour = entry.timestamp - (entry.timestamp % HOUR);
    const day = entry.timestamp - (entry.timestamp % DAY);
    this.#addCell(ROLLUP_PERIODS.hour, ROLLUP_DIMENSIONS.all, hour, '', entry.confidence, sign);
    for (const [period, start] of [[ROLLUP_PERIODS.hour, hour], [ROLLUP_PERIODS.day, day]] as const) {
      this.#addCell(period, ROLLUP_DIMENSIONS.type, start, entry.type, entry.confidence, sign);
      this.#addCell(period, ROLLUP_DIMENSIONS.source, start, entry.source, entry.confidence, sign);
      if (entry.label !== null) this.#addCell(period, ROLLUP_DIMENSIONS.label, start, entry.label, entry.confidence, sign);
    }
  }

  /** Writes the collected changes; call inside the transaction that changed the events. */
  write(): void {
    for (const cell of this.#cells.values()) {
      if (cell.events === 0 && cell.confidenceCount === 0 && cell.confidenceSum === 0) continue;
      this.#upsert.run(cell.period, cell.dimension, cell.start, cell.value, cell.events, cell.confidenceSum, cell.confidenceCount);
      if (cell.events < 0) this.#removeEmpty.run(cell.period, cell.dimension, cell.start, cell.value);
    }
    this.#cells.clear();
  }

  #addCell(period: number, dimension: number, start: number, value: string, confidence: number | null, sign: 1 | -1): void {
    const key = `${period}${dimension}${start}\u0000${value}`;
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = { period, dimension, start, value, events: 0, confidenceSum: 0, confidenceCount: 0 };
      this.#cells.set(key, cell);
    }
    cell.events += sign;
    if (confidence !== null) {
      cell.confidenceSum += sign * confidence;
      cell.confidenceCount += sign;
    }
  }
}
