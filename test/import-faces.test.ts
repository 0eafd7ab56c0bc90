import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { runCli } from '../src/cli/run.js';
import { ErrorCodes } from '../src/errors.js';
import { importFaceEncodings, type ImportFacesOptions } from '../src/import/face-importer.js';
import { npyRows, readNpy } from '../src/import/npy.js';
import { openStorage, type StorageManager } from '../src/storage-manager.js';
import { writeNpy } from './helpers/npy-writer.js';
import { temporaryDirectory } from './helpers/reference.js';

const LFW = '../shared/data/lfw-facenet512';
const lfwRows = npyRows(readNpy(`${LFW}/lfw_embeddings.npy`), 'lfw') as Float32Array[];
const lfwLabels = readNpy(`${LFW}/lfw_labels.npy`).data as string[];

let directory: { path: string; remove: () => void };
let dataDirectory: string;

beforeEach(() => {
  directory = temporaryDirectory();
  dataDirectory = join(directory.path, 'data');
});

afterEach(() => directory.remove());

function file(name: string): string {
  return join(directory.path, name);
}

/** Opens the storage, imports, and closes it again so the next check reads what was committed. */
async function runImport(path: string, options: ImportFacesOptions = {}, metric: 'l2' | 'cosine' = 'l2') {
  const storage = await openStorage({ dataDirectory, faces: { metric } });
  try {
    return importFaceEncodings(storage, path, options);
  } finally {
    await storage.close();
  }
}

async function attempt(path: string, options: ImportFacesOptions = {}): Promise<unknown> {
  try {
    await runImport(path, options);
  } catch (error) {
    return error;
  }
  throw new Error('the import was expected to fail');
}

/** Reads every stored encoding, in insertion order, as person id and float32 components. */
async function storedEncodings(): Promise<{ personId: string; vector: number[] }[]> {
  const storage = await openStorage({ dataDirectory });
  try {
    return readEncodings(storage);
  } finally {
    await storage.close();
  }
}

function readEncodings(storage: StorageManager): { personId: string; vector: number[] }[] {
  const rows = storage.database.prepare('SELECT person_id, vector FROM encodings ORDER BY id').all() as { person_id: string; vector: Buffer }[];
  return rows.map((row) => ({ personId: row.person_id, vector: Array.from(new Float32Array(Uint8Array.prototype.slice.call(row.vector).buffer)) }));
}

function lfwSlice(count: number): { labels: string[]; rows: Float32Array[] } {
  return { labels: lfwLabels.slice(0, count), rows: lfwRows.slice(0, count) };
}

function writeCsv(name: string, labels: string[], rows: ArrayLike<number>[], header = true): string {
  const lines = rows.map((row, i) => [labels[i], ...Array.from(row, String)].join(','));
  if (header) lines.unshift(['name', ...Array.from(rows[0]!, (_, j) => `v${j}`)].join(','));
  writeFileSync(file(name), `${lines.join('\n')}\n`);
  return file(name);
}

function writeJsonLines(name: string, labels: string[], rows: ArrayLike<number>[]): string {
  writeFileSync(file(name), rows.map((row, i) => JSON.stringify({ person: labels[i], encoding: Array.from(row) })).join('\n'));
  return file(name);
}

