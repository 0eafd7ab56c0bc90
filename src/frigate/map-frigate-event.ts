import { describeJson } from '../import/encoding-entry.js';
import { invalidRecord, type RecordLocation } from '../import/record-location.js';
import type { FrigateApiEvent, FrigateEventRow, FrigateTrackedObject } from './frigate-types.js';

/** A Frigate event in Porchlight's terms, ready to be stored. Times are milliseconds since the epoch, UTC. */
export interface MappedFrigateEvent {
  /** Frigate's own id, such as `1623454583.525913-y14xk9`, so a second import finds the first. */
  id: string;
  type: string;
  timestamp: number;
  endTime: number | null;
  /** The camera. */
  source: string;
  /** Frigate's top score, 0 to 1, or null when the record has none. */
  confidence: number | null;
  label: string;
  subLabel: string | null;
  /** `{ frigate: record }`: the Frigate record as read, with JSON columns parsed and its `data` kept whole. */
  data: { frigate: Record<string, unknown> };
}

export interface MapFrigateOptions {
  /** Keep the base64 JPEG thumbnail that Frigate stores with each event. Default false: it is large and Frigate keeps it. */
  thumbnails?: boolean;
}

/**
 * Porchlight event types for Frigate labels. Any other label becomes a custom type of its own name,
 * with characters that event types do not allow (the spaces of COCO labels such as `traffic light`)
 * replaced by `_`.
 */
export const FRIGATE_LABEL_TYPES: Readonly<Record<string, string>> = Object.freeze({
  person: 'person',
  car: 'vehicle',
  truck: 'vehicle',
  bus: 'vehicle',
  motorcycle: 'vehicle',
  bicycle: 'vehicle',
  boat: 'vehicle',
  package: 'package',
});

/** Largest epoch-seconds value accepted; a larger one is almost surely milliseconds (year 5138 and later). */
const MAX_EPOCH_SECONDS = 1e11;

/** Maps a row of Frigate's `event` table; a malformed row is rejected naming its location and event id. */
export function mapFrigateRow(row: FrigateEventRow, location: RecordLocation | string, options: MapFrigateOptions = {}): MappedFrigateEvent {
  const record: Record<string, unknown> = { ...row };
  for (const column of ['zones', 'data', 'region', 'box'] as const) {
    const text = row[column];
    if (text === null || text === undefined) continue;
    try {
      record[column] = JSON.parse(text);
    } catch (error) {
      throw invalidRecord(location, `event ${JSON.stringify(row.id)}: column ${column} is not valid JSON (${(error as Error).message}).`, { cause: error });
    }
  }
  if (options.thumbnails !== true) delete record.thumbnail;

  const data = record.data as Record<string, unknown> | undefined;
  return mapFields({
    id: row.id,
    camera: row.camera,
    label: row.label,
    subLabel: row.sub_label,
    startTime: row.start_time,
    endTime: row.end_time,
    topScore: data?.top_score ?? row.top_score ?? data?.score ?? row.score,
    zones: record.zones,
    record,
  }, location);
}

/** Maps one record of Frigate's `/api/events` response. */
export function mapFrigateApiEvent(event: FrigateApiEvent, location: RecordLocation | string, options: MapFrigateOptions = {}): MappedFrigateEvent {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) throw invalidRecord(location, `expected a Frigate event object, got ${describeJson(event)}.`);
  const record: Record<string, unknown> = { ...event };
  if (options.thumbnails !== true) delete record.thumbnail;

  return mapFields({
    id: event.id,
    camera: event.camera,
    label: event.label,
    subLabel: event.sub_label,
    startTime: event.start_time,
    endTime: event.end_time,
    topScore: event.data?.top_score ?? event.top_score ?? event.data?.score,
    zones: event.zones,
    record,
  }, location);
}

/**
 * Maps the `after` object of a `frigate/events` message. `ended` is set for an `end` message: its end
 * time is the object's `end_time`, or its last `frame_time` when a publisher left `end_time` null.
 */
