import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

import type { SqliteDatabase } from '../db/open-database.js';
import type { EventStore } from '../events/event-store.js';

const DAY_MS = 86_400_000;

export interface EventRetentionResult {
  /** Events deleted, in total and per type. */
  deleted: number;
  byType: Record<string, number>;
  /** Transactions used; each deleted at most about `chunkSize` events. */
  chunks: number;
}

/** Retention rules of one run: days per type, falling back to `eventDays`; `null` keeps forever. */
export interface EventRetentionRules {
  eventDays: number | null;
  eventTypeDays: Readonly<Record<string, number | null>>;
  now: Date;
}

/**
 * Deletes events older than their retention, oldest first, through `events.deleteEvents` so that
 * the full-text index and the statistics rollup change in the same transactions. A type listed in
 * `eventTypeDays` follows that entry, longer or shorter than `eventDays`, and an event flagged `keep`
 * is never deleted, whatever its type and age. Each transaction deletes the events of at most a
 * `chunkSize`-long stretch of one type, and the event loop is free between transactions, so writers
 * wait for one chunk at most.
 */
export async function deleteExpiredEvents(events: EventStore, db: SqliteDatabase, rules: EventRetentionRules, chunkSize: number): Promise<EventRetentionResult> {
  const result: EventRetentionResult = { deleted: 0, byType: {}, chunks: 0 };
  // Skip-scan of the type index: one seek per distinct type instead of a pass over every event.
  const types = db.prepare(`WITH RECURSIVE t(type) AS (
      SELECT min(type) FROM events
      UNION ALL SELECT (SELECT min(type) FROM events WHERE type > t.type) FROM t WHERE t.type IS NOT NULL)
    SELECT type FROM t WHERE type IS NOT NULL`).pluck().all() as string[];
  // The timestamp of the chunkSize-th oldest deletable event of a type, which ends the next chunk.
  const chunkEnd = db.prepare('SELECT timestamp FROM events WHERE type = ? AND keep = 0 AND timestamp < ? ORDER BY seq LIMIT 1 OFFSET ?').pluck();

  for (const type of types) {
    const days = Object.hasOwn(rules.eventTypeDays, type) ? rules.eventTypeDays[type]! : rules.eventDays;
    if (days === null) continue;
    const cutoff = rules.now.getTime() - days * DAY_MS;

    for (;;) {
      const boundary = chunkEnd.get(type, cutoff, chunkSize - 1) as number | undefined;
      // Events of the boundary's millisecond go in the same chunk, so every chunk makes progress.
      const end = boundary === undefined ? cutoff : Math.min(cutoff, boundary + 1);
      const deleted = events.deleteEvents({ types: [type], end, keep: false });
      result.chunks += 1;
      if (deleted > 0) {
        result.deleted += deleted;
        result.byType[type] = (result.byType[type] ?? 0) + deleted;
      }
      if (boundary === undefined) break;
      await yieldToEventLoop();
    }
  }
  return result;
}
