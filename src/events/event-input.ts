import { ErrorCodes, ValidationError, invalidArgument, showValue } from '../errors.js';
import { checkKeys } from '../faces/face-database.js';
import { createEventId } from './event-id.js';
import { MAX_TIMESTAMP, toEpochMilliseconds } from './event-time.js';
import type { EventPatch, JsonValue, NewEvent, TimeInput } from './event-types.js';
import { isPlainObject, serializeJsonArray, serializeJsonObject } from './json-value.js';

export const CUSTOM_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Maximum length of an id, source, label, sub-label, person id or stage, in UTF-16 code units. */
export const MAX_TEXT_LENGTH = 256;

const NEW_EVENT_KEYS = ['id', 'type', 'timestamp', 'endTime', 'source', 'confidence', 'label', 'subLabel', 'personId', 'stage', 'data', 'enrichments', 'errors', 'parentId', 'keep'] as const;
const NEW_EVENT_KEY_SET: ReadonlySet<string> = new Set(NEW_EVENT_KEYS);
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const PATCH_KEYS = ['endTime', 'stage', 'confidence', 'label', 'subLabel', 'personId', 'data', 'enrichments', 'errors', 'keep'] as const;

/** A checked event in the shape of its row, ready to insert. */
export interface PreparedEvent {
  id: string;
  type: string;
  timestamp: number;
  endTime: number | null;
  source: string;
  confidence: number | null;
  label: string | null;
  subLabel: string | null;
  personId: string | null;
  stage: string | null;
  data: string;
  enrichments: string;
  errors: string;
  errorCount: number;
  parentId: string | null;
  /** 1 when retention must never delete the event, else 0. */
  keep: number;
  /** String values of data, for the full-text index. */
  searchText: string;
}

/** A checked patch: only the keys that were given, with JSON already serialized. */
export interface PreparedPatch {
  endTime?: number | null;
  stage?: string | null;
  confidence?: number | null;
  label?: string | null;
  subLabel?: string | null;
  personId?: string | null;
  data?: string;
  enrichments?: string;
  errors?: JsonValue[];
  keep?: boolean;
}

/**
 * Checks one new event and converts it to its row. `name` prefixes messages, for example `events[3]`.
 * A function is called only when a message is built, so a valid event builds no names. A field that
 * fails its fast check goes to its checker, which throws the error with the field's name.
 */
export function prepareEvent(event: NewEvent, name: string | (() => string), now: number): PreparedEvent {
  const nameOf = typeof name === 'string' ? () => name : name;
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw invalidArgument(`${nameOf()} must be an event object with at least type and source.`, { name: nameOf() });
  }
  for (const key in event) {
    if (!NEW_EVENT_KEY_SET.has(key)) {
      checkKeys(event, NEW_EVENT_KEYS, nameOf());
      break;
    }
  }

  // Each field is read once: a getter could return a different value on a second read.
  const { id, type, timestamp: start, endTime: end, source, confidence, label, subLabel, personId, stage, data, enrichments, errors, parentId, keep } = event;
  const timestamp = start === undefined ? now : requiredTime(start, nameOf, 'timestamp');
  const endTime = end === undefined || end === null ? null : requiredTime(end, nameOf, 'endTime');
  if (endTime !== null && endTime < timestamp) {
    throw endBeforeStart(`${nameOf()}.endTime`, endTime, timestamp);
  }

  const searchStrings: string[] = [];
  const dataText = isEmptyObject(data) ? '{}' : serializeJsonObject(data, `${nameOf()}.data`, searchStrings);
  const errorList = errors ?? [];
  const errorText = Array.isArray(errorList) && errorList.length === 0 ? '[]' : serializeJsonArray(errorList, `${nameOf()}.errors`);
  return {
    id: id === undefined ? createEventId(timestamp) : requiredText(id, nameOf, 'id'),
    type: typeof type === 'string' && CUSTOM_TYPE_PATTERN.test(type) ? type : checkType(type, `${nameOf()}.type`),
    timestamp,
    endTime,
    source: requiredText(source, nameOf, 'source'),
    confidence: confidence === undefined || confidence === null ? null : requiredConfidence(confidence, nameOf),
    label: optionalText(label, nameOf, 'label'),
    subLabel: optionalText(subLabel, nameOf, 'subLabel'),
    personId: optionalText(personId, nameOf, 'personId'),
    stage: optionalText(stage, nameOf, 'stage'),
    data: dataText,
    enrichments: isEmptyObject(enrichments) ? '{}' : serializeJsonObject(enrichments, `${nameOf()}.enrichments`),
    errors: errorText,
    // serializeJsonArray accepted errorList, so it is an array.
    errorCount: (errorList as unknown[]).length,
    parentId: optionalText(parentId, nameOf, 'parentId'),
    keep: keep === undefined ? 0 : Number(typeof keep === 'boolean' ? keep : checkBoolean(keep, `${nameOf()}.keep`)),
    searchText: searchStrings.length === 0 ? '' : searchStrings.join('\n'),
  };
}

