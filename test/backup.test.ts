import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, openSync, closeSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync } from 'node:zlib';

import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ErrorCodes } from '../src/errors.js';
import type { BackupManifest } from '../src/operations/backup-manifest.js';
import { verifyBackup } from '../src/operations/verify-backup.js';
import { openStorage, restoreFromBackup, type StorageManager, type StorageOptions } from '../src/storage-manager.js';
import { AUDIT_TABLES, auditActions, sha256File, tableRows } from './fixtures/database-rows.js';
import { randomVectors, temporaryDirectory } from './helpers/reference.js';

function options(dataDirectory: string, extra: Partial<StorageOptions> = {}): StorageOptions {
  // Operational metrics would add rows after each backup; the audit records are checked on their own.
  return { dataDirectory, operationalMetrics: false, ...extra, backup: { intervalMinutes: 0, ...extra.backup }, cleanup: { intervalMinutes: 0, ...extra.cleanup } };
}

function enroll(storage: StorageManager, prefix: string, count: number, seed: number): void {
  const vectors = randomVectors(count * 2, 16, seed);
  storage.faces.enrollMany(Array.from({ length: count }, (_, i) => ({
    person: { id: `${prefix}-${i}`, name: `${prefix} ${i}`, list: 'known' as const },
    encodings: [vectors[2 * i]!, vectors[2 * i + 1]!],
  })));
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function readManifestFile(folder: string): BackupManifest {
  return JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as BackupManifest;
}

function writeManifestFile(folder: string, manifest: BackupManifest): void {
  writeFileSync(join(folder, 'manifest.json'), JSON.stringify(manifest));
}

/** Folders a restore may leave beside the databases; after a rejected restore there must be none. */
function stagingLeftovers(folder: string): string[] {
  return readdirSync(folder).filter((name) => name.startsWith('.porchlight-restore-'));
}

describe('backupAll', () => {
  let folder: ReturnType<typeof temporaryDirectory>;
  let storage: StorageManager;
  beforeEach(async () => {
    folder = temporaryDirectory();
    storage = await openStorage(options(folder.path));
    enroll(storage, 'alice', 20, 1);
  });
  afterEach(async () => {
    await storage.close();
    folder.remove();
  });

  it('manifest describes every file', async () => {
    const result = await storage.backupAll();
    const manifest = readManifestFile(result.path);
    const packageVersion = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    expect(manifest.format).toBe('porchlight-backup');
    expect(manifest.formatVersion).toBe(1);
    expect(manifest.porchlightVersion).toBe(packageVersion);
    expect(manifest.reason).toBe('manual');
    expect(manifest.compression).toBe('brotli');
    expect(Date.parse(manifest.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(manifest.databases).toHaveLength(1);

    const [database] = manifest.databases;
    expect(database!.name).toBe('main');
    expect(database!.stores).toEqual(['faces', 'events', 'metrics', 'config', 'audit']);
    expect(database!.schemaVersions).toEqual({ audit: 1, config: 1, events: 3, faces: 1, metrics: 1 });
    const stored = readFileSync(join(result.path, database!.file));
    expect(stored.length).toBe(database!.fileBytes);
    expect(sha256(stored)).toBe(database!.fileSha256);
    const raw = brotliDecompressSync(stored);
    expect(raw.length).toBe(database!.bytes);
    expect(sha256(raw)).toBe(database!.sha256);
    expect(database!.bytes).toBe(database!.pageSize * database!.pageCount);
  });

  it('backup holds the same rows', async () => {
    const result = await storage.backupAll();
    const copy = join(folder.path, 'copy.db');
    writeFileSync(copy, brotliDecompressSync(readFileSync(join(result.path, 'main.db.br'))));
    expect(tableRows(copy, AUDIT_TABLES)).toEqual(tableRows(storage.databasePath, AUDIT_TABLES));
    // The live log has one record more: the backup itself, appended once it was written.
    expect(auditActions(storage.databasePath)).toEqual([...auditActions(copy), 'backup.created']);
  });

  it('files are owner-only', async () => {
    const result = await storage.backupAll();
    expect(statSync(result.path).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(result.path)) expect(statSync(join(result.path, name)).mode & 0o777).toBe(0o600);
  });

  it('no temporary folder remains', async () => {
    const result = await storage.backupAll();
    expect(readdirSync(join(result.path, '..'))).toEqual([result.path.split('/').at(-1)]);
  });

  it('uncompressed backup verifies', async () => {
    await storage.close();
    storage = await openStorage(options(folder.path, { backup: { compression: 'none' } }));
    const result = await storage.backupAll();
    expect(readdirSync(result.path).sort()).toEqual(['main.db', 'manifest.json']);
    expect(sha256File(join(result.path, 'main.db'))).toBe(result.manifest.databases[0]!.sha256);
    expect((await verifyBackup(result.path)).ok).toBe(true);
  });

  it('gzip backup verifies', async () => {
    await storage.close();
    storage = await openStorage(options(folder.path, { backup: { compression: 'gzip', compressionLevel: 6 } }));
    const result = await storage.backupAll();
    expect(readdirSync(result.path).sort()).toEqual(['main.db.gz', 'manifest.json']);
    expect(sha256(gunzipSync(readFileSync(join(result.path, 'main.db.gz'))))).toBe(result.manifest.databases[0]!.sha256);
    expect((await verifyBackup(result.path)).ok).toBe(true);
  });

  it('destination option writes there', async () => {
    const destination = join(folder.path, 'elsewhere');
    const result = await storage.backupAll({ destination });
    expect(result.path.startsWith(destination)).toBe(true);
    expect(storage.listBackups()).toEqual([]);
  });

  it('rotation keeps newest backups', async () => {
    await storage.close();
    storage = await openStorage(options(folder.path, { backup: { keep: 2 } }));
    const paths: string[] = [];
    for (let i = 0; i < 4; i++) paths.push((await storage.backupAll()).path);
    expect(storage.listBackups().map((entry) => entry.path)).toEqual([paths[3], paths[2]]);
  });

  it('rotation removes dead partials only', async () => {
    const directory = storage.settings.backupDirectory;
    mkdirSync(directory, { recursive: true });
    // PID 2^22 + 1 is above Linux's pid_max limit, so no process can have it.
    const dead = join(directory, '.porchlight-backup-2020-01-01T00-00-00.000Z.partial-4194305');
    const alive = join(directory, `.porchlight-backup-2020-01-01T00-00-00.000Z.partial-${process.pid}`);
    const foreign = join(directory, 'porchlight-backup-hand-made');
    for (const path of [dead, alive, foreign]) mkdirSync(path);
    const result = await storage.backupAll();
    expect(result.removed).toEqual([dead]);
    expect(existsSync(alive)).toBe(true);
    expect(existsSync(foreign)).toBe(true);
  });

  it('rejects unknown option', async () => {
    await expect(storage.backupAll({ destinaton: 'x' } as never)).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });
});

describe('verifyBackup', () => {
  let template: ReturnType<typeof temporaryDirectory>;
  let templateBackup: string;
  let folder: ReturnType<typeof temporaryDirectory>;
  let backupPath: string;
  beforeAll(async () => {
    template = temporaryDirectory();
    const storage = await openStorage(options(template.path));
    enroll(storage, 'bob', 30, 2);
    templateBackup = (await storage.backupAll()).path;
    await storage.close();
  });
  afterAll(() => template.remove());
  beforeEach(() => {
    // Each test damages its own copy of one backup.
    folder = temporaryDirectory();
    backupPath = join(folder.path, basename(templateBackup));
    cpSync(templateBackup, backupPath, { recursive: true });
  });
  afterEach(() => folder.remove());

  it('intact backup passes', async () => {
    const result = await verifyBackup(backupPath);
    expect(result.ok).toBe(true);
    expect(result.problems).toEqual([]);
    expect(result.databases).toEqual([{ name: 'main', file: join(backupPath, 'main.db.br'), fileChecksumOk: true, checksumOk: true, integrity: 'ok' }]);
  });

  it('accepts the manifest path', async () => {
    expect((await verifyBackup(join(backupPath, 'manifest.json'))).ok).toBe(true);
  });

  it('truncated file fails', async () => {
    const file = join(backupPath, 'main.db.br');
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const result = await verifyBackup(backupPath);
    expect(result.ok).toBe(false);
    expect(result.databases[0]!.fileChecksumOk).toBe(false);
    expect(result.problems.join(' ')).toContain(file);
  });

  it('flipped byte fails', async () => {
    const file = join(backupPath, 'main.db.br');
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(file, bytes);
    const result = await verifyBackup(backupPath);
    expect(result.ok).toBe(false);
    expect(result.databases[0]!.fileChecksumOk).toBe(false);
  });

  it('manifest checksum mismatch fails', async () => {
    const manifest = readManifestFile(backupPath);
    manifest.databases[0]!.sha256 = '0'.repeat(64);
    writeManifestFile(backupPath, manifest);
    const result = await verifyBackup(backupPath);
    expect(result.ok).toBe(false);
    expect(result.databases[0]!.fileChecksumOk).toBe(true);
    expect(result.databases[0]!.checksumOk).toBe(false);
  });

  it('foreign folder fails', async () => {
    const foreign = join(folder.path, 'holiday-photos');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'a.jpg'), 'jpeg');
    const result = await verifyBackup(foreign);
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toContain('no manifest.json');
  });

  it('manifest path escape fails', async () => {
    const manifest = readManifestFile(backupPath);
    manifest.databases[0]!.file = '../../porchlight.db';
    writeManifestFile(backupPath, manifest);
    const result = await verifyBackup(backupPath);
    expect(result.ok).toBe(false);
    expect(result.problems[0]).toContain('plain file name');
  });

  it('integrity failure detected', async () => {
    // A copy whose checksums are right but whose b-tree is damaged: an index's schema row removed.
    const damaged = join(folder.path, 'damaged.db');
    writeFileSync(damaged, brotliDecompressSync(readFileSync(join(backupPath, 'main.db.br'))));
    const db = new Database(damaged);
    db.unsafeMode(true);
    db.pragma('writable_schema = ON');
    db.exec("DELETE FROM sqlite_schema WHERE name = 'encodings_person'");
    db.pragma('writable_schema = OFF');
    db.close();
    const bytes = readFileSync(damaged);
    const stored = brotliCompressSync(bytes);
    writeFileSync(join(backupPath, 'main.db.br'), stored);
    const manifest = readManifestFile(backupPath);
    Object.assign(manifest.databases[0]!, { bytes: bytes.length, sha256: sha256(bytes), fileBytes: stored.length, fileSha256: sha256(stored) });
    writeManifestFile(backupPath, manifest);

    const result = await verifyBackup(backupPath);
    expect(result.ok).toBe(false);
    expect(result.databases[0]!.checksumOk).toBe(true);
    expect(result.databases[0]!.integrity).toContain('never used');
  });

  it('newer schema fails', async () => {
    const manifest = readManifestFile(backupPath);
    const copy = join(folder.path, 'newer.db');
    writeFileSync(copy, brotliDecompressSync(readFileSync(join(backupPath, 'main.db.br'))));
    const db = new Database(copy);
    db.prepare("INSERT INTO schema_migrations (store, version, name, checksum, applied_at) VALUES ('faces', 99, 'future', 'x', '2030-01-01')").run();
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const bytes = readFileSync(copy);
    const stored = brotliCompressSync(bytes);
    writeFileSync(join(backupPath, 'main.db.br'), stored);
    Object.assign(manifest.databases[0]!, { bytes: bytes.length, sha256: sha256(bytes), fileBytes: stored.length, fileSha256: sha256(stored) });
    writeManifestFile(backupPath, manifest);

    const result = await verifyBackup(backupPath);
    expect(result.ok).toBe(false);
    expect(result.problems.join(' ')).toContain('schema version 99');
  });

  it('missing path throws not found', async () => {
    await expect(verifyBackup(join(folder.path, 'nothing'))).rejects.toMatchObject({ code: ErrorCodes.NOT_FOUND });
  });
});

describe('restoreFromBackup', () => {
  let template: ReturnType<typeof temporaryDirectory>;
  let backupRows: Record<string, unknown[]>;
  let backupAudit: string[];
  let folder: ReturnType<typeof temporaryDirectory>;
  let storage: StorageManager;
  let backupPath: string;
  beforeAll(async () => {
    // One data folder with a backup of 25 persons, taken before carol-0 was removed and dave added.
    template = temporaryDirectory();
    const source = await openStorage(options(template.path));
    enroll(source, 'carol', 25, 3);
    const backup = await source.backupAll();
    source.faces.removePerson('carol-0');
    enroll(source, 'dave', 5, 4);
    await source.close();
    const copy = join(template.path, 'expected.db');
    writeFileSync(copy, brotliDecompressSync(readFileSync(join(backup.path, 'main.db.br'))));
    backupRows = tableRows(copy, AUDIT_TABLES);
    backupAudit = auditActions(copy);
    rmSync(copy);
  });
  afterAll(() => template.remove());
  beforeEach(async () => {
    folder = temporaryDirectory();
    cpSync(template.path, folder.path, { recursive: true });
    storage = await openStorage(options(folder.path));
    backupPath = storage.listBackups()[0]!.path;
  });
  afterEach(async () => {
    await storage.close();
    folder.remove();
  });

  it('restores rows and face index', async () => {
    // carol-0's first encoding (id 1), removed after the backup was taken.
    const probe = randomVectors(50, 16, 3)[0]!;
    const result = await storage.restoreFromBackup(backupPath);
    expect(result.databases).toEqual(['main']);
    expect(result.previousFiles).toEqual([]);
    expect(tableRows(storage.databasePath, AUDIT_TABLES)).toEqual(backupRows);
    expect(auditActions(storage.databasePath)).toEqual([...backupAudit, 'backup.restored']);
    expect(storage.audit.verify().valid).toBe(true);
    expect(storage.faces.getPerson('carol-0')?.name).toBe('carol 0');
    expect(storage.faces.getPerson('dave-0')).toBeUndefined();
    expect(storage.faces.indexOf()!.size).toBe(50);
    const [match] = await storage.faces.searchFaces(probe, { k: 1, threshold: 1e-3 });
    expect(match?.personId).toBe('carol-0');
    expect(match?.encodingId).toBe(1);
    expect(stagingLeftovers(folder.path)).toEqual([]);
  });

  it('health matches after restore', async () => {
    await storage.restoreFromBackup(backupPath);
    const report = await storage.healthCheck();
    expect(report.faceIndex.every((model) => model.matches)).toBe(true);
    expect(report.databases[0]!.quickCheck).toBe('ok');
  });

  it('keepPrevious keeps replaced file', async () => {
    const before = tableRows(storage.databasePath, AUDIT_TABLES);
    storage.database.pragma('wal_checkpoint(TRUNCATE)');
    const result = await storage.restoreFromBackup(backupPath, { keepPrevious: true });
    expect(result.previousFiles).toHaveLength(1);
    expect(tableRows(join(result.previousFiles[0]!, 'porchlight.db'), AUDIT_TABLES)).toEqual(before);
  });

  const damages: [string, (path: string) => void][] = [
    ['truncated', (path) => truncateSync(join(path, 'main.db.br'), 100)],
    ['corrupted', (path) => {
      const file = join(path, 'main.db.br');
      const bytes = readFileSync(file);
      bytes[bytes.length - 20]! ^= 0x55;
      writeFileSync(file, bytes);
    }],
    ['foreign', (path) => rmSync(join(path, 'manifest.json'))],
  ];
  for (const [kind, damage] of damages) {
    it(`${kind} backup rejected untouched`, async () => {
      storage.database.pragma('wal_checkpoint(TRUNCATE)');
      const liveHash = sha256File(storage.databasePath);
      damage(backupPath);
      await expect(storage.restoreFromBackup(backupPath)).rejects.toMatchObject({ code: ErrorCodes.BACKUP_INVALID });
      expect(sha256File(storage.databasePath)).toBe(liveHash);
      expect(stagingLeftovers(folder.path)).toEqual([]);
      expect(storage.faces.getPerson('dave-0')?.name).toBe('dave 0');
    });
  }

  it('layout mismatch rejected', async () => {
    const manifest = readManifestFile(backupPath);
    manifest.databases.push({ ...manifest.databases[0]!, name: 'events', file: 'events.db.gz', stores: ['events'] });
    writeManifestFile(backupPath, manifest);
    await expect(storage.restoreFromBackup(backupPath)).rejects.toMatchObject({ code: ErrorCodes.BACKUP_INVALID, message: expect.stringContaining('databases') });
  });

  it('works on a corrupt live file', async () => {
    storage.database.pragma('wal_checkpoint(TRUNCATE)');
    const fd = openSync(storage.databasePath, 'r+');
    writeSync(fd, Buffer.alloc(statSync(storage.databasePath).size - 4096, 0xa5), 0, undefined, 4096);
    closeSync(fd);
    await storage.restoreFromBackup(backupPath);
    expect(tableRows(storage.databasePath, AUDIT_TABLES)).toEqual(backupRows);
  });

  it('standalone restore after open fails', async () => {
    await storage.close();
    writeFileSync(storage.databasePath, 'this is not a database');
    await expect(openStorage(options(folder.path))).rejects.toMatchObject({ code: ErrorCodes.DATABASE_CORRUPT });
    const result = await restoreFromBackup(options(folder.path), backupPath);
    expect(result.path).toBe(backupPath);
    storage = await openStorage(options(folder.path));
    expect(tableRows(storage.databasePath, AUDIT_TABLES)).toEqual(backupRows);
    expect(auditActions(storage.databasePath)).toEqual([...backupAudit, 'backup.restored']);
    expect(storage.faces.indexOf()!.size).toBe(50);
  });

  it('stale WAL is not replayed', async () => {
    await storage.close();
    // A WAL holding commits that are not in the backup, left beside the live file by a crash.
    const db = new Database(storage.databasePath);
    db.pragma('wal_autocheckpoint = 0');
    db.prepare("INSERT INTO persons (id, name, list, created_at, updated_at) VALUES ('ghost', 'Ghost', 'known', 0, 0)").run();
    copyFileSync(`${storage.databasePath}-wal`, join(folder.path, 'saved-wal'));
    db.close();
    copyFileSync(join(folder.path, 'saved-wal'), `${storage.databasePath}-wal`);

    await restoreFromBackup(options(folder.path), backupPath, { keepPrevious: true });
    storage = await openStorage(options(folder.path));
    expect(storage.faces.getPerson('ghost')).toBeUndefined();
    expect(tableRows(storage.databasePath, AUDIT_TABLES)).toEqual(backupRows);
  });
});

/** Mounting a small tmpfs needs root; the free-space check is tested only where that works. */
function mountSmallDisk(path: string, bytes: number): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', path], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('restore disk space', () => {
  it('full disk rejected untouched', async (context) => {
    const folder = temporaryDirectory();
    const disk = join(folder.path, 'small');
    mkdirSync(disk);
    if (!mountSmallDisk(disk, 1024 * 1024)) {
      folder.remove();
      context.skip('mounting a tmpfs needs root');
    }
    try {
      const source = await openStorage(options(join(folder.path, 'big'), { backupDirectory: join(folder.path, 'backups') }));
      // Random vectors do not compress, so the backup decompresses to about 2 MB.
      const vectors = randomVectors(800, 512, 5);
      source.faces.enrollMany(Array.from({ length: 400 }, (_, i) => ({ person: { id: `erin-${i}`, name: 'Erin', list: 'known' as const }, encodings: [vectors[2 * i]!, vectors[2 * i + 1]!] })));
      const backup = await source.backupAll();
      await source.close();
      expect(backup.manifest.databases[0]!.bytes).toBeGreaterThan(1024 * 1024);

      const small = await openStorage(options(join(disk, 'data')));
      enroll(small, 'frank', 3, 6);
      small.database.pragma('wal_checkpoint(TRUNCATE)');
      const liveHash = sha256File(small.databasePath);
      await expect(small.restoreFromBackup(backup.path)).rejects.toMatchObject({ code: ErrorCodes.INSUFFICIENT_DISK_SPACE });
      expect(sha256File(small.databasePath)).toBe(liveHash);
      expect(stagingLeftovers(join(disk, 'data'))).toEqual([]);
      expect(small.faces.getPerson('frank-0')?.name).toBe('frank 0');
      await small.close();
    } finally {
      execFileSync('umount', [disk]);
      folder.remove();
    }
  });
});
