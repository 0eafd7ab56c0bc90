import { writeFileSync } from 'node:fs';

/** Writes a version 1.0 .npy file; `descr` is '<f4', '<f8' or '<U<n>'. */
export function writeNpy(path: string, descr: string, shape: number[], data: Float32Array | Float64Array | string[]): void {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header += ' '.repeat(63 - ((header.length + 10) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(prefix);
  prefix.writeUInt16LE(header.length, 8);

  let body: Buffer;
  if (Array.isArray(data)) {
    const width = Number(/^<U(\d+)$/.exec(descr)![1]);
    const codes = new Uint32Array(data.length * width);
    data.forEach((text, i) => Array.from(text).forEach((character, j) => { codes[i * width + j] = character.codePointAt(0)!; }));
    body = Buffer.from(codes.buffer);
  } else {
    body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  writeFileSync(path, Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]));
}
