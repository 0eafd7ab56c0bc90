import { randomFillSync } from 'node:crypto';

// Random bytes are drawn in blocks: one system call per 256 ids instead of one per id.
const POOL_IDS = 256;
const pool = Buffer.alloc(POOL_IDS * 10);
let poolOffset = pool.length;

/**
 * Creates a UUIDv7 (RFC 9562, section 5.7): the 48-bit big-endian millisecond `timestamp`, the
 * version and variant bits, and 74 random bits. Ids of different milliseconds sort as text in time
 * order; ids of the same millisecond sort randomly.
 */
export function createEventId(timestamp: number): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const random = pool.subarray(poolOffset, poolOffset + 10);
  poolOffset += 10;

  const time = timestamp.toString(16).padStart(12, '0');
  const hex = random.toString('hex');
  const versionAndRandomA = `7${hex.slice(0, 3)}`;
  // The variant is binary 10 in the two high bits of byte 8.
  const variantAndRandomB = ((random[2]! & 0x3f) | 0x80).toString(16) + hex.slice(6, 8);
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-${versionAndRandomA}-${variantAndRandomB}-${hex.slice(8, 20)}`;
}
