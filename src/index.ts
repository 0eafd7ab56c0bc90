export { openStorage, restoreFromBackup, StorageManager, DATABASE_FILE, STORES } from './storage-manager.js';
export type { StorageOptions, BackupAllOptions, RestoreOptions, RestoreResult, OpenedDatabase } from './storage-manager.js';
export { FaceDatabase, DEFAULT_MODEL, DEFAULT_THRESHOLDS, PERSON_LISTS } from './faces/face-database.js';
export type {
  Person, PersonSummary, NewPerson, PersonPatch, PersonList, FaceMatch, SearchFacesOptions,
  AddEncodingOptions, Enrollment, EnrollManyOptions, EnrollManyResult, FaceModelInfo, FaceDatabaseOptions,
} from './faces/face-database.js';
export { FaceIndex, MAX_DIMENSION, MAX_K } from './faces/face-index.js';
export type { Metric, VectorInput, FaceIndexOptions, IndexSearchOptions, IndexHit } from './faces/face-index.js';
export type { AsyncSearchOptions, IndexSearchResult } from './faces/face-index.js';
export { SearchPool, MAX_SEARCH_THREADS, SEARCH_POOL_DEFAULTS } from './faces/search-pool.js';
export type { SearchPoolOptions } from './faces/search-pool.js';
export { Migrator, loadMigrations } from './db/migrator.js';
export { MigrationSet, type MigrationFile, type MigrationSetRun } from './db/migration-set.js';
export type {
  Migration, MigrationStatus, MigrationState, MigrationStep, MigrationRun, MigratorOptions, MigrateUpOptions, MigrateDownOptions,
} from './db/migrator.js';
export { EventStore, MAX_BATCH_SIZE, MAX_PAGE_SIZE } from './events/event-store.js';
export type { EventStoreOptions } from './events/event-store.js';
export { EVENT_TYPES } from './events/event-types.js';
export type {
  EventType, KnownEventType, TimeInput, JsonValue, JsonObject, NewEvent, StoredEvent, EventPatch, StoreEventOptions, EventFilter,
  EventQuery, EventPage, EventStatisticsOptions, EventStatistics, EventBucket,
} from './events/event-types.js';
export {
  PorchlightError, ValidationError, NotFoundError, ConflictError, MigrationError, StorageError, ErrorCodes,
} from './errors.js';
export { SearchPoolError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { noopLogger } from './logger.js';
export type { Logger, LogFn } from './logger.js';
export { MetricStore } from './metrics/metric-store.js';
export type { RecordOptions, HistoryOptions, MetricBucket, MetricPoint, MetricInfo, MetricSeriesInfo } from './metrics/metric-store.js';
export type { MetricType } from './metrics/metric-buffer.js';
export type { MetricTags } from './metrics/metric-tags.js';
export { DEFAULT_METRICS_OPTIONS } from './metrics/metric-options.js';
export type { MetricsOptions, RetentionDays } from './metrics/metric-options.js';
export type { RetentionResult } from './metrics/metric-retention.js';
export { RESOLUTIONS } from './metrics/resolutions.js';
export type { Resolution, RollupResolution } from './metrics/resolutions.js';
export { ConfigStore } from './config/config-store.js';
export type { ConfigVersion, ConfigVersionInfo, ConfigChangeOptions, ConfigOperation, ConfigStoreOptions } from './config/config-store.js';
export type { ConfigValidator, ConfigValidatorFunction } from './config/config-validator.js';
export type { JsonChange } from './config/json-diff.js';
export { AuditLog } from './audit/audit-log.js';
export { AUDIT_ACTIONS } from './audit/audit-actions.js';
export type { AuditEntry, AuditRecord, AuditQuery, AuditPage, AuditVerification, AuditFailure, AuditLogOptions } from './audit/audit-log.js';
export { resolveStorageConfig, DEFAULTS as STORAGE_DEFAULTS, AUDITED_STORES, STORE_PATH_KEYS } from './operations/storage-config.js';
export type { StorageConfig, Durability, Compression, MetricResolution, StorePathKey } from './operations/storage-config.js';
export { loadConfigFile, CONFIG_FILE_NAME, DEFAULT_CONFIG_TEXT } from './operations/config-file.js';
export { verifyBackup } from './operations/verify-backup.js';
export type { VerifyBackupResult, VerifiedDatabase, VerifyBackupOptions } from './operations/verify-backup.js';
export { listBackups } from './operations/list-backups.js';
export type { BackupEntry } from './operations/list-backups.js';
export type { BackupResult } from './operations/create-backup.js';
export type { BackupManifest, ManifestDatabase, BackupReason } from './operations/backup-manifest.js';
export type { CleanupPolicy, CleanupResult, EffectivePolicy } from './operations/cleanup-old-data.js';
export type { VacuumResult, CheckpointResult } from './operations/reclaim-space.js';
export type { HealthReport, DatabaseHealth, StoreSchema } from './operations/health-check.js';
export type { FaceIndexCheck } from './operations/face-index-check.js';
export type { DatabaseFile } from './operations/database-layout.js';
export type { ScheduledRun } from './operations/scheduler.js';
export { OPERATIONAL_METRICS } from './operations/operational-metrics.js';
export type { EventRetentionResult } from './operations/event-retention.js';
export { importFaceEncodings } from './import/face-importer.js';
export type { ImportFacesOptions, FaceImportSummary, SkipReason, SkippedRecord } from './import/face-importer.js';
export type { EncodingFormat } from './import/encoding-entry.js';
export type { RecordLocation } from './import/record-location.js';
export { exportStorage } from './export/export-storage.js';
export type { ExportSummary } from './export/export-storage.js';
export type { ExportManifest, ExportedTableEntry } from './export/export-manifest.js';
export { importStorage } from './import/import-storage.js';
export type { StorageImportSummary } from './import/import-storage.js';
export { mapFrigateRow, mapFrigateApiEvent, mapFrigateTrackedObject, FRIGATE_LABEL_TYPES } from './frigate/map-frigate-event.js';
export type { MappedFrigateEvent, MapFrigateOptions } from './frigate/map-frigate-event.js';
export { mapFrigateMessage } from './frigate/map-frigate-message.js';
export type { FrigateMessageChange } from './frigate/map-frigate-message.js';
export type { FrigateEventRow, FrigateApiEvent, FrigateTrackedObject, FrigateEventMessage } from './frigate/frigate-types.js';
export { importFrigateDatabase } from './frigate/import-frigate-database.js';
export type { FrigateImportOptions, FrigateImportSummary } from './frigate/import-frigate-database.js';
export { handleFrigateMessage } from './frigate/handle-frigate-message.js';
export type { FrigateMessageOutcome } from './frigate/handle-frigate-message.js';
export { FRIGATE_STAGES } from './frigate/frigate-event-input.js';
