import { setImmediate as nextTurn } from 'node:timers/promises';

import type { SqliteDatabase } from '../db/open-database.js';
import { decodeBlock, encodeBlock } from './metric-block.js';
import { DAY_MS, RESOLUTIONS, ROLLUP_WIDTHS, type Resolution } from './resolutions.js';
import type { RetentionDays } from './metric-options.js';

/** Raw points and rollup buckets deleted, per resolution. */
export type RetentionResult = Record<Resolution, number>;

/**
 * Deletes raw points older than `now` minus the raw retention, and rollup buckets that end at or
 * before `now` minus their resolution's retention. Works one series and at most `chunkSize` rows
 * (blocks or buckets) per statement, each its own transaction, and yields to the event loop between
 * statements, so writers wait for one chunk at most. A block that holds points on both sides of the
 * cutoff is rewritten without the older ones. `checkOpen` runs before each statement and may throw
 * to stop.
 */
export async function deleteExpiredMetrics(db: SqliteDatabase, retention: Readonly<RetentionDays>, now: number, chunkSize: number, checkOpen: () => void): Promise<RetentionResult> {
  const deleted: RetentionResult = { raw: 0, minute: 0, hour: 0, day: 0 };
  const seriesIds = (db.prepare('SELECT id FROM metric_series ORDER BY id').pluck().all() as number[]);
  const deleteBlocks = db.prepare(`DELETE FROM metric_blocks WHERE rowid IN
    (SELECT rowid FROM metric_blocks WHERE series_id = @series AND start_time < @cutoff AND end_time < @cutoff LIMIT @limit)
    RETURNING count`).pluck();
  const deleteRollups = db.prepare(`DELETE FROM metric_rollups WHERE resolution = @resolution AND series_id = @series AND bucket IN
    (SELECT bucket FROM metric_rollups WHERE resolution = @resolution AND series_id = @series AND bucket < @before ORDER BY bucket LIMIT @limit)`);

  for (const resolution of RESOLUTIONS) {
    const days = retention[resolution];
    if (days === null) continue;
    const cutoff = now - Math.round(days * DAY_MS);

    for (const series of seriesIds) {
      if (resolution === 'raw') {
        checkOpen();
        deleted.raw += trimStraddlingBlocks(db, series, cutoff);
      }
      for (;;) {
        checkOpen();
        let changes: number;
        if (resolution === 'raw') {
          const counts = deleteBlocks.all({ series, cutoff, limit: chunkSize }) as number[];
          changes = counts.length;
          deleted.raw += counts.reduce((sum, count) => sum + count, 0);
        } else {
          // A bucket [start, start + width) ends at or before the cutoff when start <= cutoff - width.
          changes = deleteRollups.run({ resolution, series, before: cutoff - ROLLUP_WIDTHS[resolution] + 1, limit: chunkSize }).changes;
          deleted[resolution] += changes;
        }
        if (changes > 0) await nextTurn();
        if (changes < chunkSize) break;
      }
    }
  }
  return deleted;
}

/** Rewrites the blocks of a series that start before the cutoff and end at or after it, and returns the points removed. */
function trimStraddlingBlocks(db: SqliteDatabase, series: number, cutoff: number): number {
  const trim = db.transaction((): number => {
    const blocks = db.prepare('SELECT rowid, count, points FROM metric_blocks WHERE series_id = ? AND start_time < ? AND end_time >= ?')
      .all(series, cutoff, cutoff) as { rowid: number; count: number; points: Buffer }[];
    let removed = 0;
    for (const block of blocks) {
      const { times, values } = decodeBlock(block.points, block.count);
      // Times are ascending inside a block, so the kept points are a suffix.
      let first = 0;
      while (times[first]! < cutoff) first += 1;
      const count = block.count - first;
      db.prepare('UPDATE metric_blocks SET start_time = ?, end_time = ?, count = ?, points = ? WHERE rowid = ?')
        .run(times[first], times[block.count - 1], count, encodeBlock(times.subarray(first), values.subarray(first), count), block.rowid);
      removed += first;
    }
    return removed;
  });
  return trim.immediate();
}
