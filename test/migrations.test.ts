import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';

import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { runCli } from '../src/cli/run.js';
import { openDatabase, type SqliteDatabase } from '../src/db/open-database.js';
import { splitSqlStatements } from '../src/db/split-sql-statements.js';
import { ErrorCodes, Migrator, loadMigrations, openStorage, type MigrationError } from '../src/index.js';
import { STORES } from '../src/storage-manager.js';
import { temporaryDirectory } from './helpers/reference.js';

type Folder = ReturnType<typeof temporaryDirectory>;

/** Reads the schema as SQLite records it, without the migration bookkeeping table. */
function schemaOf(db: SqliteDatabase): { type: string; name: string; sql: string | null }[] {
  return db.prepare("SELECT type, name, sql FROM sqlite_schema WHERE tbl_name <> 'schema_migrations' ORDER BY type, name").all() as { type: string; name: string; sql: string | null }[];
}

async function caught(action: () => unknown): Promise<MigrationError> {
  try {
    await action();
  } catch (error) {
    return error as MigrationError;
  }
  throw new Error('expected an error');
}

/** Writes migration files of a test store `demo` into `directory/demo`. */
function writeMigrations(directory: string, files: Record<string, string>): void {
  mkdirSync(join(directory, 'demo'), { recursive: true });
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(directory, 'demo', name), sql);
}

const DEMO = {
  '0001_create_things.up.sql': 'CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nCREATE INDEX things_name ON things (name);\n',
  '0001_create_things.down.sql': 'DROP INDEX things_name;\nDROP TABLE things;\n',
  '0002_add_color.up.sql': "-- Colors for things.\nALTER TABLE things ADD COLUMN color TEXT NOT NULL DEFAULT 'red';\n",
  '0002_add_color.down.sql': 'ALTER TABLE things DROP COLUMN color;\n',
};

describe('splitSqlStatements', () => {
  it('splits on semicolons', () => {
    const statements = splitSqlStatements("CREATE TABLE a (x);\n\n-- comment; not a statement\nINSERT INTO a VALUES ('semi;colon', \"q\"\"uote;\");\n/* block; */ SELECT 1");
    expect(statements.map((statement) => statement.text)).toEqual(['CREATE TABLE a (x);', "INSERT INTO a VALUES ('semi;colon', \"q\"\"uote;\");", 'SELECT 1']);
    expect(statements.map((statement) => statement.line)).toEqual([1, 4, 5]);
  });

  it('keeps trigger bodies whole', () => {
    const sql = `CREATE TEMP TRIGGER t AFTER INSERT ON a BEGIN
  UPDATE a SET x = CASE WHEN new.x > 0 THEN 1 ELSE 0 END;
  INSERT INTO b VALUES (1);
END;
CREATE TRIGGER IF NOT EXISTS u AFTER DELETE ON a BEGIN DELETE FROM b; END;
SELECT 2;`;
    const statements = splitSqlStatements(sql);
    expect(statements).toHaveLength(3);
    expect(statements[0]!.text.endsWith('END;')).toBe(true);
    expect(statements[1]!.line).toBe(5);
    expect(statements[2]!.text).toBe('SELECT 2;');
  });
});