describe('face import of real LFW data', () => {
  it('npy with labels stores every row', async () => {
    const summary = await runImport(`${LFW}/lfw_embeddings.npy`, { labels: `${LFW}/lfw_labels.npy` }, 'cosine');
    expect(summary.encodingsImported).toBe(1435);
    expect(summary.personsAdded).toBe(754);
    expect(summary.skipped).toBe(0);

    const stored = await storedEncodings();
    expect(stored.map((row) => row.personId)).toEqual(lfwLabels);
    expect(stored.map((row) => row.vector)).toEqual(lfwRows.map((row) => Array.from(row)));
  });

  it('float64 npy matches float32 rows', async () => {
    const { labels, rows } = lfwSlice(40);
    const doubles = new Float64Array(40 * 512);
    rows.forEach((row, i) => doubles.set(row, i * 512));
    writeNpy(file('f8.npy'), '<f8', [40, 512], doubles);
    writeNpy(file('labels.npy'), '<U31', [40], labels);

    const summary = await runImport(file('f8.npy'), { labels: file('labels.npy') });
    expect(summary.format).toBe('npy');
    expect((await storedEncodings()).map((row) => row.vector)).toEqual(rows.map((row) => Array.from(row)));
  });

  it('csv matches npy exactly', async () => {
    const { labels, rows } = lfwSlice(60);
    const summary = await runImport(writeCsv('lfw.csv', labels, rows));
    expect(summary).toMatchObject({ format: 'csv', records: 60, encodingsImported: 60 });

    const stored = await storedEncodings();
    expect(stored.map((row) => row.personId)).toEqual(labels);
    expect(stored.map((row) => row.vector)).toEqual(rows.map((row) => Array.from(row)));
  });

  it('json lines match npy exactly', async () => {
    const { labels, rows } = lfwSlice(60);
    await runImport(writeJsonLines('lfw.jsonl', labels, rows));
    expect((await storedEncodings()).map((row) => row.vector)).toEqual(rows.map((row) => Array.from(row)));
  });

  it('json array and columns agree', async () => {
    const { labels, rows } = lfwSlice(30);
    writeFileSync(file('array.json'), JSON.stringify(rows.map((row, i) => ({ person: labels[i], encoding: Array.from(row) }))));
    await runImport(file('array.json'));
    const fromArray = await storedEncodings();

    directory.remove();
    directory = temporaryDirectory();
    dataDirectory = join(directory.path, 'data');
    writeFileSync(file('columns.json'), JSON.stringify({ names: labels, encodings: rows.map((row) => Array.from(row)) }));
    await runImport(file('columns.json'));
    expect(await storedEncodings()).toEqual(fromArray);
  });
});

