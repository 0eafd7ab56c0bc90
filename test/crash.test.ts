import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { checkFaceIndex } from '../src/operations/face-index-check.js';
import { openStorage } from '../src/storage-manager.js';
import { ENCODINGS_PER_PERSON, EVENTS_PER_BATCH, eventBatch, personIds, sequenceOf, vectorFor } from './fixtures/writer-data.mjs';
import { randomGenerator, temporaryDirectory } from './helpers/reference.js';

const WRITER = new URL('./fixtures/crash-writer.mjs', import.meta.url).pathname;
const KILLS = 20;

interface Round {
  acknowledged: number[];
  /** Batches whose events were acknowledged. */
  events: number[];
  /** Deletions announced before their commit, acknowledged or not. */
  deleting: string[];
  deleted: string[];
  signal: NodeJS.Signals | null;
}

/** Starts the writer, kills it with SIGKILL `delayMs` after it is ready, and collects its acknowledgements. */
function runWriter(dataDirectory: string, durability: 'full' | 'normal', firstSequence: number, delayMs: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dataDirectory, durability, String(firstSequence)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const round: Round = { acknowledged: [], events: [], deleting: [], deleted: [], signal: null };
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [kind, value] = line.split(' ');
      if (kind === 'ready') setTimeout(() => child.kill('SIGKILL'), delayMs);
      if (kind === 'ack') round.acknowledged.push(Number(value));
      if (kind === 'events') round.events.push(Number(value));
      if (kind === 'deleting') round.deleting.push(value!);
      if (kind === 'del') round.deleted.push(value!);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') {
        reject(new Error(`the writer exited with code ${code} instead of being killed: ${stderr}`));
        return;
      }
      round.signal = signal;
      resolve(round);
    });
  });
}

describe('crash safety', () => {
  let folder: ReturnType<typeof temporaryDirectory>;
  beforeAll(() => {
    folder = temporaryDirectory();
    if (!existsSync(new URL('../dist/src/index.js', import.meta.url))) throw new Error('The crash test runs the built library; run "npm run build" first.');
  });
  afterAll(() => folder.remove());

  it(`survives ${KILLS} SIGKILLs mid-write`, async () => {
    const random = randomGenerator(20_240_601);
    const acknowledged = new Set<number>();
    const eventsAcknowledged = new Set<number>();
    const deleted = new Set<string>();
    const deleting = new Set<string>();
    let nextSequence = 0;
    let roundsWithWrites = 0;

    for (let kill = 0; kill < KILLS; kill++) {
      // Alternate durability: a process crash must lose nothing acknowledged under either setting.
      const durability = kill % 2 === 0 ? 'full' : 'normal';
      const round = await runWriter(folder.path, durability, nextSequence, 20 + random() * 130);
      expect(round.signal).toBe('SIGKILL');
      for (const sequence of round.acknowledged) acknowledged.add(sequence);
      for (const sequence of round.events) eventsAcknowledged.add(sequence);
      for (const id of round.deleted) deleted.add(id);
      for (const id of round.deleting) deleting.add(id);
      if (round.acknowledged.length > 0) roundsWithWrites += 1;

      const storage = await openStorage({ dataDirectory: folder.path, backup: { intervalMinutes: 0 }, cleanup: { intervalMinutes: 0 } });
      try {
        const db = storage.database;
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');

        const present = new Set((db.prepare('SELECT id FROM persons').pluck().all() as string[]));
        const missing = [...acknowledged].flatMap(personIds).filter((id) => !deleting.has(id) && !present.has(id));
        expect(missing).toEqual([]);
        expect([...deleted].filter((id) => present.has(id))).toEqual([]);

        // A batch commits whole or not at all, acknowledged or not.
        const sequences = new Set([...present].map(sequenceOf));
        const partial = [...sequences].filter((sequence) => personIds(sequence).some((id) => !present.has(id) && !deleting.has(id)));
        expect(partial).toEqual([]);

        const encodings = db.prepare('SELECT person_id, vector FROM encodings ORDER BY id').raw().all() as [string, Buffer][];
        const byPerson = new Map<string, Buffer[]>();
        for (const [personId, vector] of encodings) byPerson.set(personId, [...(byPerson.get(personId) ?? []), vector]);
        const wrong = [...present].filter((id) => {
          const vectors = byPerson.get(id) ?? [];
          return vectors.length !== ENCODINGS_PER_PERSON || vectors.some((vector, k) => !vector.equals(Buffer.from(vectorFor(id, k).buffer)));
        });
        expect(wrong).toEqual([]);

        // Every acknowledged event batch is there whole, with what was written; no batch is there in part.
        const stored = storage.events.queryEvents({ limit: 10_000, order: 'asc' }).events;
        const byBatch = new Map<number, typeof stored>();
        for (const event of stored) byBatch.set(event.data.batch as number, [...(byBatch.get(event.data.batch as number) ?? []), event]);
        expect([...eventsAcknowledged].filter((sequence) => !byBatch.has(sequence))).toEqual([]);
        expect([...byBatch.values()].filter((events) => events.length !== EVENTS_PER_BATCH).length).toBe(0);
        for (const [sequence, events] of byBatch) {
          const expected = eventBatch(sequence);
          expect(events.map((event) => [event.id, event.source, Date.parse(event.timestamp), event.data])).toEqual(expected.map((event) => [event.id, event.source, event.timestamp, event.data]));
        }

        expect(checkFaceIndex(storage.faces, db).every((model) => model.matches)).toBe(true);
        expect(storage.faces.indexOf()?.size ?? 0).toBe(encodings.length);

        // Resume after every batch that reached the disk, acknowledged or not.
        nextSequence = Math.max(nextSequence, ...sequences, ...round.acknowledged) + 2;
      } finally {
        await storage.close();
      }
    }

    // Most kills must land while writes go on, not before the first one.
    expect(roundsWithWrites).toBeGreaterThanOrEqual(KILLS / 2);
    expect(acknowledged.size).toBeGreaterThan(KILLS);
    expect(eventsAcknowledged.size).toBeGreaterThan(KILLS);
  });
});
