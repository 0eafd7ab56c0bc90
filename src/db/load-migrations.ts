import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ErrorCodes, MigrationError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { splitSqlStatements, type SqlStatement } from './split-sql-statements.js';

/** One numbered schema change of one store: `migrations/<store>/<NNNN>_<name>.up.sql` and its `.down.sql`. */
export interface Migration {
  store: string;
  version: number;
  name: string;
  upSql: string;
  downSql: string | undefined;
  upStatements: SqlStatement[];
  downStatements: SqlStatement[] | undefined;
  /** SHA-256 of the up file with CRLF line ends read as LF, hex. Recorded when the migration is applied. */
  checksum: string;
  /** Path of the up file. */
  path: string;
  /** Path of the down file, when there is one. */
  downPath: string | undefined;
}

const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$/;

/** Directory of the migrations shipped with Porchlight. */
export function defaultMigrationsDirectory(): string {
  return join(packageRoot(), 'migrations');
}

/** Computes the checksum recorded for an up file; line ends are normalized so a CRLF checkout matches. */
export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

/** Reads the migration files of `store`, ordered by version, and checks they are numbered 1, 2, 3 without gaps. */
export function loadMigrations(store: string, directory = defaultMigrationsDirectory()): Migration[] {
  const folder = join(directory, store);
  const byVersion = new Map<number, Partial<Migration> & { version: number; name: string }>();

  let files: string[];
  try {
    files = readdirSync(folder).sort();
  } catch (error) {
    throw new MigrationError(ErrorCodes.MIGRATION_FAILED, `Could not read the migrations of ${store} from ${folder}: ${(error as Error).message}. Reinstall Porchlight or pass the right migrations directory.`, { cause: error, details: { store, folder } });
  }

  for (const file of files) {
    const match = FILE_PATTERN.exec(file);
    if (match === null) {
      throw new MigrationError(ErrorCodes.MIGRATION_FAILED, `Unexpected file ${join(folder, file)}: migration files are named NNNN_name.up.sql and NNNN_name.down.sql.`, { details: { file } });
    }
    const version = Number(match[1]);
    const name = match[2]!;
    const entry = byVersion.get(version) ?? { version, name };
    if (entry.name !== name) {
      throw new MigrationError(ErrorCodes.MIGRATION_FAILED, `Migration ${version} of ${store} has two names, ${entry.name} and ${name}; give the up and down files the same name.`, { details: { store, version } });
    }
    const path = join(folder, file);
    const sql = readFileSync(path, 'utf8');
    if (match[3] === 'up') {
      entry.upSql = sql;
      entry.upStatements = splitSqlStatements(sql);
      entry.path = path;
      entry.checksum = migrationChecksum(sql);
    } else {
      entry.downSql = sql;
      entry.downStatements = splitSqlStatements(sql);
      entry.downPath = path;
    }
    byVersion.set(version, entry);
  }

  const migrations = [...byVersion.values()].sort((a, b) => a.version - b.version);
  return migrations.map((entry, index) => {
    if (entry.upSql === undefined) {
      throw new MigrationError(ErrorCodes.MIGRATION_FAILED, `Migration ${entry.version}_${entry.name} of ${store} has no .up.sql file.`, { details: { store, version: entry.version } });
    }
    if (entry.version !== index + 1) {
      throw new MigrationError(ErrorCodes.MIGRATION_FAILED, `Migrations of ${store} must be numbered 1, 2, 3 without gaps; found ${entry.version} in position ${index + 1}.`, { details: { store, version: entry.version } });
    }
    return {
      store,
      version: entry.version,
      name: entry.name,
      upSql: entry.upSql,
      downSql: entry.downSql,
      upStatements: entry.upStatements!,
      downStatements: entry.downStatements,
      checksum: entry.checksum!,
      path: entry.path!,
      downPath: entry.downPath,
    };
  });
}
