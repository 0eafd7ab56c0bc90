import { ErrorCodes, ValidationError, invalidArgument } from '../errors.js';
import { checkKeys } from '../faces/face-database.js';
import { createEventId } from './event-id.js';
import { toEpochMilliseconds } from './event-time.js';
import type { EventPatch, JsonValue, NewEvent } from './event-types.js';
import { serializeJsonArray, serializeJsonObject } from './json-value.js';

export const CUSTOM_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Maximum length of an id, source, label, sub-label, person id or stage, in UTF-16 code units. */
export const MAX_TEXT_LENGTH = 256;

const NEW_EVENT_KEYS = ['id', 'type', 'timestamp', 'endTime', 'source', 'confidence', 'label', 'subLabel', 'personId', 'stage', 'data', 'enrichments', 'errors', 'parentId'] as const;
const PATCH_KEYS = ['endTime', 'stage', 'confidence', 'label', 'subLabel', 'personId', 'data', 'enrichments', 'errors'] as const;

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
}

/** Checks one new event and converts it to its row; `name` prefixes messages, for example `events[3]`. */
export function prepareEvent(event: NewEvent, name: string, now: number): PreparedEvent {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    throw invalidArgument(`${name} must be an event object with at least type and source.`, { name });
  }
  checkKeys(event, NEW_EVENT_KEYS, name);

  const timestamp = event.timestamp === undefined ? now : toEpochMilliseconds(event.timestamp, `${name}.timestamp`);
  const endTime = optionalTime(event.endTime, `${name}.endTime`);
  if (endTime !== null && endTime < timestamp) {
    throw endBeforeStart(`${name}.endTime`, endTime, timestamp);
  }

  const searchStrings: string[] = [];
  const dataText = serializeJsonObject(event.data ?? {}, `${name}.data`, searchStrings);
  const errors = event.errors ?? [];
  return {
    id: event.id === undefined ? createEventId(timestamp) : checkText(event.id, `${name}.id`),
    type: checkType(event.type, `${name}.type`),
    timestamp,
    endTime,
    source: checkText(event.source, `${name}.source`),
    confidence: optionalConfidence(event.confidence, `${name}.confidence`),
    label: optionalText(event.label, `${name}.label`),
    subLabel: optionalText(event.subLabel, `${name}.subLabel`),
    personId: optionalText(event.personId, `${name}.personId`),
    stage: optionalText(event.stage, `${name}.stage`),
    data: dataText,
    enrichments: serializeJsonObject(event.enrichments ?? {}, `${name}.enrichments`),
    errors: serializeJsonArray(errors, `${name}.errors`),
    errorCount: errors.length,
    parentId: optionalText(event.parentId, `${name}.parentId`),
    searchText: searchStrings.join('\n'),
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
  if ('stage' in patch) prepared.stage = optionalText(patch.stage, 'patch.stage');
  if ('confidence' in patch) prepared.confidence = optionalConfidence(patch.confidence, 'patch.confidence');
  if ('label' in patch) prepared.label = optionalText(patch.label, 'patch.label');
  if ('subLabel' in patch) prepared.subLabel = optionalText(patch.subLabel, 'patch.subLabel');
  if ('personId' in patch) prepared.personId = optionalText(patch.personId, 'patch.personId');
  if ('data' in patch) prepared.data = serializeJsonObject(patch.data, 'patch.data');
  if ('enrichments' in patch) prepared.enrichments = serializeJsonObject(patch.enrichments, 'patch.enrichments');
  if ('errors' in patch) {
    serializeJsonArray(patch.errors, 'patch.errors');
    prepared.errors = patch.errors!;
  }
  return prepared;
}

/** Builds the error for an end before its start: an event's end time, or the end of a filter or statistics range. */
export function endBeforeStart(name: string, end: number, start: number): ValidationError {
  return new ValidationError(ErrorCodes.INVALID_TIME_RANGE, `${name} (${new Date(end).toISOString()}) is before the start (${new Date(start).toISOString()}); swap them or fix the end.`, { details: { name, end, start } });
}

export function checkType(type: unknown, name: string): string {
  if (typeof type !== 'string' || !CUSTOM_TYPE_PATTERN.test(type)) {
    throw invalidArgument(`${name} must be an event type such as "motion" or "doorbell_press", or a custom one of 1 to 64 letters, digits, "_", ".", ":" or "-" starting with a letter or digit; got ${JSON.stringify(type)}.`, { name });
  }
  return type;
}

export function checkText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TEXT_LENGTH || /[\u0000-\u001f\u007f]/.test(value)) {
    throw invalidArgument(`${name} must be a string of 1 to ${MAX_TEXT_LENGTH} characters without control characters, got ${JSON.stringify(value)}.`, { name });
  }
  return value;
}

function optionalText(value: unknown, name: string): string | null {
  return value === undefined || value === null ? null : checkText(value, name);
}

function optionalTime(value: unknown, name: string): number | null {
  return value === undefined || value === null ? null : toEpochMilliseconds(value as Date | number | string, name);
}

export function checkConfidence(value: unknown, name: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw invalidArgument(`${name} must be a number from 0 to 1, got ${JSON.stringify(value)}.`, { name });
  }
  return value;
}

function optionalConfidence(value: unknown, name: string): number | null {
  return value === undefined || value === null ? null : checkConfidence(value, name);
}