/** Checks a lifecycle patch; at least one key must be given. */
export function preparePatch(patch: EventPatch): PreparedPatch {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    throw invalidArgument(`patch must be an object with some of ${PATCH_KEYS.join(', ')}.`, {});
  }
  checkKeys(patch, PATCH_KEYS, 'patch');
  if (Object.keys(patch).length === 0) throw invalidArgument(`patch is empty; give at least one of ${PATCH_KEYS.join(', ')}.`, {});

  const prepared: PreparedPatch = {};
  if ('endTime' in patch) prepared.endTime = optionalTime(patch.endTime, 'patch.endTime');
  if ('stage' in patch) prepared.stage = namedOptionalText(patch.stage, 'patch.stage');
  if ('confidence' in patch) prepared.confidence = optionalConfidence(patch.confidence, 'patch.confidence');
  if ('label' in patch) prepared.label = namedOptionalText(patch.label, 'patch.label');
  if ('subLabel' in patch) prepared.subLabel = namedOptionalText(patch.subLabel, 'patch.subLabel');
  if ('personId' in patch) prepared.personId = namedOptionalText(patch.personId, 'patch.personId');
  if ('data' in patch) prepared.data = serializeJsonObject(patch.data, 'patch.data');
  if ('enrichments' in patch) prepared.enrichments = serializeJsonObject(patch.enrichments, 'patch.enrichments');
  if ('errors' in patch) {
    serializeJsonArray(patch.errors, 'patch.errors');
    prepared.errors = patch.errors!;
  }
  if ('keep' in patch) prepared.keep = checkBoolean(patch.keep, 'patch.keep');
  return prepared;
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgument(`${name} must be true or false, got ${showValue(value)}.`, { name });
  return value;
}

/** Builds the error for an end before its start: an event's end time, or the end of a filter or statistics range. */
export function endBeforeStart(name: string, end: number, start: number): ValidationError {
  return new ValidationError(ErrorCodes.INVALID_TIME_RANGE, `${name} (${new Date(end).toISOString()}) is before the start (${new Date(start).toISOString()}); swap them or fix the end.`, { details: { name, end, start } });
}

export function checkType(type: unknown, name: string): string {
  if (typeof type !== 'string' || !CUSTOM_TYPE_PATTERN.test(type)) {
    throw invalidArgument(`${name} must be an event type such as "motion" or "doorbell_press", or a custom one of 1 to 64 letters, digits, "_", ".", ":" or "-" starting with a letter or digit; got ${showValue(type)}.`, { name });
  }
  return type;
}

export function checkText(value: unknown, name: string): string {
  if (!isText(value)) {
    throw invalidArgument(`${name} must be a string of 1 to ${MAX_TEXT_LENGTH} characters without control characters, got ${showValue(value)}.`, { name });
  }
  return value;
}

function namedOptionalText(value: unknown, name: string): string | null {
  return value === undefined || value === null ? null : checkText(value, name);
}

/** Checks an optional text field of a new event, building its name only when the value is rejected. */
function optionalText(value: unknown, nameOf: () => string, field: string): string | null {
  if (value === undefined || value === null) return null;
  return requiredText(value, nameOf, field);
}

function requiredText(value: unknown, nameOf: () => string, field: string): string {
  return isText(value) ? value : checkText(value, `${nameOf()}.${field}`);
}

function requiredTime(value: TimeInput, nameOf: () => string, field: string): number {
  return isEpochMilliseconds(value) ? value : toEpochMilliseconds(value, `${nameOf()}.${field}`);
}

function requiredConfidence(value: unknown, nameOf: () => string): number {
  return isConfidence(value) ? value : checkConfidence(value, `${nameOf()}.confidence`);
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TEXT_LENGTH && !CONTROL_CHARACTER.test(value);
}

function isEpochMilliseconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_TIMESTAMP;
}

function isConfidence(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= 1;
}

/** Returns true for undefined, null and a plain object without keys, which are all stored as `{}`. */
function isEmptyObject(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (!isPlainObject(value)) return false;
  for (const _ in value) return false;
  return true;
}

function optionalTime(value: unknown, name: string): number | null {
  return value === undefined || value === null ? null : toEpochMilliseconds(value as Date | number | string, name);
}

export function checkConfidence(value: unknown, name: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw invalidArgument(`${name} must be a number from 0 to 1, got ${showValue(value)}.`, { name });
  }
  return value;
}

function optionalConfidence(value: unknown, name: string): number | null {
  return value === undefined || value === null ? null : checkConfidence(value, name);
}
