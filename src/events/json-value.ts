import { ErrorCodes, ValidationError } from '../errors.js';
import type { JsonObject, JsonValue } from './event-types.js';

/** Largest serialized size of one JSON field of an event, in UTF-16 code units. */
export const MAX_JSON_LENGTH = 1_048_576;

/** Deepest nesting of arrays and objects accepted in a JSON field. */
const MAX_DEPTH = 64;

/**
 * Checks that `value` is JSON that round-trips unchanged (plain objects, arrays, strings, finite
 * numbers, booleans, null) and returns its serialized text. Dates, Maps, class instances, undefined,
 * functions, NaN and cycles are rejected with the path of the offending value. When `strings` is
 * given, every string value found (not the keys) is appended to it.
 */
export function serializeJson(value: unknown, name: string, strings?: string[]): string {
  // The fast walk builds no paths; only a value that fails it is walked again to name the problem.
  if (!isJson(value, 0, strings)) throw jsonProblem(value, name, 0, new Set());
  const text = JSON.stringify(value);
  if (text.length > MAX_JSON_LENGTH) {
    throw new ValidationError(ErrorCodes.INVALID_JSON, `${name} serializes to ${text.length} characters; at most ${MAX_JSON_LENGTH} are stored per field. Store large payloads elsewhere and keep a reference.`, { details: { name, length: text.length } });
  }
  return text;
}

export function serializeJsonObject(value: unknown, name: string, strings?: string[]): string {
  if (!isPlainObject(value)) throw notJson(`${name} must be a JSON object such as { "zone": "porch" }, got ${describe(value)}.`, name);
  return isEmpty(value) ? '{}' : serializeJson(value, name, strings);
}

export function serializeJsonArray(value: unknown, name: string): string {
  if (!Array.isArray(value)) throw notJson(`${name} must be an array of JSON values, got ${describe(value)}.`, name);
  return value.length === 0 ? '[]' : serializeJson(value, name);
}

/** Joins the string values found anywhere in `value` (not its keys) with newlines, for the full-text index. */
export function searchableText(value: JsonValue): string {
  const strings: string[] = [];
  isJson(value, 0, strings);
  return strings.join('\n');
}

function isEmpty(value: object): boolean {
  for (const _ in value) return false;
  return true;
}

/** True when `value` is JSON nested at most MAX_DEPTH deep; a cycle exceeds any depth, so it is false too. */
function isJson(value: unknown, depth: number, strings: string[] | undefined): boolean {
  switch (typeof value) {
    case 'string':
      strings?.push(value);
      return true;
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      if (value === null) return true;
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(value)) {
        for (const item of value) if (!isJson(item, depth + 1, strings)) return false;
        return true;
      }
      if (!isPlainObject(value)) return false;
      for (const key in value) {
        if (Object.hasOwn(value, key) && !isJson((value as Record<string, unknown>)[key], depth + 1, strings)) return false;
      }
      return true;
    default:
      return false;
  }
}

/** Builds the error for a value that failed `isJson`, naming the path of the first offending value. */
function jsonProblem(value: unknown, path: string, depth: number, ancestors: Set<object>): ValidationError {
  const problem = findProblem(value, path, depth, ancestors);
  return problem ?? notJson(`${path} is not JSON.`, path);
}

function findProblem(value: unknown, path: string, depth: number, ancestors: Set<object>): ValidationError | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') {
    return Number.isFinite(value) ? undefined : notJson(`${path} is ${value}, which JSON cannot represent; use null or a finite number.`, path);
  }
  if (typeof value !== 'object') return notJson(`${path} is ${describe(value)}, which is not JSON; use a string, number, boolean, null, array or plain object.`, path);
  if (ancestors.has(value)) return notJson(`${path} refers back to one of its parents; JSON cannot hold cycles.`, path);
  if (depth >= MAX_DEPTH) return notJson(`${path} is nested more than ${MAX_DEPTH} levels deep.`, path);
  if (!Array.isArray(value) && !isPlainObject(value)) {
    return notJson(`${path} is ${describe(value)}, which is not JSON; convert it first (a Date to an ISO string, a Map to an object).`, path);
  }

  ancestors.add(value);
  // Array.from visits the holes of a sparse array as undefined, which map would skip.
  const entries: [string, unknown][] = Array.isArray(value) ? Array.from(value, (item, index) => [`${path}[${index}]`, item]) : Object.entries(value).map(([key, item]) => [`${path}.${key}`, item]);
  for (const [itemPath, item] of entries) {
    const problem = findProblem(item, itemPath, depth + 1, ancestors);
    if (problem !== undefined) return problem;
  }
  ancestors.delete(value);
  return undefined;
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
  if (value === undefined) return 'undefined';
  return typeof value === 'string' ? `the string ${JSON.stringify(value)}` : `${typeof value} ${String(value)}`;
}

function notJson(message: string, name: string): ValidationError {
  return new ValidationError(ErrorCodes.INVALID_JSON, message, { details: { name } });
}