describe('face import of malformed files', () => {
  it('csv bad cell names line', async () => {
    const { labels, rows } = lfwSlice(10);
    const path = writeCsv('bad.csv', labels, rows);
    const lines = (await import('node:fs')).readFileSync(path, 'utf8').split('\n');
    lines[5] = lines[5]!.replace(/,[^,]+$/, ',abc');
    writeFileSync(path, lines.join('\n'));

    const error = await attempt(path);
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RECORD, details: { file: path, line: 6 } });
    expect((error as Error).message).toMatch(/bad\.csv: line 6: column 513 is "abc"/);
    expect(await storedEncodings()).toEqual([]);
  });

  it('csv short row names line', async () => {
    const { labels, rows } = lfwSlice(10);
    const path = writeCsv('short.csv', labels, rows);
    const text = (await import('node:fs')).readFileSync(path, 'utf8').split('\n');
    text[3] = text[3]!.split(',').slice(0, 100).join(',');
    writeFileSync(path, text.join('\n'));

    const error = await attempt(path);
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RECORD, details: { line: 4 } });
    expect((error as Error).message).toMatch(/has 100 columns, the header has 513/);
  });

  it('csv unclosed quote fails', async () => {
    writeFileSync(file('quote.csv'), 'name,a,b\n"ann,1,2\nbo,3,4\n');
    const error = await attempt(file('quote.csv'));
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_FILE });
    expect((error as Error).message).toMatch(/quote\.csv: is not valid CSV/);
  });

  it('csv nan cell is rejected', async () => {
    writeFileSync(file('nan.csv'), 'ann,1,2\nbo,nan,4\n');
    const error = await attempt(file('nan.csv'));
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RECORD, details: { line: 2 } });
  });

  it('json lines syntax error names line', async () => {
    const { labels, rows } = lfwSlice(8);
    const path = writeJsonLines('bad.jsonl', labels, rows);
    const lines = (await import('node:fs')).readFileSync(path, 'utf8').split('\n');
    lines[4] = lines[4]!.slice(0, -10);
    writeFileSync(path, lines.join('\n'));

    const error = await attempt(path);
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RECORD, details: { line: 5 } });
    expect((error as Error).message).toMatch(/bad\.jsonl: line 5: is not valid JSON/);
    expect(await storedEncodings()).toEqual([]);
  });

  it('json lines NaN component names line', async () => {
    writeFileSync(file('nan.jsonl'), '{"person":"a","encoding":[1,2]}\n\n{"person":"b","encoding":[1,null]}\n');
    const error = await attempt(file('nan.jsonl'));
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_VECTOR, details: { line: 3 } });
    expect((error as Error).message).toMatch(/line 3: Component 1 of the vector is null/);
  });

  it('json syntax error names line and column', async () => {
    writeFileSync(file('broken.json'), '[\n  {"person": "a", "encoding": [1, 2]},\n  {"person": "b" "encoding": [3, 4]}\n]');
    const error = await attempt(file('broken.json'));
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_FILE, details: { line: 3 } });
    expect((error as Error).message).toMatch(/broken\.json: is not valid JSON at line 3 column/);
  });

  it('json entry without encoding', async () => {
    writeFileSync(file('missing.json'), JSON.stringify([{ person: 'a', encoding: [1, 2] }, { person: 'b', vector: [1, 2] }]));
    const error = await attempt(file('missing.json'));
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RECORD, details: { entry: 1 } });
    expect((error as Error).message).toMatch(/entry 1: "encoding" \(or "embedding"\) must be an array/);
  });

  it('dimension change names record', async () => {
    writeFileSync(file('mixed.jsonl'), '{"person":"a","encoding":[1,2,3]}\n{"person":"b","encoding":[1,2]}\n');
    const error = await attempt(file('mixed.jsonl'));
    expect(error).toMatchObject({ code: ErrorCodes.DIMENSION_MISMATCH, details: { line: 2 } });
  });

  it('stored dimension is enforced', async () => {
    const { labels, rows } = lfwSlice(5);
    await runImport(writeCsv('first.csv', labels, rows));
    writeFileSync(file('narrow.csv'), 'zed,1,2,3\n');
    const error = await attempt(file('narrow.csv'));
    expect(error).toMatchObject({ code: ErrorCodes.DIMENSION_MISMATCH, details: { line: 1 } });
    expect(await storedEncodings()).toHaveLength(5);
  });

  it('npy NaN row names row', async () => {
    const { rows } = lfwSlice(6);
    const data = new Float32Array(6 * 512);
    rows.forEach((row, i) => data.set(row, i * 512));
    data[3 * 512 + 7] = Number.NaN;
    writeNpy(file('nan.npy'), '<f4', [6, 512], data);
    const error = await attempt(file('nan.npy'));
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_VECTOR, details: { row: 3 } });
  });

  it('zero vector under cosine', async () => {
    writeFileSync(file('zero.jsonl'), '{"person":"a","encoding":[1,2]}\n{"person":"b","encoding":[0,0]}\n');
    const storage = await openStorage({ dataDirectory, faces: { metric: 'cosine' } });
    try {
      expect(() => importFaceEncodings(storage, file('zero.jsonl'))).toThrow(expect.objectContaining({ code: ErrorCodes.ZERO_VECTOR, details: expect.objectContaining({ line: 2 }) }));
      expect(readEncodings(storage)).toEqual([]);
    } finally {
      await storage.close();
    }
  });

  it('truncated npy fails', async () => {
    writeNpy(file('cut.npy'), '<f4', [4, 4], new Float32Array(16));
    const bytes = (await import('node:fs')).readFileSync(file('cut.npy'));
    writeFileSync(file('cut.npy'), bytes.subarray(0, bytes.length - 3));
    expect(await attempt(file('cut.npy'))).toMatchObject({ code: ErrorCodes.INVALID_FILE });
  });

  it('float labels npy fails', async () => {
    writeNpy(file('v.npy'), '<f4', [2, 2], Float32Array.of(1, 2, 3, 4));
    writeNpy(file('l.npy'), '<f4', [2], Float32Array.of(1, 2));
    const error = await attempt(file('v.npy'), { labels: file('l.npy') });
    expect((error as Error).message).toMatch(/expected unicode strings/);
  });

  it('blank person id is invalid', async () => {
    writeFileSync(file('blank.csv'), 'name,a,b\nann,1,2\n,3,4\n');
    const error = await attempt(file('blank.csv'));
    expect(error).toMatchObject({ code: ErrorCodes.INVALID_RECORD, details: { line: 3 } });
  });

  it('unknown extension is rejected', async () => {
    writeFileSync(file('faces.txt'), 'ann,1,2\n');
    expect(await attempt(file('faces.txt'))).toMatchObject({ code: ErrorCodes.INVALID_ARGUMENT });
  });

  it('unknown option key is rejected', async () => {
    writeFileSync(file('a.csv'), 'ann,1,2\n');
    const error = await attempt(file('a.csv'), { onExist: 'append' } as ImportFacesOptions);
    expect((error as Error).message).toMatch(/Unknown key options\.onExist/);
  });
});

