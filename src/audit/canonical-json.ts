import { ErrorCodes, ValidationError } from '../errors.js';

/** Any value that JSON can represent exactly. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Nesting deeper than this is rejected, so a hostile document cannot exhaust the stack. */
export const MAX_JSON_DEPTH = 64;

/**
 * Serializes `value` as canonical JSON: object keys sorted by UTF-16 code units at every level, no
 * whitespace, numbers and strings as `JSON.stringify` writes them (the RFC 8785 scheme). Two values
 * that are equal as JSON therefore serialize to the same string, which makes checksums and hashes
 * independent of key order.
 *
 * Rejects with INVALID_JSON, naming the JSON Pointer of the value, anything that JSON would
 * change or drop: `undefined`, functions, symbols, bigints, NaN and infinities, class instances such
 * as `Date` or `Map`, and cycles.
 */
export function canonicalJson(value: unknown, name: string): string {
  return serialize(value, name, '', 0, new Set());
}

/** Escapes one reference token of a JSON Pointer (RFC 6901). */
export function pointerToken(key: string | number): string {
  return `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

function serialize(value: unknown, name: string, path: string, depth: number, ancestors: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw notJson(name, path, `${value} is not a JSON number`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw notJson(name, path, `a ${typeof value} is not a JSON value`);
  }

  const object = value as object;
  if (depth >= MAX_JSON_DEPTH) throw notJson(name, path, `nesting deeper than ${MAX_JSON_DEPTH} levels is not supported`);
  if (ancestors.has(object)) throw notJson(name, path, 'the value contains itself (a cycle)');
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      const items = object.map((item, index) => serialize(item, name, path + pointerToken(index), depth + 1, ancestors));
      return `[${items.join(',')}]`;
    }

    const prototype = Object.getPrototypeOf(object);
    if (prototype !== Object.prototype && prototype !== null) {
      throw notJson(name, path, `a ${object.constructor?.name ?? 'class'} instance is not plain JSON; convert it first (a Date to an ISO string)`);
    }
    const record = object as Record<string, unknown>;
    const members = Object.keys(record).sort().map((key) => `${JSON.stringify(key)}:${serialize(record[key], name, path + pointerToken(key), depth + 1, ancestors)}`);
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(object);
  }
}

function notJson(name: string, path: string, reason: string): ValidationError {
  return new ValidationError(ErrorCodes.INVALID_JSON, `${name}${path === '' ? '' : ` at ${path}`} cannot be stored as JSON: ${reason}.`, { details: { name, path } });
}
