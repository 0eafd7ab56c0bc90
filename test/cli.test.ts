import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { runCli } from '../src/cli/run.js';
import { openStorage } from '../src/storage-manager.js';
import { writeNpy } from './helpers/npy-writer.js';
import { temporaryDirectory } from './helpers/reference.js';

let directory: { path: string; remove: () => void };
let dataDirectory: string;

beforeEach(() => {
  directory = temporaryDirectory();
  dataDirectory = join(directory.path, 'data');
});

afterEach(() => directory.remove());

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: '', stderr: '' };
  stdout.on('data', (chunk) => { chunks.stdout += chunk; });
  stderr.on('data', (chunk) => { chunks.stderr += chunk; });
  const code = await runCli(['--data-dir', dataDirectory, ...args], { stdout, stderr });
  return { code, ...chunks };
}

function file(name: string): string {
  return join(directory.path, name);
}

async function personIds(): Promise<string[]> {
  const storage = await openStorage({ dataDirectory });
  try {
    return storage.faces.listPersons().map((person) => person.id);
  } finally {
    await storage.close();
  }
}

function writeGallery(): void {
  writeNpy(file('faces.npy'), '<f4', [3, 4], Float32Array.of(1, 0, 0, 0, 0.9, 0.1, 0, 0, 0, 0, 1, 0));
  writeNpy(file('labels.npy'), '<U5', [3], ['ann', 'ann', 'bo']);
}

describe('porchlight faces', () => {
  it('import groups rows by label', async () => {
    writeGallery();
    const result = await cli('faces', 'import', file('faces.npy'), '--labels', file('labels.npy'));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/imported 3 encodings of 2 persons/);
    expect(await personIds()).toEqual(['ann', 'bo']);
  });

  /** Imports the gallery under cosine, then one more person under `metric`. */
  async function importAgainWith(metric: string): Promise<{ code: number; stdout: string; stderr: string }> {
    writeGallery();
    await cli('faces', 'import', file('faces.npy'), '--labels', file('labels.npy'), '--metric', 'cosine');
    writeNpy(file('more.npy'), '<f4', [1, 4], Float32Array.of(0, 1, 0, 0));
    writeNpy(file('more-labels.npy'), '<U5', [1], ['cy']);
    return cli('faces', 'import', file('more.npy'), '--labels', file('more-labels.npy'), '--metric', metric);
  }

  it('other metric for existing model fails', async () => {
    const result = await importAgainWith('l2');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/already uses metric cosine.*\[METRIC_MISMATCH\]/);
    expect(await personIds()).toEqual(['ann', 'bo']);
  });

  it('same metric for existing model works', async () => {
    const result = await importAgainWith('cosine');
    expect(result.code).toBe(0);
    expect(await personIds()).toEqual(['ann', 'bo', 'cy']);
  });

  it('search prints json per query', async () => {
    writeGallery();
    await cli('faces', 'import', file('faces.npy'), '--labels', file('labels.npy'), '--list', 'blacklist');
    writeNpy(file('query.npy'), '<f4', [2, 4], Float32Array.of(1, 0, 0, 0, 0, 0, 0.9, 0));
    const result = await cli('faces', 'search', '--query', file('query.npy'), '--json', '--k', '2');
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(result.code).toBe(0);
    expect(lines).toHaveLength(2);
    expect(lines[0][0]).toMatchObject({ personId: 'ann', list: 'blacklist', distance: 0 });
    expect(lines[1][0]).toMatchObject({ personId: 'bo' });
  });

  it('imports JSON entries', async () => {
    writeFileSync(file('faces.json'), JSON.stringify([{ person: 'cy', encoding: [0, 1, 0] }, { person: 'cy', encoding: [0, 0.9, 0.1] }]));
    const result = await cli('faces', 'import', file('faces.json'));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/imported 2 encodings of 1 persons/);
  });

  it('list and remove', async () => {
    writeGallery();
    await cli('faces', 'import', file('faces.npy'), '--labels', file('labels.npy'));
    expect((await cli('faces', 'list')).stdout).toMatch(/ann\tann\tknown\t2 encodings/);
    expect((await cli('faces', 'remove', 'ann')).code).toBe(0);
    expect(await personIds()).toEqual(['bo']);
  });

  it('missing file fails cleanly', async () => {
    const result = await cli('faces', 'import', file('nope.npy'));
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/nope\.npy: cannot be read \(ENOENT\)/);
  });

  it('NaN row changes nothing', async () => {
    writeGallery();
    await cli('faces', 'import', file('faces.npy'), '--labels', file('labels.npy'));
    writeNpy(file('bad.npy'), '<f4', [2, 4], Float32Array.of(1, 0, 0, 0, 0, Number.NaN, 0, 0));
    const result = await cli('faces', 'import', file('bad.npy'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/INVALID_VECTOR/);
    expect(await personIds()).toEqual(['ann', 'bo']);
  });

  it('wrong shape fails cleanly', async () => {
    writeNpy(file('cube.npy'), '<f4', [2, 2, 2], new Float32Array(8));
    const result = await cli('faces', 'import', file('cube.npy'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/2-dimensional/);
  });

  it('wrong dimension changes nothing', async () => {
    writeGallery();
    await cli('faces', 'import', file('faces.npy'), '--labels', file('labels.npy'));
    writeNpy(file('wide.npy'), '<f4', [1, 5], new Float32Array(5).fill(0.1));
    const result = await cli('faces', 'import', file('wide.npy'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/DIMENSION_MISMATCH/);
    expect(await personIds()).toEqual(['ann', 'bo']);
  });

  it('labels count mismatch fails', async () => {
    writeGallery();
    writeNpy(file('two.npy'), '<U5', [2], ['a', 'b']);
    const result = await cli('faces', 'import', file('faces.npy'), '--labels', file('two.npy'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/2 labels for 3 rows/);
  });

  it('unknown option is a usage error', async () => {
    const result = await cli('faces', 'search', '--query', file('q.npy'), '--kk', '3');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--kk/);
  });

  it('bad k is a usage error', async () => {
    const result = await cli('faces', 'search', '--query', file('q.npy'), '--k', 'ten');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--k must be a positive integer/);
  });

  it('unknown command is a usage error', async () => {
    const result = await cli('facez');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command "facez"/);
  });

  it('global option after command fails', async () => {
    const result = await cli('faces', 'list', '--config=other.jsonc');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--config is an option of porchlight itself and goes before the command/);
  });
});

describe('porchlight binary', () => {
  it('demo runs on a fresh folder', async () => {
    const { stdout } = await promisify(execFile)('node', ['dist/src/cli/main.js', '--data-dir', dataDirectory, 'demo', '--persons', '50', '--probes', '50']);
    expect(stdout).toMatch(/identified 50 of 50 probes correctly/);
  });
});