describe('shipped migrations', () => {
  let folder: Folder;
  beforeEach(() => {
    folder = temporaryDirectory();
  });
  afterEach(() => folder.remove());

  it('every migration has a down file', () => {
    for (const store of STORES) {
      for (const migration of loadMigrations(store)) expect(migration.downStatements, `${store} ${migration.version}`).toBeDefined();
    }
  });

  it('up down up is identical', async () => {
    const db = openDatabase(join(folder.path, 'porchlight.db'));
    const migrator = new Migrator(db, STORES);
    await migrator.up();
    const first = schemaOf(db);
    expect(first.some((entry) => entry.name === 'events_fts')).toBe(true);

    await migrator.down({ to: 0 });
    expect(schemaOf(db)).toEqual([]);
    await migrator.up();
    expect(schemaOf(db)).toEqual(first);
    db.close();
  });

  it('search automerge up and down', async () => {
    const db = openDatabase(join(folder.path, 'porchlight.db'));
    const migrator = new Migrator(db, ['events']);
    const automerge = () => db.prepare("SELECT v FROM events_fts_config WHERE k = 'automerge'").pluck().get();
    await migrator.up();
    expect(automerge()).toBe(8);
    await migrator.down({ to: 2 });
    expect(automerge()).toBe(4);
    db.close();
  });

  it('split layout reverts one file', async () => {
    const eventsPath = join(folder.path, 'events.db');
    const storage = await openStorage({ dataDirectory: folder.path, databases: { events: eventsPath } });
    expect(storage.migrate.files.map((file) => file.path)).toEqual([join(folder.path, 'porchlight.db'), eventsPath]);
    expect(storage.migrate.currentVersion('events')).toBe(3);

    const run = await storage.migrate.down({ store: 'events', to: 1 });
    expect(run.steps.map((step) => `${step.store} ${step.version}`)).toEqual(['events 3', 'events 2']);
    expect(storage.migrate.currentVersion('events')).toBe(1);
    expect(storage.migrate.currentVersion('faces')).toBe(1);
    expect(storage.migrate.status().filter((entry) => entry.state === 'pending').map((entry) => `${entry.store} ${entry.version}`)).toEqual(['events 2', 'events 3']);

    const again = await storage.migrate.up();
    expect(again.steps.map((step) => `${step.store} ${step.version}`)).toEqual(['events 2', 'events 3']);
    await storage.close();
  });

  it('to above every store is rejected', async () => {
    const storage = await openStorage({ dataDirectory: folder.path, migrations: { backup: false } });
    await storage.migrate.down({ to: 0 });
    await expect(storage.migrate.up({ to: 99 })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    expect(storage.migrate.status().every((entry) => entry.state === 'pending')).toBe(true);
    await storage.close();
  });

  it('to caps stores across files', async () => {
    const storage = await openStorage({ dataDirectory: folder.path, databases: { events: join(folder.path, 'events.db') }, migrations: { backup: false } });
    await storage.migrate.down({ to: 0 });
    await storage.migrate.up({ to: 2 });
    expect(storage.migrate.currentVersion('events')).toBe(2);
    expect(storage.migrate.currentVersion('faces')).toBe(1);
    await storage.close();
  });

  it('unknown store is rejected', async () => {
    const storage = await openStorage({ dataDirectory: folder.path });
    await expect(storage.migrate.up({ store: 'photos' })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    expect(() => storage.migrate.currentVersion('photos')).toThrow(/must be one of faces, events, metrics, config, audit/);
    await storage.close();
  });

  it('events store reverts alone', async () => {
    const storage = await openStorage({ dataDirectory: folder.path });
    storage.faces.addPerson({ id: 'alice', name: 'Alice', list: 'known' });
    const run = await storage.migrate.down({ store: 'events', to: 0 });
    expect(run.steps.map((step) => `${step.store} ${step.version}`)).toEqual(['events 3', 'events 2', 'events 1']);
    expect(storage.migrate.currentVersion('faces')).toBe(1);
    expect(storage.faces.getPerson('alice')?.name).toBe('Alice');
    await storage.close();
  });

  it('open reports backup path', async () => {
    // A database with a person but without the events store, as an older Porchlight left it.
    const db = openDatabase(join(folder.path, 'porchlight.db'));
    await new Migrator(db, ['faces']).up();
    db.prepare("INSERT INTO persons VALUES ('alice', 'Alice', 'known', NULL, '{}', 0, 0)").run();
    db.close();

    const storage = await openStorage({ dataDirectory: folder.path });
    expect(storage.migrationsAtOpen.steps.map((step) => `${step.store} ${step.version}`)).toEqual(['events 1', 'events 2', 'events 3', 'metrics 1', 'config 1', 'audit 1']);
    expect(storage.migrationsAtOpen.backupPath).toMatch(/backups\/porchlight-\d{8}T\d{9}Z-before-migration\.db$/);
    expect(existsSync(storage.migrationsAtOpen.backupPath!)).toBe(true);
    await storage.close();

    const reopened = await openStorage({ dataDirectory: folder.path, migrations: { backup: false } });
    expect(reopened.migrationsAtOpen.steps).toEqual([]);
    expect(reopened.migrationsAtOpen.backupPath).toBeUndefined();
    await reopened.close();
  });

  it('older Porchlight refuses newer database', async () => {
    const db = openDatabase(join(folder.path, 'porchlight.db'));
    await new Migrator(db, STORES).up();
    db.prepare("INSERT INTO schema_migrations VALUES ('events', 99, 'from_the_future', 'x', '2030-01-01T00:00:00.000Z')").run();
    db.close();
    const error = await caught(() => openStorage({ dataDirectory: folder.path }));
    expect(error.code).toBe(ErrorCodes.SCHEMA_TOO_NEW);
    expect(error.message).toMatch(/99_from_the_future/);
    expect(error.message).toMatch(/Upgrade Porchlight/);
  });
});

describe('Migrator', () => {
  let folder: Folder;
  let directory: string;
  let db: SqliteDatabase;

  beforeEach(() => {
    folder = temporaryDirectory();
    directory = join(folder.path, 'migrations');
    writeMigrations(directory, DEMO);
    db = openDatabase(join(folder.path, 'data', 'porchlight.db'));
  });

  afterEach(() => {
    if (db.open) db.close();
    folder.remove();
  });

  const migrator = (options: { backup?: boolean } = {}) => new Migrator(db, ['demo'], { directory, backup: options.backup ?? false });

  it('status lists pending', () => {
    expect(migrator().status().map((status) => [status.version, status.state])).toEqual([[1, 'pending'], [2, 'pending']]);
  });

  it('up to a version', async () => {
    const run = await migrator().up({ to: 1 });
    expect(run.steps.map((step) => step.version)).toEqual([1]);
    expect(migrator().status().map((status) => status.state)).toEqual(['applied', 'pending']);
    expect(migrator().status()[0]!.appliedAt).toMatch(/Z$/);
  });

  it('down to a version', async () => {
    await migrator().up();
    const run = await migrator().down({ to: 1 });
    expect(run.steps.map((step) => step.version)).toEqual([2]);
    const columns = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('things');
    expect(columns).toEqual(['id', 'name']);
    expect(migrator().currentVersion('demo')).toBe(1);
  });

  it('up down up is identical', async () => {
    await migrator().up();
    const first = schemaOf(db);
    await migrator().down({ to: 0 });
    await migrator().up();
    expect(schemaOf(db)).toEqual(first);
  });

  it('failing statement rolls back', async () => {
    writeMigrations(directory, { '0003_broken.up.sql': 'CREATE TABLE extra (x);\nINSERT INTO things (id, name) VALUES (1, \'a\');\n\nINSERT INTO missing_table VALUES (1);\n', '0003_broken.down.sql': 'DROP TABLE extra;' });
    await migrator().up({ to: 2 });
    const before = schemaOf(db);

    const error = await caught(() => migrator().up());
    expect(error.code).toBe(ErrorCodes.MIGRATION_FAILED);
    expect(error.message).toContain(join(directory, 'demo', '0003_broken.up.sql'));
    expect(error.message).toContain('statement 3 of 3 (line 4)');
    expect(error.message).toContain('no such table: missing_table');
    expect(error.message).toContain('demo is still at version 2');
    expect(error.details.statement).toBe('INSERT INTO missing_table VALUES (1);');

    expect(schemaOf(db)).toEqual(before);
    expect(db.prepare('SELECT count(*) FROM things').pluck().get()).toBe(0);
    expect(migrator().currentVersion('demo')).toBe(2);
  });

  it('changed checksum is refused', async () => {
    await migrator().up();
    writeMigrations(directory, { '0001_create_things.up.sql': `${DEMO['0001_create_things.up.sql']}-- edited\n` });
    expect(migrator().status()[0]!.state).toBe('changed');
    const error = await caught(() => migrator().up());
    expect(error.code).toBe(ErrorCodes.MIGRATION_CHECKSUM_MISMATCH);
    expect(error.message).toMatch(/put schema changes in a new migration/);
  });

  it('CRLF checkout keeps checksum', async () => {
    await migrator().up();
    writeMigrations(directory, { '0001_create_things.up.sql': DEMO['0001_create_things.up.sql'].replace(/\n/g, '\r\n') });
    expect((await migrator().up()).steps).toEqual([]);
  });

  it('newer version is refused', async () => {
    await migrator().up();
    db.prepare("INSERT INTO schema_migrations VALUES ('demo', 3, 'newer', 'abc', '2030-01-01T00:00:00.000Z')").run();
    expect(migrator().status().at(-1)).toMatchObject({ version: 3, name: 'newer', state: 'unknown' });
    const error = await caught(() => migrator().up());
    expect(error.code).toBe(ErrorCodes.SCHEMA_TOO_NEW);
    const downError = await caught(() => migrator().down({ to: 0 }));
    expect(downError.code).toBe(ErrorCodes.SCHEMA_TOO_NEW);
    expect(migrator().currentVersion('demo')).toBe(3);
  });

  it('history gap is refused', async () => {
    await migrator().up();
    db.prepare("DELETE FROM schema_migrations WHERE store = 'demo' AND version = 1").run();
    const error = await caught(() => migrator().up());
    expect(error.code).toBe(ErrorCodes.MIGRATION_HISTORY_GAP);
    expect(error.message).toMatch(/but not 1/);
  });

  it('existing column is named', async () => {
    await migrator().up({ to: 1 });
    db.exec("ALTER TABLE things ADD COLUMN color TEXT NOT NULL DEFAULT 'red'");
    const before = schemaOf(db);

    const error = await caught(() => migrator().up());
    expect(error.code).toBe(ErrorCodes.MIGRATION_SCHEMA_CONFLICT);
    expect(error.message).toMatch(/adds column color to things, but that column already exists/);
    expect(error.message).toMatch(/ALTER TABLE things DROP COLUMN color/);
    expect(error.message).toContain('0002_add_color.up.sql, statement 1 of 1 (line 2)');
    expect(schemaOf(db)).toEqual(before);
    expect(migrator().currentVersion('demo')).toBe(1);

    // The fix the message gives works.
    db.exec('ALTER TABLE things DROP COLUMN color');
    expect((await migrator().up()).steps.map((step) => step.version)).toEqual([2]);
  });

  it('missing down file is refused', async () => {
    writeMigrations(directory, { '0003_one_way.up.sql': 'CREATE TABLE one_way (x);' });
    await migrator().up();
    const error = await caught(() => migrator().down({ to: 0 }));
    expect(error.code).toBe(ErrorCodes.MIGRATION_NOT_REVERSIBLE);
    expect(migrator().currentVersion('demo')).toBe(3);
  });

  it('bad targets are rejected', async () => {
    expect((await caught(() => migrator().up({ to: 7, store: 'demo' }))).code).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect((await caught(() => migrator().down({ to: -1 }))).code).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect((await caught(() => migrator().up({ store: 'nope' }))).code).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect((await caught(() => migrator().up({ to: 1.5 } as never))).code).toBe(ErrorCodes.INVALID_ARGUMENT);
    expect((await caught(() => migrator().up({ version: 1 } as never))).code).toBe(ErrorCodes.INVALID_ARGUMENT);
    await migrator().up();
    expect((await caught(() => migrator().up({ to: 1, store: 'demo' }))).message).toMatch(/use down/);
  });

  it('waits for another writer', async () => {
    const other = new Database(db.name);
    other.exec('BEGIN IMMEDIATE');
    db.pragma('busy_timeout = 50');
    try {
      const error = await caught(() => migrator().up());
      expect(error.code).toBe(ErrorCodes.MIGRATION_LOCKED);
      expect(error.message).toMatch(/another connection holds the write lock/);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(migrator().currentVersion('demo')).toBe(0);
    expect((await migrator().up()).steps).toHaveLength(2);
  });

  it('backs up a database with rows', async () => {
    await migrator().up({ to: 1 });
    db.prepare("INSERT INTO things (name) VALUES ('lamp')").run();
    const run = await migrator({ backup: true }).up();

    expect(run.backupPath).toBeDefined();
    expect(run.backupPath!.startsWith(join(folder.path, 'data', 'backups'))).toBe(true);
    expect(statSync(run.backupPath!).mode & 0o777).toBe(0o600);
    const copy = new Database(run.backupPath!, { readonly: true });
    expect(copy.prepare('SELECT name FROM things').pluck().all()).toEqual(['lamp']);
    expect(copy.prepare('SELECT max(version) FROM schema_migrations').pluck().get()).toBe(1);
    copy.close();
  });

  it('backup can be turned off', async () => {
    await migrator().up({ to: 1 });
    db.prepare("INSERT INTO things (name) VALUES ('lamp')").run();
    expect((await migrator({ backup: false }).up()).backupPath).toBeUndefined();
    expect(existsSync(join(folder.path, 'data', 'backups'))).toBe(false);
  });

  it('empty database needs no backup', async () => {
    expect((await migrator({ backup: true }).up()).backupPath).toBeUndefined();
  });

  it('two processes apply once', async () => {
    // A migration slow enough (about half a second) for the two processes to overlap.
    writeMigrations(directory, {
      '0003_slow.up.sql': 'CREATE TABLE numbers AS WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 600000) SELECT x FROM n;\nINSERT INTO things (name) VALUES (\'applied\');\n',
      '0003_slow.down.sql': 'DROP TABLE numbers;',
    });
    db.close();

    const root = resolve(import.meta.dirname, '..');
    const migratorModule = join(root, 'dist', 'src', 'db', 'migrator.js');
    expect(existsSync(migratorModule), 'run "npm run build" first: this test starts processes that load dist/').toBe(true);
    const script = `
      const { Migrator } = await import(${JSON.stringify(pathToFileURL(migratorModule).href)});
      const { openDatabase } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'src', 'db', 'open-database.js')).href)});
      const db = openDatabase(${JSON.stringify(join(folder.path, 'data', 'porchlight.db'))}, { busyTimeoutMs: 20000 });
      try {
        const run = await new Migrator(db, ['demo'], { directory: ${JSON.stringify(directory)}, backup: false }).up();
        process.stdout.write(JSON.stringify({ applied: run.steps.map((step) => step.version) }));
      } catch (error) {
        process.stdout.write(JSON.stringify({ code: error.code }));
      } finally {
        db.close();
      }`;
    const runProcess = () => new Promise<{ applied?: number[]; code?: string }>((done, fail) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      child.stdout.on('data', (chunk) => { output += chunk; });
      child.on('error', fail);
      child.on('exit', () => done(JSON.parse(output)));
    });

    const results = await Promise.all([runProcess(), runProcess()]);
    const applied = results.flatMap((result) => result.applied ?? []).sort();
    // Each version is applied by exactly one of them; a process that lost the race either skipped it or stopped cleanly.
    expect(applied).toEqual([1, 2, 3]);
    for (const result of results) if (result.code !== undefined) expect(result.code).toBe(ErrorCodes.MIGRATION_LOCKED);

    db = openDatabase(join(folder.path, 'data', 'porchlight.db'));
    expect(db.prepare("SELECT count(*) FROM things WHERE name = 'applied'").pluck().get()).toBe(1);
    expect(db.prepare("SELECT count(*) FROM schema_migrations WHERE store = 'demo'").pluck().get()).toBe(3);
  });
});

describe('porchlight migrate', () => {
  let folder: Folder;
  beforeEach(() => {
    folder = temporaryDirectory();
  });
  afterEach(() => folder.remove());

  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return cliWith([], ...args);
  }

  /** Runs `porchlight migrate` with global options such as `--config FILE` before the command. */
  async function cliWith(globalArgs: string[], ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (chunk) => { out += chunk; });
    stderr.on('data', (chunk) => { err += chunk; });
    const code = await runCli(['--data-dir', folder.path, ...globalArgs, 'migrate', ...args], { stdout, stderr });
    return { code, stdout: out, stderr: err };
  }

  it('status before any database', async () => {
    const result = await cli('status');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/No database at .* yet/);
    expect(result.stdout).toMatch(/events\s+1\s+create_events\s+pending/);
    expect(existsSync(join(folder.path, 'porchlight.db'))).toBe(false);
  });

  it('up down and status', async () => {
    expect((await cli('up')).stdout).toMatch(/Applied faces 1 create_faces[\s\S]*Applied events 1 create_events/);
    expect((await cli('status')).stdout).toMatch(/events\s+1\s+create_events\s+applied/);

    const storage = await openStorage({ dataDirectory: folder.path });
    storage.events.storeEvent({ type: 'motion', source: 'cam' });
    await storage.close();

    const down = await cli('down', '--store', 'events', '--to', '0');
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/Backup written to .*backups/);
    expect(down.stdout).toMatch(/Reverted events 1 create_events/);
    const status = JSON.parse((await cli('status', '--json')).stdout) as { migrations: { store: string; state: string }[] };
    expect(status.migrations.map((entry) => `${entry.store} ${entry.state}`)).toEqual(['faces applied', 'events pending', 'events pending', 'events pending', 'metrics applied', 'config applied', 'audit applied']);
    expect(readdirSync(join(folder.path, 'backups'))).toHaveLength(1);

    const db = new Database(join(folder.path, 'porchlight.db'), { readonly: true });
    const audit = db.prepare('SELECT action, target FROM audit_log ORDER BY id DESC LIMIT 4').all() as { action: string; target: string }[];
    db.close();
    expect(audit.map((record) => record.action)).toEqual(['migration.reverted', 'migration.reverted', 'migration.reverted', 'backup.created']);
    expect(audit[0]!.target).toBe('events/0001_create_events');
  });

  it('down --to 0 without backup', async () => {
    await cli('up');
    const result = await cli('down', '--to', '0', '--no-backup');
    expect(result.stdout).toMatch(/Reverted events 1[\s\S]*Reverted faces 1/);
    expect(existsSync(join(folder.path, 'backups'))).toBe(false);
  });

  it('split layout migrates each file', async () => {
    const config = join(folder.path, 'split.json');
    const eventsPath = join(folder.path, 'events.db');
    writeFileSync(config, JSON.stringify({ dataDirectory: folder.path, databases: { events: eventsPath } }));

    const up = await cliWith(['--config', config], 'up');
    expect(up.stdout).toMatch(/Applied events 3 merge_search_segments_later/);
    expect(existsSync(eventsPath)).toBe(true);

    const down = await cliWith(['--config', config], 'down', '--store', 'events', '--to', '0', '--no-backup');
    expect(down.stdout).toMatch(/Reverted events 1 create_events/);
    const events = new Database(eventsPath, { readonly: true });
    expect(events.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'events'").pluck().get()).toBe(0);
    events.close();

    const status = JSON.parse((await cliWith(['--config', config], 'status', '--json')).stdout) as { databases: { path: string; migrations: { store: string; state: string }[] }[] };
    expect(status.databases.map((database) => database.path)).toEqual([join(folder.path, 'porchlight.db'), eventsPath]);
    expect(status.databases[1]!.migrations.map((entry) => `${entry.store} ${entry.state}`)).toEqual(['events pending', 'events pending', 'events pending']);
    expect(status.databases[0]!.migrations.every((entry) => entry.state === 'applied')).toBe(true);
  });

  it('down needs --to', async () => {
    const result = await cli('down');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/needs --to N/);
  });

  it('negative --to is a usage error', async () => {
    const result = await cli('down', '--to', '-1');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--to must be a version number \(0 or more\), got "-1"/);
  });

  it('bad --to is a usage error', async () => {
    const result = await cli('up', '--to', 'latest');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--to must be a version number/);
  });

  it('refusal exits 1 with code', async () => {
    await cli('up');
    const db = openDatabase(join(folder.path, 'porchlight.db'));
    db.prepare("INSERT INTO schema_migrations VALUES ('events', 9, 'future', 'x', '2030-01-01T00:00:00.000Z')").run();
    db.close();
    const result = await cli('up');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/\[SCHEMA_TOO_NEW\]/);
  });
});
