import { createHash } from 'node:crypto';

import { ConflictError, ErrorCodes, ValidationError, invalidArgument, showValue } from '../errors.js';
import { DEFAULT_MODEL, PERSON_LISTS, checkKeys, type Enrollment, type PersonList } from '../faces/face-database.js';
import { prepareVector, type Metric, type VectorInput } from '../faces/face-index.js';
import type { StorageManager } from '../storage-manager.js';
import type { EncodingEntry, EncodingFormat } from './encoding-entry.js';
import { encodingFormatOf, readEncodingFile, type ReadEncodingsOptions } from './read-encodings.js';
import { invalidRecord, type RecordLocation } from './record-location.js';

export interface ImportFacesOptions extends ReadEncodingsOptions {
  /** List that new persons join. Default `known`. */
  list?: PersonList;
  /** Model the encodings belong to. Default `default`. */
  model?: string;
  /**
   * A record whose person already exists: `error` (default) rejects the import, `append` adds the
   * encoding to that person unless the person already has an identical one, `skip` leaves it out.
   */
  onExisting?: 'error' | 'append' | 'skip';
  /** A record that is malformed or whose vector is invalid: `error` (default) rejects the import, `skip` leaves it out. */
  onInvalid?: 'error' | 'skip';
  /** Called after every 10,000 records checked and once at the end, with the count checked and the total. */
  onProgress?: (checked: number, total: number) => void;
}

/** The reason a record was left out of an import. */
export type SkipReason = 'invalid' | 'duplicate' | 'already-stored' | 'person-exists';

export interface SkippedRecord {
  location: RecordLocation;
  reason: SkipReason;
  /** The validation message for `invalid` records; a sentence for the others. */
  message: string;
}

export interface FaceImportSummary {
  file: string;
  format: EncodingFormat;
  model: string;
  /** Records found in the file, imported or not. */
  records: number;
  encodingsImported: number;
  personsAdded: number;
  /** Persons that existed before the import and received encodings (`onExisting: 'append'`). */
  personsExtended: number;
  skipped: number;
  skippedByReason: Partial<Record<SkipReason, number>>;
  /** The first 100 skipped records; `skipped` has the full count. */
  skippedRecords: SkippedRecord[];
  durationMs: number;
}

const DEFAULTS = Object.freeze({ list: 'known' as PersonList, model: DEFAULT_MODEL, onExisting: 'error' as const, onInvalid: 'error' as const });
const OPTION_KEYS = Object.freeze(['format', 'labels', 'nameColumn', 'list', 'model', 'onExisting', 'onInvalid', 'onProgress']);
const MAX_LISTED_SKIPS = 100;
const PROGRESS_EVERY = 10_000;
const MAX_PERSON_ID_LENGTH = 256;

type FilledOptions = Required<Pick<ImportFacesOptions, 'list' | 'model' | 'onExisting' | 'onInvalid'>> & ImportFacesOptions;

/**
 * Imports the face encodings of one file (.npy with a labels .npy, JSON, JSON lines or CSV) in one
 * transaction. Every record is checked first: the first bad one, named by file and line, row or entry,
 * rejects the import and nothing is written, unless `onInvalid` is `skip`. Identical encodings of one
 * person are stored once, so re-running an import with `onExisting: 'append'` adds nothing.
 */
export function importFaceEncodings(storage: StorageManager, file: string, options: ImportFacesOptions = {}): FaceImportSummary {
  const filled = fillOptions(options);
  const started = performance.now();

  const format = encodingFormatOf(file, filled.format);
  const entries = readEncodingFile(file, { format, labels: filled.labels, nameColumn: filled.nameColumn });
  const plan = new ImportPlan(storage, filled);
  entries.forEach((entry, position) => {
    plan.add(entry);
    if ((position + 1) % PROGRESS_EVERY === 0) filled.onProgress?.(position + 1, entries.length);
  });
  filled.onProgress?.(entries.length, entries.length);

  const result = storage.faces.enrollMany(plan.enrollments(), { model: filled.model, onExisting: filled.onExisting === 'append' ? 'append' : 'error' });
  return {
    file,
    format,
    model: filled.model,
    records: entries.length,
    encodingsImported: result.encodingIds.length,
    personsAdded: result.personsAdded,
    personsExtended: plan.extendedPersons(),
    skipped: plan.skipped,
    skippedByReason: plan.skippedByReason,
    skippedRecords: plan.skippedRecords,
    durationMs: performance.now() - started,
  };
}

