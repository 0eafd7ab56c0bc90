import type { MigrationRun } from '../db/migrator.js';
import type { SqliteDatabase } from '../db/open-database.js';
import { AUDIT_ACTIONS } from './audit-actions.js';
import type { AuditLog } from './audit-log.js';

/**
 * Appends one audit record per backup taken before a migration run and one per applied or reverted
 * migration, in one transaction of `db`, the audit log's database.
 * NOTE: the records commit after the migrations, because the migration runner commits each
 * migration by itself. A crash between the two loses the records, not the schema change.
 */
export function recordMigrationRun(audit: AuditLog, db: SqliteDatabase, run: MigrationRun & { backupPaths?: readonly string[] }): void {
  const backupPaths = run.backupPaths ?? (run.backupPath === undefined ? [] : [run.backupPath]);
  if (run.steps.length === 0 && backupPaths.length === 0) return;

  db.transaction(() => {
    for (const backupPath of backupPaths) {
      audit.append({ action: AUDIT_ACTIONS.BACKUP_CREATED, target: backupPath, details: { reason: run.direction === 'up' ? 'before-migration' : 'before-revert' } });
    }
    for (const step of run.steps) {
      audit.append({
        action: run.direction === 'up' ? AUDIT_ACTIONS.MIGRATION_APPLIED : AUDIT_ACTIONS.MIGRATION_REVERTED,
        target: `${step.store}/${String(step.version).padStart(4, '0')}_${step.name}`,
        details: { store: step.store, version: step.version, name: step.name, durationMs: Math.round(step.durationMs) },
      });
    }
  }).immediate();
}

/** Returns true when `db` contains the audit log's tables, which a reverted audit store does not. */
export function hasAuditLog(db: SqliteDatabase): boolean {
  return db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('audit_log', 'audit_head')").pluck().get() === 2;
}
