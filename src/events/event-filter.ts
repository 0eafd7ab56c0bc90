import { invalidArgument, showValue } from '../errors.js';
import { checkKeys } from '../faces/face-database.js';
import { checkConfidence, checkText, checkType, endBeforeStart } from './event-input.js';
import { toEpochMilliseconds } from './event-time.js';
import type { EventFilter } from './event-types.js';

/** Events of one millisecond share `timestamp`; `seq = timestamp * SEQUENCE_SPAN + n` orders them. */
export const SEQUENCE_SPAN = 16_384;

/**
 * SQL for the first seq of the millisecond in `parameter`. better-sqlite3 binds numbers as REAL, and
 * seq exceeds 2^53, so the value is cast to INTEGER before any arithmetic.
 */
export function firstSeqOf(parameter: string): string {
  return `(CAST(${parameter} AS INTEGER) * ${SEQUENCE_SPAN})`;
}

/** Maximum number of values in one list filter. Each is an element of one bound JSON array, never SQL text. */
export const MAX_FILTER_VALUES = 100_000;

/** Maximum length of a full-text search string, in UTF-16 code units. */
export const MAX_SEARCH_LENGTH = 1_000;

export const FILTER_KEYS = ['start', 'end', 'types', 'sources', 'labels', 'personIds', 'minConfidence', 'maxConfidence', 'parentId', 'hasErrors', 'keep', 'search'] as const;

/** A checked filter: times in milliseconds, lists deduplicated, the search turned into an FTS5 query. */
export interface NormalizedFilter {
  start?: number;
  end?: number;
  types?: string[];
  sources?: string[];
  labels?: string[];
  personIds?: string[];
  minConfidence?: number;
  maxConfidence?: number;
  parentId?: string;
  hasErrors?: boolean;
  keep?: boolean;
  /** FTS5 query: every word quoted, so no input is read as FTS5 syntax. */
  search?: string;
}

/** The FROM and WHERE parts of a filtered statement, with its named parameters. */
export interface FilterSql {
  from: string;
  where: string;
  /** The expression of the event's seq: the FTS5 rowid when searching, so FTS5 applies time limits itself. */
  seq: string;
  params: Record<string, unknown>;
}

/** Checks `filter` (whose allowed keys are `keys`) and returns its normalized form. */
export function normalizeFilter(filter: EventFilter, keys: readonly string[], name: string): NormalizedFilter {
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
    throw invalidArgument(`${name} must be an object of filter keys: ${FILTER_KEYS.join(', ')}.`, { name });
  }
  checkKeys(filter, keys, name);

  const normalized: NormalizedFilter = {};
  if (filter.start !== undefined) normalized.start = toEpochMilliseconds(filter.start, `${name}.start`);
  if (filter.end !== undefined) normalized.end = toEpochMilliseconds(filter.end, `${name}.end`);
  if (normalized.start !== undefined && normalized.end !== undefined && normalized.end < normalized.start) {
    throw endBeforeStart(`${name}.end`, normalized.end, normalized.start);
  }

  if (filter.types !== undefined) normalized.types = checkList(filter.types, `${name}.types`, checkType);
  if (filter.sources !== undefined) normalized.sources = checkList(filter.sources, `${name}.sources`, checkText);
  if (filter.labels !== undefined) normalized.labels = checkList(filter.labels, `${name}.labels`, checkText);
  if (filter.personIds !== undefined) normalized.personIds = checkList(filter.personIds, `${name}.personIds`, checkText);

  if (filter.minConfidence !== undefined) normalized.minConfidence = checkConfidence(filter.minConfidence, `${name}.minConfidence`);
  if (filter.maxConfidence !== undefined) normalized.maxConfidence = checkConfidence(filter.maxConfidence, `${name}.maxConfidence`);
  if (normalized.minConfidence !== undefined && normalized.maxConfidence !== undefined && normalized.maxConfidence < normalized.minConfidence) {
    throw invalidArgument(`${name}.maxConfidence (${normalized.maxConfidence}) is below ${name}.minConfidence (${normalized.minConfidence}).`, { name });
  }

  if (filter.parentId !== undefined) normalized.parentId = checkText(filter.parentId, `${name}.parentId`);
  if (filter.hasErrors !== undefined) {
    if (typeof filter.hasErrors !== 'boolean') throw invalidArgument(`${name}.hasErrors must be true or false, got ${showValue(filter.hasErrors)}.`, { name });
    normalized.hasErrors = filter.hasErrors;
  }
  if (filter.keep !== undefined) {
    if (typeof filter.keep !== 'boolean') throw invalidArgument(`${name}.keep must be true or false, got ${showValue(filter.keep)}.`, { name });
    normalized.keep = filter.keep;
  }
  if (filter.search !== undefined) normalized.search = toFtsQuery(filter.search, `${name}.search`);
  return normalized;
}

