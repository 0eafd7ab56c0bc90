import type { Statement } from 'better-sqlite3';
import { LRUCache } from 'lru-cache';

import type { SqliteDatabase } from '../db/open-database.js';
import { ConflictError, ErrorCodes, NotFoundError, ValidationError, invalidArgument, showValue } from '../errors.js';
import { checkKeys } from '../faces/face-database.js';
import { noopLogger, type Logger } from '../logger.js';
import { decodeCursor, encodeCursor, type CursorPosition } from './event-cursor.js';
import { FILTER_KEYS, SEQUENCE_SPAN, filterSql, firstSeqOf, hasConditions, normalizeFilter, type NormalizedFilter } from './event-filter.js';
import { checkText, endBeforeStart, prepareEvent, preparePatch, type PreparedEvent, type PreparedPatch } from './event-input.js';
import { ROLLUP_DIMENSIONS, ROLLUP_PERIODS, RollupWriter } from './event-rollup.js';
import { EventStatisticsReader } from './event-statistics.js';
import { toEpochMilliseconds, toIso } from './event-time.js';
import type {
  EventFilter, EventPage, EventPatch, EventQuery, EventStatistics, EventStatisticsOptions, JsonObject, JsonValue, NewEvent, StoredEvent, StoreEventOptions,
} from './event-types.js';
import { MAX_JSON_LENGTH, searchableText } from './json-value.js';
import { MAX_BUCKETS, DAY, HOUR, canonicalTimeZone } from './time-buckets.js';

export interface EventStoreOptions {
  logger?: Logger;
}

/** Maximum number of events in one `storeEvents` call. */
export const MAX_BATCH_SIZE = 100_000;

/** Maximum number of events on one page of `queryEvents`. */
export const MAX_PAGE_SIZE = 10_000;

const DEFAULT_PAGE_SIZE = 100;
const QUERY_KEYS = [...FILTER_KEYS, 'order', 'limit', 'cursor'] as const;
const STATISTICS_KEYS = ['start', 'end', 'bucket', 'timeZone'] as const;
const ORDER_SQL = Object.freeze({ asc: 'ASC', desc: 'DESC' } as const);

/** The column each rollup dimension counts, as SQL over `events e`. */
const ROLLUP_COLUMNS = Object.freeze([
  [ROLLUP_DIMENSIONS.type, 'e.type'],
  [ROLLUP_DIMENSIONS.source, 'e.source'],
  [ROLLUP_DIMENSIONS.label, 'e.label'],
  [ROLLUP_DIMENSIONS.all, "''"],
] as const);

const EVENT_COLUMNS = `e.id, e.type, e.timestamp, e.end_time, e.source, e.confidence, e.label, e.sub_label, e.person_id,
  e.stage, e.data, e.enrichments, e.errors, e.parent_id, e.keep, e.created_at, e.updated_at, e.seq - e.timestamp * ${SEQUENCE_SPAN} AS sequence`;

interface EventRow {
  id: string;
  type: string;
  timestamp: number;
  end_time: number | null;
  source: string;
  confidence: number | null;
  label: string | null;
  sub_label: string | null;
  person_id: string | null;
  stage: string | null;
  data: string;
  enrichments: string;
  errors: string;
  parent_id: string | null;
  keep: number;
  created_at: number;
  updated_at: number;
  sequence: number;
}

/**
 * Security events in SQLite: stored in time order, filtered through indexes that end in time order,
 * searchable with FTS5, and counted per hour and day in a rollup table for statistics. Every write changes
 * the events, their full-text rows and the rollup in one transaction.
 */
export class EventStore {
  readonly #db: SqliteDatabase;
  readonly #logger: Logger;
  readonly #rollup: RollupWriter;
  readonly #statistics: EventStatisticsReader;
  readonly #statements = new LRUCache<string, Statement>({ max: 256 });
  readonly #insertEvent: Statement;
  readonly #newest: Statement;
  readonly #lastSequenceAt: Statement;
  readonly #insertText: Statement;
  readonly #selectById: Statement;
  readonly #idExists: Statement;
  #storing = false;

