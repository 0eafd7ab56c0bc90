import { invalidArgument } from '../errors.js';

/** Tags of a series: a flat map of string keys to string values, such as `{ camera: 'front' }`. */
export type MetricTags = Record<string, string>;

export const MAX_TAGS = 16;
export const MAX_TAG_VALUE_LENGTH = 256;
const TAG_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
/** Keys that passed TAG_KEY_PATTERN, so the hot path tests each key once. A deployment uses a few dozen. */
const knownKeys = new Set<string>();
const MAX_KNOWN_KEYS = 1024;

/**
 * Checks `tags` and returns its canonical JSON: keys sorted, no whitespace, `{}` for no tags. Equal
 * tag sets give equal strings, which identify a series together with the metric name.
 */
export function canonicalTags(tags: unknown, name: string): string {
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags) || !isPlain(tags)) {
    throw invalidArgument(`${name} must be a flat object of string values such as { camera: "front" }, got ${describe(tags)}.`, { [name]: describe(tags) });
  }
  const keys = Object.keys(tags);
  if (keys.length === 0) return '{}';
  if (keys.length > MAX_TAGS) throw invalidArgument(`${name} has ${keys.length} tags; at most ${MAX_TAGS} are allowed.`, {});

  if (keys.length > 1) keys.sort();
  let json = '{';
  for (const key of keys) {
    const value = (tags as Record<string, unknown>)[key];
    if (!knownKeys.has(key)) {
      if (!TAG_KEY_PATTERN.test(key)) {
        throw invalidArgument(`${name} key ${JSON.stringify(key)} must be 1 to 64 letters, digits, "_", "." or "-", starting with a letter or "_".`, { key });
      }
      if (knownKeys.size < MAX_KNOWN_KEYS) knownKeys.add(key);
    }
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_TAG_VALUE_LENGTH) {
      throw invalidArgument(`${name}.${key} must be a non-empty string of at most ${MAX_TAG_VALUE_LENGTH} characters, got ${describe(value)}; tags are flat string maps.`, { key });
    }
    // A key that matches TAG_KEY_PATTERN needs no escaping; a value may.
    json += `${json.length === 1 ? '"' : ',"'}${key}":${JSON.stringify(value)}`;
  }
  return `${json}}`;
}

function isPlain(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
