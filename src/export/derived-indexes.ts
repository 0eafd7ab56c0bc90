import type { SqliteDatabase } from '../db/open-database.js';
import type { JsonValue } from '../events/event-types.js';
import { searchableText } from '../events/json-value.js';

/** Rows read per step while an index is rebuilt; the connection cannot insert while a read is open. */
const REBUILD_CHUNK = 5000;

/**
 * Contentless FTS5 indexes, which keep no copy of their text and so cannot be exported, with the
 * function that rebuilds each from its store's rows after an import. The text must be what the store
 * writes itself, or searches would find other events than before the export.
 */
export const CONTENTLESS_REBUILDERS: Readonly<Record<string, (db: SqliteDatabase) => void>> = Object.freeze({
  events_fts: rebuildEventsText,
});

/** Rebuilds an FTS5 index whose content is another table, with FTS5's own `rebuild` command. */
export function rebuildExternalContentIndex(db: SqliteDatabase, name: string): void {
  const quoted = `"${name.replaceAll('"', '""')}"`;
  db.prepare(`INSERT INTO ${quoted} (${quoted}) VALUES ('rebuild')`).run();
}

/** Indexes every event's label, sub-label and string values of data under its seq, as EventStore does. */
function rebuildEventsText(db: SqliteDatabase): void {
  const read = db.prepare('SELECT seq, label, sub_label, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?').raw(true);
  const insert = db.prepare('INSERT INTO events_fts (rowid, label, sub_label, data) VALUES (?, ?, ?, ?)');

  for (let after = -1n; ;) {
    const rows = read.safeIntegers(true).all(after, REBUILD_CHUNK) as [bigint, string | null, string | null, string][];
    if (rows.length === 0) return;
    for (const [seq, label, subLabel, data] of rows) insert.run(seq, label, subLabel, searchableText(JSON.parse(data) as JsonValue));
    after = rows.at(-1)![0];
  }
}

/**
 * Columns that hold JSON without a `json_valid` check in the schema, because their store validates
 * on write. An import checks them itself, so a hand-edited export cannot store text that reads fail on.
 */
export const UNCHECKED_JSON_COLUMNS: Readonly<Record<string, Readonly<Record<string, 'object' | 'array'>>>> = Object.freeze({
  events: Object.freeze({ data: 'object', enrichments: 'object', errors: 'array' }),
});

/** Returns why a value of an unchecked JSON column is invalid, or undefined when it is valid. */
export function invalidJsonColumn(table: string, column: string, value: unknown): string | undefined {
  const kind = UNCHECKED_JSON_COLUMNS[table]?.[column];
  if (kind === undefined) return undefined;
  if (typeof value !== 'string') return `column ${JSON.stringify(column)} must be JSON text, got ${typeof value}.`;

  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    return `column ${JSON.stringify(column)} is not valid JSON (${(error as Error).message}).`;
  }
  const isArray = Array.isArray(parsed);
  const matches = kind === 'array' ? isArray : parsed !== null && typeof parsed === 'object' && !isArray;
  return matches ? undefined : `column ${JSON.stringify(column)} must be a JSON ${kind}.`;
}