/** True when the filter has at least one condition. */
export function hasConditions(filter: NormalizedFilter): boolean {
  return Object.keys(filter).length > 0;
}

/** Builds the FROM and WHERE clauses of `filter`. Every value is a named parameter; SQL text comes from this function only. */
export function filterSql(filter: NormalizedFilter): FilterSql {
  const searching = filter.search !== undefined;
  const seq = searching ? 'events_fts.rowid' : 'e.seq';
  const conditions: string[] = [];
  const params: Record<string, unknown> = {};

  if (searching) {
    conditions.push('events_fts MATCH @search');
    params.search = filter.search;
  }
  if (filter.start !== undefined) {
    conditions.push(`${seq} >= ${firstSeqOf('@start')}`);
    params.start = filter.start;
  }
  if (filter.end !== undefined) {
    conditions.push(`${seq} < ${firstSeqOf('@end')}`);
    params.end = filter.end;
  }
  addList(conditions, params, 'e.type', 'types', filter.types);
  addList(conditions, params, 'e.source', 'sources', filter.sources);
  addList(conditions, params, 'e.label', 'labels', filter.labels);
  addList(conditions, params, 'e.person_id', 'personIds', filter.personIds);
  if (filter.minConfidence !== undefined) {
    conditions.push('e.confidence >= @minConfidence');
    params.minConfidence = filter.minConfidence;
  }
  if (filter.maxConfidence !== undefined) {
    conditions.push('e.confidence <= @maxConfidence');
    params.maxConfidence = filter.maxConfidence;
  }
  if (filter.parentId !== undefined) {
    conditions.push('e.parent_id = @parentId');
    params.parentId = filter.parentId;
  }
  if (filter.hasErrors !== undefined) conditions.push(filter.hasErrors ? 'e.error_count > 0' : 'e.error_count = 0');
  if (filter.keep !== undefined) conditions.push(filter.keep ? 'e.keep = 1' : 'e.keep = 0');

  return {
    from: searching ? 'events_fts JOIN events e ON e.seq = events_fts.rowid' : 'events e',
    where: conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`,
    seq,
    params,
  };
}

/** Adds the condition of a list filter: one value is compared with `=` so SQLite reads the column's index in time order, and more are bound as one JSON array. */
function addList(conditions: string[], params: Record<string, unknown>, column: string, key: string, values: string[] | undefined): void {
  if (values === undefined) return;
  if (values.length === 1) {
    conditions.push(`${column} = @${key}`);
    params[key] = values[0];
  } else {
    conditions.push(`${column} IN (SELECT value FROM json_each(@${key}))`);
    params[key] = JSON.stringify(values);
  }
}

function checkList(values: unknown, name: string, checkValue: (value: unknown, name: string) => string): string[] {
  if (!Array.isArray(values)) throw invalidArgument(`${name} must be an array of strings, got ${showValue(values)}.`, { name });
  if (values.length === 0) throw invalidArgument(`${name} is empty, which would match no event; omit ${name} to match every value.`, { name });
  if (values.length > MAX_FILTER_VALUES) throw invalidArgument(`${name} has ${values.length} values; at most ${MAX_FILTER_VALUES} are accepted.`, { name });
  return [...new Set(values.map((value, index) => checkValue(value, `${name}[${index}]`)))];
}

/**
 * Turns free text into an FTS5 query that requires every word. Each word is quoted (so `AND`, `NEAR`,
 * `-` or `:` are plain text) and a trailing `*` is kept as a prefix match.
 */
function toFtsQuery(search: unknown, name: string): string {
  if (typeof search !== 'string' || search.length > MAX_SEARCH_LENGTH) {
    throw invalidArgument(`${name} must be a string of at most ${MAX_SEARCH_LENGTH} characters, got ${typeof search === 'string' ? `${search.length} characters` : JSON.stringify(search)}.`, { name });
  }
  const words = search.split(/\s+/).filter((word) => /[\p{L}\p{N}]/u.test(word));
  if (words.length === 0) throw invalidArgument(`${name} has no letters or digits to search for, got ${showValue(search)}.`, { name });
  return words.map((word) => {
    const prefix = word.endsWith('*');
    const text = prefix ? word.slice(0, -1) : word;
    return `"${text.replace(/"/g, '""')}"${prefix ? ' *' : ''}`;
  }).join(' ');
}
