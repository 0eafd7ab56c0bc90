import type { Statement } from 'better-sqlite3';

import type { SqliteDatabase } from '../db/open-database.js';
import { decodeBlock, encodeBlock } from './metric-block.js';
import type { MetricBuffer } from './metric-buffer.js';
import { ROLLUP_WIDTHS, type RollupResolution } from './resolutions.js';

const MINUTE = ROLLUP_WIDTHS.minute;
const HOUR = ROLLUP_WIDTHS.hour;
const DAY = ROLLUP_WIDTHS.day;

/**
 * Groups of fewer points are appended to the newest block of their series and hour when it has room,
 * so points that arrive in real time, a few per flush, do not each become a row.
 */
const SMALL_GROUP = 64;
/** Points per block at most after appending small groups. */
const MAX_APPENDED_BLOCK = 1024;

/** Count, sum, min and max of the points of one series in one bucket. */
interface RunningBucket {
  bucket: number;
  count: number;
  sum: number;
  min: number;
  max: number;
}

/** The buffered points of one series in one UTC hour, in buffer order until sorted. */
interface HourGroup {
  hour: number;
  times: number[];
  values: number[];
  sorted: boolean;
}

interface SeriesGroups {
  id: number;
  current: HourGroup;
  hours: Map<number, HourGroup>;
  /** The newest point; among equal times, the one recorded last. */
  lastTime: number;
  lastValue: number;
}

/**
 * Writes a buffer of points. The points of each series are grouped by UTC hour and stored as one
 * block row per group. The rollups get one UPSERT per minute, hour and day touched. It adds the
 * group's count and sum to the stored row and widens its min and max. Run inside a transaction.
 */
export class MetricWriter {
  readonly #insertBlock: Statement;
  readonly #selectNewestBlock: Statement;
  readonly #updateBlock: Statement;
  readonly #upsertRollup: Statement;
  readonly #updateLast: Statement;

