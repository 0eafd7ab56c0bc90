import type { Statement } from 'better-sqlite3';

import type { SqliteDatabase } from '../db/open-database.js';
import { ErrorCodes, StorageError, ValidationError, invalidArgument, showValue } from '../errors.js';
import { checkKeys } from '../faces/face-database.js';
import { noopLogger, type Logger } from '../logger.js';
import { toEpochMs, toIsoString, type TimeInput } from '../metrics/timestamp.js';
import { canonicalJson } from './canonical-json.js';
import { auditHash, GENESIS_HASH } from './audit-hash.js';

export { AUDIT_ACTIONS } from './audit-actions.js';

export interface AuditEntry {
  /** User, service or CLI author that made the change. Default: `options.audit.actor`. */
  actor?: string;
  /** Dotted lower-case words, such as `person.added`; see `AUDIT_ACTIONS`. */
  action: string;
  /** Subject of the change, such as a person id or a configuration key. */
  target: string;
  /** Any JSON object; stored as canonical JSON. Default `{}`. */
  details?: Record<string, unknown>;
}

export interface AuditRecord {
  /** 1, 2, 3, ... in append order, without gaps. */
  id: number;
  /** ISO 8601, UTC. */
  time: string;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
  /** Hex SHA-256 of the previous record (64 zeros for the first). */
  previousHash: string;
  /** Hex SHA-256 of this record's fields and `previousHash`. */
  hash: string;
}

export interface AuditQuery {
  /** Records at or after this time. */
  start?: TimeInput;
  /** Records before this time (exclusive). */
  end?: TimeInput;
  actor?: string;
  action?: string;
  target?: string;
  /** Records per page, 1 to 1,000. Default 100. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** `asc` (default) oldest first, `desc` newest first. */
  order?: 'asc' | 'desc';
}

export interface AuditPage {
  records: AuditRecord[];
  /** Pass as `cursor` for the next page; `null` on the last page. */
  nextCursor: string | null;
}

export type AuditFailure = 'hash_mismatch' | 'previous_hash_mismatch' | 'missing_records' | 'head_mismatch';

export interface AuditVerification {
  valid: boolean;
  /** Records read. */
  checked: number;
  /** Hash of the newest record; keep a copy elsewhere to detect a rewrite of the whole chain. */
  lastHash: string;
  /** The first record that fails, `null` when the chain is intact. */
  firstInvalid: { id: number; reason: AuditFailure; message: string } | null;
}

export interface AuditLogOptions {
  /** Actor of the records that Porchlight appends by itself (face changes, migrations). Default `system`. */
  actor?: string;
  logger?: Logger;
}

const DEFAULTS = Object.freeze({ actor: 'system', limit: 100 });
const MAX_LIMIT = 1000;
const MAX_ACTOR_LENGTH = 256;
const MAX_TARGET_LENGTH = 1024;
const MAX_DETAILS_LENGTH = 64 * 1024;
const ACTION_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,7}$/;
const MAX_ACTION_LENGTH = 64;

type AuditRow = [id: number, time: number, actor: string, action: string, target: string, details: string, previousHash: string, hash: string];

/**
 * The tamper-evident audit log: append-only records, each chained to the previous one by SHA-256.
 * `append` joins the caller's transaction when one is open, so a change and its record commit together.
 */
export class AuditLog {
  readonly #db: SqliteDatabase;
  readonly #actor: string;
  readonly #logger: Logger;
  readonly #selectHead: Statement;
  readonly #insert: Statement;
  readonly #updateHead: Statement;

  constructor(db: SqliteDatabase, options: AuditLogOptions = {}) {
    const actor = options.actor ?? DEFAULTS.actor;
    checkText(actor, 'options.audit.actor', MAX_ACTOR_LENGTH);

    this.#db = db;
    this.#actor = actor;
    this.#logger = options.logger ?? noopLogger;
    this.#selectHead = db.prepare('SELECT last_id, last_hash FROM audit_head WHERE singleton = 1');
    this.#insert = db.prepare('INSERT INTO audit_log (id, time, actor, action, target, details, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.#updateHead = db.prepare('UPDATE audit_head SET last_id = ?, last_hash = ? WHERE singleton = 1 AND last_id = ?');
  }

  /** Actor of the records that Porchlight appends by itself. */
  get defaultActor(): string {
    return this.#actor;
  }

