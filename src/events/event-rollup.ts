import type { Statement } from 'better-sqlite3';

import type { SqliteDatabase } from '../db/open-database.js';
import { HOUR } from './time-buckets.js';

/** Values of `event_rollup.dimension`. */
export const ROLLUP_DIMENSIONS = Object.freeze({ type: 0, source: 1, label: 2 } as const);

/** The fields of an event that its rollup rows count. */
export interface RollupEntry {
  timestamp: number;
  type: string;
  source: string;
  label: string | null;
  confidence: number | null;
}

interface Cell {
  dimension: number;
  hour: number;
  value: string;
  events: number;
  confidenceSum: number;
  confidenceCount: number;
}

/**
 * Collects the rollup changes of a batch of inserted, updated or deleted events and writes them with
 * one upsert per (dimension, hour, value), inside the caller's transaction. Rows that fall to zero
 * events are removed.
 */
export class RollupWriter {
  readonly #upsert: Statement;
  readonly #removeEmpty: Statement;

  constructor(db: SqliteDatabase) {
    this.#upsert = db.prepare(`INSERT INTO event_rollup (dimension, hour, value, events, confidence_sum, confidence_count)
      VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET
        events = events + excluded.events,
        confidence_sum = confidence_sum + excluded.confidence_sum,
        confidence_count = confidence_count + excluded.confidence_count`);
    this.#removeEmpty = db.prepare('DELETE FROM event_rollup WHERE dimension = ? AND hour = ? AND value = ? AND events <= 0');
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
    this.#addCell(ROLLUP_DIMENSIONS.type, hour, entry.type, entry.confidence, sign);
    this.#addCell(ROLLUP_DIMENSIONS.source, hour, entry.source, entry.confidence, sign);
    if (entry.label !== null) this.#addCell(ROLLUP_DIMENSIONS.label, hour, entry.label, entry.confidence, sign);
  }

  /** Writes the collected changes; call inside the transaction that changed the events. */
  write(): void {
    for (const cell of this.#cells.values()) {
      if (cell.events === 0 && cell.confidenceCount === 0 && cell.confidenceSum === 0) continue;
      this.#upsert.run(cell.dimension, cell.hour, cell.value, cell.events, cell.confidenceSum, cell.confidenceCount);
      if (cell.events < 0) this.#removeEmpty.run(cell.dimension, cell.hour, cell.value);
    }
    this.#cells.clear();
  }

  #addCell(dimension: number, hour: number, value: string, confidence: number | null, sign: 1 | -1): void {
    const key = `${dimension}\u0000${hour}\u0000${value}`;
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = { dimension, hour, value, events: 0, confidenceSum: 0, confidenceCount: 0 };
      this.#cells.set(key, cell);
    }
    cell.events += sign;
    if (confidence !== null) {
      cell.confidenceSum += sign * confidence;
      cell.confidenceCount += sign;
    }
  }
}
