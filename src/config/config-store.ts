import { createHash } from 'node:crypto';

import { AUDIT_ACTIONS } from '../audit/audit-actions.js';
import type { AuditLog } from '../audit/audit-log.js';
import { canonicalJson, type JsonValue } from '../audit/canonical-json.js';
import type { SqliteDatabase } from '../db/open-database.js';
import { ErrorCodes, NotFoundError, StorageError, ValidationError, invalidArgument, showValue } from '../errors.js';
import { checkKeys } from '../faces/face-database.js';
import { noopLogger, type Logger } from '../logger.js';
import { toIsoString } from '../metrics/timestamp.js';
import { compileValidator, type CompiledValidator, type ConfigValidator } from './config-validator.js';
import { diffJson, type JsonChange } from './json-diff.js';
import { applyMergePatch } from './merge-patch.js';

export type ConfigOperation = 'set' | 'patch' | 'rollback';

/** One version of a configuration document, without the document. */
export interface ConfigVersionInfo {
  key: string;
  /** 1 for the first version of the key, then 2, 3, ... */
  version: number;
  /** Hex SHA-256 of the document's canonical JSON (sorted keys, no whitespace). */
  checksum: string;
  author: string;
  comment: string | null;
  operation: ConfigOperation;
  /** The version a rollback restored; `null` for `set` and `patch`. */
  restoredVersion: number | null;
  /** ISO 8601, UTC. */
  createdAt: string;
}

export interface ConfigVersion extends ConfigVersionInfo {
  value: JsonValue;
}

export interface ConfigChangeOptions {
  /** Person or service making the change; also the actor of its audit record. */
  author: string;
  comment?: string;
}

export interface ConfigStoreOptions {
  /** A validator per key, run before each new version of that key is stored. */
  validators?: Record<string, ConfigValidator>;
  /** Audit log that records every change in the change's transaction. */
  audit?: AuditLog;
  logger?: Logger;
}

const KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;
const MAX_AUTHOR_LENGTH = 256;
const MAX_COMMENT_LENGTH = 4096;
/** Characters of canonical JSON per document; larger documents belong in files. */
export const MAX_CONFIG_LENGTH = 1024 * 1024;

const AUDIT_ACTION_OF: Readonly<Record<ConfigOperation, string>> = Object.freeze({
  set: AUDIT_ACTIONS.CONFIG_SET,
  patch: AUDIT_ACTIONS.CONFIG_PATCHED,
  rollback: AUDIT_ACTIONS.CONFIG_ROLLED_BACK,
});

interface VersionRow {
  key: string;
  version: number;
  value: string;
  checksum: string;
  author: string;
  comment: string | null;
  operation: ConfigOperation;
  restored_version: number | null;
  created_at: number;
}

/**
 * Versioned JSON configuration documents by key. Every change is a new numbered version with its
 * author, comment, time and checksum, written with its audit record in one transaction. No version
 * is changed or deleted afterwards.
 */
export class ConfigStore {
  readonly #db: SqliteDatabase;
  readonly #audit: AuditLog | undefined;
  readonly #logger: Logger;
  readonly #validators = new Map<string, CompiledValidator>();

  constructor(db: SqliteDatabase, options: ConfigStoreOptions = {}) {
    const validators = options.validators ?? {};
    if (validators === null || typeof validators !== 'object' || Array.isArray(validators)) {
      throw invalidArgument('options.config.validators must be an object that maps keys to validators.', {});
    }
    for (const [key, validator] of Object.entries(validators)) {
      checkKey(key, `options.config.validators key ${JSON.stringify(key)}`);
      this.#validators.set(key, compileValidator(validator, `options.config.validators.${key}`));
    }

    this.#db = db;
    this.#audit = options.audit;
    this.#logger = options.logger ?? noopLogger;
  }

  /**
   * Sets (or with `undefined` removes) the validator of `key`, run before every later version of it
   * is stored. Versions already stored are not checked again.
   */
  setValidator(key: string, validator: ConfigValidator | undefined): void {
    checkKey(key, 'key');
    if (validator === undefined) {
      this.#validators.delete(key);
      return;
    }
    this.#validators.set(key, compileValidator(validator, `The validator of ${key}`));
  }

  /** Returns the newest version of `key`, or the given one; `undefined` when either does not exist. */
  get(key: string, options: { version?: number } = {}): ConfigVersion | undefined {
    checkKey(key, 'key');
    checkOptions(options, ['version'], 'options');
    if (options.version !== undefined) checkVersion(options.version, 'options.version');

    const row = options.version === undefined ? this.#latestRow(key) : this.#row(key, options.version);
    return row === undefined ? undefined : toVersion(row);
  }

