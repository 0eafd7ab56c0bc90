/**
 * Every failure Porchlight reports is a `PorchlightError` with a stable `code`. Callers branch on
 * `code`; the message is for people and may change between versions.
 */
export const ErrorCodes = Object.freeze({
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  INVALID_VECTOR: 'INVALID_VECTOR',
  DIMENSION_MISMATCH: 'DIMENSION_MISMATCH',
  ZERO_VECTOR: 'ZERO_VECTOR',
  METRIC_MISMATCH: 'METRIC_MISMATCH',
  NOT_FOUND: 'NOT_FOUND',
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  INVALID_FILE: 'INVALID_FILE',
  MIGRATION_FAILED: 'MIGRATION_FAILED',
  MIGRATION_CHECKSUM_MISMATCH: 'MIGRATION_CHECKSUM_MISMATCH',
  SCHEMA_TOO_NEW: 'SCHEMA_TOO_NEW',
  DATABASE_ERROR: 'DATABASE_ERROR',
  CLOSED: 'CLOSED',
  KERNEL_UNAVAILABLE: 'KERNEL_UNAVAILABLE',
  INVALID_CURSOR: 'INVALID_CURSOR',
  INVALID_TIME_RANGE: 'INVALID_TIME_RANGE',
  INVALID_JSON: 'INVALID_JSON',
  MIGRATION_HISTORY_GAP: 'MIGRATION_HISTORY_GAP',
  MIGRATION_LOCKED: 'MIGRATION_LOCKED',
  MIGRATION_SCHEMA_CONFLICT: 'MIGRATION_SCHEMA_CONFLICT',
  MIGRATION_NOT_REVERSIBLE: 'MIGRATION_NOT_REVERSIBLE',
  INVALID_TIMESTAMP: 'INVALID_TIMESTAMP',
  METRIC_TYPE_MISMATCH: 'METRIC_TYPE_MISMATCH',
  RESULT_TOO_LARGE: 'RESULT_TOO_LARGE',
  CONFIG_VALIDATION_FAILED: 'CONFIG_VALIDATION_FAILED',
  CHECKSUM_MISMATCH: 'CHECKSUM_MISMATCH',
  INVALID_CONFIG: 'INVALID_CONFIG',
  DATABASE_CORRUPT: 'DATABASE_CORRUPT',
  MIGRATION_PENDING: 'MIGRATION_PENDING',
  BACKUP_INVALID: 'BACKUP_INVALID',
  BACKUP_FAILED: 'BACKUP_FAILED',
  RESTORE_FAILED: 'RESTORE_FAILED',
  INSUFFICIENT_DISK_SPACE: 'INSUFFICIENT_DISK_SPACE',
  INVALID_RECORD: 'INVALID_RECORD',
  SCHEMA_MISMATCH: 'SCHEMA_MISMATCH',
  SEARCH_QUEUE_FULL: 'SEARCH_QUEUE_FULL',
  SEARCH_ABORTED: 'SEARCH_ABORTED',
  SEARCH_WORKER_FAILED: 'SEARCH_WORKER_FAILED',
} as const);

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface PorchlightErrorOptions {
  cause?: unknown;
  /** Context for logs and callers: the failing value, file, id or option. */
  details?: Record<string, unknown>;
}

export class PorchlightError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: PorchlightErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PorchlightError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** Bad input from the caller: a wrong type, a value out of range, a malformed vector or file. */
export class ValidationError extends PorchlightError {
  constructor(code: ErrorCode, message: string, options?: PorchlightErrorOptions) {
    super(code, message, options);
    this.name = 'ValidationError';
  }
}

/** A person, encoding, event or other record that the caller named does not exist. */
export class NotFoundError extends PorchlightError {
  constructor(message: string, options?: PorchlightErrorOptions) {
    super(ErrorCodes.NOT_FOUND, message, options);
    this.name = 'NotFoundError';
  }
}

/** A record with the same key already exists. */
export class ConflictError extends PorchlightError {
  constructor(message: string, options?: PorchlightErrorOptions) {
    super(ErrorCodes.ALREADY_EXISTS, message, options);
    this.name = 'ConflictError';
  }
}

/** A migration could not be applied or reverted, or the recorded history does not match the files. */
export class MigrationError extends PorchlightError {
  constructor(code: ErrorCode, message: string, options?: PorchlightErrorOptions) {
    super(code, message, options);
    this.name = 'MigrationError';
  }
}

/** SQLite or the file system failed underneath an operation; `cause` is the original error. */
export class StorageError extends PorchlightError {
  constructor(code: ErrorCode, message: string, options?: PorchlightErrorOptions) {
    super(code, message, options);
    this.name = 'StorageError';
  }
}

/**
 * A search could not run on the worker pool: its queue was full, its signal aborted it, a worker
 * failed while scanning, or the pool was closed (`CLOSED`).
 */
export class SearchPoolError extends PorchlightError {
  constructor(code: ErrorCode, message: string, options?: PorchlightErrorOptions) {
    super(code, message, options);
    this.name = 'SearchPoolError';
  }
}

export function invalidArgument(message: string, details?: Record<string, unknown>): ValidationError {
  return new ValidationError(ErrorCodes.INVALID_ARGUMENT, message, { details });
}

/**
 * Formats a rejected value for an error message as JSON. Unlike `JSON.stringify` it does not throw
 * for a bigint or a cycle, and it returns a string for undefined, functions and symbols.
 */
export function showValue(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
