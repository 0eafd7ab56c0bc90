import { describeJson } from '../import/encoding-entry.js';
import { invalidRecord } from '../import/record-location.js';
import type { FrigateEventMessage } from './frigate-types.js';
import { mapFrigateTrackedObject, type MappedFrigateEvent } from './map-frigate-event.js';

/** The meaning of one `frigate/events` message for Porchlight. */
export type FrigateMessageChange =
  | { kind: 'new' | 'update' | 'end'; event: MappedFrigateEvent }
  | { kind: 'ignored'; id: string; reason: string };

const MESSAGE_TYPES = Object.freeze(['new', 'update', 'end']);

/** Name used in errors for a message, which has no file or line. */
export const MESSAGE_SOURCE = 'frigate/events message';

/**
 * Interprets a `frigate/events` message: a parsed object, or the MQTT payload as a string or Buffer.
 * The event is read from `after`, the object's latest state. A message whose object is still a false
 * positive is ignored, as Frigate itself stores no event for it.
 */
export function mapFrigateMessage(message: FrigateEventMessage | string | Uint8Array): FrigateMessageChange {
  const parsed = parsePayload(message);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidRecord(MESSAGE_SOURCE, `expected an object { type, before, after }, got ${describeJson(parsed)}.`);
  }

  const { type, after } = parsed as Partial<FrigateEventMessage>;
  if (typeof type !== 'string' || !MESSAGE_TYPES.includes(type)) {
    throw invalidRecord(MESSAGE_SOURCE, `type must be "new", "update" or "end", got ${describeJson(type)}.`);
  }
  const event = mapFrigateTrackedObject(after!, MESSAGE_SOURCE, type === 'end');

  if (after!.false_positive === true) return { kind: 'ignored', id: event.id, reason: 'false positive' };
  return { kind: type as 'new' | 'update' | 'end', event };
}

function parsePayload(message: FrigateEventMessage | string | Uint8Array): unknown {
  if (typeof message !== 'string' && !(message instanceof Uint8Array)) return message;

  const text = typeof message === 'string' ? message : Buffer.from(message).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidRecord(MESSAGE_SOURCE, `the payload is not valid JSON (${(error as Error).message}).`, { cause: error });
  }
}
