import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { runCli } from '../src/cli/run.js';
import { ErrorCodes, openStorage } from '../src/index.js';
import type { StorageManager, StorageOptions } from '../src/storage-manager.js';
import { temporaryDirectory } from './helpers/reference.js';

type Folder = ReturnType<typeof temporaryDirectory>;
type SchemaRow = { type: string; name: string; sql: string | null };
type AuditRow = { action: string; target: string };

const CLI = resolve('dist/src/cli/main.js');
/** Migrations per file of the split layout: main (faces, config, audit), events, metrics. */
const MAIN_STEPS = ['faces/0001_create_faces', 'config/0001_create_config_versions', 'audit/0001_create_audit_log'];
const EVENTS_STEPS = ['events/0001_create_events', 'events/0002_add_event_keep', 'events/0003_merge_search_segments_later'];
const METRICS_STEPS = ['metrics/0001_create_metrics'];

function schemaOf(path: string): SchemaRow[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT type, name, sql FROM sqlite_schema WHERE tbl_name <> 'schema_migrations' ORDER BY type, name").all() as SchemaRow[];
  } finally {
    db.close();
  }
}

function withDb<T>(path: string, work: (db: Database.Database) => T): T {
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  try {
    return work(db);
  } finally {
    db.close();
  }
}

function auditRows(path: string): AuditRow[] {
  return withDb(path, (db) => db.prepare('SELECT action, target FROM audit_log ORDER BY id').all() as AuditRow[]);
}

