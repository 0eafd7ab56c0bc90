import type { EventPatch, JsonObject, NewEvent } from '../events/event-types.js';
import type { MappedFrigateEvent } from './map-frigate-event.js';

/** Stage values: `in_progress` while Frigate still tracks the object, `ended` afterwards. */
export const FRIGATE_STAGES = Object.freeze({ inProgress: 'in_progress', ended: 'ended' } as const);

/** Returns the new Porchlight event for a mapped Frigate event. */
export function toNewEvent(event: MappedFrigateEvent): NewEvent {
  return {
    id: event.id,
    type: event.type,
    timestamp: event.timestamp,
    endTime: event.endTime,
    source: event.source,
    confidence: event.confidence,
    label: event.label,
    subLabel: event.subLabel,
    stage: event.endTime === null ? FRIGATE_STAGES.inProgress : FRIGATE_STAGES.ended,
    data: event.data as JsonObject,
  };
}

/**
 * Returns the lifecycle patch that brings a stored event up to a later state of the same Frigate
 * event. The Frigate record is merged into `data.frigate`; an end time is only ever set, never
 * cleared, so a late update cannot reopen an ended event.
 */
export function toEventPatch(event: MappedFrigateEvent, stored: { endTime: string | null }): EventPatch {
  const ended = stored.endTime !== null || event.endTime !== null;
  const patch: EventPatch = {
    subLabel: event.subLabel,
    stage: ended ? FRIGATE_STAGES.ended : FRIGATE_STAGES.inProgress,
    data: event.data as JsonObject,
  };
  if (event.confidence !== null) patch.confidence = event.confidence;
  if (event.endTime !== null && stored.endTime === null) patch.endTime = event.endTime;
  return patch;
}
