import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { Migrator } from '../src/db/migrator.js';
import { openDatabase } from '../src/db/open-database.js';
import { ErrorCodes } from '../src/errors.js';
import { auditHash } from '../src/audit/audit-hash.js';
import type { AuditRecord } from '../src/audit/audit-log.js';
import { DATABASE_FILE, STORES, openStorage, type StorageManager, type StorageOptions } from '../src/storage-manager.js';
import { randomGenerator, randomVectors, temporaryDirectory } from './helpers/reference.js';

const T0 = Date.UTC(2024, 4, 1, 8, 0, 0);

describe('audit', () => {
  let directory: { path: string; remove: () => void };
  const opened: StorageManager[] = [];

  async function open(options: Omit<StorageOptions, 'dataDirectory'> = {}): Promise<StorageManager> {
    const storage = await openStorage({ dataDirectory: directory.path, ...options });
    opened.push(storage);
    return storage;
  }

  /** Runs `change` on the closed database file through a raw connection, without the append-only triggers. */
  function tamper(change: (db: Database.Database) => void): void {
    const db = new Database(join(directory.path, DATABASE_FILE));
    try {
      db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
      change(db);
    } finally {
      db.close();
    }
  }

  /** Appends `count` records with one second between them and closes the storage. */
  async function writeChain(count: number): Promise<number> {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
    const storage = await open();
    const migrations = storage.audit.query({ limit: 1000 }).records.length;
    for (let i = 0; i < count; i++) {
      vi.setSystemTime(T0 + 1000 * (i + 1));
      storage.audit.append({ actor: `user${i % 3}`, action: 'test.step', target: `item${i % 5}`, details: { i } });
    }
    await storage.close();
    vi.useRealTimers();
    return migrations;
  }

  async function verifyReopened() {
    const storage = await open();
    return storage.audit.verify();
  }

  beforeEach(() => {
    directory = temporaryDirectory();
  });

  afterEach(async () => {
    vi.useRealTimers();
    for (const storage of opened.splice(0)) await storage.close();
    directory.remove();
  });

  it('records migrations once', async () => {
    const storage = await open();
    const records = storage.audit.query().records;
    const targets = ['faces/0001_create_faces', 'events/0001_create_events', 'events/0002_add_event_keep', 'events/0003_merge_search_segments_later', 'metrics/0001_create_metrics', 'config/0001_create_config_versions', 'audit/0001_create_audit_log'];
    expect(records.map((record) => record.action)).toEqual(targets.map(() => 'migration.applied'));
    expect(records.map((record) => record.target)).toEqual(targets);
    await storage.close();
    const reopened = await open();
    expect(reopened.audit.query().records.length).toBe(targets.length);
  });

  it('records later migrate calls', async () => {
    const storage = await open();
    storage.events.storeEvent({ type: 'motion', source: 'cam' });
    const before = storage.audit.query({ limit: 1000 }).records.length;

    await storage.migrate.down({ store: 'events', to: 2 });
    await storage.migrate.up();
    const later = storage.audit.query({ limit: 1000 }).records.slice(before);
    expect(later.map((record) => `${record.action} ${record.target}`)).toEqual([
      `backup.created ${later[0]!.target}`,
      'migration.reverted events/0003_merge_search_segments_later',
      `backup.created ${later[2]!.target}`,
      'migration.applied events/0003_merge_search_segments_later',
    ]);
    expect(later[0]!.details).toEqual({ reason: 'before-revert' });
  });

  it('reverting audit store records nothing', async () => {
    const storage = await open({ migrations: { backup: false } });
    const run = await storage.migrate.down({ store: 'audit', to: 0 });
    expect(run.steps.map((step) => step.store)).toEqual(['audit']);
    expect(storage.database.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'audit_log'").pluck().get()).toBe(0);
  });

  it('records backup before migrations', async () => {
    const db = openDatabase(join(directory.path, DATABASE_FILE));
    await new Migrator(db, ['faces']).up();
    db.prepare("INSERT INTO persons VALUES ('alice', 'Alice', 'known', NULL, '{}', 0, 0)").run();
    db.close();

    const storage = await open();
    const records = storage.audit.query().records;
    expect(records.map((record) => record.action)).toEqual(['backup.created', 'migration.applied', 'migration.applied', 'migration.applied', 'migration.applied', 'migration.applied', 'migration.applied']);
    expect(records[0]!.target).toBe(storage.migrationsAtOpen.backupPath);
    expect(records[0]!.details).toEqual({ reason: 'before-migration' });
  });

  it('chains hashes from genesis', async () => {
    const storage = await open({ audit: { actor: 'doorbell-service' } });
    const appended = storage.audit.append({ action: 'backup.created', target: '/backups/a', details: { size: 10, files: ['a', 'b'] } });
    const records = storage.audit.query({ limit: 1000 }).records;
    expect(records[0]!.previousHash).toBe('0'.repeat(64));
    for (let i = 1; i < records.length; i++) expect(records[i]!.previousHash).toBe(records[i - 1]!.hash);
    const text = `${appended.id}\n${Date.parse(appended.time)}\n16:doorbell-service\n14:backup.created\n10:/backups/a\n29:{"files":["a","b"],"size":10}\n${appended.previousHash}`;
    const expected = createHash('sha256').update(text).digest('hex');
    expect(appended.hash).toBe(expected);
    expect(appended.actor).toBe('doorbell-service');
  });

  it('verify accepts intact chain', async () => {
    const migrations = await writeChain(200);
    const result = await verifyReopened();
    expect(result.valid).toBe(true);
    expect(result.checked).toBe(200 + migrations);
    expect(result.firstInvalid).toBeNull();
  });

  it('detects edited record', async () => {
    const migrations = await writeChain(50);
    const id = migrations + 20;
    tamper((db) => db.prepare("UPDATE audit_log SET details = '{\"i\":999}' WHERE id = ?").run(id));
    const result = await verifyReopened();
    expect(result.valid).toBe(false);
    expect(result.firstInvalid).toMatchObject({ id, reason: 'hash_mismatch' });
  });

  it('detects edit with recomputed hash', async () => {
    const migrations = await writeChain(50);
    const id = migrations + 20;
    tamper((db) => {
      const row = db.prepare('SELECT * FROM audit_log WHERE id = ?').get(id) as { time: number; actor: string; action: string; target: string; previous_hash: string };
      const hash = auditHash(id, row.time, 'mallory', row.action, row.target, '{"i":19}', row.previous_hash);
      db.prepare("UPDATE audit_log SET actor = 'mallory', hash = ? WHERE id = ?").run(hash, id);
    });
    const result = await verifyReopened();
    expect(result.firstInvalid).toMatchObject({ id: id + 1, reason: 'previous_hash_mismatch' });
  });

  it('detects deleted record', async () => {
    const migrations = await writeChain(50);
    const id = migrations + 10;
    tamper((db) => db.prepare('DELETE FROM audit_log WHERE id = ?').run(id));
    const result = await verifyReopened();
    expect(result.firstInvalid).toMatchObject({ id: id + 1, reason: 'missing_records' });
  });

  it('detects deleted newest records', async () => {
    const migrations = await writeChain(50);
    tamper((db) => db.prepare('DELETE FROM audit_log WHERE id > ?').run(migrations + 45));
    const result = await verifyReopened();
    expect(result.firstInvalid).toMatchObject({ id: migrations + 46, reason: 'head_mismatch' });
    expect(result.checked).toBe(migrations + 45);
  });

  it('detects reordered records', async () => {
    const migrations = await writeChain(50);
    const a = migrations + 10;
    const b = migrations + 30;
    tamper((db) => {
      db.prepare('UPDATE audit_log SET id = -1 WHERE id = ?').run(a);
      db.prepare('UPDATE audit_log SET id = ? WHERE id = ?').run(a, b);
      db.prepare('UPDATE audit_log SET id = ? WHERE id = -1').run(b);
    });
    const result = await verifyReopened();
    expect(result.firstInvalid).toMatchObject({ id: a, reason: 'previous_hash_mismatch' });
  });

  it('detects swapped contents', async () => {
    const migrations = await writeChain(50);
    const a = migrations + 10;
    tamper((db) => {
      const first = db.prepare('SELECT * FROM audit_log WHERE id = ?').get(a) as Record<string, unknown>;
      const second = db.prepare('SELECT * FROM audit_log WHERE id = ?').get(a + 1) as Record<string, unknown>;
      const update = db.prepare('UPDATE audit_log SET time = @time, actor = @actor, action = @action, target = @target, details = @details WHERE id = @id');
      update.run({ ...second, id: a });
      update.run({ ...first, id: a + 1 });
    });
    const result = await verifyReopened();
    expect(result.firstInvalid).toMatchObject({ id: a, reason: 'hash_mismatch' });
  });

  it('triggers block updates', async () => {
    const storage = await open();
    expect(() => storage.database.prepare("UPDATE audit_log SET actor = 'x'").run()).toThrow(/append-only/);
    expect(() => storage.database.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
  });

  it('query filters match reference', async () => {
    await writeChain(120);
    const storage = await open();
    const all: AuditRecord[] = [];
    for (let cursor: string | undefined, page = 0; page < 100; page++) {
      const result = storage.audit.query({ limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      all.push(...result.records);
      if (result.nextCursor === null) break;
      cursor = result.nextCursor;
    }
    const next = randomGenerator(5);
    for (let trial = 0; trial < 20; trial++) {
      const filter = {
        ...(next() < 0.5 ? { actor: `user${Math.floor(next() * 3)}` } : {}),
        ...(next() < 0.5 ? { target: `item${Math.floor(next() * 5)}` } : {}),
        ...(next() < 0.3 ? { action: 'test.step' } : {}),
        ...(next() < 0.5 ? { start: new Date(T0 + Math.floor(next() * 60) * 1000).toISOString() } : {}),
        ...(next() < 0.5 ? { end: T0 + 60_000 + Math.floor(next() * 60) * 1000 } : {}),
      };
      const order = next() < 0.5 ? 'asc' as const : 'desc' as const;
      const limit = 1 + Math.floor(next() * 15);
      const expected = all.filter((record) =>
        (filter.actor === undefined || record.actor === filter.actor)
        && (filter.target === undefined || record.target === filter.target)
        && (filter.action === undefined || record.action === filter.action)
        && (filter.start === undefined || Date.parse(record.time) >= Date.parse(filter.start))
        && (filter.end === undefined || Date.parse(record.time) < filter.end));
      if (order === 'desc') expected.reverse();

      const pages: AuditRecord[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 200; page++) {
        const result = storage.audit.query({ ...filter, order, limit, ...(cursor === undefined ? {} : { cursor }) });
        expect(result.records.length).toBeLessThanOrEqual(limit);
        pages.push(...result.records);
        if (result.nextCursor === null) break;
        cursor = result.nextCursor;
      }
      expect(pages.map((record) => record.id)).toEqual(expected.map((record) => record.id));
    }
  });

  it('face changes are recorded', async () => {
    const storage = await open({ audit: { actor: 'frontdoor' } });
    const vectors = randomVectors(4, 8, 1);
    storage.faces.addPerson({ id: 'alice', name: 'Alice', list: 'known' });
    storage.faces.updatePerson('alice', { name: 'Alicia', list: 'blacklist' });
    const encodingId = storage.faces.addEncoding('alice', vectors[0]!);
    storage.faces.removeEncoding(encodingId);
    storage.faces.enrollMany([
      { person: { id: 'bob', name: 'Bob', list: 'known' }, encodings: [vectors[1]!, vectors[2]!] },
      { person: { id: 'alice', name: 'Alice', list: 'known' }, encodings: [vectors[3]!] },
    ], { onExisting: 'append' });
    storage.faces.removePerson('bob');

    const records = storage.audit.query({ limit: 100 }).records.filter((record) => record.action !== 'migration.applied');
    expect(records.map((record) => [record.action, record.target])).toEqual([
      ['person.added', 'alice'],
      ['person.updated', 'alice'],
      ['encoding.added', 'alice'],
      ['encoding.removed', 'alice'],
      ['person.added', 'bob'],
      ['encoding.added', 'alice'],
      ['person.removed', 'bob'],
    ]);
    expect(records.every((record) => record.actor === 'frontdoor')).toBe(true);
    expect(records[1]!.details).toEqual({ changes: { name: { from: 'Alice', to: 'Alicia' }, list: { from: 'known', to: 'blacklist' } } });
    expect(records[3]!.details).toEqual({ model: 'default', encodingIds: [encodingId] });
    expect(records[6]!.details).toMatchObject({ name: 'Bob', encodingIds: (records[4]!.details as { encodingIds: number[] }).encodingIds });
    expect(storage.audit.verify().valid).toBe(true);
  });

  it('failed face write adds no record', async () => {
    const storage = await open();
    storage.faces.addPerson({ id: 'alice', name: 'Alice', list: 'known' });
    const before = storage.audit.query({ limit: 1000 }).records.length;
    expect(() => storage.faces.addPerson({ id: 'alice', name: 'Again', list: 'known' })).toThrow(expect.objectContaining({ code: ErrorCodes.ALREADY_EXISTS }));
    expect(() => storage.faces.removePerson('nobody')).toThrow(expect.objectContaining({ code: ErrorCodes.NOT_FOUND }));
    expect(storage.audit.query({ limit: 1000 }).records.length).toBe(before);
  });

  it('failed audit append rolls back change', async () => {
    const storage = await open();
    storage.database.exec("CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
    expect(() => storage.faces.addPerson({ id: 'alice', name: 'Alice', list: 'known' })).toThrow(/disk on fire/);
    expect(() => storage.config.set('cameras', { front: true }, { author: 'ops' })).toThrow(/disk on fire/);
    expect(storage.faces.getPerson('alice')).toBeUndefined();
    expect(storage.config.get('cameras')).toBeUndefined();
  });

  describe('bad input', () => {
    const cases: [string, (storage: StorageManager) => unknown, string][] = [
      ['action with spaces', (s) => s.audit.append({ action: 'Person Added', target: 'x' }), ErrorCodes.INVALID_ARGUMENT],
      ['missing action', (s) => s.audit.append({ target: 'x' } as never), ErrorCodes.INVALID_ARGUMENT],
      ['empty target', (s) => s.audit.append({ action: 'a.b', target: '' }), ErrorCodes.INVALID_ARGUMENT],
      ['empty actor', (s) => s.audit.append({ actor: '', action: 'a.b', target: 'x' }), ErrorCodes.INVALID_ARGUMENT],
      ['details as array', (s) => s.audit.append({ action: 'a.b', target: 'x', details: [1] as never }), ErrorCodes.INVALID_ARGUMENT],
      ['details with undefined', (s) => s.audit.append({ action: 'a.b', target: 'x', details: { a: undefined } }), ErrorCodes.INVALID_JSON],
      ['details with NaN', (s) => s.audit.append({ action: 'a.b', target: 'x', details: { a: Number.NaN } }), ErrorCodes.INVALID_JSON],
      ['details with Date', (s) => s.audit.append({ action: 'a.b', target: 'x', details: { at: new Date() } }), ErrorCodes.INVALID_JSON],
      ['unknown entry key', (s) => s.audit.append({ action: 'a.b', target: 'x', time: 1 } as never), ErrorCodes.INVALID_ARGUMENT],
      ['garbage cursor', (s) => s.audit.query({ cursor: 'not-a-cursor' }), ErrorCodes.INVALID_CURSOR],
      ['limit zero', (s) => s.audit.query({ limit: 0 }), ErrorCodes.INVALID_ARGUMENT],
      ['limit too large', (s) => s.audit.query({ limit: 5000 }), ErrorCodes.INVALID_ARGUMENT],
      ['end before start', (s) => s.audit.query({ start: T0 + 1, end: T0 }), ErrorCodes.INVALID_TIME_RANGE],
      ['bad start', (s) => s.audit.query({ start: 'monday' }), ErrorCodes.INVALID_TIMESTAMP],
      ['unknown filter key', (s) => s.audit.query({ user: 'x' } as never), ErrorCodes.INVALID_ARGUMENT],
      ['bad order', (s) => s.audit.query({ order: 'newest' as never }), ErrorCodes.INVALID_ARGUMENT],
    ];
    for (const [name, call, code] of cases) {
      it(`rejects ${name}`, async () => {
        const storage = await open();
        const before = storage.audit.query({ limit: 1000 }).records.length;
        expect(() => call(storage)).toThrow(expect.objectContaining({ code }));
        expect(storage.audit.query({ limit: 1000 }).records.length).toBe(before);
      });
    }

    it('rejects cursor of other order', async () => {
      const storage = await open();
      const { nextCursor } = storage.audit.query({ limit: 1 });
      expect(() => storage.audit.query({ cursor: nextCursor!, order: 'desc' })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_CURSOR }));
    });

    it('rejects cyclic details', async () => {
      const storage = await open();
      const details: Record<string, unknown> = {};
      details.self = details;
      expect(() => storage.audit.append({ action: 'a.b', target: 'x', details })).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_JSON }));
    });

    it('rejects bad default actor', async () => {
      await expect(open({ audit: { actor: '' } })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
      await expect(open({ audit: { author: 'x' } as never })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    });
  });
});
