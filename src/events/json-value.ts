import { ErrorCodes, ValidationError } from '../errors.js';
import type { JsonObject, JsonValue } from './event-types.js';

/** Largest serialized size of one JSON field of an event, in UTF-16 code units. */
export const MAX_JSON_LENGTH = 1_048_576;

/** Deepest nesting of arrays and objects accepted in a JSON field. */
const MAX_DEPTH = 64;

/**
 * Checks that `value` is JSON that round-trips unchanged (plain objects, arrays, strings, finite
 * numbers, booleans, null) and returns its serialized text. Dates, Maps, class instances, undefined,
 * functions, NaN and cycles are rejected with the path of the offending value.
 */
export function serializeJson(value: unknown, name: string): string {
  checkJsonValue(value, name, 0, new Set());
  const text = JSON.stringify(value);
  if (text.length > MAX_JSON_LENGTH) {
    throw new ValidationError(ErrorCodes.INVALID_JSON, `${name} serializes to ${text.length} characters; at most ${MAX_JSON_LENGTH} are stored per field. Store large payloads elsewhere and keep a reference.`, { details: { name, length: text.length } });
  }
  return text;
}

export function serializeJsonObject(value: unknown, name: string): string {
  if (!isPlainObject(value)) throw notJson(`${name} must be a JSON object such as { "zone": "porch" }, got ${describe(value)}.`, name);
  return serializeJson(value, name);
}

export function serializeJsonArray(value: unknown, name: string): string {
  if (!Array.isArray(value)) throw notJson(`${name} must be an array of JSON values, got ${describe(value)}.`, name);
  return serializeJson(value, name);
}

/** Joins the string values found anywhere in `value` (not its keys) with newlines, for the full-text index. */
export function searchableText(value: JsonValue): string {
  const strings: string[] = [];
  collectStrings(value, strings);
  return strings.join('\n');
}

function collectStrings(value: JsonValue, strings: string[]): void {
  if (typeof value === 'string') {
    strings.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collectStrings(item, strings);
  } else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) collectStrings(item, strings);
  }
}

function checkJsonValue(value: unknown, path: string, depth: number, ancestors: Set<object>): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw notJson(`${path} is ${value}, which JSON cannot represent; use null or a finite number.`, path);
    return;
  }
  if (typeof value !== 'object') throw notJson(`${path} is ${describe(value)}, which is not JSON; use a string, number, boolean, null, array or plain object.`, path);
  if (depth >= MAX_DEPTH) throw notJson(`${path} is nested more than ${MAX_DEPTH} levels deep.`, path);
  if (ancestors.has(value)) throw notJson(`${path} refers back to one of its parents; JSON cannot hold cycles.`, path);

  ancestors.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkJsonValue(item, `${path}[${index}]`, depth + 1, ancestors));
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) checkJsonValue(item, `${path}.${key}`, depth + 1, ancestors);
  } else {
    throw notJson(`${path} is ${describe(value)}, which is not JSON; convert it first (a Date to an ISO string, a Map to an object).`, path);
  }
  ancestors.delete(value);
}

export function isPlainObject(value: unknown): value is JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'object'}`;
  if (typeof value === 'bigint') return `the bigint ${value}n`;
  return typeof value === 'string' ? `the string ${JSON.stringify(value)}` : `${typeof value} ${String(value)}`;
}

function notJson(message: string, name: string): ValidationError {
  return new ValidationError(ErrorCodes.INVALID_JSON, message, { details: { name } });
}
