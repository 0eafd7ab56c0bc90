import { loadMigrations } from '../db/migrator.js';
import type { SqliteDatabase } from '../db/open-database.js';
import { ErrorCodes, StorageError } from '../errors.js';
import { CONTENTLESS_REBUILDERS } from './derived-indexes.js';

/** A table whose rows an export carries. */
export interface DataTable {
  name: string;
  /** The store whose migrations create the table; null for a table no migration names. */
  store: string | null;
  /** Insertable columns in declaration order; generated and hidden columns are left out. */
  columns: string[];
  /** Columns that order the rows: `rowid`, or the primary key of a WITHOUT ROWID table. */
  orderBy: string[];
}

/** A full-text index that an export leaves out and an import rebuilds from the table it indexes. */
export interface RebuiltIndex {
  name: string;
}

/** Tables that are bookkeeping of the database itself, not data: the schema history is recreated by migrations. */
const INTERNAL_TABLES = Object.freeze(['schema_migrations']);

const CREATE_TABLE = /CREATE\s+(?:VIRTUAL\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?["`[]?(\w+)/gi;

/** Quotes a name read from the database's own schema for use as an SQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Maps each table name to the store whose migration files create it. */
export function tableStores(stores: readonly string[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const store of stores) {
    for (const migration of loadMigrations(store)) {
      for (const match of migration.upSql.matchAll(CREATE_TABLE)) owners.set(match[1]!, store);
    }
  }
  return owners;
}

/**
 * Lists the tables of the main schema whose rows are data, in name order, and the full-text indexes
 * that an import rebuilds. Shadow tables of virtual tables, SQLite's own tables and the migration history
 * are left out.
 */
export function listDataTables(db: SqliteDatabase, stores: readonly string[]): { tables: DataTable[]; rebuilt: RebuiltIndex[] } {
  const owners = tableStores(stores);
  const listed = db.prepare("SELECT name, type, wr FROM pragma_table_list WHERE schema = 'main' ORDER BY name").all() as { name: string; type: string; wr: number }[];

  const tables: DataTable[] = [];
  const rebuilt: RebuiltIndex[] = [];
  for (const entry of listed) {
    if (entry.name.startsWith('sqlite_') || INTERNAL_TABLES.includes(entry.name)) continue;
    if (entry.type === 'virtual') {
      rebuilt.push(classifyVirtual(db, entry.name));
      continue;
    }
    if (entry.type !== 'table') continue;

    const info = db.prepare('SELECT name, pk FROM pragma_table_info(?) ORDER BY cid').all(entry.name) as { name: string; pk: number }[];
    const primaryKey = info.filter((column) => column.pk > 0).sort((a, b) => a.pk - b.pk).map((column) => column.name);
    tables.push({
      name: entry.name,
      store: owners.get(entry.name) ?? null,
      columns: info.map((column) => column.name),
      orderBy: entry.wr === 1 ? primaryKey : ['rowid'],
    });
  }
  return { tables, rebuilt };
}

function classifyVirtual(db: SqliteDatabase, name: string): RebuiltIndex {
  if (name in CONTENTLESS_REBUILDERS) return { name };
  const sql = (db.prepare('SELECT sql FROM sqlite_schema WHERE name = ?').pluck().get(name) as string | undefined) ?? '';
  const externalContent = /USING\s+fts5\s*\(/i.test(sql) && /content\s*=\s*'[^']+'/i.test(sql);
  if (!externalContent) {
    // NOTE: other virtual tables need an entry in CONTENTLESS_REBUILDERS or an export of their own.
    throw new StorageError(ErrorCodes.DATABASE_ERROR, `Virtual table ${name} is neither an FTS5 index over another table (content='table') nor a known contentless index, so an export can neither carry nor rebuild it.`, { details: { table: name } });
  }
  return { name };
}
