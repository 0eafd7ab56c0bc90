/** The event types Porchlight names; any other string matching `CUSTOM_TYPE_PATTERN` is a custom type. */
export const EVENT_TYPES = Object.freeze([
  'motion',
  'person',
  'face_recognized',
  'face_unknown',
  'blacklist_match',
  'doorbell_press',
  'package',
  'vehicle',
  'system',
] as const);

export type KnownEventType = (typeof EVENT_TYPES)[number];

/** A known type, or a custom one: a letter or digit, then up to 63 letters, digits, `_`, `.`, `:` or `-`. */
export type EventType = KnownEventType | (string & {});

/** A point in time: a Date, milliseconds since the Unix epoch, or an ISO 8601 string with `Z` or an offset. */
export type TimeInput = Date | number | string;

/** A value that survives `JSON.stringify` and `JSON.parse` unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type JsonObject = { [key: string]: JsonValue };

/** An event to store. Only `type` and `source` are required. */
export interface NewEvent {
  /** Unique id. Default: a UUIDv7 whose time part is `timestamp`. */
  id?: string;
  type: EventType;
  /** When the event started. Default: now. */
  timestamp?: TimeInput;
  endTime?: TimeInput | null;
  /** Camera or component that produced the event. */
  source: string;
  /** Detection confidence, 0 to 1. */
  confidence?: number | null;
  /** What was detected, for example `person` or `car`. */
  label?: string | null;
  /** A refinement of the label, for example a recognized name or a plate. */
  subLabel?: string | null;
  /** Id of the face person that matched; not checked against the face store, and kept when that person is removed. */
  personId?: string | null;
  /** Processing stage, for example `detected` or `enriched`. */
  stage?: string | null;
  /** Detector output, a JSON object; its string values are full-text searchable. */
  data?: JsonObject;
  /** Results added later by other components, a JSON object. */
  enrichments?: JsonObject;
  /** Problems met while processing the event, JSON values. */
  errors?: JsonValue[];
  /** Id of the event this one belongs to, for example the doorbell press that led to a face match. */
  parentId?: string | null;
}

/** A stored event. Times are ISO 8601 strings in UTC with milliseconds. */
export interface StoredEvent {
  id: string;
  type: string;
  timestamp: string;
  endTime: string | null;
  source: string;
  confidence: number | null;
  label: string | null;
  subLabel: string | null;
  personId: string | null;
  stage: string | null;
  data: JsonObject;
  enrichments: JsonObject;
  errors: JsonValue[];
  parentId: string | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * Changes to an event during its lifecycle. `enrichments` and `data` are merged into the stored
 * objects as a JSON merge patch (RFC 7396: a `null` value removes that key); `errors` are appended.
 */
export interface EventPatch {
  endTime?: TimeInput | null;
  stage?: string | null;
  confidence?: number | null;
  label?: string | null;
  subLabel?: string | null;
  personId?: string | null;
  data?: JsonObject;
  enrichments?: JsonObject;
  errors?: JsonValue[];
}

export interface StoreEventOptions {
  /** Reject an event whose `parentId` is neither stored nor in the same batch. Default true. */
  requireParent?: boolean;
}

/** Conditions that select events; all given conditions must hold. */
export interface EventFilter {
  /** Events at or after this time. */
  start?: TimeInput;
  /** Events before this time. */
  end?: TimeInput;
  types?: readonly string[];
  sources?: readonly string[];
  labels?: readonly string[];
  personIds?: readonly string[];
  /** Lowest confidence, inclusive; events without a confidence never match. */
  minConfidence?: number;
  /** Highest confidence, inclusive; events without a confidence never match. */
  maxConfidence?: number;
  /** Children of this event. */
  parentId?: string;
  /** true: events with at least one error; false: events without errors. */
  hasErrors?: boolean;
  /**
   * Words that must all occur in the label, sub-label or a string value of data (case and accents
   * ignored). A word ending in `*` matches as a prefix.
   */
  search?: string;
}

export interface EventQuery extends EventFilter {
  /** By time: `desc` (default) newest first, `asc` oldest first. Events of the same millisecond keep insert order. */
  order?: 'asc' | 'desc';
  /** Events per page, 1 to 10,000. Default 100. */
  limit?: number;
  /** `nextCursor` of the previous page of the same query. */
  cursor?: string;
}

export interface EventPage {
  events: StoredEvent[];
  /** Cursor of the next page, or null on the last page. */
  nextCursor: string | null;
}

export interface EventStatisticsOptions {
  start: TimeInput;
  end: TimeInput;
  bucket: 'hour' | 'day';
  /** IANA time zone whose local hours or days form the buckets. Default `UTC`. */
  timeZone?: string;
}

export interface EventBucket {
  /** ISO 8601 UTC start; the first bucket starts at `start` even when that is inside a local hour or day. */
  start: string;
  /** ISO 8601 UTC end, exclusive; the last bucket ends at `end`. */
  end: string;
  count: number;
}

export interface EventStatistics {
  start: string;
  end: string;
  bucket: 'hour' | 'day';
  timeZone: string;
  total: number;
  byType: Record<string, number>;
  bySource: Record<string, number>;
  /** Events without a label are not counted here. */
  byLabel: Record<string, number>;
  /** Mean confidence of each type's events that have one; null when none has. */
  averageConfidenceByType: Record<string, number | null>;
  /** One bucket per local hour or day, in time order, including empty ones. */
  buckets: EventBucket[];
}
