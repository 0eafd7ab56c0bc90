import { createHash } from 'node:crypto';

import { ErrorCodes, ValidationError, showValue } from '../errors.js';
import { SEQUENCE_SPAN, type NormalizedFilter } from './event-filter.js';
import { MAX_TIMESTAMP } from './event-time.js';

/** Position after the last event of a page: its time and its number within that millisecond. */
export interface CursorPosition {
  timestamp: number;
  sequence: number;
}

const CURSOR_PATTERN = /^1\.(\d{1,15})\.(\d{1,5})\.([ad])\.([0-9a-f]{16})$/;

/**
 * Encodes a keyset cursor. It contains the position and a fingerprint of the filter and order, so a
 * cursor cannot silently continue a different query.
 */
export function encodeCursor(position: CursorPosition, filter: NormalizedFilter, order: 'asc' | 'desc'): string {
  const text = `1.${position.timestamp}.${position.sequence}.${order[0]}.${queryFingerprint(filter)}`;
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** Decodes a cursor from `encodeCursor` for the same filter and order, or throws INVALID_CURSOR. */
export function decodeCursor(cursor: unknown, filter: NormalizedFilter, order: 'asc' | 'desc'): CursorPosition {
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw invalidCursor(`query.cursor must be the nextCursor string of a previous page, got ${showValue(cursor)}.`);
  }
  const match = CURSOR_PATTERN.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match === null) throw invalidCursor(`query.cursor ${JSON.stringify(cursor)} is malformed; pass nextCursor exactly as returned, or omit it to start from the first page.`);

  const timestamp = Number(match[1]);
  const sequence = Number(match[2]);
  if (timestamp > MAX_TIMESTAMP || sequence >= SEQUENCE_SPAN) throw invalidCursor(`query.cursor ${JSON.stringify(cursor)} is malformed; pass nextCursor exactly as returned.`);
  if (match[3] !== order[0] || match[4] !== queryFingerprint(filter)) {
    throw invalidCursor('query.cursor belongs to a query with other filters or another order; pass the same filters and order as the query that returned it, or omit the cursor to start again.');
  }
  return { timestamp, sequence };
}

function queryFingerprint(filter: NormalizedFilter): string {
  return createHash('sha256').update(JSON.stringify(filter)).digest('hex').slice(0, 16);
}

function invalidCursor(message: string): ValidationError {
  return new ValidationError(ErrorCodes.INVALID_CURSOR, message);
}