async function caught(action: () => unknown): Promise<Error & { code?: string }> {
  try {
    await action();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the call to throw, but it returned');
}

describe('MigrationSet split layout', () => {
  let folder: Folder;
  let storage: StorageManager | undefined;
  beforeEach(() => {
    folder = temporaryDirectory();
  });
  afterEach(async () => {
    await storage?.close();
    storage = undefined;
    folder.remove();
  });

  const mainPath = (): string => join(folder.path, 'porchlight.db');
  const eventsPath = (): string => join(folder.path, 'events.db');
  const metricsPath = (): string => join(folder.path, 'metrics.db');

  async function open(options: Omit<StorageOptions, 'dataDirectory'> = {}): Promise<StorageManager> {
    storage = await openStorage({ dataDirectory: folder.path, databases: { events: 'events.db', metrics: 'metrics.db' }, ...options });
    return storage;
  }

  it('relative paths', async () => {
    const opened = await open();
    expect(opened.migrate.files.map((file) => file.path)).toEqual([mainPath(), eventsPath(), metricsPath()]);
    expect(opened.migrate.files.map((file) => file.stores.join(','))).toEqual(['faces,config,audit', 'events', 'metrics']);
  });

  it('absolute path elsewhere', async () => {
    const other = temporaryDirectory();
    try {
      const path = join(other.path, 'nested', 'ev.db');
      storage = await openStorage({ dataDirectory: folder.path, databases: { events: path } });
      storage.events.storeEvent({ type: 'motion', source: 'cam' });
      const run = await storage.migrate.down({ store: 'events', to: 1 });
      expect(run.steps.map((step) => step.version)).toEqual([3, 2]);
      expect(run.backupPaths).toHaveLength(1);
      expect(run.backupPaths[0]!.startsWith(join(folder.path, 'backups'))).toBe(true);
      expect(storage.migrate.currentVersion('events')).toBe(1);
      expect(storage.audit.verify().valid).toBe(true);
    } finally {
      await storage?.close();
      storage = undefined;
      other.remove();
    }
  });

  it('events and metrics share a file', async () => {
    storage = await openStorage({ dataDirectory: folder.path, databases: { events: 'side.db', metrics: 'side.db' } });
    expect(storage.migrate.files.map((file) => file.stores.join(','))).toEqual(['faces,config,audit', 'events,metrics']);
    const run = await storage.migrate.down({ store: 'metrics', to: 0 });
    expect(run.steps.map((step) => step.store)).toEqual(['metrics']);
    expect(storage.migrate.currentVersion('events')).toBe(3);
  });

  it('main path spelled twice', async () => {
    storage = await openStorage({ dataDirectory: folder.path, databases: { events: './porchlight.db', metrics: join(folder.path, 'x', '..', 'porchlight.db') } });
    expect(storage.migrate.files.map((file) => file.stores.join(','))).toEqual(['faces,events,metrics,config,audit']);
  });

  it('down all then up', async () => {
    const opened = await open();
    opened.events.storeEvent({ type: 'motion', source: 'cam' });
    const before = [mainPath(), eventsPath(), metricsPath()].map(schemaOf);
    const down = await opened.migrate.down({ to: 0 });
    expect(down.steps).toHaveLength(7);
    expect(opened.migrate.status().every((entry) => entry.state === 'pending')).toBe(true);
    const up = await opened.migrate.up();
    expect(up.steps).toHaveLength(7);
    expect([mainPath(), eventsPath(), metricsPath()].map(schemaOf)).toEqual(before);
    expect(opened.audit.verify().valid).toBe(true);
    expect(auditRows(mainPath()).map((row) => row.target)).toEqual([...MAIN_STEPS, ...EVENTS_STEPS, ...METRICS_STEPS]);
  });

  it('audit store down and up', async () => {
    const opened = await open();
    opened.config.set('door', { open: true }, { author: 'test' });
    const down = await opened.migrate.down({ store: 'audit', to: 0 });
    expect(down.steps.map((step) => step.store)).toEqual(['audit']);
    expect(down.backupPaths).toHaveLength(1);
    expect(opened.migrate.currentVersion('audit')).toBe(0);
    const up = await opened.migrate.up({ store: 'audit' });
    expect(up.steps.map((step) => step.store)).toEqual(['audit']);
    expect(opened.audit.verify().valid).toBe(true);
    expect(auditRows(mainPath()).map((row) => row.action)).toEqual(['backup.created', 'migration.applied']);
    expect(auditRows(mainPath())[0]!.target).toBe(up.backupPaths[0]);
  });

  it('audit appends after re-apply', async () => {
    const opened = await open();
    await opened.migrate.down({ store: 'audit', to: 0 });
    await opened.migrate.up({ store: 'audit' });
    opened.audit.append({ action: 'test.after', target: 'x' });
    expect(opened.audit.verify().valid).toBe(true);
  });

  it('backs up only the changed file', async () => {
    const opened = await open();
    opened.events.storeEvent({ type: 'motion', source: 'cam' });
    await opened.migrate.down({ store: 'events', to: 1 });
    const run = await opened.migrate.up();
    expect(run.backupPaths).toHaveLength(1);
    expect(run.backupPaths[0]).toMatch(/events-.*-before-migration\.db$/);
    expect(run.backupPath).toBe(run.backupPaths[0]);
    const rows = auditRows(mainPath()).slice(-6);
    expect(rows.map((row) => row.action)).toEqual(['backup.created', 'migration.reverted', 'migration.reverted', 'backup.created', 'migration.applied', 'migration.applied']);
    expect(opened.audit.verify().valid).toBe(true);
  });

  it('store in main file', async () => {
    const opened = await open();
    const run = await opened.migrate.down({ store: 'config', to: 0 });
    expect(run.steps.map((step) => step.store)).toEqual(['config']);
    expect(run.backupPaths.map((path) => path.includes('porchlight-'))).toEqual([true]);
    expect(existsSync(join(folder.path, 'backups')) && readdirSync(join(folder.path, 'backups')).some((name) => name.startsWith('events-'))).toBe(false);
    expect(auditRows(mainPath()).at(-1)).toEqual({ action: 'migration.reverted', target: 'config/0001_create_config_versions' });
    expect(opened.audit.verify().valid).toBe(true);
  });

  it('nothing to do records nothing', async () => {
    const opened = await open();
    const count = auditRows(mainPath()).length;
    const run = await opened.migrate.up();
    expect(run.steps).toHaveLength(0);
    expect(run.backupPaths).toHaveLength(0);
    expect(auditRows(mainPath())).toHaveLength(count);
  });

  it('up failure in one file', async () => {
    const opened = await open();
    opened.events.storeEvent({ type: 'motion', source: 'cam' });
    await opened.migrate.down({ store: 'events', to: 1 });
    await opened.migrate.down({ store: 'metrics', to: 0 });
    const recorded = auditRows(mainPath()).length;
    withDb(metricsPath(), (db) => db.exec('CREATE TABLE metric_series (x)'));

    const error = await caught(() => opened.migrate.up());
    expect(error.code).toBe(ErrorCodes.MIGRATION_SCHEMA_CONFLICT);
    // The events file was migrated before the metrics file failed.
    expect(opened.migrate.currentVersion('events')).toBe(3);
    const added = auditRows(mainPath()).slice(recorded);
    expect(added.map((row) => row.action)).toEqual(['backup.created', 'migration.applied', 'migration.applied']);
    expect(opened.audit.verify().valid).toBe(true);
  });

  it('refused down changes nothing', async () => {
    const opened = await open();
    // A too-new version in the main file, which down reaches last, so the runner rejects it there.
    withDb(mainPath(), (db) => db.prepare("INSERT INTO schema_migrations VALUES ('faces', 9, 'future', 'x', '2030-01-01T00:00:00.000Z')").run());
    const error = await caught(() => opened.migrate.down({ to: 0 }));
    expect(error.code).toBe(ErrorCodes.SCHEMA_TOO_NEW);
    expect(opened.migrate.status().filter((entry) => entry.store !== 'faces').map((entry) => entry.state)).toEqual(Array(6).fill('applied'));
  });

  it('refused down audits its changes', async () => {
    const opened = await open();
    const recorded = auditRows(mainPath()).length;
    withDb(mainPath(), (db) => db.prepare("INSERT INTO schema_migrations VALUES ('faces', 9, 'future', 'x', '2030-01-01T00:00:00.000Z')").run());
    await caught(() => opened.migrate.down({ to: 0 }));
    const changed = opened.migrate.status().filter((entry) => entry.store !== 'faces' && entry.state === 'pending').length;
    expect(auditRows(mainPath()).slice(recorded).filter((row) => row.action === 'migration.reverted')).toHaveLength(changed);
    expect(opened.audit.verify().valid).toBe(true);
  });

  it('refused up changes nothing', async () => {
    const opened = await open();
    await opened.migrate.down({ store: 'events', to: 1 });
    // A too-new version in the metrics file, which up reaches last, so the runner rejects it there.
    withDb(metricsPath(), (db) => db.prepare("INSERT INTO schema_migrations VALUES ('metrics', 9, 'future', 'x', '2030-01-01T00:00:00.000Z')").run());
    const error = await caught(() => opened.migrate.up());
    expect(error.code).toBe(ErrorCodes.SCHEMA_TOO_NEW);
    expect(opened.migrate.currentVersion('events')).toBe(1);
  });

  it('close after metrics down', async () => {
    const opened = await open();
    await opened.migrate.down({ store: 'metrics', to: 0 });
    await expect(opened.close()).resolves.toBeUndefined();
  });

  it('close after metrics down, one file', async () => {
    storage = await openStorage({ dataDirectory: folder.path });
    await storage.migrate.down({ store: 'metrics', to: 0 });
    await expect(storage.close()).resolves.toBeUndefined();
  });

  it('status after close', async () => {
    const opened = await open();
    await opened.close();
    expect(() => opened.migrate.status()).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
  });

  it('up after close', async () => {
    const opened = await open();
    await opened.close();
    expect(() => opened.migrate.up()).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
  });

  it('down after close', async () => {
    const opened = await open();
    await opened.close();
    expect(() => opened.migrate.down({ to: 0 })).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
  });

  it('currentVersion after close', async () => {
    const opened = await open();
    await opened.close();
    expect(() => opened.migrate.currentVersion('events')).toThrow(expect.objectContaining({ code: ErrorCodes.CLOSED }));
  });
});

describe('MigrationSet options', () => {
  let folder: Folder;
  let storage: StorageManager;
  beforeEach(async () => {
    folder = temporaryDirectory();
    storage = await openStorage({ dataDirectory: folder.path, databases: { events: 'events.db' } });
  });
  afterEach(async () => {
    await storage.close();
    folder.remove();
  });

  const cases: [string, () => unknown][] = [
    ['up to -1', () => storage.migrate.up({ to: -1 })],
    ['up to 1.5', () => storage.migrate.up({ to: 1.5 })],
    ['up to string', () => storage.migrate.up({ to: '2' as unknown as number })],
    ['up to NaN', () => storage.migrate.up({ to: Number.NaN })],
    ['up unknown key', () => storage.migrate.up({ version: 1 } as never)],
    ['up unknown store', () => storage.migrate.up({ store: 'photos' })],
    ['up store number', () => storage.migrate.up({ store: 1 as unknown as string })],
    ['up to beyond store', () => storage.migrate.up({ store: 'events', to: 4 })],
    ['up null', () => storage.migrate.up(null as never)],
    ['down no options', () => storage.migrate.down(undefined as never)],
    ['down no to', () => storage.migrate.down({} as never)],
    ['down to -1', () => storage.migrate.down({ to: -1 })],
    ['down to 0.5', () => storage.migrate.down({ to: 0.5 })],
    ['down to Infinity', () => storage.migrate.down({ to: Number.POSITIVE_INFINITY })],
    ['down unknown key', () => storage.migrate.down({ to: 0, force: true } as never)],
    ['down unknown store', () => storage.migrate.down({ store: 'photos', to: 0 })],
    ['down store toString', () => storage.migrate.down({ store: 'toString', to: 0 })],
    ['currentVersion unknown', () => storage.migrate.currentVersion('photos')],
    ['currentVersion undefined', () => storage.migrate.currentVersion(undefined as never)],
  ];
  for (const [name, action] of cases) {
    it(name, async () => {
      const error = await caught(action);
      expect(error.code).toBe(ErrorCodes.INVALID_ARGUMENT);
    });
  }

  it('bad options change nothing', async () => {
    await caught(() => storage.migrate.down({ to: -1 }));
    await caught(() => storage.migrate.down({ to: 0, force: true } as never));
    expect(storage.migrate.status().every((entry) => entry.state === 'applied')).toBe(true);
  });

  it('to caps every file', async () => {
    await storage.migrate.down({ to: 0 });
    const run = await storage.migrate.up({ to: 2 });
    expect(run.steps.map((step) => `${step.store} ${step.version}`)).toEqual(['faces 1', 'metrics 1', 'config 1', 'audit 1', 'events 1', 'events 2']);
  });

  it('up to below current', async () => {
    const error = await caught(() => storage.migrate.up({ store: 'events', to: 1 }));
    expect(error.code).toBe(ErrorCodes.INVALID_ARGUMENT);
  });
});

describe('migrate CLI split layout', () => {
  let folder: Folder;
  let config: string;
  beforeEach(() => {
    folder = temporaryDirectory();
    config = join(folder.path, 'porchlight.json');
    writeFileSync(config, JSON.stringify({ dataDirectory: '.', databases: { events: 'events.db', metrics: join(folder.path, 'm', 'metrics.db') } }));
  });
  afterEach(() => folder.remove());

  const mainPath = (): string => join(folder.path, 'porchlight.db');
  const eventsPath = (): string => join(folder.path, 'events.db');
  const metricsPath = (): string => join(folder.path, 'm', 'metrics.db');

  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (chunk) => { out += chunk; });
    stderr.on('data', (chunk) => { err += chunk; });
    const code = await runCli(['--config', config, 'migrate', ...args], { stdout, stderr });
    return { code, stdout: out, stderr: err };
  }

  async function verify(): Promise<boolean> {
    const storage = await openStorage(config);
    try {
      return storage.audit.verify().valid;
    } finally {
      await storage.close();
    }
  }

  function applied(output: string, word: 'Applied' | 'Reverted'): string[] {
    return [...output.matchAll(new RegExp(`^${word} (\\S+) (\\d+) (\\S+)`, 'gm'))].map((match) => `${match[1]}/${match[2]!.padStart(4, '0')}_${match[3]}`);
  }

  it('status before any file', async () => {
    const result = await cli('status', '--json');
    const status = JSON.parse(result.stdout) as { databases: { path: string; exists: boolean; migrations: { state: string }[] }[] };
    expect(status.databases.map((database) => [database.path, database.exists])).toEqual([[mainPath(), false], [eventsPath(), false], [metricsPath(), false]]);
    expect(existsSync(mainPath()) || existsSync(eventsPath()) || existsSync(metricsPath())).toBe(false);
  });

  it('status with one file missing', async () => {
    await cli('up', '--store', 'events');
    const result = await cli('status');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/No database at .*porchlight\.db yet/);
    expect(result.stdout).toMatch(/Database .*events\.db/);
    expect(result.stdout).toMatch(/events\s+3\s+merge_search_segments_later\s+applied/);
    expect(existsSync(mainPath())).toBe(false);
  });

  it('up output matches audit', async () => {
    const result = await cli('up');
    expect(result.code).toBe(0);
    expect(applied(result.stdout, 'Applied')).toEqual([...MAIN_STEPS, ...EVENTS_STEPS, ...METRICS_STEPS]);
    expect(auditRows(mainPath()).map((row) => row.target)).toEqual([...MAIN_STEPS, ...EVENTS_STEPS, ...METRICS_STEPS]);
    expect(await verify()).toBe(true);
  });

  it('down --store events', async () => {
    await cli('up');
    const storage = await openStorage(config);
    storage.events.storeEvent({ type: 'motion', source: 'cam' });
    await storage.close();
    const before = auditRows(mainPath()).length;

    const result = await cli('down', '--store', 'events', '--to', '1');
    expect(result.code).toBe(0);
    const backups = [...result.stdout.matchAll(/^Backup written to (.*)$/gm)].map((match) => match[1]);
    expect(backups).toHaveLength(1);
    expect(backups[0]).toMatch(/events-.*-before-revert\.db$/);
    expect(applied(result.stdout, 'Reverted')).toEqual([EVENTS_STEPS[2], EVENTS_STEPS[1]]);
    const added = auditRows(mainPath()).slice(before);
    expect(added).toEqual([
      { action: 'backup.created', target: backups[0] },
      { action: 'migration.reverted', target: EVENTS_STEPS[2] },
      { action: 'migration.reverted', target: EVENTS_STEPS[1] },
    ]);
    expect(withDb(eventsPath(), (db) => db.prepare('SELECT count(*) FROM events').pluck().get())).toBe(1);
    expect(await verify()).toBe(true);
  });

  it('down --store config', async () => {
    await cli('up');
    const result = await cli('down', '--store', 'config', '--to', '0', '--no-backup');
    expect(applied(result.stdout, 'Reverted')).toEqual(['config/0001_create_config_versions']);
    expect(auditRows(mainPath()).at(-1)).toEqual({ action: 'migration.reverted', target: 'config/0001_create_config_versions' });
    expect(schemaOf(eventsPath()).some((row) => row.name === 'events')).toBe(true);
    expect(existsSync(join(folder.path, 'backups'))).toBe(false);
  });

  it('down with split file missing', async () => {
    await cli('up', '--store', 'faces');
    const result = await cli('down', '--store', 'events', '--to', '0');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no database at .*events\.db/);
    expect(existsSync(eventsPath())).toBe(false);
  });

  it('down all with a file missing', async () => {
    await cli('up', '--store', 'faces');
    await cli('up', '--store', 'metrics');
    const result = await cli('down', '--to', '0');
    expect(result.code).toBe(0);
    expect(applied(result.stdout, 'Reverted')).toEqual(['metrics/0001_create_metrics', 'faces/0001_create_faces']);
    expect(existsSync(eventsPath())).toBe(false);
  });

  it('down all then up', async () => {
    await cli('up');
    const before = [mainPath(), eventsPath(), metricsPath()].map(schemaOf);
    const down = await cli('down', '--to', '0');
    expect(applied(down.stdout, 'Reverted')).toHaveLength(7);
    const up = await cli('up');
    expect(applied(up.stdout, 'Applied')).toHaveLength(7);
    expect([mainPath(), eventsPath(), metricsPath()].map(schemaOf)).toEqual(before);
    expect(await verify()).toBe(true);
  });

  it('audit store down and up', async () => {
    await cli('up');
    const down = await cli('down', '--store', 'audit', '--to', '0');
    expect(down.code).toBe(0);
    expect(withDb(mainPath(), (db) => db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'audit_log'").pluck().get())).toBe(0);
    const up = await cli('up', '--store', 'audit');
    expect(applied(up.stdout, 'Applied')).toEqual(['audit/0001_create_audit_log']);
    expect(auditRows(mainPath()).filter((row) => row.action.startsWith('migration.')).map((row) => row.target)).toEqual(['audit/0001_create_audit_log']);
    expect(await verify()).toBe(true);
  });

  it('up failure output', async () => {
    await cli('up');
    await cli('down', '--store', 'events', '--to', '0');
    await cli('down', '--store', 'metrics', '--to', '0');
    const before = auditRows(mainPath()).length;
    withDb(metricsPath(), (db) => db.exec('CREATE TABLE metric_series (x)'));

    const result = await cli('up');
    expect(result.code).toBe(1);
    expect(withDb(eventsPath(), (db) => db.prepare("SELECT max(version) FROM schema_migrations WHERE store = 'events'").pluck().get())).toBe(3);
    expect(applied(result.stdout, 'Applied')).toEqual(EVENTS_STEPS);
  });

  it('up failure audit', async () => {
    await cli('up');
    await cli('down', '--store', 'events', '--to', '0');
    await cli('down', '--store', 'metrics', '--to', '0');
    const before = auditRows(mainPath()).length;
    withDb(metricsPath(), (db) => db.exec('CREATE TABLE metric_series (x)'));

    await cli('up');
    expect(auditRows(mainPath()).slice(before).map((row) => row.target)).toEqual(EVENTS_STEPS);
    // Opening the storage to verify migrates metrics, so the conflicting table goes first.
    withDb(metricsPath(), (db) => db.exec('DROP TABLE metric_series'));
    expect(await verify()).toBe(true);
  });

  it('config turns backups off', async () => {
    writeFileSync(config, JSON.stringify({ dataDirectory: '.', databases: { events: 'events.db' }, migrations: { backup: false } }));
    await cli('up');
    const storage = await openStorage(config);
    storage.events.storeEvent({ type: 'motion', source: 'cam' });
    await storage.close();
    const result = await cli('down', '--store', 'events', '--to', '0');
    expect(result.stdout).not.toMatch(/Backup written/);
  });

  it('to 0 on up', async () => {
    const result = await cli('up', '--to', '0');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Nothing to apply/);
  });

  it('--store unknown', async () => {
    const result = await cli('up', '--store', 'photos');
    expect(result.code).toBe(2);
    expect(existsSync(mainPath())).toBe(false);
  });

  it('--to non-integer', async () => {
    const result = await cli('down', '--to', '1.5');
    expect(result.code).toBe(2);
  });

  it('--to beyond store', async () => {
    const result = await cli('up', '--store', 'events', '--to', '4');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/INVALID_ARGUMENT/);
  });
});