  /**
   * Appends one record and returns it. Inside an open transaction the record is part of it and
   * rolls back with it; otherwise it commits on its own.
   */
  append(entry: AuditEntry): AuditRecord {
    if (entry === null || typeof entry !== 'object') throw invalidArgument('append expects an object with action, target and optionally actor and details.', {});
    checkKeys(entry, ['actor', 'action', 'target', 'details'], 'entry');
    const actor = entry.actor ?? this.#actor;
    checkText(actor, 'entry.actor', MAX_ACTOR_LENGTH);
    checkAction(entry.action);
    checkText(entry.target, 'entry.target', MAX_TARGET_LENGTH);
    const details = entry.details ?? {};
    if (details === null || typeof details !== 'object' || Array.isArray(details)) {
      throw invalidArgument(`entry.details must be a plain object, got ${showValue(details)}.`, {});
    }
    const detailsJson = canonicalJson(details, 'entry.details');
    if (detailsJson.length > MAX_DETAILS_LENGTH) {
      throw invalidArgument(`entry.details is ${detailsJson.length} characters of JSON; the limit is ${MAX_DETAILS_LENGTH}. Store large data elsewhere and reference it.`, {});
    }

    return this.#append(actor, entry.action, entry.target, detailsJson);
  }

  /** Reads records matching every given filter, oldest first unless `order` is `desc`, one page at a time. */
  query(filter: AuditQuery = {}): AuditPage {
    if (filter === null || typeof filter !== 'object') throw invalidArgument('query expects a filter object.', {});
    checkKeys(filter, ['start', 'end', 'actor', 'action', 'target', 'limit', 'cursor', 'order'], 'filter');
    const start = filter.start === undefined ? null : toEpochMs(filter.start, 'filter.start');
    const end = filter.end === undefined ? null : toEpochMs(filter.end, 'filter.end');
    if (start !== null && end !== null && end < start) {
      throw new ValidationError(ErrorCodes.INVALID_TIME_RANGE, `filter.end (${toIsoString(end)}) is before filter.start (${toIsoString(start)}); swap them.`, { details: { start, end } });
    }
    for (const name of ['actor', 'action', 'target'] as const) {
      if (filter[name] !== undefined && typeof filter[name] !== 'string') throw invalidArgument(`filter.${name} must be a string, got ${showValue(filter[name])}.`, {});
    }
    const limit = filter.limit ?? DEFAULTS.limit;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw invalidArgument(`filter.limit must be an integer from 1 to ${MAX_LIMIT}, got ${String(limit)}.`, { limit });
    const order = filter.order ?? 'asc';
    if (order !== 'asc' && order !== 'desc') throw invalidArgument(`filter.order must be "asc" or "desc", got ${showValue(order)}.`, {});
    const after = filter.cursor === undefined ? null : decodeCursor(filter.cursor, order);

    return this.#query({ start, end, actor: filter.actor ?? null, action: filter.action ?? null, target: filter.target ?? null, limit, order, after });
  }

  /**
   * Reads every record in id order and recomputes the chain. Reports the first record whose hash,
   * link to the previous record or id does not fit, and a head that does not match the newest record
   * (newest records deleted). Runs synchronously in one read transaction, about 3 µs per record.
   */
  verify(): AuditVerification {
    const started = performance.now();
    const result = this.#db.transaction(() => this.#verify())();
    this.#logger.info({ checked: result.checked, valid: result.valid, durationMs: performance.now() - started }, 'audit log verified');
    return result;
  }

