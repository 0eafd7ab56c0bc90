import { expect } from 'vitest';

import type { EventStatistics } from '../../src/index.js';

const QUARTER_HOUR = 900_000;

/** The fields of an event that statistics count. */
export interface CountedEvent {
  timestamp: number;
  type: string;
  source: string;
  label?: string | null;
  confidence?: number | null;
}

/**
 * Bucket boundaries found the slow way: the local hour (with its offset) or local date of every
 * quarter hour, read with Intl, and a boundary wherever it changes. Every zone used here changes
 * offset on a quarter hour.
 */
export function referenceBoundaries(start: number, end: number, bucket: 'hour' | 'day', timeZone: string): number[] {
  const format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', timeZoneName: 'longOffset' });
  const key = (instant: number) => {
    const parts = Object.fromEntries(format.formatToParts(instant).map((part) => [part.type, part.value]));
    return bucket === 'day' ? `${parts.year}-${parts.month}-${parts.day}` : `${parts.year}-${parts.month}-${parts.day} ${parts.hour} ${parts.timeZoneName}`;
  };
  const boundaries = [start];
  let previous = key(start);
  for (let instant = Math.ceil((start + 1) / QUARTER_HOUR) * QUARTER_HOUR; instant < end; instant += QUARTER_HOUR) {
    const current = key(instant);
    if (current !== previous) boundaries.push(instant);
    previous = current;
  }
  if (end > start) boundaries.push(end);
  return boundaries;
}

/** Computes the statistics of `events` over [start, end) by counting every event in range. */
export function referenceStatistics(events: readonly CountedEvent[], start: number, end: number, bucket: 'hour' | 'day', timeZone: string): EventStatistics {
  const inRange = events.filter((event) => event.timestamp >= start && event.timestamp < end);
  const boundaries = referenceBoundaries(start, end, bucket, timeZone);
  const countBy = (pick: (event: CountedEvent) => string | null | undefined) => {
    const counts: Record<string, number> = {};
    for (const event of inRange) {
      const value = pick(event);
      if (value != null) counts[value] = (counts[value] ?? 0) + 1;
    }
    return counts;
  };
  const averageConfidenceByType: Record<string, number | null> = {};
  for (const type of new Set(inRange.map((event) => event.type))) {
    const confidences = inRange.filter((event) => event.type === type && event.confidence != null).map((event) => event.confidence!);
    averageConfidenceByType[type] = confidences.length === 0 ? null : confidences.reduce((sum, value) => sum + value, 0) / confidences.length;
  }
  return {
    start: new Date(start).toISOString(),
    end: new Date(end).toISOString(),
    bucket,
    timeZone,
    total: inRange.length,
    byType: countBy((event) => event.type),
    bySource: countBy((event) => event.source),
    byLabel: countBy((event) => event.label),
    averageConfidenceByType,
    buckets: boundaries.slice(0, -1).map((from, index) => ({
      start: new Date(from).toISOString(),
      end: new Date(boundaries[index + 1]!).toISOString(),
      count: inRange.filter((event) => event.timestamp >= from && event.timestamp < boundaries[index + 1]!).length,
    })),
  };
}

/** Compares statistics field by field; average confidences to 9 decimal places. */
export function expectStatistics(actual: EventStatistics, expected: EventStatistics, label = ''): void {
  expect(actual.buckets, label).toEqual(expected.buckets);
  expect(actual.total, label).toBe(expected.total);
  expect(actual.byType, label).toEqual(expected.byType);
  expect(actual.bySource, label).toEqual(expected.bySource);
  expect(actual.byLabel, label).toEqual(expected.byLabel);
  expect(Object.keys(actual.averageConfidenceByType).sort(), label).toEqual(Object.keys(expected.averageConfidenceByType).sort());
  for (const [type, average] of Object.entries(expected.averageConfidenceByType)) {
    if (average === null) expect(actual.averageConfidenceByType[type], `${label} ${type}`).toBeNull();
    else expect(actual.averageConfidenceByType[type], `${label} ${type}`).toBeCloseTo(average, 9);
  }
}
