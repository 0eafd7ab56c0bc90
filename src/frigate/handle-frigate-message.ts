import { ErrorCodes, PorchlightError } from '../errors.js';
import type { EventStore } from '../events/event-store.js';
import { toEventPatch, toNewEvent } from './frigate-event-input.js';
import type { FrigateEventMessage } from './frigate-types.js';
import { mapFrigateMessage } from './map-frigate-message.js';

/** The outcome of `handleFrigateMessage` for one message. */
export type FrigateMessageOutcome =
  | { action: 'stored' | 'updated'; id: string; type: 'new' | 'update' | 'end' }
  | { action: 'ignored'; id: string; reason: string };

/**
 * Applies one `frigate/events` MQTT message to the event store. The first message of an event stores
 * it, and later ones (update, end, or a repeated new) patch it. So messages delivered twice, or a
 * client that joins mid-event, leave one event with the latest state. Feed it from an MQTT client:
 * `client.on('message', (topic, payload) => handleFrigateMessage(storage.events, payload))`.
 */
export function handleFrigateMessage(events: EventStore, message: FrigateEventMessage | string | Uint8Array): FrigateMessageOutcome {
  const change = mapFrigateMessage(message);
  if (change.kind === 'ignored') return { action: 'ignored', id: change.id, reason: change.reason };

  const { event } = change;
  const stored = events.getEvent(event.id);
  if (stored === undefined) {
    try {
      events.storeEvent(toNewEvent(event), { requireParent: false });
      return { action: 'stored', id: event.id, type: change.kind };
    } catch (error) {
      // Another process stored the same event between the lookup and the insert; patch it instead.
      if (!(error instanceof PorchlightError && error.code === ErrorCodes.ALREADY_EXISTS)) throw error;
    }
  }

  const current = stored ?? events.getEvent(event.id)!;
  events.updateEvent(event.id, toEventPatch(event, current));
  return { action: 'updated', id: event.id, type: change.kind };
}