  constructor(db: SqliteDatabase, options: EventStoreOptions = {}) {
    checkKeys(options, ['logger'], 'options.events');
    this.#db = db;
    this.#logger = options.logger ?? noopLogger;
    this.#rollup = new RollupWriter(db);
    this.#statistics = new EventStatisticsReader(db);

    this.#insertEvent = db.prepare(`INSERT INTO events (seq, id, type, timestamp, end_time, source, confidence, label, sub_label, person_id,
        stage, data, enrichments, errors, error_count, parent_id, keep, created_at, updated_at)
      VALUES (${firstSeqOf('?')} + CAST(? AS INTEGER), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.#newest = db.prepare(`SELECT timestamp, seq - timestamp * ${SEQUENCE_SPAN} AS sequence FROM events ORDER BY seq DESC LIMIT 1`);
    this.#lastSequenceAt = db.prepare(`SELECT max(seq) - ${firstSeqOf('?')} FROM events WHERE seq >= ${firstSeqOf('?')} AND seq < ${firstSeqOf('?')} + ${SEQUENCE_SPAN}`).pluck();
    this.#insertText = db.prepare('INSERT INTO events_fts (rowid, label, sub_label, data) VALUES (last_insert_rowid(), ?, ?, ?)');
    this.#selectById = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events e WHERE e.id = ?`);
    this.#idExists = db.prepare('SELECT 1 FROM events WHERE id = ?').pluck();
    db.exec('CREATE TEMP TABLE IF NOT EXISTS events_to_delete (seq INTEGER PRIMARY KEY)');
  }

  /** Stores one event and returns its id. */
  storeEvent(event: NewEvent, options: StoreEventOptions = {}): string {
    const requireParent = checkStoreOptions(options);
    return this.#store([event], requireParent, () => 'event')[0]!;
  }

  /** Stores events in one transaction and returns their ids in input order; if one is rejected, none is stored. */
  storeEvents(events: readonly NewEvent[], options: StoreEventOptions = {}): string[] {
    const requireParent = checkStoreOptions(options);
    if (!Array.isArray(events)) throw invalidArgument(`events must be an array of events, got ${typeof events}.`, {});
    if (events.length > MAX_BATCH_SIZE) throw invalidArgument(`events has ${events.length} entries; store at most ${MAX_BATCH_SIZE} per call.`, { count: events.length });
    if (events.length === 0) return [];
    return this.#store(events, requireParent, (index) => `events[${index}]`);
  }

  /** Returns the event with this id, or undefined. */
  getEvent(id: string): StoredEvent | undefined {
    checkText(id, 'id');
    const row = this.#selectById.get(id) as EventRow | undefined;
    return row === undefined ? undefined : toStoredEvent(row);
  }

  /**
   * Applies a lifecycle change and returns the updated event: plain fields are replaced, `data` and
   * `enrichments` merged as JSON merge patches, `errors` appended.
   */
  updateEvent(id: string, patch: EventPatch): StoredEvent {
    checkText(id, 'id');
    const prepared = preparePatch(patch);
    return this.#update(id, prepared);
  }

  /** Deletes the events that match `filter` (at least one condition) and returns how many were deleted. Children keep their parentId. */
  deleteEvents(filter: EventFilter): number {
    const normalized = normalizeFilter(filter, FILTER_KEYS, 'filter');
    if (!hasConditions(normalized)) {
      throw invalidArgument('filter is empty, which would delete every event; give at least one condition, for example { end: cutoff } to delete everything older than cutoff.', {});
    }
    return this.#delete(normalized);
  }

  /** Returns one page of matching events and the cursor of the next page. */
  queryEvents(query: EventQuery = {}): EventPage {
    const { filter, order, limit, cursor } = checkQuery(query);
    return this.#query(filter, order, limit, cursor);
  }

