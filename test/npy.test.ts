import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ErrorCodes } from '../src/errors.js';
import { npyRows, parseNpy, readNpy } from '../src/import/npy.js';
import { writeNpy } from './helpers/npy-writer.js';
import { temporaryDirectory } from './helpers/reference.js';

let directory: { path: string; remove: () => void };

beforeEach(() => {
  directory = temporaryDirectory();
});

afterEach(() => directory.remove());

describe('readNpy', () => {
  it('reads float32 matrix', () => {
    const path = join(directory.path, 'a.npy');
    writeNpy(path, '<f4', [2, 3], Float32Array.of(1, 2, 3, 4, 5, 6));
    const array = readNpy(path);
    expect(array.shape).toEqual([2, 3]);
    expect(npyRows(array, path).map((row) => Array.from(row))).toEqual([[1, 2, 3], [4, 5, 6]]);
  });

  it('reads float64 vector', () => {
    const path = join(directory.path, 'a.npy');
    writeNpy(path, '<f8', [3], Float64Array.of(0.5, 1.5, 2.5));
    expect(Array.from(readNpy(path).data as Float64Array)).toEqual([0.5, 1.5, 2.5]);
  });

  it('reads unicode labels', () => {
    const path = join(directory.path, 'labels.npy');
    writeNpy(path, '<U6', [2], ['Zoë', 'Ngozi']);
    expect(readNpy(path).data).toEqual(['Zoë', 'Ngozi']);
  });

  it('reads real LFW labels', () => {
    const labels = readNpy('../shared/data/lfw-facenet512/lfw_labels.npy');
    expect(labels.descr).toBe('<U31');
    expect(labels.shape).toEqual([1435]);
  });

  it('rejects missing file', () => {
    expect(() => readNpy(join(directory.path, 'missing.npy'))).toThrow(expect.objectContaining({ code: ErrorCodes.INVALID_FILE }));
  });

  it('rejects non-npy bytes', () => {
    expect(() => parseNpy(Buffer.from('hello world, not numpy'))).toThrow(/magic string/);
  });

  it('rejects truncated data', () => {
    const path = join(directory.path, 'a.npy');
    writeNpy(path, '<f4', [4, 4], new Float32Array(16));
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 5));
    expect(() => readNpy(path)).toThrow(/truncated/);
  });

  it('rejects unsupported dtype', () => {
    const path = join(directory.path, 'a.npy');
    writeNpy(path, '<f4', [2], new Float32Array(2));
    const text = readFileSync(path).toString('latin1').replace("'<f4'", "'<i4'");
    writeFileSync(path, Buffer.from(text, 'latin1'));
    expect(() => readNpy(path)).toThrow(/dtype <i4 is not supported/);
  });

  it('rejects fortran order', () => {
    const path = join(directory.path, 'a.npy');
    writeNpy(path, '<f4', [2, 2], new Float32Array(4));
    const text = readFileSync(path).toString('latin1').replace("'fortran_order': False", "'fortran_order': True ");
    writeFileSync(path, Buffer.from(text, 'latin1'));
    expect(() => readNpy(path)).toThrow(/Fortran order/);
  });

  it('rejects three dimensions', () => {
    const path = join(directory.path, 'a.npy');
    writeNpy(path, '<f4', [2, 2, 2], new Float32Array(8));
    expect(() => npyRows(readNpy(path), path)).toThrow(/2-dimensional/);
  });
});
