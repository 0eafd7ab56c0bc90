import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { runCli } from '../src/cli/run.js';
import { ErrorCodes } from '../src/errors.js';
import { loadConfigFile } from '../src/operations/config-file.js';
import { databaseLayout } from '../src/operations/database-layout.js';
import { DEFAULTS, resolveStorageConfig, type StorageOptions } from '../src/operations/storage-config.js';
import { openStorage } from '../src/storage-manager.js';
import { temporaryDirectory } from './helpers/reference.js';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({ write(chunk, _encoding, callback) { text += String(chunk); callback(); } });
  return { stream, text: () => text };
}

function rejection(options: unknown): { code: string; message: string; key: unknown } {
  try {
    resolveStorageConfig(options as StorageOptions);
  } catch (error) {
    const failure = error as { code: string; message: string; details: { key?: unknown } };
    return { code: failure.code, message: failure.message, key: failure.details.key };
  }
  throw new Error(`expected ${JSON.stringify(options)} to be rejected`);
}

describe('storage configuration', () => {
  let folder: ReturnType<typeof temporaryDirectory>;
  beforeEach(() => {
    folder = temporaryDirectory();
  });
  afterEach(() => folder.remove());

  it('defaults from one data directory', () => {
    const config = resolveStorageConfig({ dataDirectory: folder.path });
    expect(config.backupDirectory).toBe(join(folder.path, 'backups'));
    expect(config.durability).toBe('full');
    expect(config.wal).toBe(true);
    expect(config.backup).toEqual(DEFAULTS.backup);
    expect(config.cleanup).toEqual(DEFAULTS.cleanup);
    expect(config.retention.metricDays).toEqual(DEFAULTS.retention.metricDays);
    for (const path of Object.values(config.databases)) expect(path).toBe(join(folder.path, 'porchlight.db'));
    expect(Object.isFrozen(config.backup)).toBe(true);
  });

  it('unknown top-level key named', () => {
    const failure = rejection({ dataDirectory: folder.path, walMode: true });
    expect(failure.code).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect(failure.key).toBe('walMode');
    expect(failure.message).toContain('options.walMode');
  });

  it('misspelled nested key suggested', () => {
    const failure = rejection({ dataDirectory: folder.path, backup: { kep: 3 } });
    expect(failure.key).toBe('backup.kep');
    expect(failure.message).toContain('Did you mean keep?');
  });

  const wrongTypes: [string, Record<string, unknown>][] = [
    ['dataDirectory', { dataDirectory: 5 }],
    ['wal', { wal: 'yes' }],
    ['durability', { durability: 'extra' }],
    ['backup.keep', { backup: { keep: 2.5 } }],
    ['backup.keep', { backup: { keep: 0 } }],
    ['backup.intervalMinutes', { backup: { intervalMinutes: '60' } }],
    ['backup.compression', { backup: { compression: 'zip' } }],
    ['backup.compressionLevel', { backup: { compressionLevel: 12 } }],
    ['backup.compressionLevel', { backup: { compression: 'gzip', compressionLevel: 10 } }],
    ['cleanup.chunkSize', { cleanup: { chunkSize: -1 } }],
    ['cleanup.walCheckpointBytes', { cleanup: { walCheckpointBytes: Number.NaN } }],
    ['retention.eventDays', { retention: { eventDays: 0 } }],
    ['retention.eventTypeDays.motion', { retention: { eventTypeDays: { motion: 'week' } } }],
    ['retention.metricDays.hour', { retention: { metricDays: { hour: -3 } } }],
    ['retention.metricDays.second', { retention: { metricDays: { second: 1 } } }],
    ['migrations.auto', { migrations: { auto: 1 } }],
    ['health.minFreeDiskBytes', { health: { minFreeDiskBytes: '1GB' } }],
    ['databases.events', { databases: { events: '' } }],
    ['databases.audit', { databases: { audit: 'audit.db' } }],
    ['backup', { backup: [] }],
  ];
  for (const [key, patch] of wrongTypes) {
    it(`rejects bad ${key}`, () => {
      const failure = rejection({ dataDirectory: folder.path, ...patch });
      expect(failure.code).toBe(ErrorCodes.INVALID_ARGUMENT);
      expect(failure.key).toBe(key);
      expect(failure.message).toContain(`options.${key}`);
    });
  }

  it('null retention keeps forever', () => {
    const config = resolveStorageConfig({ dataDirectory: folder.path, retention: { eventDays: null, eventTypeDays: { motion: 7 }, metricDays: { raw: 2 } } });
    expect(config.retention.eventDays).toBeNull();
    expect(config.retention.eventTypeDays).toEqual({ motion: 7 });
    expect(config.retention.metricDays).toEqual({ raw: 2, minute: 30, hour: 365, day: null });
  });

  it('rejects splitting audited stores', () => {
    const failure = rejection({ dataDirectory: folder.path, databases: { faces: 'faces.db' } });
    expect(failure.key).toBe('databases.config');
    expect(failure.message).toContain('audit');
  });

  it('allows audited stores moved together', () => {
    const config = resolveStorageConfig({ dataDirectory: folder.path, databases: { faces: 'core.db', config: 'core.db', events: 'events.db' } });
    const layout = databaseLayout(config, ['faces', 'events', 'metrics', 'config', 'audit']);
    expect(layout).toEqual([
      { name: 'main', path: join(folder.path, 'core.db'), stores: ['faces', 'config', 'audit'] },
      { name: 'events', path: join(folder.path, 'events.db'), stores: ['events'] },
      { name: 'metrics', path: join(folder.path, 'porchlight.db'), stores: ['metrics'] },
    ]);
  });

  it('caller objects stay unfrozen', () => {
    const models = { arcface: 'cosine' as const };
    resolveStorageConfig({ dataDirectory: folder.path, faces: { models } });
    expect(Object.isFrozen(models)).toBe(false);
  });
});