  /** Returns SQLite's EXPLAIN QUERY PLAN lines for the statement `queryEvents(query)` runs, to check which indexes it uses. */
  explainQuery(query: EventQuery = {}): string[] {
    const { filter, order, limit, cursor } = checkQuery(query);
    const { sql, params } = pageSql(filter, order, limit + 1, cursor);
    return this.#db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params).map((row) => (row as { detail: string }).detail);
  }

  /** Returns the number of events that match `filter`. */
  countEvents(filter: EventFilter = {}): number {
    const normalized = normalizeFilter(filter, FILTER_KEYS, 'filter');
    const sql = filterSql(normalized);
    const statement = this.#statement(`SELECT count(*) FROM ${sql.from} ${sql.where}`).pluck();
    return statement.get(...bindable(sql.params)) as number;
  }

  /** Returns counts by type, source and label, average confidence by type, and counts per local hour or day of [start, end). */
  getEventStatistics(options: EventStatisticsOptions): EventStatistics {
    if (options === null || typeof options !== 'object') throw invalidArgument('getEventStatistics expects { start, end, bucket, timeZone? }.', {});
    checkKeys(options, STATISTICS_KEYS, 'options');
    if (options.start === undefined || options.end === undefined) throw invalidArgument('options.start and options.end are required.', {});
    const start = toEpochMilliseconds(options.start, 'options.start');
    const end = toEpochMilliseconds(options.end, 'options.end');
    if (end < start) throw endBeforeStart('options.end', end, start);
    if (options.bucket !== 'hour' && options.bucket !== 'day') throw invalidArgument(`options.bucket must be "hour" or "day", got ${showValue(options.bucket)}.`, {});
    const timeZone = options.timeZone === undefined ? 'UTC' : canonicalTimeZone(options.timeZone, 'options.timeZone');
    const bucketCount = (end - start) / (options.bucket === 'hour' ? HOUR : DAY);
    if (bucketCount > MAX_BUCKETS) throw invalidArgument(`options.start to options.end spans about ${Math.ceil(bucketCount)} ${options.bucket}s; at most ${MAX_BUCKETS} buckets are returned. Use day buckets or a shorter range.`, {});

    // One read transaction, so the rollup and the events are read from the same snapshot.
    return this.#db.transaction(() => this.#statistics.read(start, end, options.bucket, timeZone))();
  }