  /** Stores `value` as the next version of `key` and returns it. */
  set(key: string, value: unknown, options: ConfigChangeOptions): ConfigVersion {
    checkKey(key, 'key');
    const change = checkChange(options);
    const text = checkDocument(value, 'value');

    return this.#write(key, change, 'set', () => ({ text, restoredVersion: null }));
  }

  /**
   * Applies a JSON Merge Patch (RFC 7386) to the newest version of `key` and stores the result as
   * the next version: members of `partial` replace those of the document, `null` deletes a member,
   * arrays are replaced whole. Throws NOT_FOUND when the key has no version yet.
   */
  patch(key: string, partial: unknown, options: ConfigChangeOptions): ConfigVersion {
    checkKey(key, 'key');
    const change = checkChange(options);
    const patchText = checkDocument(partial, 'partial');

    return this.#write(key, change, 'patch', (current) => {
      if (current === undefined) throw new NotFoundError(`Configuration ${JSON.stringify(key)} does not exist, so there is nothing to patch; create it with set.`, { details: { key } });
      const merged = applyMergePatch(readDocument(current), JSON.parse(patchText) as JsonValue);
      return { text: checkDocument(merged, 'the patched document'), restoredVersion: null };
    });
  }

  /** Lists every version of `key`, oldest first, without the documents; `[]` for an unknown key. */
  history(key: string): ConfigVersionInfo[] {
    checkKey(key, 'key');
    const rows = this.#db.prepare('SELECT key, version, checksum, author, comment, operation, restored_version, created_at FROM config_versions WHERE key = ? ORDER BY version').all(key) as Omit<VersionRow, 'value'>[];
    return rows.map(toInfo);
  }

  /**
   * Lists what changed from `fromVersion` to `toVersion` of `key` as JSON Pointer paths, each
   * `added`, `removed` or `changed` with the values before and after. Throws NOT_FOUND for a version
   * that does not exist.
   */
  diff(key: string, fromVersion: number, toVersion: number): JsonChange[] {
    checkKey(key, 'key');
    checkVersion(fromVersion, 'fromVersion');
    checkVersion(toVersion, 'toVersion');

    const before = this.#requireRow(key, fromVersion);
    const after = this.#requireRow(key, toVersion);
    return diffJson(readDocument(before), readDocument(after));
  }

  /**
   * Stores the document of `version` as the next version of `key`, so history keeps both the change
   * and its undoing. The current validator runs on the restored document too.
   */
  rollback(key: string, version: number, options: ConfigChangeOptions): ConfigVersion {
    checkKey(key, 'key');
    checkVersion(version, 'version');
    const change = checkChange(options);

    return this.#write(key, change, 'rollback', () => {
      const source = this.#requireRow(key, version);
      readDocument(source);
      return { text: source.value, restoredVersion: version };
    });
  }

  /**
   * Runs one change in an immediate transaction: reads the newest version, lets `produce` build the
   * new document from it, validates it, inserts the next version and its audit record.
   */
  #write(key: string, change: { author: string; comment: string | null }, operation: ConfigOperation, produce: (current: VersionRow | undefined) => { text: string; restoredVersion: number | null }): ConfigVersion {
    const write = this.#db.transaction((): VersionRow => {
      const current = this.#latestRow(key);
      const { text, restoredVersion } = produce(current);
      this.#validate(key, text, current?.version);

      const row: VersionRow = {
        key,
        version: (current?.version ?? 0) + 1,
        value: text,
        checksum: sha256(text),
        author: change.author,
        comment: change.comment,
        operation,
        restored_version: restoredVersion,
        created_at: Date.now(),
      };
      this.#db.prepare(`INSERT INTO config_versions (key, version, value, checksum, author, comment, operation, restored_version, created_at)
        VALUES (@key, @version, @value, @checksum, @author, @comment, @operation, @restored_version, @created_at)`).run(row);
      this.#audit?.append({
        actor: change.author,
        action: AUDIT_ACTION_OF[operation],
        target: key,
        details: { version: row.version, checksum: row.checksum, comment: row.comment, restoredVersion },
      });
      return row;
    });

    const row = write.immediate();
    this.#logger.info({ key, version: row.version, operation, author: row.author }, 'configuration stored');
    return toVersion(row);
  }

  #validate(key: string, text: string, currentVersion: number | undefined): void {
    const validator = this.#validators.get(key);
    if (validator === undefined) return;

    const messages = validator(JSON.parse(text) as JsonValue);
    if (messages.length === 0) return;
    const stays = currentVersion === undefined ? 'Nothing was stored.' : `Version ${currentVersion} stays current.`;
    throw new ValidationError(ErrorCodes.CONFIG_VALIDATION_FAILED, `Configuration ${JSON.stringify(key)} was rejected by its validator: ${messages.join('; ')}. ${stays}`, { details: { key, messages } });
  }

  #latestRow(key: string): VersionRow | undefined {
    return this.#db.prepare('SELECT * FROM config_versions WHERE key = ? ORDER BY version DESC LIMIT 1').get(key) as VersionRow | undefined;
  }

  #row(key: string, version: number): VersionRow | undefined {
    return this.#db.prepare('SELECT * FROM config_versions WHERE key = ? AND version = ?').get(key, version) as VersionRow | undefined;
  }

  #requireRow(key: string, version: number): VersionRow {
    const row = this.#row(key, version);
    if (row !== undefined) return row;
    const latest = this.#latestRow(key);
    const known = latest === undefined ? `${JSON.stringify(key)} has no versions` : `${JSON.stringify(key)} has versions 1 to ${latest.version}`;
    throw new NotFoundError(`Version ${version} of configuration ${JSON.stringify(key)} does not exist; ${known}.`, { details: { key, version } });
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Parses a stored row after checking its checksum, so a document changed on disk is never returned as valid. */
function readDocument(row: VersionRow): JsonValue {
  if (sha256(row.value) !== row.checksum) {
    throw new StorageError(ErrorCodes.CHECKSUM_MISMATCH, `Version ${row.version} of configuration ${JSON.stringify(row.key)} does not match its checksum ${row.checksum}: the stored document was changed outside Porchlight. Roll back to another version or restore a backup.`, { details: { key: row.key, version: row.version } });
  }
  return JSON.parse(row.value) as JsonValue;
}

function toInfo(row: Omit<VersionRow, 'value'>): ConfigVersionInfo {
  return {
    key: row.key,
    version: row.version,
    checksum: row.checksum,
    author: row.author,
    comment: row.comment,
    operation: row.operation,
    restoredVersion: row.restored_version,
    createdAt: toIsoString(row.created_at),
  };
}

function toVersion(row: VersionRow): ConfigVersion {
  return { ...toInfo(row), value: readDocument(row) };
}

function checkKey(key: unknown, name: string): asserts key is string {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw invalidArgument(`${name} must be 1 to 128 letters, digits, ".", "_", "/" or "-", starting with a letter or digit; got ${showValue(key)}.`, { key });
  }
}

function checkVersion(version: unknown, name: string): asserts version is number {
  if (!Number.isSafeInteger(version) || (version as number) < 1) {
    throw invalidArgument(`${name} must be a positive integer, got ${showValue(version)}.`, { [name]: version });
  }
}

function checkOptions(options: unknown, allowed: readonly string[], name: string): void {
  if (options === null || typeof options !== 'object') throw invalidArgument(`${name} must be an object, got ${showValue(options)}.`, {});
  checkKeys(options, allowed, name);
}

function checkChange(options: unknown): { author: string; comment: string | null } {
  checkOptions(options, ['author', 'comment'], 'options');
  const { author, comment } = options as Partial<ConfigChangeOptions>;
  if (typeof author !== 'string' || author.trim().length === 0 || author.length > MAX_AUTHOR_LENGTH) {
    throw invalidArgument(`options.author must name who makes the change (a non-empty string of at most ${MAX_AUTHOR_LENGTH} characters), got ${showValue(author)}.`, { author });
  }
  if (comment !== undefined && (typeof comment !== 'string' || comment.length > MAX_COMMENT_LENGTH)) {
    throw invalidArgument(`options.comment must be a string of at most ${MAX_COMMENT_LENGTH} characters, got ${showValue(comment)}.`, {});
  }
  return { author, comment: comment ?? null };
}

function checkDocument(value: unknown, name: string): string {
  if (value === undefined) throw new ValidationError(ErrorCodes.INVALID_JSON, `${name} is undefined; a configuration document is any JSON value (use null for an empty one).`, { details: { name } });
  const text = canonicalJson(value, name);
  if (text.length > MAX_CONFIG_LENGTH) {
    throw invalidArgument(`${name} is ${text.length} characters of JSON; the limit is ${MAX_CONFIG_LENGTH}.`, { length: text.length });
  }
  return text;
}