describe('face import summary', () => {
  it('skip-invalid lists each bad record', async () => {
    writeFileSync(file('some-bad.csv'), 'name,a,b\nann,1,2\nbo,x,4\ncy,5\ndee,7,8\n');
    const summary = await runImport(file('some-bad.csv'), { onInvalid: 'skip' });
    expect(summary.encodingsImported).toBe(2);
    expect(summary.skippedByReason).toEqual({ invalid: 2 });
    expect(summary.skippedRecords.map((record) => record.location.index)).toEqual([3, 4]);
    expect((await storedEncodings()).map((row) => row.personId)).toEqual(['ann', 'dee']);
  });

  it('duplicate rows are stored once', async () => {
    writeFileSync(file('dup.csv'), 'ann,1,2\nann,1,2\nann,1,3\nbo,1,2\n');
    const summary = await runImport(file('dup.csv'));
    expect(summary.encodingsImported).toBe(3);
    expect(summary.skippedByReason).toEqual({ duplicate: 1 });
    expect(summary.skippedRecords[0]!.location).toMatchObject({ unit: 'line', index: 2 });
  });

  it('append rerun adds nothing', async () => {
    const { labels, rows } = lfwSlice(50);
    const path = writeJsonLines('lfw.jsonl', labels, rows);
    await runImport(path);
    const again = await runImport(path, { onExisting: 'append' });
    expect(again.encodingsImported).toBe(0);
    expect(again.skippedByReason).toEqual({ 'already-stored': 50 });
    expect(await storedEncodings()).toHaveLength(50);
  });

  it('append adds only new encodings', async () => {
    writeFileSync(file('one.csv'), 'ann,1,2\n');
    await runImport(file('one.csv'));
    writeFileSync(file('two.csv'), 'ann,1,2\nann,2,2\nbo,3,3\n');
    const summary = await runImport(file('two.csv'), { onExisting: 'append' });
    expect(summary).toMatchObject({ encodingsImported: 2, personsAdded: 1, personsExtended: 1 });
    expect((await storedEncodings()).map((row) => row.vector)).toEqual([[1, 2], [2, 2], [3, 3]]);
  });

  it('existing person rejects by default', async () => {
    writeFileSync(file('one.csv'), 'ann,1,2\n');
    await runImport(file('one.csv'));
    writeFileSync(file('two.csv'), 'bo,3,3\nann,2,2\n');
    const error = await attempt(file('two.csv'));
    expect(error).toMatchObject({ code: ErrorCodes.ALREADY_EXISTS, details: { line: 2, personId: 'ann' } });
    expect(await storedEncodings()).toHaveLength(1);
  });

  it('existing person skipped on request', async () => {
    writeFileSync(file('one.csv'), 'ann,1,2\n');
    await runImport(file('one.csv'));
    writeFileSync(file('two.csv'), 'bo,3,3\nann,2,2\n');
    const summary = await runImport(file('two.csv'), { onExisting: 'skip' });
    expect(summary.skippedByReason).toEqual({ 'person-exists': 1 });
    expect((await storedEncodings()).map((row) => row.personId)).toEqual(['ann', 'bo']);
  });

  it('csv name column by header', async () => {
    writeFileSync(file('named.csv'), 'v0,v1,who\n1,2,ann\n3,4,bo\n');
    await runImport(file('named.csv'), { nameColumn: 'who' });
    expect(await storedEncodings()).toEqual([{ personId: 'ann', vector: [1, 2] }, { personId: 'bo', vector: [3, 4] }]);
  });

  it('csv header named person found', async () => {
    writeFileSync(file('person.csv'), 'e0,e1,person\n1,2,ann\n');
    await runImport(file('person.csv'));
    expect(await storedEncodings()).toEqual([{ personId: 'ann', vector: [1, 2] }]);
  });

  it('json name sets display name', async () => {
    writeFileSync(file('named.json'), JSON.stringify([{ person: 'p1', name: 'Ann Lee', encoding: [1, 2] }]));
    await runImport(file('named.json'), { list: 'blacklist' });
    const storage = await openStorage({ dataDirectory });
    try {
      expect(storage.faces.getPerson('p1')).toMatchObject({ name: 'Ann Lee', list: 'blacklist' });
    } finally {
      await storage.close();
    }
  });
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: '', stderr: '' };
  stdout.on('data', (chunk) => { chunks.stdout += chunk; });
  stderr.on('data', (chunk) => { chunks.stderr += chunk; });
  const code = await runCli(['--data-dir', dataDirectory, ...args], { stdout, stderr });
  return { code, ...chunks };
}

