import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openStorage, type StorageManager } from '../src/storage-manager.js';
import { temporaryDirectory } from './helpers/reference.js';

/** One table as docs/schema.md describes it. */
interface DocumentedTable {
  name: string;
  columns: { name: string; type: string }[];
  indexes: { name: string; columns: string[] }[];
  triggers: string[];
}

/**
 * Reads the tables of docs/schema.md: each `### \`name\`` heading, the first two cells of each row
 * of its column table (name and declared type), and its lists that start with `Indexes` and `Triggers`.
 */
function documentedTables(): DocumentedTable[] {
  const tables: DocumentedTable[] = [];
  let current: DocumentedTable | undefined;
  let list: 'indexes' | 'triggers' | undefined;

  for (const line of readFileSync('docs/schema.md', 'utf8').split('\n')) {
    const heading = /^### `(\w+)`/.exec(line);
    if (heading !== null) {
      current = { name: heading[1]!, columns: [], indexes: [], triggers: [] };
      tables.push(current);
      list = undefined;
      continue;
    }
    if (line.startsWith('## ')) current = undefined;
    if (current === undefined) continue;

    const cells = /^\| `(\w+)` \| ([A-Z]*) \|/.exec(line);
    if (cells !== null) current.columns.push({ name: cells[1]!, type: cells[2]! });
    if (/^Indexes\b/.test(line)) list = 'indexes';
    if (/^Triggers\b/.test(line)) list = 'triggers';

    const item = /^- `(\w+)`(?: \(([^)]*)\))?/.exec(line);
    if (item !== null && list === 'indexes') {
      current.indexes.push({ name: item[1]!, columns: (item[2] ?? '').split(',').map((column) => column.trim().replaceAll('`', '')) });
    }
    if (item !== null && list === 'triggers') current.triggers.push(item[1]!);
  }
  return tables;
}

/** Reads the same facts from a freshly migrated database. */
function actualTables(storage: StorageManager): DocumentedTable[] {
  const db = storage.database;
  const names = db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type IN ('table', 'virtual') AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];

  return names.map((name) => {
    const columns = (db.prepare('SELECT name, type FROM pragma_table_info(?) ORDER BY cid').all(name) as { name: string; type: string }[]);
    const indexNames = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name").pluck().all(name) as string[];
    const indexes = indexNames.map((index) => ({
      name: index,
      columns: (db.prepare('SELECT name, desc FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno').all(index) as { name: string | null; desc: number }[])
        .map((column) => `${column.name ?? 'expression'}${column.desc === 1 ? ' DESC' : ''}`),
    }));
    const triggers = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ? ORDER BY name").pluck().all(name) as string[];
    return { name, columns, indexes, triggers };
  });
}

const directory = temporaryDirectory();
let storage: StorageManager;
let documented: DocumentedTable[];
let actual: DocumentedTable[];

beforeAll(async () => {
  storage = await openStorage({ dataDirectory: directory.path });
  documented = documentedTables();
  actual = actualTables(storage);
});

afterAll(async () => {
  await storage.close();
  directory.remove();
});

describe('docs/schema.md', () => {
  it('names every table', () => {
    expect(documented.map((table) => table.name).sort()).toEqual(actual.map((table) => table.name).sort());
  });

  it('lists every column and type', () => {
    for (const table of actual) {
      expect({ table: table.name, columns: documented.find((entry) => entry.name === table.name)?.columns }).toEqual({ table: table.name, columns: table.columns });
    }
  });

  it('lists every index and its keys', () => {
    for (const table of actual) {
      const listed = documented.find((entry) => entry.name === table.name)?.indexes ?? [];
      expect({ table: table.name, indexes: [...listed].sort((a, b) => a.name.localeCompare(b.name)) }).toEqual({ table: table.name, indexes: table.indexes });
    }
  });

  it('lists every trigger', () => {
    for (const table of actual) {
      expect({ table: table.name, triggers: [...(documented.find((entry) => entry.name === table.name)?.triggers ?? [])].sort() }).toEqual({ table: table.name, triggers: table.triggers });
    }
  });
});
