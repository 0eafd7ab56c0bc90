import { createHash, hash } from 'node:crypto';

/** The `previous_hash` of the first record: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

// crypto.hash (Node.js 20.12 and later) skips the Hash object and is about twice as fast per record.
const sha256Hex: (text: string) => string = typeof hash === 'function'
  ? (text) => hash('sha256', text, 'hex')
  : (text) => createHash('sha256').update(text).digest('hex');

/**
 * Returns the hex SHA-256 that chains an audit record. The hashed text is seven lines joined by
 * "\n". The first two are the id and the time (epoch milliseconds) in decimal. The next four are
 * actor, action, target and details (the stored canonical JSON), each written as
 * `<length in UTF-16 code units>:<text>`. The last is the previous record's hash. The length
 * prefixes keep field boundaries unambiguous whatever the strings contain, without the cost of
 * escaping them. The text is hashed as UTF-8.
 */
export function auditHash(id: number, time: number, actor: string, action: string, target: string, details: string, previousHash: string): string {
  return sha256Hex(`${id}\n${time}\n${actor.length}:${actor}\n${action.length}:${action}\n${target.length}:${target}\n${details.length}:${details}\n${previousHash}`);
}