  #append(actor: string, action: string, target: string, details: string): AuditRecord {
    const time = Date.now();
    const write = (): AuditRecord => {
      const head = this.#selectHead.get() as { last_id: number; last_hash: string };
      const id = head.last_id + 1;
      const hash = auditHash(id, time, actor, action, target, details, head.last_hash);
      this.#insert.run(id, time, actor, action, target, details, head.last_hash, hash);
      // The guard on last_id turns a concurrent writer that read the same head into a failed write.
      if (this.#updateHead.run(id, hash, head.last_id).changes !== 1) {
        throw new StorageError(ErrorCodes.DATABASE_ERROR, 'The audit head changed during an append, so another connection appended at the same time; retry the write.');
      }
      return { id, time: toIsoString(time), actor, action, target, details: JSON.parse(details) as Record<string, unknown>, previousHash: head.last_hash, hash };
    };
    return this.#db.inTransaction ? write() : this.#db.transaction(write).immediate();
  }

  #query(filter: { start: number | null; end: number | null; actor: string | null; action: string | null; target: string | null; limit: number; order: 'asc' | 'desc'; after: number | null }): AuditPage {
    // Every clause is a fixed string; only the bound values come from the caller.
    const clauses: string[] = [];
    if (filter.start !== null) clauses.push('time >= @start');
    if (filter.end !== null) clauses.push('time < @end');
    if (filter.actor !== null) clauses.push('actor = @actor');
    if (filter.action !== null) clauses.push('action = @action');
    if (filter.target !== null) clauses.push('target = @target');
    if (filter.after !== null) clauses.push(filter.order === 'asc' ? 'id > @after' : 'id < @after');
    const where = clauses.length === 0 ? '' : `WHERE ${clauses.join(' AND ')}`;
    const direction = filter.order === 'asc' ? 'ASC' : 'DESC';

    const rows = this.#db.prepare(`SELECT id, time, actor, action, target, details, previous_hash, hash FROM audit_log ${where} ORDER BY id ${direction} LIMIT @limit`)
      .raw()
      .all({ start: filter.start, end: filter.end, actor: filter.actor, action: filter.action, target: filter.target, after: filter.after, limit: filter.limit + 1 }) as AuditRow[];
    const more = rows.length > filter.limit;
    const page = more ? rows.slice(0, filter.limit) : rows;
    return {
      records: page.map(toRecord),
      nextCursor: more ? encodeCursor(page[page.length - 1]![0], filter.order) : null,
    };
  }

  #verify(): AuditVerification {
    let expectedId = 1;
    let previousHash = GENESIS_HASH;
    let checked = 0;
    const fail = (id: number, reason: AuditFailure, message: string): AuditVerification => ({ valid: false, checked, lastHash: previousHash, firstInvalid: { id, reason, message } });

    const rows = this.#db.prepare('SELECT id, time, actor, action, target, details, previous_hash, hash FROM audit_log ORDER BY id').raw().iterate() as IterableIterator<AuditRow>;
    for (const [id, time, actor, action, target, details, storedPrevious, storedHash] of rows) {
      checked += 1;
      if (id !== expectedId) {
        return fail(id, 'missing_records', `Audit record ${id} follows record ${expectedId - 1}: records ${expectedId} to ${id - 1} were deleted.`);
      }
      if (storedPrevious !== previousHash) {
        return fail(id, 'previous_hash_mismatch', `Audit record ${id} does not link to record ${id - 1}: record ${id - 1} was changed or replaced, or records were reordered.`);
      }
      if (auditHash(id, time, actor, action, target, details, storedPrevious) !== storedHash) {
        return fail(id, 'hash_mismatch', `Audit record ${id} does not match its hash: its content was changed after it was written.`);
      }
      previousHash = storedHash;
      expectedId += 1;
    }

    const head = this.#selectHead.get() as { last_id: number; last_hash: string } | undefined;
    if (head === undefined || head.last_id !== expectedId - 1 || head.last_hash !== previousHash) {
      const headId = head?.last_id ?? 0;
      return fail(expectedId, 'head_mismatch', `The audit log ends at record ${expectedId - 1} but its head names record ${headId}: the newest records were deleted or the head was changed.`);
    }
    return { valid: true, checked, lastHash: previousHash, firstInvalid: null };
  }
}

function toRecord(row: AuditRow): AuditRecord {
  const [id, time, actor, action, target, details, previousHash, hash] = row;
  return { id, time: toIsoString(time), actor, action, target, details: JSON.parse(details) as Record<string, unknown>, previousHash, hash };
}

function encodeCursor(id: number, order: 'asc' | 'desc'): string {
  return Buffer.from(JSON.stringify({ id, order })).toString('base64url');
}

function decodeCursor(cursor: unknown, order: 'asc' | 'desc'): number {
  let decoded: { id?: unknown; order?: unknown } | undefined;
  if (typeof cursor === 'string') {
    try {
      decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { id?: unknown; order?: unknown };
    } catch {
      decoded = undefined;
    }
  }
  if (decoded === undefined || decoded === null || !Number.isSafeInteger(decoded.id) || (decoded.order !== 'asc' && decoded.order !== 'desc')) {
    throw new ValidationError(ErrorCodes.INVALID_CURSOR, `filter.cursor ${JSON.stringify(cursor)} is not a cursor returned by audit.query; pass nextCursor unchanged.`, { details: { cursor } });
  }
  if (decoded.order !== order) {
    throw new ValidationError(ErrorCodes.INVALID_CURSOR, `filter.cursor was returned by a query in "${String(decoded.order)}" order; pass the same order to read the next page.`, { details: { cursor } });
  }
  return decoded.id as number;
}

function checkText(value: unknown, name: string, maxLength: number): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    throw invalidArgument(`${name} must be a non-empty string of at most ${maxLength} characters, got ${showValue(value)}.`, { [name]: value });
  }
}

function checkAction(action: unknown): asserts action is string {
  if (typeof action !== 'string' || action.length > MAX_ACTION_LENGTH || !ACTION_PATTERN.test(action)) {
    throw invalidArgument(`entry.action must be dotted lower-case words such as "person.added" (letters, digits, "_"; at most ${MAX_ACTION_LENGTH} characters), got ${showValue(action)}.`, { action });
  }
}