  constructor(db: SqliteDatabase) {
    this.#insertBlock = db.prepare('INSERT INTO metric_blocks (series_id, start_time, end_time, count, points) VALUES (?, ?, ?, ?, ?)');
    this.#selectNewestBlock = db.prepare('SELECT rowid, count, points FROM metric_blocks WHERE series_id = ? AND start_time >= ? AND start_time < ? ORDER BY rowid DESC LIMIT 1');
    this.#updateBlock = db.prepare('UPDATE metric_blocks SET start_time = ?, end_time = ?, count = ?, points = ? WHERE rowid = ?');
    this.#upsertRollup = db.prepare(`INSERT INTO metric_rollups (resolution, series_id, bucket, count, sum, min, max) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (resolution, series_id, bucket) DO UPDATE SET
        count = count + excluded.count, sum = sum + excluded.sum, min = min(min, excluded.min), max = max(max, excluded.max)`);
    this.#updateLast = db.prepare('UPDATE metric_series SET last_time = ?, last_value = ? WHERE id = ? AND (last_time IS NULL OR last_time <= ?)');
  }

  /** Writes every point of `buffer`; the buffer is left as it is. */
  write(buffer: MetricBuffer): void {
    for (const series of groupByHour(buffer).values()) {
      const days = new Map<number, RunningBucket>();
      for (const group of series.hours.values()) {
        if (!group.sorted) sortGroup(group);
        this.#storeBlock(series.id, group);
        const hour = this.#upsertMinutes(series.id, group);
        this.#upsert('hour', series.id, hour);

        const day = hour.bucket - (hour.bucket % DAY);
        const running = days.get(day);
        if (running === undefined) days.set(day, { ...hour, bucket: day });
        else merge(running, hour);
      }
      for (const day of days.values()) this.#upsert('day', series.id, day);
      this.#updateLast.run(series.lastTime, series.lastValue, series.id, series.lastTime);
    }
  }

  /** Appends a small sorted group to the newest block of its hour when that has room, else inserts a block. */
  #storeBlock(seriesId: number, group: HourGroup): void {
    const { times, values } = group;
    if (times.length < SMALL_GROUP) {
      const newest = this.#selectNewestBlock.get(seriesId, group.hour, group.hour + HOUR) as { rowid: number; count: number; points: Buffer } | undefined;
      if (newest !== undefined && newest.count + times.length <= MAX_APPENDED_BLOCK) {
        const stored = decodeBlock(newest.points, newest.count);
        const count = newest.count + times.length;
        const mergedTimes = new Float64Array(count);
        const mergedValues = new Float64Array(count);
        // Merge two sorted runs; on equal times the stored point goes first, as it was recorded first.
        for (let i = 0, j = 0, k = 0; k < count; k++) {
          if (j >= times.length || (i < newest.count && stored.times[i]! <= times[j]!)) {
            mergedTimes[k] = stored.times[i]!;
            mergedValues[k] = stored.values[i++]!;
          } else {
            mergedTimes[k] = times[j]!;
            mergedValues[k] = values[j++]!;
          }
        }
        this.#updateBlock.run(mergedTimes[0], mergedTimes[count - 1], count, encodeBlock(mergedTimes, mergedValues, count), newest.rowid);
        return;
      }
    }
    this.#insertBlock.run(seriesId, times[0], times[times.length - 1], times.length, encodeBlock(times, values, times.length));
  }

  /** Upserts the minute buckets of a sorted hour group and returns the group's hour bucket. */
  #upsertMinutes(seriesId: number, group: HourGroup): RunningBucket {
    const { times, values } = group;
    const hour: RunningBucket = { bucket: group.hour, count: 0, sum: 0, min: Number.POSITIVE_INFINITY, max: Number.NEGATIVE_INFINITY };
    let minute: RunningBucket | undefined;

    for (let i = 0; i < times.length; i++) {
      const time = times[i]!;
      const value = values[i]!;
      const bucket = time - (time % MINUTE);
      if (minute === undefined || minute.bucket !== bucket) {
        if (minute !== undefined) this.#upsert('minute', seriesId, minute);
        minute = { bucket, count: 0, sum: 0, min: value, max: value };
      }
      add(minute, value);
      add(hour, value);
    }
    this.#upsert('minute', seriesId, minute!);
    return hour;
  }

  #upsert(resolution: RollupResolution, seriesId: number, bucket: RunningBucket): void {
    this.#upsertRollup.run(resolution, seriesId, bucket.bucket, bucket.count, bucket.sum, bucket.min, bucket.max);
  }
}

/** Groups the buffer's points by series and UTC hour in one pass, noting whether each group arrived in time order. */
function groupByHour(buffer: MetricBuffer): Map<number, SeriesGroups> {
  const { series, times, values } = buffer;
  const bySeries = new Map<number, SeriesGroups>();

  for (let i = 0; i < buffer.length; i++) {
    const id = series[i]!.id;
    const time = times[i]!;
    const value = values[i]!;
    const hour = time - (time % HOUR);

    let entry = bySeries.get(id);
    if (entry === undefined) {
      const group: HourGroup = { hour, times: [], values: [], sorted: true };
      entry = { id, current: group, hours: new Map([[hour, group]]), lastTime: time, lastValue: value };
      bySeries.set(id, entry);
    } else if (time >= entry.lastTime) {
      entry.lastTime = time;
      entry.lastValue = value;
    }

    let group = entry.current;
    if (group.hour !== hour) {
      group = entry.hours.get(hour) ?? { hour, times: [], values: [], sorted: true };
      entry.hours.set(hour, group);
      entry.current = group;
    }
    if (group.times.length > 0 && time < group.times[group.times.length - 1]!) group.sorted = false;
    group.times.push(time);
    group.values.push(value);
  }
  return bySeries;
}

/** Sorts a group by time; points with equal times keep their recording order. */
function sortGroup(group: HourGroup): void {
  const order = group.times.map((_, index) => index).sort((a, b) => group.times[a]! - group.times[b]! || a - b);
  group.times = order.map((index) => group.times[index]!);
  group.values = order.map((index) => group.values[index]!);
  group.sorted = true;
}

function add(bucket: RunningBucket, value: number): void {
  bucket.count += 1;
  bucket.sum += value;
  if (value < bucket.min) bucket.min = value;
  if (value > bucket.max) bucket.max = value;
}

function merge(into: RunningBucket, from: RunningBucket): void {
  into.count += from.count;
  into.sum += from.sum;
  if (from.min < into.min) into.min = from.min;
  if (from.max > into.max) into.max = from.max;
}
