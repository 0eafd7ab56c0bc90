import type { EventFilter, NewEvent, StoredEvent } from '../../src/index.js';
import { randomGenerator } from './reference.js';

export const TYPES = ['motion', 'person', 'face_recognized', 'doorbell_press', 'vehicle', 'garage.door'];
export const SOURCES = ['front_door', 'driveway', 'garden', 'garage'];
export const LABELS = ['person', 'car', 'package', null];
export const WORDS = ['porch', 'red', 'blue', 'courier', 'neighbour', 'plate', 'umbrella', 'bicycle'];

/** 2026-03-20T00:00:00.000Z: ten days around the European spring daylight-saving change. */
export const BASE_TIME = Date.UTC(2026, 2, 20);

export interface GeneratedEvent extends NewEvent {
  id: string;
  timestamp: number;
  /** Position in insert order, the tie-breaker of events with the same timestamp. */
  order: number;
}

/**
 * Deterministic events spread over ten days, with given ids, some sharing a millisecond, and the
 * first tenth as parents of later ones.
 */
export function generateEvents(count: number, seed: number, spanMs = 10 * 86_400_000, base = BASE_TIME): GeneratedEvent[] {
  const next = randomGenerator(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
  const events: GeneratedEvent[] = [];
  for (let i = 0; i < count; i++) {
    // Every seventh event reuses the previous timestamp, so ties occur.
    const timestamp = i % 7 === 6 ? events[i - 1]!.timestamp : base + Math.floor(next() * spanMs);
    const label = pick(LABELS);
    const event: GeneratedEvent = {
      id: `ev-${seed}-${String(i).padStart(5, '0')}`,
      order: i,
      type: pick(TYPES),
      timestamp,
      source: pick(SOURCES),
      confidence: next() < 0.1 ? null : Math.round(next() * 1000) / 1000,
      label,
      subLabel: next() < 0.2 ? pick(WORDS) : null,
      personId: next() < 0.3 ? `person-${Math.floor(next() * 20)}` : null,
      data: { words: [pick(WORDS), pick(WORDS)], zone: pick(['porch', 'yard']), score: next() },
      errors: next() < 0.1 ? [{ stage: 'enrich', message: 'timeout' }] : [],
      parentId: i > count / 10 && next() < 0.2 ? `ev-${seed}-${String(Math.floor(next() * (count / 10))).padStart(5, '0')}` : null,
    };
    events.push(event);
  }
  return events;
}

function time(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') return Date.parse(value);
  return value as number;
}

function words(text: string | null | undefined): string[] {
  return (text ?? '').toLowerCase().split(/[^a-z0-9]+/).filter((word) => word.length > 0);
}

function stringValues(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringValues);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringValues);
  return [];
}

/** Brute-force filter: the events that `filter` should select, in time order (insert order within a millisecond). */
export function referenceFilter(events: GeneratedEvent[], filter: EventFilter, order: 'asc' | 'desc' = 'desc'): GeneratedEvent[] {
  const matches = events.filter((event) => {
    if (filter.start !== undefined && event.timestamp < time(filter.start)) return false;
    if (filter.end !== undefined && event.timestamp >= time(filter.end)) return false;
    if (filter.types !== undefined && !filter.types.includes(event.type)) return false;
    if (filter.sources !== undefined && !filter.sources.includes(event.source)) return false;
    if (filter.labels !== undefined && (event.label == null || !filter.labels.includes(event.label))) return false;
    if (filter.personIds !== undefined && (event.personId == null || !filter.personIds.includes(event.personId))) return false;
    if (filter.minConfidence !== undefined && (event.confidence == null || event.confidence < filter.minConfidence)) return false;
    if (filter.maxConfidence !== undefined && (event.confidence == null || event.confidence > filter.maxConfidence)) return false;
    if (filter.parentId !== undefined && event.parentId !== filter.parentId) return false;
    if (filter.hasErrors !== undefined && (event.errors!.length > 0) !== filter.hasErrors) return false;
    if (filter.search !== undefined) {
      const tokens = new Set([...words(event.label), ...words(event.subLabel), ...stringValues(event.data).flatMap(words)]);
      for (const term of filter.search.toLowerCase().split(/\s+/).filter(Boolean)) {
        const ok = term.endsWith('*') ? [...tokens].some((token) => token.startsWith(term.slice(0, -1))) : tokens.has(term);
        if (!ok) return false;
      }
    }
    return true;
  });
  matches.sort((a, b) => a.timestamp - b.timestamp || a.order - b.order);
  return order === 'desc' ? matches.reverse() : matches;
}

export function ids(events: readonly (StoredEvent | GeneratedEvent)[]): string[] {
  return events.map((event) => event.id);
}

/** Returns the event as `storeEvents` takes it, without the test's bookkeeping field. */
export function toNewEvent(event: GeneratedEvent): NewEvent {
  const { order: _order, ...rest } = event;
  return rest;
}
