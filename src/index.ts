export { openStorage, StorageManager, DATABASE_FILE } from './storage-manager.js';
export type { StorageOptions } from './storage-manager.js';
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