describe('porchlight import faces', () => {
  it('prints the summary', async () => {
    writeFileSync(file('faces.csv'), 'name,a,b\nann,1,2\nann,1,2\nbo,3,4\n');
    const result = await cli('import', 'faces', file('faces.csv'), '--list', 'blacklist');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/imported 2 encodings of 2 persons \(2 new, 0 existing\) from .*faces\.csv \(csv, 3 records\)/);
    expect(result.stdout).toMatch(/skipped 1 records: 1 duplicate/);
    expect(result.stdout).toMatch(/faces\.csv line 3 \(duplicate\)/);
  });

  it('bad record exits non-zero', async () => {
    writeFileSync(file('faces.jsonl'), '{"person":"ann","encoding":[1,2]}\n{"person":"bo"}\n');
    const result = await cli('import', 'faces', file('faces.jsonl'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/faces\.jsonl: line 2: "encoding" .* \[INVALID_RECORD\]/);
    expect(await storedEncodings()).toEqual([]);
  });

  it('skip-invalid prints json summary', async () => {
    writeFileSync(file('faces.jsonl'), '{"person":"ann","encoding":[1,2]}\n{"person":"bo"}\n');
    const result = await cli('import', 'faces', file('faces.jsonl'), '--skip-invalid', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ encodingsImported: 1, skipped: 1, skippedByReason: { invalid: 1 } });
  });

  it('faces import accepts csv', async () => {
    writeFileSync(file('faces.csv'), 'ann,1,2\nbo,3,4\n');
    const result = await cli('faces', 'import', file('faces.csv'));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/imported 2 encodings of 2 persons/);
  });

  it('bad on-existing is usage error', async () => {
    const result = await cli('import', 'faces', file('faces.csv'), '--on-existing', 'merge');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--on-existing must be one of error, append, skip/);
  });
});