  /**
   * Checks and inserts each event in turn inside one transaction, so a batch's checked rows die young
   * instead of all living until the batch is written. A rejected event rolls the whole batch back.
   * `nameOf` names an event in messages.
   */
  #store(events: readonly NewEvent[], requireParent: boolean, nameOf: (index: number) => string): string[] {
    // Events are checked inside the write, so a getter of an event could call back in. A nested
    // store would number its events behind the outer batch's counter.
    if (this.#storing) {
      throw invalidArgument('storeEvent or storeEvents was called while another call was still storing its events, for example from a getter of an event; store the second batch after the first returns.', {});
    }
    this.#storing = true;
    try {
      return this.#storeOnce(events, requireParent, nameOf);
    } finally {
      this.#storing = false;
    }
  }

  #storeOnce(events: readonly NewEvent[], requireParent: boolean, nameOf: (index: number) => string): string[] {
    const now = Date.now();
    const ids = new Array<string>(events.length);
    const write = this.#db.transaction(() => {
      const nextSequence = this.#sequenceCounter();
      const rollup = this.#rollup.batch();
      let children: PreparedEvent[] | undefined;
      for (let index = 0; index < events.length; index++) {
        const event = prepareEvent(events[index]!, () => nameOf(index), now);
        this.#insert(event, nextSequence(event), now);
        rollup.add(event, 1);
        ids[index] = event.id;
        if (requireParent && event.parentId !== null) (children ??= []).push(event);
      }
      if (children !== undefined) this.#checkParents(children);
      rollup.write();
    });
    write.immediate();
    this.#logger.debug({ count: events.length }, 'events stored');
    return ids;
  }

  /**
   * Returns a function that numbers events within their millisecond, continuing after the events
   * already stored. Call it for each event just before inserting that event. An event behind the
   * newest millisecond seen so far looks up the last number of its millisecond in the table, which
   * already contains this batch's earlier events. Events in time order need no lookup and no map entry.
   */
  #sequenceCounter(): (event: PreparedEvent) => number {
    const newest = this.#newest.get() as { timestamp: number; sequence: number } | undefined;
    let frontier = newest === undefined ? -1 : newest.timestamp;
    let frontierNext = newest === undefined ? 0 : newest.sequence + 1;
    const behind = new Map<number, number>();
    return (event) => {
      const timestamp = event.timestamp;
      let sequence: number;
      if (timestamp > frontier) {
        frontier = timestamp;
        sequence = 0;
        frontierNext = 1;
      } else if (timestamp === frontier) {
        sequence = frontierNext++;
      } else {
        sequence = behind.get(timestamp) ?? ((this.#lastSequenceAt.get(timestamp, timestamp, timestamp) as number | null) ?? -1) + 1;
        behind.set(timestamp, sequence + 1);
      }
      if (sequence >= SEQUENCE_SPAN) {
        throw invalidArgument(`More than ${SEQUENCE_SPAN} events have the timestamp ${toIso(timestamp)}; nothing was stored. Spread such events over more than one millisecond.`, { id: event.id });
      }
      return sequence;
    };
  }

  #insert(event: PreparedEvent, sequence: number, now: number): void {
    try {
      this.#insertEvent.run(
        event.timestamp, sequence,
        event.id, event.type, event.timestamp, event.endTime, event.source, event.confidence, event.label, event.subLabel, event.personId,
        event.stage, event.data, event.enrichments, event.errors, event.errorCount, event.parentId, event.keep, now, now,
      );
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new ConflictError(`An event with id ${JSON.stringify(event.id)} already exists; nothing was stored. Give each event a new id, or omit id to have one generated.`, { cause: error, details: { id: event.id } });
      }
      throw error;
    }
    this.#insertText.run(event.label, event.subLabel, event.searchText);
  }

  /**
   * Checks that every parentId names a stored event. Call it after inserting the batch, inside its
   * transaction, so that a parent later in the same batch counts.
   */
  #checkParents(children: readonly PreparedEvent[]): void {
    for (const event of children) {
      if (this.#idExists.get(event.parentId) !== undefined) continue;
      throw new NotFoundError(`Parent event ${JSON.stringify(event.parentId)} of event ${JSON.stringify(event.id)} does not exist; nothing was stored. Store the parent first, or pass { requireParent: false }.`, { details: { id: event.id, parentId: event.parentId } });
    }
  }

  #update(id: string, patch: PreparedPatch): StoredEvent {
    const update = this.#db.transaction(() => {
      const row = this.#selectById.get(id) as EventRow | undefined;
      if (row === undefined) throw new NotFoundError(`Event ${JSON.stringify(id)} does not exist; nothing was updated.`, { details: { id } });

      const endTime = patch.endTime === undefined ? row.end_time : patch.endTime;
      if (endTime !== null && endTime < row.timestamp) throw endBeforeStart('patch.endTime', endTime, row.timestamp);
      const data = patch.data === undefined ? row.data : this.#mergePatch(row.data, patch.data, 'patch.data');
      const enrichments = patch.enrichments === undefined ? row.enrichments : this.#mergePatch(row.enrichments, patch.enrichments, 'patch.enrichments');
      const errorList = patch.errors === undefined ? (JSON.parse(row.errors) as JsonValue[]) : [...(JSON.parse(row.errors) as JsonValue[]), ...patch.errors];
      const errors = JSON.stringify(errorList);
      if (errors.length > MAX_JSON_LENGTH) throw tooLong('patch.errors', errors.length);

      const next: EventRow = {
        ...row,
        end_time: endTime,
        stage: patch.stage === undefined ? row.stage : patch.stage,
        confidence: patch.confidence === undefined ? row.confidence : patch.confidence,
        label: patch.label === undefined ? row.label : patch.label,
        sub_label: patch.subLabel === undefined ? row.sub_label : patch.subLabel,
        person_id: patch.personId === undefined ? row.person_id : patch.personId,
        data,
        enrichments,
        errors,
        keep: patch.keep === undefined ? row.keep : Number(patch.keep),
        updated_at: Date.now(),
      };
      this.#statement(`UPDATE events SET end_time = ?, stage = ?, confidence = ?, label = ?, sub_label = ?, person_id = ?, data = ?,
        enrichments = ?, errors = ?, error_count = ?, keep = ?, updated_at = ? WHERE id = ?`)
        .run(next.end_time, next.stage, next.confidence, next.label, next.sub_label, next.person_id, next.data, next.enrichments, next.errors, errorList.length, next.keep, next.updated_at, id);

      if (next.label !== row.label || next.sub_label !== row.sub_label || next.data !== row.data) {
        this.#statement('DELETE FROM events_fts WHERE rowid = (SELECT seq FROM events WHERE id = ?)').run(id);
        this.#statement('INSERT INTO events_fts (rowid, label, sub_label, data) SELECT seq, ?, ?, ? FROM events WHERE id = ?')
          .run(next.label, next.sub_label, searchableText(JSON.parse(next.data) as JsonValue), id);
      }
      if (next.label !== row.label || next.confidence !== row.confidence) {
        const rollup = this.#rollup.batch();
        rollup.add(row, -1);
        rollup.add(next, 1);
        rollup.write();
      }
      return next;
    });
    return toStoredEvent(update.immediate());
  }

  /** Applies an RFC 7396 merge patch with SQLite's json_patch and checks the size of the result. */
  #mergePatch(target: string, patch: string, name: string): string {
    const merged = this.#statement('SELECT json_patch(?, ?)').pluck().get(target, patch) as string;
    if (merged.length > MAX_JSON_LENGTH) throw tooLong(name, merged.length);
    return merged;
  }

  #delete(filter: NormalizedFilter): number {
    const sql = filterSql(filter);
    const remove = this.#db.transaction(() => {
      this.#statement('DELETE FROM temp.events_to_delete').run();
      this.#statement(`INSERT INTO temp.events_to_delete (seq) SELECT e.seq FROM ${sql.from} ${sql.where}`).run(...bindable(sql.params));

      for (const [period, size] of [[ROLLUP_PERIODS.hour, HOUR], [ROLLUP_PERIODS.day, DAY]] as const) {
        for (const [dimension, column] of ROLLUP_COLUMNS) {
          // Only hourly rows count all events.
          if (dimension === ROLLUP_DIMENSIONS.all && period !== ROLLUP_PERIODS.hour) continue;
          this.#statement(`INSERT INTO event_rollup (period, dimension, start, value, events, confidence_sum, confidence_count)
            SELECT ${period}, ${dimension}, e.timestamp - e.timestamp % ${size}, ${column}, -count(*), -total(e.confidence), -count(e.confidence)
            FROM temp.events_to_delete d JOIN events e ON e.seq = d.seq
            WHERE ${column} IS NOT NULL
            GROUP BY 3, 4
            ON CONFLICT DO UPDATE SET
              events = events + excluded.events,
              confidence_sum = confidence_sum + excluded.confidence_sum,
              confidence_count = confidence_count + excluded.confidence_count`).run();
        }
      }
      this.#statement('DELETE FROM event_rollup WHERE events <= 0').run();
      this.#statement('DELETE FROM events_fts WHERE rowid IN (SELECT seq FROM temp.events_to_delete)').run();
      const deleted = this.#statement('DELETE FROM events WHERE seq IN (SELECT seq FROM temp.events_to_delete)').run().changes;
      this.#statement('DELETE FROM temp.events_to_delete').run();
      return deleted;
    });
    const deleted = remove.immediate();
    this.#logger.info({ deleted }, 'events deleted');
    return deleted;
  }

  #query(filter: NormalizedFilter, order: 'asc' | 'desc', limit: number, cursor: CursorPosition | undefined): EventPage {
    const { sql, params } = pageSql(filter, order, limit + 1, cursor);
    const rows = this.#statement(sql).all(params) as EventRow[];
    const more = rows.length > limit;
    if (more) rows.pop();

    const last = rows.at(-1);
    return {
      events: rows.map(toStoredEvent),
      nextCursor: more && last !== undefined ? encodeCursor({ timestamp: last.timestamp, sequence: last.sequence }, filter, order) : null,
    };
  }

  /** Prepared statements by SQL text; the text comes from this module's fixed fragments only. */
  #statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}

function checkQuery(query: EventQuery): { filter: NormalizedFilter; order: 'asc' | 'desc'; limit: number; cursor: CursorPosition | undefined } {
  const filter = normalizeFilter(query, QUERY_KEYS, 'query');
  const order = query.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw invalidArgument(`query.order must be "asc" or "desc", got ${showValue(query.order)}.`, {});
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
    throw invalidArgument(`query.limit must be a positive integer of at most ${MAX_PAGE_SIZE}, got ${showValue(query.limit)}.`, { limit: query.limit });
  }
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor, filter, order);
  return { filter, order, limit, cursor };
}

/** Builds the statement of one page: the filter, the cursor's keyset condition, the order and `limit` rows. */
function pageSql(filter: NormalizedFilter, order: 'asc' | 'desc', limit: number, cursor: CursorPosition | undefined): { sql: string; params: Record<string, unknown> } {
  const sql = filterSql(filter);
  const params: Record<string, unknown> = { ...sql.params, limit };
  let where = sql.where;
  if (cursor !== undefined) {
    const comparison = order === 'desc' ? '<' : '>';
    where = `${where === '' ? 'WHERE' : `${where} AND`} ${sql.seq} ${comparison} ${firstSeqOf('@cursorTime')} + CAST(@cursorSequence AS INTEGER)`;
    params.cursorTime = cursor.timestamp;
    params.cursorSequence = cursor.sequence;
  }
  return { sql: `SELECT ${EVENT_COLUMNS} FROM ${sql.from} ${where} ORDER BY ${sql.seq} ${ORDER_SQL[order]} LIMIT @limit`, params };
}

function checkStoreOptions(options: StoreEventOptions): boolean {
  if (options === null || typeof options !== 'object') throw invalidArgument('options must be an object such as { requireParent: false }.', {});
  checkKeys(options, ['requireParent'], 'options');
  const requireParent = options.requireParent ?? true;
  if (typeof requireParent !== 'boolean') throw invalidArgument(`options.requireParent must be true or false, got ${showValue(requireParent)}.`, {});
  return requireParent;
}

/** Named parameters as statement arguments: better-sqlite3 rejects an object for a statement without parameters. */
function bindable(params: Record<string, unknown>): [Record<string, unknown>] | [] {
  return Object.keys(params).length === 0 ? [] : [params];
}

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    id: row.id,
    type: row.type,
    timestamp: toIso(row.timestamp),
    endTime: row.end_time === null ? null : toIso(row.end_time),
    source: row.source,
    confidence: row.confidence,
    label: row.label,
    subLabel: row.sub_label,
    personId: row.person_id,
    stage: row.stage,
    data: parseObject(row.data),
    enrichments: parseObject(row.enrichments),
    errors: row.errors === '[]' ? [] : JSON.parse(row.errors),
    parentId: row.parent_id,
    keep: row.keep === 1,
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

/** Parses a stored JSON object; the empty object, the most common value, skips the parser. */
function parseObject(text: string): JsonObject {
  return text === '{}' ? {} : JSON.parse(text);
}

function tooLong(name: string, length: number): ValidationError {
  return new ValidationError(ErrorCodes.INVALID_JSON, `${name} would make the stored value ${length} characters long; at most ${MAX_JSON_LENGTH} are stored per field.`, { details: { name, length } });
}
