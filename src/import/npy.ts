import { readFileSync } from 'node:fs';

import { ErrorCodes, ValidationError } from '../errors.js';

/** A NumPy array read from a `.npy` file. Numbers keep their width; unicode strings lose trailing NULs. */
export interface NpyArray {
  descr: string;
  shape: number[];
  data: Float32Array | Float64Array | string[];
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

function invalid(source: string, message: string): ValidationError {
  return new ValidationError(ErrorCodes.INVALID_FILE, `${source}: ${message}`, { details: { file: source } });
}

/** Reads a `.npy` file of little-endian float32, float64 or unicode (`<U`) values in C order. */
export function readNpy(path: string): NpyArray {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new ValidationError(ErrorCodes.INVALID_FILE, `${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check the path.`, { cause: error, details: { file: path } });
  }
  return parseNpy(bytes, path);
}

/** Parses the bytes of a `.npy` file (format versions 1, 2 and 3); `source` names it in errors. */
export function parseNpy(bytes: Buffer, source = '.npy data'): NpyArray {
  if (bytes.length < 10 || !bytes.subarray(0, 6).equals(MAGIC)) throw invalid(source, 'not a NumPy .npy file (the magic string \\x93NUMPY is missing).');

  const major = bytes[6]!;
  if (major < 1 || major > 3) throw invalid(source, `unsupported .npy format version ${major}; versions 1 to 3 are supported.`);
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLength > bytes.length) throw invalid(source, 'the header is truncated.');
  const header = bytes.subarray(headerStart, headerStart + headerLength).toString(major === 3 ? 'utf8' : 'latin1');

  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw invalid(source, `the header ${JSON.stringify(header.trim())} lacks descr, fortran_order or shape.`);
  if (fortran === 'True') throw invalid(source, 'the array is in Fortran order; save it with numpy.ascontiguousarray(a) first.');
  const shape = shapeText.split(',').map((part) => part.trim()).filter((part) => part.length > 0).map(Number);
  if (shape.some((size) => !Number.isSafeInteger(size) || size < 0)) throw invalid(source, `the shape (${shapeText}) is not a list of sizes.`);

  const count = shape.reduce((product, size) => product * size, 1);
  const body = bytes.subarray(headerStart + headerLength);
  const unicode = /^<U(\d+)$/.exec(descr);
  const itemSize = descr === '<f4' ? 4 : descr === '<f8' ? 8 : unicode !== null ? Number(unicode[1]) * 4 : undefined;
  if (itemSize === undefined) {
    throw invalid(source, `dtype ${descr} is not supported; use float32 (<f4), float64 (<f8) or a unicode string (<U) array in little-endian order.`);
  }
  if (body.length < count * itemSize) throw invalid(source, `the data is truncated: shape (${shape.join(', ')}) needs ${count * itemSize} bytes, the file has ${body.length}.`);

  // Copy into a fresh buffer: the body's offset in the file is rarely a multiple of 8.
  const copy = Uint8Array.prototype.slice.call(body, 0, count * itemSize).buffer;
  if (descr === '<f4') return { descr, shape, data: new Float32Array(copy) };
  if (descr === '<f8') return { descr, shape, data: new Float64Array(copy) };

  const characters = new Uint32Array(copy);
  const width = itemSize / 4;
  const strings: string[] = [];
  for (let i = 0; i < count; i++) {
    let text = '';
    for (let j = 0; j < width; j++) {
      const codePoint = characters[i * width + j]!;
      if (codePoint === 0) break;
      text += String.fromCodePoint(codePoint);
    }
    strings.push(text);
  }
  return { descr, shape, data: strings };
}

/** Splits a numeric array of shape (n, d), or (d,) for one vector, into n row views. */
export function npyRows(array: NpyArray, source: string): (Float32Array | Float64Array)[] {
  if (Array.isArray(array.data)) throw invalid(source, `expected numbers, found strings (${array.descr}).`);
  if (array.shape.length === 1) return [array.data];
  if (array.shape.length !== 2) throw invalid(source, `expected a 2-dimensional array (rows, dimension), got shape (${array.shape.join(', ')}).`);

  const [rows, dimension] = array.shape as [number, number];
  if (dimension === 0) throw invalid(source, 'the vectors have dimension 0.');
  const data = array.data;
  return Array.from({ length: rows }, (_, row) => data.subarray(row * dimension, (row + 1) * dimension));
}