describe('configuration file', () => {
  let folder: ReturnType<typeof temporaryDirectory>;
  beforeEach(() => {
    folder = temporaryDirectory();
  });
  afterEach(() => folder.remove());

  it('comments and relative paths', () => {
    const path = join(folder.path, 'site.jsonc');
    writeFileSync(path, '// site settings\n{ "dataDirectory": "db", /* daily */ "backup": { "keep": 3, }, }\n');
    const options = loadConfigFile(path);
    expect(options.dataDirectory).toBe(join(folder.path, 'db'));
    const config = resolveStorageConfig(options);
    expect(config.backup.keep).toBe(3);
    expect(config.backupDirectory).toBe(join(folder.path, 'db', 'backups'));
  });

  it('syntax error names line', () => {
    const path = join(folder.path, 'broken.jsonc');
    writeFileSync(path, '{\n  "dataDirectory": "db"\n  "wal": true\n}\n');
    expect(() => loadConfigFile(path)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG, message: expect.stringContaining(`${path}:3:`) }));
  });

  it('bad key names file', () => {
    const path = join(folder.path, 'typo.jsonc');
    writeFileSync(path, '{ "dataDirectory": "db", "durabilty": "full" }');
    expect(() => loadConfigFile(path)).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG, message: expect.stringContaining(`${path}: durabilty`) }));
  });

  it('missing file suggests init', () => {
    expect(() => loadConfigFile(join(folder.path, 'none.jsonc'))).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_CONFIG, message: expect.stringContaining('porchlight init') }));
  });

  it('init writes loadable defaults', async () => {
    const path = join(folder.path, 'porchlight.config.jsonc');
    const out = capture();
    expect(await runCli(['init', path], { stdout: out.stream, stderr: capture().stream })).toBe(0);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('// ');
    const config = resolveStorageConfig(loadConfigFile(path));
    const defaults = resolveStorageConfig({ dataDirectory: join(folder.path, 'data') });
    expect({ ...config, logger: undefined, faces: undefined }).toEqual({ ...defaults, logger: undefined, faces: undefined });
    // The face defaults live in FaceDatabase; the file spells them out.
    expect(config.faces).toEqual({ metric: 'l2', models: {}, personCacheSize: 10_000 });
  });

  it('init keeps existing file', async () => {
    const path = join(folder.path, 'porchlight.config.jsonc');
    writeFileSync(path, '{ "dataDirectory": "mine" }');
    const err = capture();
    expect(await runCli(['init', path], { stdout: capture().stream, stderr: err.stream })).toBe(1);
    expect(readFileSync(path, 'utf8')).toBe('{ "dataDirectory": "mine" }');
    expect(err.text()).toContain('--force');
    expect(await runCli(['init', path, '--force'], { stdout: capture().stream, stderr: capture().stream })).toBe(0);
    expect(readFileSync(path, 'utf8')).toContain('"durability": "full"');
  });

  it('openStorage reads a file', async () => {
    const path = join(folder.path, 'site.jsonc');
    writeFileSync(path, '{ "dataDirectory": "db", "durability": "normal", "backup": { "intervalMinutes": 0 } }');
    const storage = await openStorage(path);
    try {
      expect(storage.databasePath).toBe(join(folder.path, 'db', 'porchlight.db'));
      expect(storage.database.pragma('synchronous', { simple: true })).toBe(1);
    } finally {
      await storage.close();
    }
  });

  it('CLI --config selects data', async () => {
    const path = join(folder.path, 'site.jsonc');
    writeFileSync(path, '{ "dataDirectory": "db" }');
    const out = capture();
    expect(await runCli(['--config', path, 'health', '--json'], { stdout: out.stream, stderr: capture().stream })).toBe(0);
    const report = JSON.parse(out.text()) as { databases: { path: string }[] };
    expect(report.databases[0]!.path).toBe(join(folder.path, 'db', 'porchlight.db'));
  });
});

describe('durability and journal', () => {
  let folder: ReturnType<typeof temporaryDirectory>;
  beforeEach(() => {
    folder = temporaryDirectory();
  });
  afterEach(() => folder.remove());

  it('full durability by default', async () => {
    const storage = await openStorage({ dataDirectory: folder.path });
    expect(storage.database.pragma('synchronous', { simple: true })).toBe(2);
    expect(storage.database.pragma('journal_mode', { simple: true })).toBe('wal');
    await storage.close();
  });

  it('wal off uses rollback journal', async () => {
    const storage = await openStorage({ dataDirectory: folder.path, wal: false });
    expect(storage.database.pragma('journal_mode', { simple: true })).toBe('delete');
    await storage.close();
  });

  it('separate events file opened', async () => {
    const storage = await openStorage({ dataDirectory: folder.path, databases: { events: 'events.db' } });
    // Only stores that exist get a file; each file's name and path are listed.
    expect(storage.databaseFiles.map((file) => file.name)).toContain('main');
    expect(storage.databaseFiles.every((file) => file.path.startsWith(folder.path))).toBe(true);
    await storage.close();
  });
});
