import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import type { JsonValue } from '../src/audit/canonical-json.js';
import { runCli } from '../src/cli/run.js';
import { diffJson, type JsonChange } from '../src/config/json-diff.js';
import { applyMergePatch } from '../src/config/merge-patch.js';
import { ErrorCodes } from '../src/errors.js';
import { DATABASE_FILE, openStorage, type StorageManager, type StorageOptions } from '../src/storage-manager.js';
import { randomGenerator, temporaryDirectory } from './helpers/reference.js';

const AUTHOR = { author: 'ops' };

const CAMERAS = {
  front: { fps: 5, zones: ['porch', 'steps'], detect: { person: true, car: false } },
  back: { fps: 10, zones: [] },
};

/** Applies a diff's changes to a copy of `document` by JSON Pointer, to check that the diff is complete. */
function applyChanges(document: JsonValue, changes: JsonChange[]): JsonValue {
  let result = structuredClone(document);
  const removals: { parent: Record<string, JsonValue> | JsonValue[]; key: string }[] = [];
  for (const change of changes) {
    const tokens = change.path === '' ? [] : change.path.slice(1).split('/').map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
    if (tokens.length === 0) {
      result = structuredClone(change.after!);
      continue;
    }
    let parent = result as Record<string, JsonValue>;
    for (const token of tokens.slice(0, -1)) parent = parent[token] as Record<string, JsonValue>;
    const key = tokens.at(-1)!;
    if (change.kind === 'removed') removals.push({ parent, key });
    else parent[key] = structuredClone(change.after!);
  }
  // Array elements go from the highest index down, so earlier removals do not shift later ones.
  for (const { parent, key } of removals.reverse()) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  }
  return result;
}

/** Builds a random JSON document of nested objects, arrays and scalars. */
function randomDocument(next: () => number, depth = 0): JsonValue {
  const kind = depth > 3 ? Math.floor(next() * 4) : Math.floor(next() * 6);
  switch (kind) {
    case 0: return null;
    case 1: return next() < 0.5;
    case 2: return Math.round(next() * 100);
    case 3: return ['a', 'b', 'c/d', 'e~f'][Math.floor(next() * 4)]!;
    case 4: return Array.from({ length: Math.floor(next() * 4) }, () => randomDocument(next, depth + 1));
    default: {
      const object: Record<string, JsonValue> = {};
      for (const key of ['x', 'y', 'z/1', 'w~0']) if (next() < 0.6) object[key] = randomDocument(next, depth + 1);
      return object;
    }
  }
}

/** Returns a copy of `document` with a few members changed, added or removed. */
function mutate(document: JsonValue, next: () => number): JsonValue {
  if (document === null || typeof document !== 'object') return next() < 0.5 ? document : randomDocument(next, 2);
  if (Array.isArray(document)) {
    const copy = document.map((item) => (next() < 0.3 ? mutate(item, next) : item));
    if (next() < 0.3) copy.push(randomDocument(next, 3));
    if (next() < 0.3) copy.pop();
    return copy;
  }
  const copy: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(document)) if (next() > 0.2) copy[key] = next() < 0.3 ? mutate(value, next) : value;
  if (next() < 0.3) copy.v = randomDocument(next, 3);
  return copy;
}

