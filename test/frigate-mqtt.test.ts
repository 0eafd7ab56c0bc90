import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ErrorCodes } from '../src/errors.js';
import type { FrigateEventMessage } from '../src/frigate/frigate-types.js';
import { handleFrigateMessage } from '../src/frigate/handle-frigate-message.js';
import { openStorage, type StorageManager } from '../src/storage-manager.js';
import { temporaryDirectory } from './helpers/reference.js';

const MQTT = '../shared/data/frigate/mqtt-events';
const payloads = Object.fromEntries(readdirSync(MQTT).map((name) => [name.replace(/^frigate-event-|\.json$/g, ''), readFileSync(join(MQTT, name))]));
const ID = '1680791459.255384-abcdef';

let directory: { path: string; remove: () => void };
let storage: StorageManager;

beforeEach(async () => {
  directory = temporaryDirectory();
  storage = await openStorage({ dataDirectory: directory.path });
});

afterEach(async () => {
  await storage.close();
  directory.remove();
});

/** Closes and reopens the storage, so checks read what was committed. */
async function reopen(): Promise<void> {
  await storage.close();
  storage = await openStorage({ dataDirectory: directory.path });
}

describe('handleFrigateMessage', () => {
  it('new message stores the event', async () => {
    expect(handleFrigateMessage(storage.events, payloads['new-good']!)).toEqual({ action: 'stored', id: ID, type: 'new' });
    await reopen();
    expect(storage.events.getEvent(ID)).toMatchObject({
      type: 'goat', source: 'cam-testdrive', label: 'goat', endTime: null, stage: 'in_progress',
      timestamp: new Date(1680791459255).toISOString(),
    });
    expect(storage.events.getEvent(ID)!.data.frigate).toMatchObject({ entered_zones: ['lawn'], current_zones: ['barn'] });
  });

  it('lifecycle new update end', async () => {
    handleFrigateMessage(storage.events, payloads['new-good']!);
    expect(handleFrigateMessage(storage.events, payloads['update-stationary']!)).toEqual({ action: 'updated', id: ID, type: 'update' });
    expect(handleFrigateMessage(storage.events, payloads.end!)).toEqual({ action: 'updated', id: ID, type: 'end' });
    await reopen();

    const event = storage.events.getEvent(ID)!;
    expect(event.endTime).toBe(new Date(Math.round(1680791506.638857 * 1000)).toISOString());
    expect(event.stage).toBe('ended');
    expect(event.data.frigate).toMatchObject({ stationary: true, entered_zones: ['zone1'] });
    expect(storage.events.countEvents()).toBe(1);
  });

  it('late joiner stores from update', () => {
    expect(handleFrigateMessage(storage.events, payloads['update-good']!)).toMatchObject({ action: 'stored', type: 'update' });
    expect(storage.events.countEvents()).toBe(1);
  });

  it('update after end keeps it ended', () => {
    handleFrigateMessage(storage.events, payloads.end!);
    handleFrigateMessage(storage.events, payloads['update-samezone']!);
    expect(storage.events.getEvent(ID)).toMatchObject({ stage: 'ended', endTime: new Date(Math.round(1680791506.638857 * 1000)).toISOString() });
  });

  it('repeated new keeps one event', () => {
    handleFrigateMessage(storage.events, payloads['new-good']!);
    expect(handleFrigateMessage(storage.events, payloads['new-good']!)).toMatchObject({ action: 'updated' });
    expect(storage.events.countEvents()).toBe(1);
  });

  it('full message sets confidence', () => {
    handleFrigateMessage(storage.events, payloads.full!);
    expect(storage.events.getEvent(ID)).toMatchObject({ confidence: 0.75 });
    expect(storage.events.getEvent(ID)!.data.frigate).toMatchObject({ box: [1, 21, 1, 21], top_score: 0.75 });
  });

  it('sub label arrives by update', () => {
    handleFrigateMessage(storage.events, payloads['new-good']!);
    const message = JSON.parse(payloads['update-good']!.toString()) as FrigateEventMessage;
    message.after.sub_label = ['Billy', 0.91];
    handleFrigateMessage(storage.events, message);
    expect(storage.events.getEvent(ID)).toMatchObject({ subLabel: 'Billy' });
    expect(storage.events.queryEvents({ search: 'billy' }).events.map((event) => event.id)).toEqual([ID]);
  });

  it('false positive is ignored', () => {
    expect(handleFrigateMessage(storage.events, payloads['false-positive']!)).toEqual({ action: 'ignored', id: ID, reason: 'false positive' });
    expect(storage.events.countEvents()).toBe(0);
  });

  it('other camera is stored', () => {
    handleFrigateMessage(storage.events, payloads['new-ignored']!);
    expect(storage.events.getEvent(ID)).toMatchObject({ source: 'frontyard' });
  });

  it('every fixture is handled', () => {
    for (const [name, payload] of Object.entries(payloads)) {
      expect({ name, action: handleFrigateMessage(storage.events, payload).action }).toEqual({ name, action: name === 'false-positive' ? 'ignored' : expect.stringMatching(/^(stored|updated)$/) });
    }
  });

  it('malformed payload changes nothing', () => {
    const truncated = payloads.end!.subarray(0, 200);
    expect(() => handleFrigateMessage(storage.events, truncated)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_RECORD }));
    expect(storage.events.countEvents()).toBe(0);
  });

  it('after without start time changes nothing', () => {
    const message = JSON.parse(payloads['new-good']!.toString()) as FrigateEventMessage;
    (message.after as { start_time: unknown }).start_time = 'yesterday';
    expect(() => handleFrigateMessage(storage.events, message)).toThrow(/start_time must be epoch seconds/);
    expect(storage.events.countEvents()).toBe(0);
  });
});
