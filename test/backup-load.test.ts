import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { brotliDecompressSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { checkFaceIndex } from '../src/operations/face-index-check.js';
import { openStorage, type StorageManager } from '../src/storage-manager.js';
import { AUDIT_TABLES, auditActions, tableRows } from './fixtures/database-rows.js';
import { ENCODINGS_PER_PERSON, batch, personIds, sequenceOf, vectorFor } from './fixtures/writer-data.mjs';
import { temporaryDirectory } from './helpers/reference.js';

const WRITER = new URL('./fixtures/crash-writer.mjs', import.meta.url).pathname;

describe('backup under write load', () => {
  let folder: ReturnType<typeof temporaryDirectory>;
  let storage: StorageManager;
  beforeAll(async () => {
    folder = temporaryDirectory();
    storage = await openStorage({ dataDirectory: folder.path, operationalMetrics: false, backup: { intervalMinutes: 0 }, cleanup: { intervalMinutes: 0 } });
    for (let sequence = 0; sequence < 200; sequence++) storage.faces.enrollMany(batch(sequence));
  });
  afterAll(async () => {
    await storage.close();
    folder.remove();
  });

  it('restores a consistent snapshot', async () => {
    // Another process writes batches and deletes persons as fast as it can during the backup.
    const writer = spawn(process.execPath, [WRITER, folder.path, 'full', '1000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acknowledged: number[] = [];
    const deleting = new Set<string>();
    let ackedBeforeBackup: number[] | undefined;
    const backupDone = new Promise<Awaited<ReturnType<StorageManager['backupAll']>>>((resolve, reject) => {
      createInterface({ input: writer.stdout }).on('line', (line) => {
        const [kind, value] = line.split(' ');
        if (kind === 'ack') acknowledged.push(Number(value));
        if (kind === 'deleting') deleting.add(value!);
        if (kind === 'ack' && acknowledged.length === 20 && ackedBeforeBackup === undefined) {
          ackedBeforeBackup = [...acknowledged];
          storage.backupAll().then(resolve, reject);
        }
      });
    });
    const backup = await backupDone;
    const ackedDuringBackup = acknowledged.length - ackedBeforeBackup!.length;
    writer.kill('SIGKILL');
    await new Promise((resolve) => writer.once('close', resolve));
    expect(ackedDuringBackup).toBeGreaterThan(0);
    expect(backup.maxEventLoopDelayMs).toBeGreaterThanOrEqual(0);

    const snapshot = join(folder.path, 'snapshot.db');
    writeFileSync(snapshot, brotliDecompressSync(readFileSync(join(backup.path, 'main.db.br'))));
    const rows = tableRows(snapshot, AUDIT_TABLES);
    const persons = rows.persons as { id: string; name: string }[];
    const present = new Set(persons.map((person) => person.id));
    const sequences = [...new Set(persons.map((person) => sequenceOf(person.id)))];

    // Everything acknowledged before the backup started is in it.
    const missing = ackedBeforeBackup!.flatMap(personIds).filter((id) => !present.has(id) && !deleting.has(id));
    expect(missing).toEqual([]);
    // One instant's snapshot: no batch half there, and no acknowledged batch missing before the newest one present.
    const newest = Math.max(...sequences);
    const gaps = acknowledged.filter((sequence) => sequence < newest).flatMap(personIds).filter((id) => !present.has(id) && !deleting.has(id));
    expect(gaps).toEqual([]);
    const partial = sequences.filter((sequence) => personIds(sequence).some((id) => !present.has(id) && !deleting.has(id)));
    expect(partial).toEqual([]);

    // Restore, then compare every row with the snapshot and with the values the writer derived them from.
    await storage.restoreFromBackup(backup.path);
    expect(tableRows(storage.databasePath, AUDIT_TABLES)).toEqual(rows);
    expect(auditActions(storage.databasePath)).toEqual([...auditActions(snapshot), 'backup.restored']);
    for (const person of persons) expect(person.name).toBe(`Person ${person.id}`);
    const encodings = rows.encodings as { person_id: string; vector: Buffer }[];
    expect(encodings).toHaveLength(persons.length * ENCODINGS_PER_PERSON);
    const seen = new Map<string, number>();
    for (const encoding of encodings) {
      const k = seen.get(encoding.person_id) ?? 0;
      seen.set(encoding.person_id, k + 1);
      expect(Buffer.from(encoding.vector).equals(Buffer.from(vectorFor(encoding.person_id, k).buffer))).toBe(true);
    }
    expect(checkFaceIndex(storage.faces, storage.database).every((model) => model.matches)).toBe(true);
    expect(storage.faces.indexOf()!.size).toBe(encodings.length);
  });
});
