import { ErrorCodes, MigrationError } from '../errors.js';
import type { Migration } from './load-migrations.js';
import type { SqlStatement } from './split-sql-statements.js';

export interface StatementFailure {
  migration: Migration;
  direction: 'up' | 'down';
  statement: SqlStatement;
  /** 0-based position of the statement in its file. */
  index: number;
  count: number;
  error: unknown;
  /** Version the store stays at after the rollback. */
  previousVersion: number;
}

const SNIPPET_LENGTH = 200;

/**
 * Builds the error for a statement that failed inside a migration: the file, the statement's number
 * and line, SQLite's message, and the version the rollback left. An object that already exists
 * although its migration is unrecorded gets its own code and a message naming the fix.
 */
export function migrationFailure(failure: StatementFailure): MigrationError {
  const { migration, direction, statement, index, count, error, previousVersion } = failure;
  const path = direction === 'up' ? migration.path : migration.downPath!;
  const sqliteMessage = (error as Error).message;
  const snippet = statement.text.length > SNIPPET_LENGTH ? `${statement.text.slice(0, SNIPPET_LENGTH)}...` : statement.text;
  const where = `${path}, statement ${index + 1} of ${count} (line ${statement.line})`;
  const details = { store: migration.store, version: migration.version, direction, path, statementIndex: index, line: statement.line, statement: statement.text, sqliteCode: (error as { code?: unknown }).code };
  const rolledBack = `Nothing of this migration was kept: ${migration.store} is still at version ${previousVersion}.`;

  const duplicateColumn = /duplicate column name: (\S+)/i.exec(sqliteMessage);
  if (direction === 'up' && duplicateColumn !== null) {
    const column = duplicateColumn[1]!;
    const table = /ALTER\s+TABLE\s+("[^"]+"|`[^`]+`|\[[^\]]+\]|\S+)/i.exec(statement.text)?.[1] ?? 'the table';
    return new MigrationError(ErrorCodes.MIGRATION_SCHEMA_CONFLICT, `Migration ${migration.version}_${migration.name} of ${migration.store} adds column ${column} to ${table}, but that column already exists while schema_migrations does not record this migration (${where}). The schema was changed outside the migration runner, by hand or by a run that did not finish. ${rolledBack} Fix: if ${table}.${column} holds nothing you need, drop it (ALTER TABLE ${table} DROP COLUMN ${column}) and run the migration again; otherwise restore a backup taken before the change.`, { cause: error, details: { ...details, table, column } });
  }

  const alreadyExists = /(table|index|trigger|view) (\S+) already exists/i.exec(sqliteMessage);
  if (direction === 'up' && alreadyExists !== null) {
    const [, kind, name] = alreadyExists;
    return new MigrationError(ErrorCodes.MIGRATION_SCHEMA_CONFLICT, `Migration ${migration.version}_${migration.name} of ${migration.store} creates ${kind} ${name}, but it already exists while schema_migrations does not record this migration (${where}). The schema was changed outside the migration runner, by hand or by a run that did not finish. ${rolledBack} Fix: if ${name} holds nothing you need, drop it and run the migration again; otherwise restore a backup taken before the change.`, { cause: error, details: { ...details, object: name } });
  }

  return new MigrationError(ErrorCodes.MIGRATION_FAILED, `Migration ${migration.version}_${migration.name} of ${migration.store} (${direction}) failed at ${where}: ${sqliteMessage}. ${rolledBack} Statement: ${snippet}`, { cause: error, details });
}