export function mapFrigateTrackedObject(object: FrigateTrackedObject, location: RecordLocation | string, ended = false): MappedFrigateEvent {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) throw invalidRecord(location, `expected a tracked object in "after", got ${describeJson(object)}.`);
  const endTime = object.end_time ?? (ended ? object.frame_time ?? null : null);

  return mapFields({
    id: object.id,
    camera: object.camera,
    label: object.label,
    subLabel: object.sub_label,
    startTime: object.start_time,
    endTime,
    topScore: object.top_score ?? object.score,
    zones: object.entered_zones,
    record: { ...object },
  }, location);
}

interface FrigateFields {
  id: unknown;
  camera: unknown;
  label: unknown;
  subLabel: unknown;
  startTime: unknown;
  endTime: unknown;
  topScore: unknown;
  zones: unknown;
  record: Record<string, unknown>;
}

function mapFields(fields: FrigateFields, location: RecordLocation | string): MappedFrigateEvent {
  const fail = (message: string) => invalidRecord(location, typeof fields.id === 'string' ? `event ${JSON.stringify(fields.id)}: ${message}` : message);

  if (typeof fields.id !== 'string' || fields.id.length === 0) throw fail(`id must be a non-empty string, got ${describeJson(fields.id)}.`);
  if (typeof fields.camera !== 'string' || fields.camera.length === 0) throw fail(`camera must be a non-empty string, got ${describeJson(fields.camera)}.`);
  if (typeof fields.label !== 'string' || fields.label.length === 0) throw fail(`label must be a non-empty string, got ${describeJson(fields.label)}.`);
  const subLabel = mapSubLabel(fields.subLabel);
  if (subLabel === undefined) throw fail(`sub_label must be a string, [name, score] or null, got ${describeJson(fields.subLabel)}.`);

  const startTime = fields.startTime;
  if (typeof startTime !== 'number' || !Number.isFinite(startTime) || startTime < 0 || startTime >= MAX_EPOCH_SECONDS) {
    throw fail(`start_time must be epoch seconds, got ${describeJson(startTime)}.`);
  }
  const endTime = fields.endTime;
  if (endTime !== null && endTime !== undefined && (typeof endTime !== 'number' || !Number.isFinite(endTime) || endTime < startTime || endTime >= MAX_EPOCH_SECONDS)) {
    throw fail(`end_time must be null or epoch seconds not before start_time ${startTime}, got ${describeJson(endTime)}.`);
  }
  const topScore = fields.topScore;
  if (topScore !== null && topScore !== undefined && (typeof topScore !== 'number' || !(topScore >= 0 && topScore <= 1))) {
    throw fail(`top_score must be a number from 0 to 1, got ${describeJson(topScore)}.`);
  }
  if (fields.zones !== undefined && fields.zones !== null && !(Array.isArray(fields.zones) && fields.zones.every((zone) => typeof zone === 'string'))) {
    throw fail(`zones must be an array of zone names, got ${describeJson(fields.zones)}.`);
  }

  return {
    id: fields.id,
    type: eventTypeOf(fields.label),
    timestamp: Math.round(startTime * 1000),
    endTime: typeof endTime === 'number' ? Math.round(endTime * 1000) : null,
    source: fields.camera,
    confidence: typeof topScore === 'number' ? topScore : null,
    label: fields.label,
    subLabel,
    data: { frigate: fields.record },
  };
}

/** Returns the event type for a Frigate label. */
export function eventTypeOf(label: string): string {
  const known = FRIGATE_LABEL_TYPES[label];
  if (known !== undefined) return known;

  const custom = label.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 64);
  return /^[A-Za-z0-9]/.test(custom) ? custom : `x${custom.slice(0, 63)}`;
}

/** Returns the sub-label's name, null when it is unset or empty, or undefined when it has neither accepted shape. */
function mapSubLabel(value: unknown): string | null | undefined {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0] === '' ? null : value[0];
  return undefined;
}