describe('config', () => {
  let directory: { path: string; remove: () => void };
  const opened: StorageManager[] = [];

  async function open(options: Omit<StorageOptions, 'dataDirectory'> = {}): Promise<StorageManager> {
    const storage = await openStorage({ dataDirectory: directory.path, ...options });
    opened.push(storage);
    return storage;
  }

  beforeEach(() => {
    directory = temporaryDirectory();
  });

  afterEach(async () => {
    for (const storage of opened.splice(0)) await storage.close();
    directory.remove();
  });

  it('set and get versions', async () => {
    const storage = await open();
    const first = storage.config.set('cameras', CAMERAS, { author: 'alice', comment: 'initial' });
    const second = storage.config.set('cameras', { ...CAMERAS, side: { fps: 2, zones: [] } }, { author: 'bob' });
    await storage.close();

    const reopened = await open();
    expect(first.version).toBe(1);
    expect(second.version).toBe(2);
    expect(reopened.config.get('cameras')!.value).toEqual({ ...CAMERAS, side: { fps: 2, zones: [] } });
    expect(reopened.config.get('cameras', { version: 1 })).toEqual(first);
    expect(reopened.config.get('cameras', { version: 3 })).toBeUndefined();
    expect(reopened.config.get('unknown')).toBeUndefined();
  });

  it('checksum ignores key order', async () => {
    const storage = await open();
    const a = storage.config.set('k', { b: 1, a: { d: [1, 2], c: 'x' } }, AUTHOR);
    const b = storage.config.set('k', { a: { c: 'x', d: [1, 2] }, b: 1 }, AUTHOR);
    expect(a.checksum).toBe(b.checksum);
    expect(a.checksum).toBe(createHash('sha256').update('{"a":{"c":"x","d":[1,2]},"b":1}').digest('hex'));
  });

  it('history lists metadata', async () => {
    const storage = await open();
    storage.config.set('k', 1, { author: 'alice', comment: 'one' });
    storage.config.patch('k', { a: 1 }, { author: 'bob' });
    storage.config.rollback('k', 1, { author: 'carol', comment: 'undo' });
    const history = storage.config.history('k');
    expect(history.map((entry) => [entry.version, entry.author, entry.operation, entry.restoredVersion, entry.comment])).toEqual([
      [1, 'alice', 'set', null, 'one'],
      [2, 'bob', 'patch', null, null],
      [3, 'carol', 'rollback', 1, 'undo'],
    ]);
    expect(history.every((entry) => !('value' in entry))).toBe(true);
    expect(storage.config.history('other')).toEqual([]);
  });

  it('diff lists changed paths', async () => {
    const storage = await open();
    storage.config.set('cameras', CAMERAS, AUTHOR);
    storage.config.set('cameras', { front: { fps: 8, zones: ['porch'], detect: { person: true, car: false, dog: true } }, garage: { fps: 1 } }, AUTHOR);
    expect(storage.config.diff('cameras', 1, 2)).toEqual([
      { path: '/back', kind: 'removed', before: { fps: 10, zones: [] } },
      { path: '/front/detect/dog', kind: 'added', after: true },
      { path: '/front/fps', kind: 'changed', before: 5, after: 8 },
      { path: '/front/zones/1', kind: 'removed', before: 'steps' },
      { path: '/garage', kind: 'added', after: { fps: 1 } },
    ]);
    expect(storage.config.diff('cameras', 2, 2)).toEqual([]);
  });

  it('diff round trips random documents', () => {
    const next = randomGenerator(21);
    for (let trial = 0; trial < 300; trial++) {
      const before = randomDocument(next);
      const after = mutate(before, next);
      expect(applyChanges(before, diffJson(before, after))).toEqual(after);
      expect(applyChanges(after, diffJson(after, before))).toEqual(before);
    }
  });

  it('diff escapes pointer tokens', () => {
    expect(diffJson({ 'a/b': 1, 'c~d': 1 }, { 'a/b': 2 })).toEqual([
      { path: '/a~1b', kind: 'changed', before: 1, after: 2 },
      { path: '/c~0d', kind: 'removed', before: 1 },
    ]);
  });

  it('rollback round trips', async () => {
    const storage = await open();
    storage.config.set('cameras', CAMERAS, AUTHOR);
    storage.config.patch('cameras', { front: { fps: 30 }, back: null }, AUTHOR);
    const rolledBack = storage.config.rollback('cameras', 1, { author: 'carol' });
    expect(rolledBack.version).toBe(3);
    expect(rolledBack.value).toEqual(CAMERAS);
    expect(rolledBack.checksum).toBe(storage.config.get('cameras', { version: 1 })!.checksum);
    expect(storage.config.diff('cameras', 1, 3)).toEqual([]);
    expect(storage.config.get('cameras', { version: 2 })!.value).toEqual({ front: { ...CAMERAS.front, fps: 30 } });
    const forward = storage.config.diff('cameras', 1, 2);
    const backward = storage.config.diff('cameras', 2, 3);
    expect(backward.map((change) => change.path)).toEqual(forward.map((change) => change.path));
  });

  it('patch follows merge patch rules', () => {
    const cases: [JsonValue, JsonValue, JsonValue][] = [
      [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
      [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
      [{ a: 'b' }, { a: null }, {}],
      [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
      [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
      [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
      [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
      [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
      [['a', 'b'], ['c', 'd'], ['c', 'd']],
      [{ a: 'b' }, ['c'], ['c']],
      [{ a: 'foo' }, null, null],
      [{ a: 'foo' }, 'bar', 'bar'],
      [{ e: null }, { a: 1 }, { e: null, a: 1 }],
      [[1, 2], { a: 'b', c: null }, { a: 'b' }],
      [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
    ];
    for (const [target, patch, expected] of cases) expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  it('patch stores merged document', async () => {
    const storage = await open();
    storage.config.set('cameras', CAMERAS, AUTHOR);
    const patched = storage.config.patch('cameras', { front: { detect: { car: true } }, back: null }, AUTHOR);
    expect(patched.operation).toBe('patch');
    expect(patched.value).toEqual({ front: { ...CAMERAS.front, detect: { person: true, car: true } } });
  });

  it('function validator rejects', async () => {
    const storage = await open({ config: { validators: { cameras: (value) => (typeof value === 'object' && value !== null && 'front' in value ? [] : ['front camera is required']) } } });
    storage.config.set('cameras', CAMERAS, AUTHOR);
    const auditBefore = storage.audit.query({ limit: 1000 }).records.length;
    let error: unknown;
    try {
      storage.config.set('cameras', { back: {} }, AUTHOR);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: ErrorCodes.CONFIG_VALIDATION_FAILED, details: { messages: ['front camera is required'] } });
    expect((error as Error).message).toContain('Version 1 stays current');
    expect(storage.config.get('cameras')!.version).toBe(1);
    expect(storage.config.history('cameras').length).toBe(1);
    expect(storage.audit.query({ limit: 1000 }).records.length).toBe(auditBefore);
  });

  it('schema validator rejects', async () => {
    const storage = await open();
    storage.config.setValidator('cameras', {
      type: 'object',
      additionalProperties: { type: 'object', required: ['fps'], properties: { fps: { type: 'integer', minimum: 1 } } },
    });
    storage.config.set('cameras', CAMERAS, AUTHOR);
    expect(() => storage.config.patch('cameras', { front: { fps: 0 } }, AUTHOR)).toThrow(expect.objectContaining({
      code: ErrorCodes.CONFIG_VALIDATION_FAILED,
      details: { key: 'cameras', messages: ['/front/fps must be >= 1'] },
    }));
    expect(storage.config.get('cameras')!.value).toEqual(CAMERAS);
  });

  it('validator runs on rollback', async () => {
    const storage = await open();
    storage.config.set('cameras', { front: {} }, AUTHOR);
    storage.config.set('cameras', CAMERAS, AUTHOR);
    storage.config.setValidator('cameras', (value) => ((value as { back?: unknown }).back === undefined ? ['back camera is required'] : undefined));
    expect(() => storage.config.rollback('cameras', 1, AUTHOR)).toThrow(expect.objectContaining({ code: ErrorCodes.CONFIG_VALIDATION_FAILED }));
    expect(storage.config.get('cameras')!.version).toBe(2);
    storage.config.setValidator('cameras', undefined);
    expect(storage.config.rollback('cameras', 1, AUTHOR).version).toBe(3);
  });

  it('changes are audited', async () => {
    const storage = await open();
    storage.config.set('cameras', CAMERAS, { author: 'alice', comment: 'first' });
    storage.config.patch('cameras', { back: null }, { author: 'bob' });
    storage.config.rollback('cameras', 1, { author: 'carol' });
    const records = storage.audit.query({ target: 'cameras' }).records;
    expect(records.map((record) => [record.actor, record.action, record.details.version])).toEqual([
      ['alice', 'config.set', 1],
      ['bob', 'config.patched', 2],
      ['carol', 'config.rolled_back', 3],
    ]);
    expect(records[2]!.details).toMatchObject({ restoredVersion: 1, checksum: storage.config.get('cameras', { version: 1 })!.checksum });
  });

  it('detects changed stored document', async () => {
    const storage = await open();
    storage.config.set('cameras', CAMERAS, AUTHOR);
    await storage.close();
    const db = new Database(join(directory.path, DATABASE_FILE));
    db.exec('DROP TRIGGER config_versions_no_update');
    db.prepare("UPDATE config_versions SET value = '{\"front\":{}}' WHERE key = 'cameras'").run();
    db.close();
    const reopened = await open();
    expect(() => reopened.config.get('cameras')).toThrow(expect.objectContaining({ code: ErrorCodes.CHECKSUM_MISMATCH }));
  });

  it('history cannot be rewritten', async () => {
    const storage = await open();
    storage.config.set('cameras', CAMERAS, AUTHOR);
    expect(() => storage.database.prepare("UPDATE config_versions SET author = 'x'").run()).toThrow(/append-only/);
    expect(() => storage.database.prepare('DELETE FROM config_versions').run()).toThrow(/append-only/);
  });

  describe('bad input', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases: [string, (storage: StorageManager) => unknown, string][] = [
      ['empty key', (s) => s.config.set('', {}, AUTHOR), ErrorCodes.INVALID_ARGUMENT],
      ['key with space', (s) => s.config.set('my key', {}, AUTHOR), ErrorCodes.INVALID_ARGUMENT],
      ['undefined value', (s) => s.config.set('k', undefined, AUTHOR), ErrorCodes.INVALID_JSON],
      ['NaN in value', (s) => s.config.set('k', { fps: Number.NaN }, AUTHOR), ErrorCodes.INVALID_JSON],
      ['Date in value', (s) => s.config.set('k', { at: new Date() }, AUTHOR), ErrorCodes.INVALID_JSON],
      ['function in value', (s) => s.config.set('k', { run: () => 1 }, AUTHOR), ErrorCodes.INVALID_JSON],
      ['cyclic value', (s) => s.config.set('k', cyclic, AUTHOR), ErrorCodes.INVALID_JSON],
      ['missing author', (s) => s.config.set('k', {}, {} as never), ErrorCodes.INVALID_ARGUMENT],
      ['blank author', (s) => s.config.set('k', {}, { author: '  ' }), ErrorCodes.INVALID_ARGUMENT],
      ['numeric comment', (s) => s.config.set('k', {}, { author: 'a', comment: 3 as never }), ErrorCodes.INVALID_ARGUMENT],
      ['unknown option', (s) => s.config.set('k', {}, { author: 'a', reason: 'x' } as never), ErrorCodes.INVALID_ARGUMENT],
      ['version zero', (s) => s.config.get('cameras', { version: 0 }), ErrorCodes.INVALID_ARGUMENT],
      ['fractional version', (s) => s.config.rollback('cameras', 1.5, AUTHOR), ErrorCodes.INVALID_ARGUMENT],
      ['unknown diff version', (s) => s.config.diff('cameras', 1, 9), ErrorCodes.NOT_FOUND],
      ['unknown rollback version', (s) => s.config.rollback('cameras', 9, AUTHOR), ErrorCodes.NOT_FOUND],
      ['patch of missing key', (s) => s.config.patch('absent', { a: 1 }, AUTHOR), ErrorCodes.NOT_FOUND],
      ['invalid schema', (s) => s.config.setValidator('cameras', { type: 'objekt' }), ErrorCodes.INVALID_ARGUMENT],
      ['misspelled schema keyword', (s) => s.config.setValidator('cameras', { requried: ['a'] }), ErrorCodes.INVALID_ARGUMENT],
      ['validator not function or object', (s) => s.config.setValidator('cameras', 'strict' as never), ErrorCodes.INVALID_ARGUMENT],
    ];
    for (const [name, call, code] of cases) {
      it(`rejects ${name}`, async () => {
        const storage = await open();
        storage.config.set('cameras', CAMERAS, AUTHOR);
        expect(() => call(storage)).toThrow(expect.objectContaining({ code }));
        expect(storage.config.history('cameras').length).toBe(1);
        expect(storage.config.history('k')).toEqual([]);
      });
    }

    it('rejects bad validators option', async () => {
      await expect(open({ config: { validators: { 'bad key': () => [] } } })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
      await expect(open({ config: { schemas: {} } as never })).rejects.toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
    });
  });

  describe('cli', () => {
    async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      let stdout = '';
      let stderr = '';
      const sink = (append: (text: string) => void) => new Writable({ write(chunk, _encoding, done) { append(String(chunk)); done(); } });
      const code = await runCli(['--data-dir', directory.path, ...args], {
        stdout: sink((text) => { stdout += text; }),
        stderr: sink((text) => { stderr += text; }),
      });
      return { code, stdout, stderr };
    }

    it('set get diff rollback', async () => {
      const v1 = join(directory.path, 'v1.json');
      const v2 = join(directory.path, 'v2.json');
      const out = join(directory.path, 'out.json');
      writeFileSync(v1, JSON.stringify(CAMERAS));
      writeFileSync(v2, JSON.stringify({ ...CAMERAS, back: { fps: 12, zones: [] } }));

      expect((await cli('config', 'set', 'cameras', v1, '--author', 'alice')).code).toBe(0);
      expect((await cli('config', 'set', 'cameras', v2, '--author', 'bob', '--comment', 'faster')).code).toBe(0);
      const diff = await cli('config', 'diff', 'cameras', '1', '2');
      expect(diff.stdout).toBe('~ /back/fps  10 -> 12\n');
      const diffJsonOutput = await cli('config', 'diff', 'cameras', '1', '2', '--json');
      expect(JSON.parse(diffJsonOutput.stdout)).toEqual([{ path: '/back/fps', kind: 'changed', before: 10, after: 12 }]);
      expect((await cli('config', 'rollback', 'cameras', '1', '--author', 'carol')).code).toBe(0);
      const got = await cli('config', 'get', 'cameras');
      expect(JSON.parse(got.stdout)).toEqual(CAMERAS);
      expect((await cli('config', 'get', 'cameras', '--version', '2', '--output', out)).code).toBe(0);
      expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({ ...CAMERAS, back: { fps: 12, zones: [] } });
      expect(statSync(out).mode & 0o777).toBe(0o600);
      const history = await cli('config', 'history', 'cameras', '--json');
      expect(JSON.parse(history.stdout).map((entry: { author: string }) => entry.author)).toEqual(['alice', 'bob', 'carol']);
    });

    it('reports errors with codes', async () => {
      const bad = join(directory.path, 'bad.json');
      writeFileSync(bad, '{ not json');
      const schema = join(directory.path, 'schema.json');
      writeFileSync(schema, JSON.stringify({ type: 'object', required: ['front'] }));
      const good = join(directory.path, 'good.json');
      writeFileSync(good, JSON.stringify({ back: {} }));

      const missing = await cli('config', 'get', 'cameras');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('[NOT_FOUND]');
      const invalid = await cli('config', 'set', 'cameras', bad, '--author', 'a');
      expect(invalid.code).toBe(1);
      expect(invalid.stderr).toContain('[INVALID_FILE]');
      const noAuthor = await cli('config', 'set', 'cameras', good);
      expect(noAuthor.code).toBe(2);
      const rejected = await cli('config', 'set', 'cameras', good, '--author', 'a', '--schema', schema);
      expect(rejected.code).toBe(1);
      expect(rejected.stderr).toContain('[CONFIG_VALIDATION_FAILED]');
      const version = await cli('config', 'diff', 'cameras', '1', 'two');
      expect(version.code).toBe(2);
      expect((await cli('config', 'history', 'cameras', '--json')).stdout).toBe('[]\n');
    });
  });
});