function fillOptions(options: ImportFacesOptions): FilledOptions {
  if (options === null || typeof options !== 'object') throw invalidArgument('The import options must be an object.', {});
  checkKeys(options, OPTION_KEYS, 'options');
  const filled = { ...DEFAULTS, ...stripUndefined(options) } as FilledOptions;

  if (!PERSON_LISTS.includes(filled.list)) throw invalidArgument(`options.list must be "known" or "blacklist", got ${showValue(filled.list)}.`, { list: filled.list });
  if (typeof filled.model !== 'string') throw invalidArgument(`options.model must be a string, got ${showValue(filled.model)}.`, { model: filled.model });
  if (!['error', 'append', 'skip'].includes(filled.onExisting)) {
    throw invalidArgument(`options.onExisting must be "error", "append" or "skip", got ${showValue(filled.onExisting)}.`, { onExisting: filled.onExisting });
  }
  if (!['error', 'skip'].includes(filled.onInvalid)) throw invalidArgument(`options.onInvalid must be "error" or "skip", got ${showValue(filled.onInvalid)}.`, { onInvalid: filled.onInvalid });
  if (filled.onProgress !== undefined && typeof filled.onProgress !== 'function') throw invalidArgument('options.onProgress must be a function.', {});
  return filled;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

/** The checked records of one import, grouped by person in first-seen order. */
class ImportPlan {
  skipped = 0;
  readonly skippedByReason: Partial<Record<SkipReason, number>> = {};
  readonly skippedRecords: SkippedRecord[] = [];

  readonly #storage: StorageManager;
  readonly #options: FilledOptions;
  readonly #metric: Metric;
  #dimension: number | undefined;
  readonly #byPerson = new Map<string, { name: string; encodings: VectorInput[]; existed: boolean }>();
  /** Hashes of (person, vector) planned by earlier records, and of those stored before the import. */
  readonly #planned = new Set<string>();
  readonly #stored = new Set<string>();
  /** Whether each person named so far existed before the import. */
  readonly #existing = new Map<string, boolean>();

  constructor(storage: StorageManager, options: FilledOptions) {
    this.#storage = storage;
    this.#options = options;
    this.#metric = storage.faces.metricOf(options.model);
    this.#dimension = storage.faces.listModels().find((model) => model.name === options.model)?.dimension;
  }

  add(entry: EncodingEntry): void {
    if (entry.kind === 'rejected') {
      this.#reject(entry.location, entry.reason);
      return;
    }

    const { location, personId, name, vector } = entry;
    if (personId.length === 0 || personId.length > MAX_PERSON_ID_LENGTH) {
      this.#reject(location, `the person id must be 1 to ${MAX_PERSON_ID_LENGTH} characters, got ${showValue(personId.slice(0, 60))}.`);
      return;
    }
    if (name.trim().length === 0) {
      this.#reject(location, `the person name ${JSON.stringify(name)} is blank.`);
      return;
    }

    let raw: Float32Array;
    try {
      prepareVector(vector, this.#dimension, this.#metric);
      raw = Float32Array.from(vector as ArrayLike<number>);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      this.#reject(location, error.message, error);
      return;
    }
    this.#dimension = raw.length;

    const existed = this.#personExisted(personId);
    if (existed && this.#options.onExisting === 'error') {
      throw new ConflictError(`${location.file}: ${location.unit} ${location.index}: person ${JSON.stringify(personId)} already exists; import with onExisting "append" (--on-existing append) to add encodings to it, or "skip" to leave its records out.`, {
        details: { file: location.file, [location.unit]: location.index, personId },
      });
    }
    if (existed && this.#options.onExisting === 'skip') {
      this.#skip(location, 'person-exists', `person ${JSON.stringify(personId)} already exists.`);
      return;
    }

    const key = encodingKey(personId, raw);
    if (this.#stored.has(key)) {
      this.#skip(location, 'already-stored', `person ${JSON.stringify(personId)} already has this encoding.`);
      return;
    }
    if (this.#planned.has(key)) {
      this.#skip(location, 'duplicate', `an earlier record has the same person ${JSON.stringify(personId)} and the same vector.`);
      return;
    }
    this.#planned.add(key);

    let person = this.#byPerson.get(personId);
    if (person === undefined) {
      person = { name, encodings: [], existed };
      this.#byPerson.set(personId, person);
    }
    person.encodings.push(vector);
  }

  enrollments(): Enrollment[] {
    return [...this.#byPerson].map(([id, person]) => ({ person: { id, name: person.name, list: this.#options.list }, encodings: person.encodings }));
  }

  extendedPersons(): number {
    return [...this.#byPerson.values()].filter((person) => person.existed).length;
  }

  /** Looks the person up once; for an existing person, remembers the encodings they already have. */
  #personExisted(personId: string): boolean {
    const known = this.#existing.get(personId);
    if (known !== undefined) return known;

    const existed = this.#storage.faces.getPerson(personId) !== undefined;
    this.#existing.set(personId, existed);
    if (existed && this.#options.onExisting === 'append') {
      // NOTE: reads the faces store's table directly; FaceDatabase has no method that returns vectors.
      // Without INDEXED BY, SQLite picks encodings_model and reads every encoding of the model.
      const blobs = this.#storage.database.prepare('SELECT vector FROM encodings INDEXED BY encodings_person WHERE person_id = ? AND model = ?').pluck().all(personId, this.#options.model) as Buffer[];
      for (const blob of blobs) this.#stored.add(encodingKey(personId, blob));
    }
    return existed;
  }

  #reject(location: RecordLocation, reason: string, cause?: ValidationError): void {
    if (this.#options.onInvalid === 'error') {
      throw invalidRecord(location, reason, { code: cause?.code ?? ErrorCodes.INVALID_RECORD, cause });
    }
    this.#skip(location, 'invalid', reason);
  }

  #skip(location: RecordLocation, reason: SkipReason, message: string): void {
    this.skipped += 1;
    this.skippedByReason[reason] = (this.skippedByReason[reason] ?? 0) + 1;
    if (this.skippedRecords.length < MAX_LISTED_SKIPS) this.skippedRecords.push({ location, reason, message });
  }
}

/** SHA-256 of the person id and the float32 bytes of the vector, as stored. */
function encodingKey(personId: string, vector: Float32Array | Buffer): string {
  const bytes = vector instanceof Buffer ? vector : Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  return createHash('sha256').update(personId).update('\0').update(bytes).digest('base64');
}
