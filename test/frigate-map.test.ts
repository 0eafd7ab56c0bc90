import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ErrorCodes } from '../src/errors.js';
import type { FrigateApiEvent, FrigateEventMessage, FrigateEventRow } from '../src/frigate/frigate-types.js';
import { mapFrigateApiEvent, mapFrigateRow } from '../src/frigate/map-frigate-event.js';
import { mapFrigateMessage } from '../src/frigate/map-frigate-message.js';

const FRIGATE = '../shared/data/frigate';
const apiEvents = JSON.parse(readFileSync(`${FRIGATE}/api-events-front-door.json`, 'utf8')) as FrigateApiEvent[];
const messages = Object.fromEntries(readdirSync(`${FRIGATE}/mqtt-events`).map((name) => [name.replace(/\.json$/, ''), readFileSync(join(`${FRIGATE}/mqtt-events`, name), 'utf8')]));

/** Builds the Frigate 0.14 `event` row of the event that an `/api/events` record describes. */
function rowOf(event: FrigateApiEvent): FrigateEventRow {
  return {
    id: event.id, label: event.label, camera: event.camera, start_time: event.start_time, end_time: event.end_time,
    top_score: null, false_positive: event.false_positive ? 1 : 0, zones: JSON.stringify(event.zones), thumbnail: 'aGVsbG8=',
    has_clip: event.has_clip ? 1 : 0, has_snapshot: event.has_snapshot ? 1 : 0, region: null, box: null, area: null,
    retain_indefinitely: 0, sub_label: null, ratio: null, plus_id: null, score: null, model_hash: null, detector_type: null,
    model_type: null, data: JSON.stringify(event.data),
  };
}

const at = { file: 'frigate.db', unit: 'rowid' as const, index: 7 };

describe('mapFrigateApiEvent', () => {
  it('maps all 50 real records', () => {
    const mapped = apiEvents.map((event, index) => mapFrigateApiEvent(event, { file: 'events.json', unit: 'entry', index }));
    expect(mapped).toHaveLength(50);
    for (const [index, event] of mapped.entries()) {
      const source = apiEvents[index]!;
      expect(event.id).toBe(source.id);
      expect(event.type).toBe('person');
      expect(event.source).toBe('front_door');
      expect(event.timestamp).toBe(Math.round(source.start_time * 1000));
      expect(event.endTime).toBe(Math.round(source.end_time! * 1000));
      expect(event.confidence).toBe(source.data!.top_score);
      expect(event.data.frigate).toEqual(source);
    }
  });

  it('keeps zones of bench events', () => {
    const event = apiEvents.find((candidate) => candidate.zones.length > 0)!;
    expect(mapFrigateApiEvent(event, at).data.frigate.zones).toEqual(['bench']);
  });

  it('timestamp keeps millisecond precision', () => {
    const event = mapFrigateApiEvent(apiEvents[0]!, at);
    expect(event.timestamp).toBe(1623454583526);
    expect(event.endTime).toBe(1623454592312);
  });
});

describe('mapFrigateRow', () => {
  it('row and api record agree', () => {
    for (const source of apiEvents) {
      const fromRow = mapFrigateRow(rowOf(source), at);
      const fromApi = mapFrigateApiEvent(source, at);
      expect({ ...fromRow, data: undefined }).toEqual({ ...fromApi, data: undefined });
      expect(fromRow.data.frigate.data).toEqual(source.data);
      expect(fromRow.data.frigate.zones).toEqual(source.zones);
    }
  });

  it('drops thumbnail by default', () => {
    expect(mapFrigateRow(rowOf(apiEvents[0]!), at).data.frigate).not.toHaveProperty('thumbnail');
    expect(mapFrigateRow(rowOf(apiEvents[0]!), at, { thumbnails: true }).data.frigate.thumbnail).toBe('aGVsbG8=');
  });

  it('falls back to top_score column', () => {
    const row = { ...rowOf(apiEvents[0]!), data: '{}', top_score: 0.5 };
    expect(mapFrigateRow(row, at).confidence).toBe(0.5);
  });

  it('open event has null end', () => {
    const row = { ...rowOf(apiEvents[0]!), end_time: null };
    expect(mapFrigateRow(row, at).endTime).toBeNull();
  });

  it('car maps to vehicle', () => {
    expect(mapFrigateRow({ ...rowOf(apiEvents[0]!), label: 'car' }, at).type).toBe('vehicle');
    expect(mapFrigateRow({ ...rowOf(apiEvents[0]!), label: 'dog' }, at).type).toBe('dog');
  });

  it('label with space becomes valid type', () => {
    const event = mapFrigateRow({ ...rowOf(apiEvents[0]!), label: 'traffic light' }, at);
    expect(event.type).toBe('traffic_light');
    expect(event.label).toBe('traffic light');
  });

  it('empty sub label becomes null', () => {
    expect(mapFrigateRow({ ...rowOf(apiEvents[0]!), sub_label: '' }, at).subLabel).toBeNull();
    expect(mapFrigateRow({ ...rowOf(apiEvents[0]!), sub_label: 'Alice' }, at).subLabel).toBe('Alice');
  });

  const malformed: [string, Partial<FrigateEventRow>, RegExp][] = [
    ['invalid zones JSON', { zones: '["bench"' }, /column zones is not valid JSON/],
    ['invalid data JSON', { data: '{top_score: 1}' }, /column data is not valid JSON/],
    ['empty camera', { camera: '' }, /camera must be a non-empty string/],
    ['missing start time', { start_time: null as unknown as number }, /start_time must be epoch seconds/],
    ['milliseconds start time', { start_time: 1623454583525 }, /start_time must be epoch seconds/],
    ['end before start', { end_time: 1623454500 }, /end_time must be null or epoch seconds not before/],
    ['score above one', { data: '{"top_score": 1.5}' }, /top_score must be a number from 0 to 1/],
    ['zones not names', { zones: '[1, 2]' }, /zones must be an array of zone names/],
  ];
  for (const [name, change, message] of malformed) {
    it(`rejects ${name}`, () => {
      const row = { ...rowOf(apiEvents[0]!), ...change };
      expect(() => mapFrigateRow(row, at)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_RECORD, details: { file: 'frigate.db', rowid: 7 } }));
      expect(() => mapFrigateRow(row, at)).toThrow(message);
    });
  }

  it('names event id in errors', () => {
    expect(() => mapFrigateRow({ ...rowOf(apiEvents[0]!), camera: '' }, at)).toThrow(/^frigate\.db: rowid 7: event "1623454583\.525913-y14xk9": camera/);
  });
});

