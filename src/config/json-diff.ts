import { pointerToken, type JsonValue } from '../audit/canonical-json.js';

export interface JsonChange {
  /** JSON Pointer (RFC 6901) of the member or element: `/cameras/front/fps`, `/zones/2`; `""` is the whole document. */
  path: string;
  kind: 'added' | 'removed' | 'changed';
  /** The old value; absent for `added`. */
  before?: JsonValue;
  /** The new value; absent for `removed`. */
  after?: JsonValue;
}

/**
 * Lists the differences between two JSON documents, members in sorted key order. Objects are
 * compared member by member and arrays element by element at the same index, so an element inserted
 * at the front of an array shows as every later index changed and one added at the end. A member
 * whose type changes (object to number, array to object) is one `changed` entry for the whole value.
 */
export function diffJson(before: JsonValue, after: JsonValue): JsonChange[] {
  const changes: JsonChange[] = [];
  compare(before, after, '', changes);
  return changes;
}

function compare(before: JsonValue, after: JsonValue, path: string, changes: JsonChange[]): void {
  if (Array.isArray(before) && Array.isArray(after)) {
    const shared = Math.min(before.length, after.length);
    for (let index = 0; index < shared; index++) compare(before[index]!, after[index]!, path + pointerToken(index), changes);
    for (let index = shared; index < before.length; index++) changes.push({ path: path + pointerToken(index), kind: 'removed', before: before[index]! });
    for (let index = shared; index < after.length; index++) changes.push({ path: path + pointerToken(index), kind: 'added', after: after[index]! });
    return;
  }

  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) {
      const memberPath = path + pointerToken(key);
      if (!Object.hasOwn(after, key)) changes.push({ path: memberPath, kind: 'removed', before: before[key]! });
      else if (!Object.hasOwn(before, key)) changes.push({ path: memberPath, kind: 'added', after: after[key]! });
      else compare(before[key]!, after[key]!, memberPath, changes);
    }
    return;
  }

  // Scalars compare by value; any pair involving an array or object here differs in type.
  const bothScalar = (before === null || typeof before !== 'object') && (after === null || typeof after !== 'object');
  if (!bothScalar || before !== after) changes.push({ path, kind: 'changed', before, after });
}

function isObject(value: JsonValue): value is { [key: string]: JsonValue } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
