/** Actions that Porchlight records by itself. Callers may append other actions of the same form. */
export const AUDIT_ACTIONS = Object.freeze({
  PERSON_ADDED: 'person.added',
  PERSON_UPDATED: 'person.updated',
  PERSON_REMOVED: 'person.removed',
  ENCODING_ADDED: 'encoding.added',
  ENCODING_REMOVED: 'encoding.removed',
  CONFIG_SET: 'config.set',
  CONFIG_PATCHED: 'config.patched',
  CONFIG_ROLLED_BACK: 'config.rolled_back',
  MIGRATION_APPLIED: 'migration.applied',
  MIGRATION_REVERTED: 'migration.reverted',
  BACKUP_CREATED: 'backup.created',
  BACKUP_RESTORED: 'backup.restored',
} as const);