describe('migrate CLI two processes', () => {
  let folder: Folder;
  let config: string;
  beforeEach(() => {
    folder = temporaryDirectory();
    config = join(folder.path, 'porchlight.json');
    writeFileSync(config, JSON.stringify({ dataDirectory: folder.path, databases: { events: 'events.db', metrics: 'metrics.db' } }));
  });
  afterEach(() => folder.remove());

  function child(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((done, fail) => {
      const proc = spawn(process.execPath, [CLI, '--config', config, 'migrate', ...args], { cwd: folder.path });
      let stdout = '';
      let stderr = '';
      proc.stdout.on('data', (chunk) => { stdout += chunk; });
      proc.stderr.on('data', (chunk) => { stderr += chunk; });
      proc.on('error', fail);
      proc.on('close', (code) => done({ code, stdout, stderr }));
    });
  }

  const steps = (output: string, word: string): string[] => [...output.matchAll(new RegExp(`^${word} (\\S+) (\\d+)`, 'gm'))].map((match) => `${match[1]} ${match[2]}`);

  for (let round = 1; round <= 3; round++) {
    it(`up twice at once ${round}`, async () => {
      const [a, b] = await Promise.all([child('up'), child('up')]);
      expect([a.code, b.code]).toEqual([0, 0]);
      const all = [...steps(a.stdout, 'Applied'), ...steps(b.stdout, 'Applied')].sort();
      expect(all).toEqual(['audit 1', 'config 1', 'events 1', 'events 2', 'events 3', 'faces 1', 'metrics 1']);
      const rows = auditRows(join(folder.path, 'porchlight.db')).filter((row) => row.action === 'migration.applied');
      expect(rows).toHaveLength(7);
      const storage = await openStorage(config);
      expect(storage.audit.verify().valid).toBe(true);
      await storage.close();
    });
  }

  it('relative --data-dir', async () => {
    writeFileSync(config, JSON.stringify({ dataDirectory: '/nonexistent-porchlight', databases: { events: 'events.db' } }));
    const exitCode = await new Promise<number | null>((done, fail) => {
      const run = spawn(process.execPath, [CLI, '--config', config, '--data-dir', 'rel', 'migrate', 'up'], { cwd: folder.path });
      run.on('error', fail);
      run.on('close', done);
    });
    expect(exitCode).toBe(0);
    expect(readdirSync(join(folder.path, 'rel')).filter((name) => name.endsWith('.db')).sort()).toEqual(['events.db', 'porchlight.db']);
  });

  it('down all twice at once', async () => {
    // Each process either reverts what the other has not, or stops cleanly with MIGRATION_LOCKED.
    const codes: (number | null)[] = [];
    const errors: string[] = [];
    for (let round = 1; round <= 5; round++) {
      const data = join(folder.path, `round${round}`);
      writeFileSync(config, JSON.stringify({ dataDirectory: data, databases: { events: 'events.db', metrics: 'metrics.db' } }));
      await child('up');
      const [a, b] = await Promise.all([child('down', '--to', '0'), child('down', '--to', '0')]);
      codes.push(a.code, b.code);
      errors.push(a.stderr, b.stderr);
    }
    expect(codes.every((code) => code === 0 || code === 1)).toBe(true);
    expect(errors.filter((text) => text !== '' && !text.includes('[MIGRATION_LOCKED]'))).toEqual([]);
  });

  it('down twice at once', async () => {
    await child('up');
    const storage = await openStorage(config);
    storage.events.storeEvent({ type: 'motion', source: 'cam' });
    await storage.close();
    const [a, b] = await Promise.all([child('down', '--store', 'events', '--to', '0'), child('down', '--store', 'events', '--to', '0')]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const all = [...steps(a.stdout, 'Reverted'), ...steps(b.stdout, 'Reverted')].sort();
    expect(all).toEqual(['events 1', 'events 2', 'events 3']);
    const rows = auditRows(join(folder.path, 'porchlight.db')).filter((row) => row.action === 'migration.reverted');
    expect(rows).toHaveLength(3);
  });
});
