import type { JsonValue } from '../audit/canonical-json.js';

/**
 * Applies a JSON Merge Patch (RFC 7386) to `target` and returns the result without changing either
 * argument: an object patch merges into an object member by member, a `null` member deletes that
 * member, and any other patch value (arrays included) replaces the target.
 */
export function applyMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return patch;

  const result: { [key: string]: JsonValue } = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
    } else {
      result[key] = applyMergePatch(result[key], value);
    }
  }
  return result;
}

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
