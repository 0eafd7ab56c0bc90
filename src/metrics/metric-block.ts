import { endianness } from 'node:os';

// Blocks are stored as the platform's Float64Array bytes, and the schema promises little-endian.
// Every platform Node.js supports today is little-endian, so any other stops here instead of writing.
if (endianness() !== 'LE') throw new Error('porchlight: metric blocks need a little-endian platform');

/** Points of one series in one block: times in epoch milliseconds, ascending, and their values. */
export interface DecodedBlock {
  times: Float64Array;
  values: Float64Array;
}

/** Encodes `count` points as `count` float64 times followed by `count` float64 values. */
export function encodeBlock(times: ArrayLike<number>, values: ArrayLike<number>, count: number): Buffer {
  const floats = new Float64Array(count * 2);
  for (let i = 0; i < count; i++) {
    floats[i] = times[i]!;
    floats[count + i] = values[i]!;
  }
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);
}

export function decodeBlock(blob: Buffer, count: number): DecodedBlock {
  // better-sqlite3 hands out Buffers at any byte offset; Float64Array views need multiples of 8.
  const floats = blob.byteOffset % 8 === 0
    ? new Float64Array(blob.buffer, blob.byteOffset, count * 2)
    : new Float64Array(Uint8Array.prototype.slice.call(blob).buffer);
  return { times: floats.subarray(0, count), values: floats.subarray(count, count * 2) };
}