describe('mapFrigateMessage', () => {
  it('new message maps after', () => {
    const change = mapFrigateMessage(messages['frigate-event-new-good']!);
    expect(change.kind).toBe('new');
    if (change.kind !== 'new') return;
    expect(change.event).toMatchObject({ id: '1680791459.255384-abcdef', type: 'goat', source: 'cam-testdrive', label: 'goat', subLabel: null, confidence: null, endTime: null });
    expect(change.event.timestamp).toBe(1680791459255);
    expect(change.event.data.frigate.entered_zones).toEqual(['lawn']);
  });

  it('full message takes top score', () => {
    const change = mapFrigateMessage(messages['frigate-event-full']!);
    expect(change).toMatchObject({ kind: 'new', event: { confidence: 0.75 } });
    if (change.kind !== 'new') return;
    expect(change.event.data.frigate.box).toEqual([1, 21, 1, 21]);
  });

  it('update messages map to update', () => {
    for (const name of ['frigate-event-update-good', 'frigate-event-update-samezone', 'frigate-event-update-stationary']) {
      expect(mapFrigateMessage(messages[name]!).kind).toBe('update');
    }
  });

  it('end message uses frame time', () => {
    const change = mapFrigateMessage(messages['frigate-event-end']!);
    expect(change).toMatchObject({ kind: 'end', event: { endTime: Math.round(1680791506.638857 * 1000) } });
  });

  it('false positive is ignored', () => {
    expect(mapFrigateMessage(messages['frigate-event-false-positive']!)).toEqual({ kind: 'ignored', id: '1680791459.255384-abcdef', reason: 'false positive' });
  });

  it('accepts Buffer and object payloads', () => {
    const text = messages['frigate-event-new-ignored']!;
    expect(mapFrigateMessage(Buffer.from(text))).toEqual(mapFrigateMessage(JSON.parse(text) as FrigateEventMessage));
    expect(mapFrigateMessage(text)).toMatchObject({ kind: 'new', event: { source: 'frontyard' } });
  });

  it('sub label pair maps to name', () => {
    const message = JSON.parse(messages['frigate-event-update-good']!) as FrigateEventMessage;
    message.after.sub_label = ['Alice', 0.93];
    expect(mapFrigateMessage(message)).toMatchObject({ event: { subLabel: 'Alice' } });
  });

  it('rejects payload that is not JSON', () => {
    expect(() => mapFrigateMessage('{"type": "new"')).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_RECORD }));
  });

  it('rejects unknown message type', () => {
    const message = { ...(JSON.parse(messages['frigate-event-end']!) as object), type: 'destroy' };
    expect(() => mapFrigateMessage(message as FrigateEventMessage)).toThrow(/type must be "new", "update" or "end", got "destroy"/);
  });

  it('rejects message without after', () => {
    expect(() => mapFrigateMessage({ type: 'new' } as FrigateEventMessage)).toThrow(/expected a tracked object in "after"/);
  });

  it('rejects after without camera', () => {
    const message = JSON.parse(messages['frigate-event-new-good']!) as FrigateEventMessage;
    delete (message.after as Partial<typeof message.after>).camera;
    expect(() => mapFrigateMessage(message)).toThrow(/^frigate\/events message: event "1680791459\.255384-abcdef": camera must be/);
  });
});
