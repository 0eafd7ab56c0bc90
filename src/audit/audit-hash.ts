import { createHash } from 'node:crypto';

/** The `previous_hash` of the first record: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Returns the hex SHA-256 that chains an audit record: the hash of the JSON array
 * `[id, time, actor, action, target, details, previousHash]`, where `details` is the stored
 * canonical JSON text and `time` is epoch milliseconds. A JSON array keeps field boundaries
 * unambiguous whatever characters the strings contain.
 */
export function auditHash(id: number, time: number, actor: string, action: string, target: string, details: string, previousHash: string): string {
  return createHash('sha256').update(JSON.stringify([id, time, actor, action, target, details, previousHash])).digest('hex');
}
