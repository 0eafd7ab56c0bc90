import { LRUCache } from 'lru-cache';

import { AUDIT_ACTIONS } from '../audit/audit-actions.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { SqliteDatabase } from '../db/open-database.js';
import { ConflictError, ErrorCodes, NotFoundError, StorageError, ValidationError, invalidArgument, showValue } from '../errors.js';
import { noopLogger, type Logger } from '../logger.js';
import { FaceIndex, METRICS, prepareVector, type IndexHit, type Metric, type VectorInput } from './face-index.js';
import { searchAborted, type SearchPool } from './search-pool.js';

export type PersonList = 'known' | 'blacklist';

export const PERSON_LISTS: readonly PersonList[] = Object.freeze(['known', 'blacklist']);

export interface Person {
  id: string;
  name: string;
  list: PersonList;
  reason: string | null;
  metadata: Record<string, unknown>;
  /** ISO 8601, UTC. */
  createdAt: string;
  /** ISO 8601, UTC. */
  updatedAt: string;
}

export interface PersonSummary extends Person {
  encodingCount: number;
}

export interface NewPerson {
  id: string;
  name: string;
  list: PersonList;
  reason?: string;
  metadata?: Record<string, unknown>;
}

export interface PersonPatch {
  name?: string;
  list?: PersonList;
  reason?: string | null;
  metadata?: Record<string, unknown>;
}

export interface FaceMatch {
  personId: string;
  name: string;
  list: PersonList;
  encodingId: number;
  /** True L2 distance under `l2`; `1 - cosine similarity` under `cosine`. */
  distance: number;
  /**
   * `max(0, 1 - distance / (2 * reference))`, where `reference` is the metric's default threshold
   * (0.6 for `l2`, 0.4 for `cosine`): 1 for an identical encoding, 0.5 at the default threshold.
   * It does not depend on the threshold of the search.
   */
  confidence: number;
}

export interface SearchFacesOptions {
  /** Persons to return at most. Default 5. */
  k?: number;
  /** Largest distance that counts as a match (inclusive). Default 0.6 for `l2`, 0.4 for `cosine`. */
  threshold?: number;
  /** Only persons on this list. Default both lists. */
  list?: PersonList;
  /** Model whose encodings are searched. Default `default`. */
  model?: string;
  /** Aborts a search that waits for or runs on the worker pool; it rejects with SEARCH_ABORTED. */
  signal?: AbortSignal;
}

export interface AddEncodingOptions {
  /** Name of the model that produced the encoding. Default `default`. */
  model?: string;
}

export interface Enrollment {
  person: NewPerson;
  encodings: readonly VectorInput[];
}

export interface EnrollManyOptions extends AddEncodingOptions {
  /** `error` (default) rejects the batch when a person exists; `append` adds the encodings to that person. */
  onExisting?: 'error' | 'append';
}

export interface EnrollManyResult {
  personsAdded: number;
  encodingIds: number[];
}

export interface FaceModelInfo {
  name: string;
  dimension: number;
  metric: Metric;
  encodingCount: number;
}

export interface FaceDatabaseOptions {
  /** Metric of every model not named in `models`. Default `l2`. */
  metric?: Metric;
  /** Metric per model name, for deployments that run a dlib and an ArcFace model side by side. */
  models?: Record<string, Metric>;
  /** Persons kept in the name cache used to build matches. Default 10,000. */
  personCacheSize?: number;
  logger?: Logger;
  /** Where every change is recorded, in the transaction of the change. */
  audit?: AuditLog;
  /** Worker pool that large searches are split across. Default: none, every search runs in the calling thread. */
  pool?: SearchPool;
}

export const DEFAULT_MODEL = 'default';

export const DEFAULT_THRESHOLDS: Readonly<Record<Metric, number>> = Object.freeze({ l2: 0.6, cosine: 0.4 });

const DEFAULT_K = 5;
const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MAX_ID_LENGTH = 256;
const LIST_TAGS: Readonly<Record<PersonList, number>> = Object.freeze({ known: 1, blacklist: 2 });

interface PersonRow {
  id: string;
  name: string;
  list: PersonList;
  reason: string | null;
  metadata: string;
  created_at: number;
  updated_at: number;
}

interface SearchRequest {
  model: string;
  metric: Metric;
  k: number;
  threshold: number;
  tagMask: number;
  signal: AbortSignal | undefined;
}

interface PreparedEncoding {
  model: string;
  dimension: number;
  raw: Float32Array;
  prepared: Float32Array;
}

/**
 * Persons and their face encodings: rows in SQLite, vectors also in one FaceIndex per model.
 * Writes commit to SQLite first; the index changes only after the commit, with its memory reserved
 * and every vector checked beforehand, so a failed write leaves both as they were.
 * Write transactions begin IMMEDIATE: a deferred one that reads first cannot wait for another
 * connection's write lock and would fail with SQLITE_BUSY at once instead of using the busy timeout.
 */
export class FaceDatabase {
  readonly #db: SqliteDatabase;
  readonly #logger: Logger;
  readonly #audit: AuditLog | undefined;
  readonly #defaultMetric: Metric;
  readonly #modelMetrics: Record<string, Metric>;
  readonly #storedMetrics = new Map<string, Metric>();
  readonly #indexes = new Map<string, FaceIndex>();
  readonly #personCache: LRUCache<string, Person>;
  readonly #pool: SearchPool | undefined;

  // Index groups are small integers; these map them to person ids and back.
  readonly #slotByPerson = new Map<string, number>();
  readonly #personBySlot: (string | undefined)[] = [];
  readonly #freeSlots: number[] = [];

  constructor(db: SqliteDatabase, options: FaceDatabaseOptions = {}) {
    const metric = options.metric ?? 'l2';
    const models = options.models ?? {};
    const personCacheSize = options.personCacheSize ?? 10_000;
    if (!METRICS.includes(metric)) throw invalidArgument(`options.faces.metric must be "l2" or "cosine", got ${showValue(metric)}.`, { metric });
    for (const [name, modelMetric] of Object.entries(models)) {
      if (!METRICS.includes(modelMetric)) throw invalidArgument(`options.faces.models.${name} must be "l2" or "cosine", got ${showValue(modelMetric)}.`, { model: name });
    }
    if (!Number.isInteger(personCacheSize) || personCacheSize < 1) {
      throw invalidArgument(`options.faces.personCacheSize must be a positive integer, got ${personCacheSize}.`, { personCacheSize });
    }

    this.#db = db;
    this.#logger = options.logger ?? noopLogger;
    this.#audit = options.audit;
    this.#defaultMetric = metric;
    this.#modelMetrics = { ...models };
    this.#personCache = new LRUCache({ max: personCacheSize });
    this.#pool = options.pool;
    this.#rehydrate();
  }

  /**
   * Returns the metric that encodings of `model` are compared with: the one recorded when the model got its
   * first encoding, else `options.models[model]`, else `options.metric`.
   */
  metricOf(model: string): Metric {
    return this.#storedMetrics.get(model) ?? this.#modelMetrics[model] ?? this.#defaultMetric;
  }

  addPerson(person: NewPerson): Person {
    checkNewPerson(person);
    const now = Date.now();
    this.#db.transaction(() => {
      this.#insertPerson(person, now);
      this.#audit?.append({ action: AUDIT_ACTIONS.PERSON_ADDED, target: person.id, details: { name: person.name, list: person.list } });
    }).immediate();
    return this.getPerson(person.id)!;
  }

  getPerson(id: string): Person | undefined {
    checkId(id, 'id');
    const row = this.#db.prepare('SELECT * FROM persons WHERE id = ?').get(id) as PersonRow | undefined;
    return row === undefined ? undefined : toPerson(row);
  }

  listPersons(options: { list?: PersonList } = {}): PersonSummary[] {
    if (options.list !== undefined) checkList(options.list, 'options.list');
    // Two statements instead of "@list IS NULL OR list = @list", for which SQLite cannot use the
    // persons_list_name index.
    const where = options.list === undefined ? '' : 'WHERE p.list = ?';
    const statement = this.#db.prepare(`
      SELECT p.*, (SELECT count(*) FROM encodings e WHERE e.person_id = p.id) AS encoding_count
      FROM persons p
      ${where}
      ORDER BY p.name, p.id`);
    const rows = (options.list === undefined ? statement.all() : statement.all(options.list)) as (PersonRow & { encoding_count: number })[];
    return rows.map((row) => ({ ...toPerson(row), encodingCount: row.encoding_count }));
  }

  /** Changes a person's name, list, reason or metadata. Throws NOT_FOUND for an unknown id. */
  updatePerson(id: string, patch: PersonPatch): Person {
    checkId(id, 'id');
    checkPatch(patch);
    const current = this.getPerson(id);
    if (current === undefined) throw new NotFoundError(`Person ${JSON.stringify(id)} does not exist.`, { details: { personId: id } });

    const next = {
      name: patch.name ?? current.name,
      list: patch.list ?? current.list,
      reason: patch.reason === undefined ? current.reason : patch.reason,
      metadata: patch.metadata ?? current.metadata,
    };
    this.#db.transaction(() => {
      this.#db.prepare('UPDATE persons SET name = ?, list = ?, reason = ?, metadata = ?, updated_at = ? WHERE id = ?')
        .run(next.name, next.list, next.reason, JSON.stringify(next.metadata), Date.now(), id);
      this.#audit?.append({ action: AUDIT_ACTIONS.PERSON_UPDATED, target: id, details: changedFields(current, next) });
    }).immediate();

    this.#personCache.delete(id);
    const slot = this.#slotByPerson.get(id);
    if (slot !== undefined && next.list !== current.list) {
      for (const index of this.#indexes.values()) index.retag(slot, LIST_TAGS[next.list]);
    }
    return this.getPerson(id)!;
  }

  /** Deletes a person and every encoding of theirs, from disk and from the index. */
  removePerson(id: string): void {
    checkId(id, 'id');
    const encodings = this.#db.transaction(() => {
      const rows = this.#db.prepare('SELECT id, model FROM encodings WHERE person_id = ?').all(id) as { id: number; model: string }[];
      const person = this.#db.prepare('SELECT name, list FROM persons WHERE id = ?').get(id) as { name: string; list: PersonList } | undefined;
      const result = this.#db.prepare('DELETE FROM persons WHERE id = ?').run(id);
      if (result.changes === 0) throw new NotFoundError(`Person ${JSON.stringify(id)} does not exist.`, { details: { personId: id } });
      this.#audit?.append({ action: AUDIT_ACTIONS.PERSON_REMOVED, target: id, details: { name: person?.name ?? null, list: person?.list ?? null, encodingIds: rows.map((row) => row.id) } });
      return rows;
    }).immediate();

    for (const encoding of encodings) this.#indexes.get(encoding.model)?.remove(encoding.id);
    this.#releaseSlot(id);
    this.#personCache.delete(id);
  }

  /** Stores one encoding of an existing person and returns its id. */
  addEncoding(personId: string, vector: VectorInput, options: AddEncodingOptions = {}): number {
    checkId(personId, 'personId');
    const model = checkModel(options.model ?? DEFAULT_MODEL);
    const encoding = this.#prepareEncoding(model, vector, undefined);
    const index = this.#indexFor(model, encoding.dimension);

    const { id, list } = this.#db.transaction(() => {
      const person = this.#db.prepare('SELECT list FROM persons WHERE id = ?').get(personId) as { list: PersonList } | undefined;
      if (person === undefined) throw new NotFoundError(`Person ${JSON.stringify(personId)} does not exist; add it with addPerson first.`, { details: { personId } });
      this.#ensureModelRow(model, encoding.dimension, Date.now());
      const inserted = this.#insertEncoding(personId, encoding, Date.now());
      this.#audit?.append({ action: AUDIT_ACTIONS.ENCODING_ADDED, target: personId, details: { model, encodingIds: [inserted] } });
      index.reserve(1);
      return { id: inserted, list: person.list };
    }).immediate();

    this.#indexes.set(model, index);
    this.#storedMetrics.set(model, index.metric);
    index.addPrepared(id, encoding.prepared, this.#slotFor(personId), LIST_TAGS[list]);
    this.#personCache.delete(personId);
    return id;
  }

  /** Deletes one encoding. Throws NOT_FOUND for an unknown id. */
  removeEncoding(encodingId: number): void {
    if (!Number.isSafeInteger(encodingId)) throw invalidArgument(`encodingId must be an integer, got ${String(encodingId)}.`, { encodingId });
    const row = this.#db.transaction(() => {
      const found = this.#db.prepare('SELECT model, person_id FROM encodings WHERE id = ?').get(encodingId) as { model: string; person_id: string } | undefined;
      if (found === undefined) throw new NotFoundError(`Encoding ${encodingId} does not exist.`, { details: { encodingId } });
      this.#db.prepare('DELETE FROM encodings WHERE id = ?').run(encodingId);
      this.#audit?.append({ action: AUDIT_ACTIONS.ENCODING_REMOVED, target: found.person_id, details: { model: found.model, encodingIds: [encodingId] } });
      return found;
    }).immediate();
    this.#indexes.get(row.model)?.remove(encodingId);
  }

  /**
   * Adds many persons with their encodings in one transaction: all of them or, on any bad person or
   * vector, none. Every vector is checked before anything is written.
   */
  enrollMany(enrollments: readonly Enrollment[], options: EnrollManyOptions = {}): EnrollManyResult {
    const model = checkModel(options.model ?? DEFAULT_MODEL);
    const onExisting = options.onExisting ?? 'error';
    if (onExisting !== 'error' && onExisting !== 'append') throw invalidArgument(`options.onExisting must be "error" or "append", got ${showValue(onExisting)}.`, { onExisting });
    if (!Array.isArray(enrollments)) throw invalidArgument('enrollMany expects an array of { person, encodings }.', {});

    let dimension: number | undefined;
    const prepared = enrollments.map((enrollment, position) => {
      try {
        checkNewPerson(enrollment?.person);
        if (!Array.isArray(enrollment.encodings)) throw invalidArgument('encodings must be an array of vectors.', {});
        return enrollment.encodings.map((vector: VectorInput) => {
          const encoding = this.#prepareEncoding(model, vector, dimension);
          dimension = encoding.dimension;
          return encoding;
        });
      } catch (error) {
        if (error instanceof ValidationError) {
          error.message = `Enrollment ${position} (${JSON.stringify(enrollment?.person?.id)}): ${error.message}`;
          error.details.position = position;
        }
        throw error;
      }
    });
    const total = prepared.reduce((sum, list) => sum + list.length, 0);
    const index = dimension === undefined ? undefined : this.#indexFor(model, dimension);

    const now = Date.now();
    const result = this.#db.transaction(() => {
      let personsAdded = 0;
      const added: { id: number; personId: string; list: PersonList; prepared: Float32Array }[] = [];
      if (dimension !== undefined) this.#ensureModelRow(model, dimension, now);

      enrollments.forEach((enrollment, position) => {
        const existing = this.#db.prepare('SELECT list FROM persons WHERE id = ?').get(enrollment.person.id) as { list: PersonList } | undefined;
        if (existing !== undefined && onExisting === 'error') {
          throw new ConflictError(`Enrollment ${position}: person ${JSON.stringify(enrollment.person.id)} already exists; pass onExisting: "append" to add encodings to it.`, { details: { personId: enrollment.person.id, position } });
        }
        if (existing === undefined) {
          this.#insertPerson(enrollment.person, now);
          personsAdded += 1;
        }
        const list = existing?.list ?? enrollment.person.list;
        const encodingIds: number[] = [];
        for (const encoding of prepared[position]!) {
          const id = this.#insertEncoding(enrollment.person.id, encoding, now);
          added.push({ id, personId: enrollment.person.id, list, prepared: encoding.prepared });
          encodingIds.push(id);
        }
        // One record per person: a new person with its encodings, or the encodings appended to one.
        this.#audit?.append(existing === undefined
          ? { action: AUDIT_ACTIONS.PERSON_ADDED, target: enrollment.person.id, details: { name: enrollment.person.name, list, model, encodingIds } }
          : { action: AUDIT_ACTIONS.ENCODING_ADDED, target: enrollment.person.id, details: { model, encodingIds } });
      });
      index?.reserve(total);
      return { personsAdded, added };
    }).immediate();

    if (index !== undefined) {
      this.#indexes.set(model, index);
      this.#storedMetrics.set(model, index.metric);
      for (const row of result.added) index.addPrepared(row.id, row.prepared, this.#slotFor(row.personId), LIST_TAGS[row.list]);
    }
    for (const enrollment of enrollments) this.#personCache.delete(enrollment.person.id);
    return { personsAdded: result.personsAdded, encodingIds: result.added.map((row) => row.id) };
  }

  /**
   * Finds the persons whose closest encoding lies within `threshold` of `vector`, best first, at most
   * one match per person. An empty index, or a model with no encodings yet, returns `[]`. A large
   * index is searched by the worker pool, with the same result as `searchFacesSync`.
   */
  async searchFaces(vector: VectorInput, options: SearchFacesOptions = {}): Promise<FaceMatch[]> {
    const request = this.#checkSearch(options);
    const index = this.#indexes.get(request.model);
    if (index === undefined) {
      prepareVector(vector, undefined, request.metric);
      return [];
    }

    const result = await index.searchAsync(vector, this.#indexSearchOptions(request));
    // A write that ran between the end of the search and this continuation may have moved rows or
    // released a person's group, so the hits are mapped to persons only while the version holds.
    if (result.version !== index.version) return this.searchFacesSync(vector, options);
    return this.#toMatches(result.hits, request.metric);
  }

  /** `searchFaces` in the calling thread, for callers that cannot await. */
  searchFacesSync(vector: VectorInput, options: SearchFacesOptions = {}): FaceMatch[] {
    const request = this.#checkSearch(options);
    const index = this.#indexes.get(request.model);
    if (index === undefined) {
      prepareVector(vector, undefined, request.metric);
      return [];
    }
    return this.#toMatches(index.search(vector, this.#indexSearchOptions(request)), request.metric);
  }

  /**
   * `searchFaces` for many vectors at once (the faces of one camera frame, or a whole set to
   * re-identify): one match list per vector, in order. Each row is read once for a block of
   * queries, so a batch costs much less than one search per vector.
   */
  async searchFacesBatch(vectors: readonly VectorInput[], options: SearchFacesOptions = {}): Promise<FaceMatch[][]> {
    const request = this.#checkSearch(options);
    if (!Array.isArray(vectors)) throw invalidArgument(`searchFacesBatch expects an array of vectors, got ${typeof vectors}.`, {});
    const index = this.#indexes.get(request.model);
    if (index === undefined) {
      vectors.forEach((vector, position) => checkQuery(vector, request.metric, position));
      return vectors.map(() => []);
    }

    const result = await index.searchBatchAsync(vectors, this.#indexSearchOptions(request));
    if (result.version !== index.version) {
      return index.searchBatch(vectors, this.#indexSearchOptions(request)).map((hits) => this.#toMatches(hits, request.metric));
    }
    return result.hits.map((hits) => this.#toMatches(hits, request.metric));
  }

  /** Models with encodings, their dimension, metric and encoding count. */
  listModels(): FaceModelInfo[] {
    const rows = this.#db.prepare(`
      SELECT m.name, m.dimension, (SELECT count(*) FROM encodings e WHERE e.model = m.name) AS encoding_count
      FROM face_models m ORDER BY m.name`).all() as { name: string; dimension: number; encoding_count: number }[];
    return rows.map((row) => ({ name: row.name, dimension: row.dimension, metric: this.metricOf(row.name), encodingCount: row.encoding_count }));
  }

  /** Returns the in-memory index of `model`, for diagnostics and benchmarks. */
  indexOf(model = DEFAULT_MODEL): FaceIndex | undefined {
    return this.#indexes.get(model);
  }

  #checkSearch(options: SearchFacesOptions): SearchRequest {
    checkSearchOptions(options);
    const model = checkModel(options.model ?? DEFAULT_MODEL);
    const metric = this.metricOf(model);
    const k = options.k ?? DEFAULT_K;
    const threshold = options.threshold ?? DEFAULT_THRESHOLDS[metric];
    if (!Number.isInteger(k) || k < 1) throw invalidArgument(`options.k must be a positive integer, got ${String(k)}.`, { k });
    if (typeof threshold !== 'number' || Number.isNaN(threshold) || threshold < 0) {
      throw invalidArgument(`options.threshold must be a non-negative number, got ${String(threshold)}.`, { threshold });
    }
    if (options.list !== undefined) checkList(options.list, 'options.list');
    if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
      throw invalidArgument('options.signal must be an AbortSignal.', {});
    }
    if (options.signal?.aborted) throw searchAborted(options.signal);
    const tagMask = options.list === undefined ? 0 : LIST_TAGS[options.list];
    return { model, metric, k, threshold, tagMask, signal: options.signal };
  }

  #indexSearchOptions(request: SearchRequest): { k: number; maxDistance: number; distinctGroups: true; tagMask: number; signal: AbortSignal | undefined } {
    return { k: request.k, maxDistance: request.threshold, distinctGroups: true, tagMask: request.tagMask, signal: request.signal };
  }

  #toMatches(hits: IndexHit[], metric: Metric): FaceMatch[] {
    return hits.map((hit) => {
      const person = this.#cachedPerson(this.#personBySlot[hit.group]!);
      return {
        personId: person.id,
        name: person.name,
        list: person.list,
        encodingId: hit.id,
        distance: hit.distance,
        confidence: Math.max(0, 1 - hit.distance / (2 * DEFAULT_THRESHOLDS[metric])),
      };
    });
  }

  /**
   * Loads every stored encoding into the index of its model. The rows are streamed in chunks of
   * consecutive ids; SQLite concatenates each chunk's blobs into one, which FaceIndex copies straight
   * into index memory, so no vector object is made per row and none is kept.
   */
  #rehydrate(): void {
    const started = performance.now();
    const models = this.#db.prepare(`
      SELECT m.name, m.dimension, m.metric, count(e.id) AS encoding_count
      FROM face_models m LEFT JOIN encodings e ON e.model = m.name GROUP BY m.name`).all() as { name: string; dimension: number; metric: Metric; encoding_count: number }[];
    for (const model of models) {
      const requested = this.#modelMetrics[model.name];
      if (requested !== undefined && requested !== model.metric) {
        throw new ValidationError(ErrorCodes.METRIC_MISMATCH, `Model ${JSON.stringify(model.name)} was created with metric "${model.metric}" but options.faces.models asks for "${requested}"; drop that option, or store the encodings under a new model name.`, { details: { model: model.name, stored: model.metric, requested } });
      }
      this.#storedMetrics.set(model.name, model.metric);
    }
    for (const model of models) {
      this.#indexes.set(model.name, new FaceIndex({ metric: this.metricOf(model.name), dimension: model.dimension, initialCapacity: Math.max(1024, model.encoding_count), pool: this.#pool }));
    }
    if (models.length === 0) return;

    const loader = new ChunkLoader(this.#db, new Map(models.map((model) => [model.name, model.dimension])));
    let count = 0;
    for (const chunk of loader.chunks()) {
      const index = this.#indexes.get(chunk.model)!;
      const groups = new Int32Array(chunk.ids.length);
      const tags = new Uint8Array(chunk.ids.length);
      // A person's encodings usually have consecutive ids, so the previous row's person is reused.
      let personId: string | undefined;
      let group = 0;
      let tag = 0;
      for (let i = 0; i < chunk.ids.length; i++) {
        if (chunk.personIds[i] !== personId) {
          personId = chunk.personIds[i]!;
          group = this.#slotFor(personId);
          tag = LIST_TAGS[loader.listOf(personId)];
        }
        groups[i] = group;
        tags[i] = tag;
      }
      index.addStoredRows(chunk.ids, chunk.vectors, groups, tags);
      count += chunk.ids.length;
    }
    this.#logger.info({ encodings: count, models: models.length, durationMs: performance.now() - started }, 'face index loaded');
  }

  #prepareEncoding(model: string, vector: VectorInput, batchDimension: number | undefined): PreparedEncoding {
    const known = this.#indexes.get(model)?.dimension ?? this.#modelDimension(model) ?? batchDimension;
    if (known !== undefined && vector?.length !== undefined && vector.length !== known) {
      throw new ValidationError(ErrorCodes.DIMENSION_MISMATCH, `Model ${JSON.stringify(model)} stores ${known}-dimensional encodings, got ${vector.length}; use another model name for encodings of another model.`, { details: { model, expected: known, actual: vector.length } });
    }
    const prepared = prepareVector(vector, known, this.metricOf(model));
    const raw = this.metricOf(model) === 'cosine' ? Float32Array.from(vector as ArrayLike<number>) : prepared;
    return { model, dimension: prepared.length, raw, prepared };
  }

  #modelDimension(model: string): number | undefined {
    const row = this.#db.prepare('SELECT dimension FROM face_models WHERE name = ?').get(model) as { dimension: number } | undefined;
    return row?.dimension;
  }

  /** The index of `model`, or a new empty one that is registered only once its first write commits. */
  #indexFor(model: string, dimension: number): FaceIndex {
    return this.#indexes.get(model) ?? new FaceIndex({ metric: this.metricOf(model), dimension, pool: this.#pool });
  }

  #ensureModelRow(model: string, dimension: number, now: number): void {
    this.#db.prepare('INSERT INTO face_models (name, dimension, metric, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING').run(model, dimension, this.metricOf(model), now);
  }

  #insertPerson(person: NewPerson, now: number): void {
    try {
      this.#db.prepare('INSERT INTO persons (id, name, list, reason, metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(person.id, person.name, person.list, person.reason ?? null, JSON.stringify(person.metadata ?? {}), now, now);
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new ConflictError(`Person ${JSON.stringify(person.id)} already exists; use updatePerson to change it.`, { cause: error, details: { personId: person.id } });
      }
      throw error;
    }
  }

  #insertEncoding(personId: string, encoding: PreparedEncoding, now: number): number {
    const blob = Buffer.from(encoding.raw.buffer, encoding.raw.byteOffset, encoding.raw.byteLength);
    const result = this.#db.prepare('INSERT INTO encodings (person_id, model, dimension, vector, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(personId, encoding.model, encoding.dimension, blob, now);
    return Number(result.lastInsertRowid);
  }

  #cachedPerson(id: string): Person {
    const cached = this.#personCache.get(id);
    if (cached !== undefined) return cached;

    // NOTE: a cache miss reads the person's row from SQLite; size personCacheSize to the gallery.
    const person = this.getPerson(id);
    if (person === undefined) throw new NotFoundError(`Person ${JSON.stringify(id)} is in the index but not in the database; reopen the storage to rebuild the index.`, { details: { personId: id } });
    this.#personCache.set(id, person);
    return person;
  }

  #slotFor(personId: string): number {
    const existing = this.#slotByPerson.get(personId);
    if (existing !== undefined) return existing;
    const slot = this.#freeSlots.pop() ?? this.#personBySlot.length;
    this.#slotByPerson.set(personId, slot);
    this.#personBySlot[slot] = personId;
    return slot;
  }

  #releaseSlot(personId: string): void {
    const slot = this.#slotByPerson.get(personId);
    if (slot === undefined) return;
    this.#slotByPerson.delete(personId);
    this.#personBySlot[slot] = undefined;
    this.#freeSlots.push(slot);
  }
}

/**
 * Bytes of vectors per chunk that rehydration reads from SQLite: 512 KiB, 1,024 rows of 128 floats.
 * Chunks of 2 and 8 MiB were no faster at a million rows, and the process kept more of their freed
 * memory resident (47 MB more at 512 KiB, 70 MB at 2 MiB, 107 MB at 8 MiB).
 */
const CHUNK_BYTES = 512 * 1024;

interface EncodingChunk {
  model: string;
  ids: number[];
  personIds: string[];
  /** The chunk's vector blobs back to back, in the order of `ids`. */
  vectors: Uint8Array;
}

/**
 * Reads the encodings table in chunks of consecutive ids. One aggregate query per chunk returns its
 * ids and person ids as JSON arrays and its blobs concatenated by `group_concat`. Every aggregate of
 * a query consumes the same rows in the same order, so the three line up. One call replaces a
 * thousand per-row calls that would each allocate a Buffer.
 */
class ChunkLoader {
  readonly #db: SqliteDatabase;
  readonly #dimensions: ReadonlyMap<string, number>;
  readonly #rowsPerChunk: number;
  readonly #lists = new Map<string, PersonList>();

  /** `dimensions` maps each model to the dimension recorded for it in face_models. */
  constructor(db: SqliteDatabase, dimensions: ReadonlyMap<string, number>) {
    // group_concat reads a blob as text without conversion only in a UTF-8 database, which is what
    // openDatabase creates.
    const encoding = db.pragma('encoding', { simple: true });
    if (encoding !== 'UTF-8') {
      throw new StorageError(ErrorCodes.DATABASE_ERROR, `The database uses text encoding ${String(encoding)}, but Porchlight reads encodings from UTF-8 databases only; it creates its databases in UTF-8.`, { details: { encoding } });
    }
    this.#db = db;
    this.#dimensions = dimensions;
    this.#rowsPerChunk = Math.max(64, Math.floor(CHUNK_BYTES / (Math.max(...dimensions.values()) * 4)));
    const [idsJson, listsJson] = db.prepare('SELECT json_group_array(id), json_group_array(list) FROM persons').raw().get() as [string, string];
    const lists = JSON.parse(listsJson) as PersonList[];
    (JSON.parse(idsJson) as string[]).forEach((id, i) => this.#lists.set(id, lists[i]!));
  }

  listOf(personId: string): PersonList {
    return this.#lists.get(personId)!;
  }

  *chunks(): Generator<EncodingChunk> {
    const columns = `json_group_array(id), json_group_array(person_id), min(length(vector)), max(length(vector)),
        CAST(group_concat(vector, x'') AS BLOB)`;
    const next = this.#db.prepare(`
      SELECT count(*), max(id), min(model), max(model), ${columns}
      FROM (SELECT id, person_id, model, vector FROM encodings WHERE id > ? ORDER BY id LIMIT ?)`).raw();
    const readModel = this.#db.prepare(`
      SELECT ${columns}
      FROM (SELECT id, person_id, vector FROM encodings WHERE id > ? AND id <= ? AND model = ? ORDER BY id)`).raw();
    const modelsBetween = this.#db.prepare('SELECT DISTINCT model FROM encodings WHERE id > ? AND id <= ?').pluck();

    let after = Number.MIN_SAFE_INTEGER;
    for (;;) {
      const [count, last, firstModel, lastModel, ...rest] = next.get(after, this.#rowsPerChunk) as [number, number, string, string, string, string, number, number, Buffer];
      if (count === 0) return;

      // Chunks of one model, the usual case, are read once; a chunk that mixes models is read again per model.
      if (firstModel === lastModel) {
        yield this.#chunk(after, last, firstModel, rest);
      } else {
        for (const model of modelsBetween.all(after, last) as string[]) {
          yield this.#chunk(after, last, model, readModel.get(after, last, model) as [string, string, number, number, Buffer]);
        }
      }
      after = last;
    }
  }

  #chunk(after: number, last: number, model: string, [idsJson, personIdsJson, minLength, maxLength, vectors]: [string, string, number, number, Buffer]): EncodingChunk {
    const dimension = this.#dimensions.get(model);
    if (dimension === undefined) {
      throw new StorageError(ErrorCodes.DATABASE_ERROR, `Encodings with ids from ${after + 1} to ${last} belong to model ${JSON.stringify(model)}, which face_models does not list; the database is damaged.`, { details: { model } });
    }
    if (minLength !== dimension * 4 || maxLength !== dimension * 4) this.#reportLength(after, last, model, dimension * 4);
    return { model, ids: JSON.parse(idsJson) as number[], personIds: JSON.parse(personIdsJson) as string[], vectors };
  }

  /** Names the first encoding of a chunk whose blob is not `bytes` long. */
  #reportLength(after: number, last: number, model: string, bytes: number): never {
    const [id, actual] = this.#db.prepare('SELECT id, length(vector) FROM encodings WHERE id > ? AND id <= ? AND model = ? AND length(vector) != ? ORDER BY id LIMIT 1').raw().get(after, last, model, bytes) as [number, number];
    throw new StorageError(ErrorCodes.INVALID_VECTOR, `Stored encoding ${id} of model ${JSON.stringify(model)} has ${actual} bytes, but the model stores ${bytes / 4} float32 components (${bytes} bytes); the database is damaged.`, { details: { id, bytes: actual } });
  }
}

/** Checks one query of a batch, naming its position when it is invalid. */
function checkQuery(vector: VectorInput, metric: Metric, position: number): void {
  try {
    prepareVector(vector, undefined, metric);
  } catch (error) {
    if (error instanceof ValidationError) {
      error.message = `Query ${position}: ${error.message}`;
      error.details.position = position;
    }
    throw error;
  }
}

/** The fields of a person that an update changed, each with its old and new value. */
function changedFields(current: Person, next: { name: string; list: PersonList; reason: string | null; metadata: Record<string, unknown> }): Record<string, unknown> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  if (next.name !== current.name) changes.name = { from: current.name, to: next.name };
  if (next.list !== current.list) changes.list = { from: current.list, to: next.list };
  if (next.reason !== current.reason) changes.reason = { from: current.reason, to: next.reason };
  if (JSON.stringify(next.metadata) !== JSON.stringify(current.metadata)) changes.metadata = { from: current.metadata, to: next.metadata };
  return { changes };
}

function toPerson(row: PersonRow): Person {
  return {
    id: row.id,
    name: row.name,
    list: row.list,
    reason: row.reason,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

function checkId(id: unknown, name: string): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw invalidArgument(`${name} must be a non-empty string of at most ${MAX_ID_LENGTH} characters, got ${showValue(id)}.`, { [name]: id });
  }
}

function checkList(list: unknown, name: string): asserts list is PersonList {
  if (!PERSON_LISTS.includes(list as PersonList)) {
    throw invalidArgument(`${name} must be "known" or "blacklist", got ${showValue(list)}.`, { [name]: list });
  }
}

function checkModel(model: unknown): string {
  if (typeof model !== 'string' || !MODEL_NAME_PATTERN.test(model)) {
    throw invalidArgument(`The model name must be 1 to 128 letters, digits, ".", "_" or "-", starting with a letter or digit; got ${showValue(model)}.`, { model });
  }
  return model;
}

function checkMetadata(metadata: unknown, name: string): void {
  if (metadata === undefined) return;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw invalidArgument(`${name} must be a plain object, got ${showValue(metadata)}.`, { [name]: metadata });
  }
  try {
    JSON.stringify(metadata);
  } catch (error) {
    throw new ValidationError(ErrorCodes.INVALID_ARGUMENT, `${name} cannot be stored as JSON: ${(error as Error).message}.`, { cause: error });
  }
}

function checkNewPerson(person: unknown): asserts person is NewPerson {
  if (person === null || typeof person !== 'object') throw invalidArgument(`A person must be an object with id, name and list, got ${showValue(person)}.`, {});
  const candidate = person as Partial<NewPerson>;
  checkKeys(candidate, ['id', 'name', 'list', 'reason', 'metadata'], 'person');
  checkId(candidate.id, 'person.id');
  if (typeof candidate.name !== 'string' || candidate.name.trim().length === 0) throw invalidArgument(`person.name must be a non-empty string, got ${showValue(candidate.name)}.`, { name: candidate.name });
  checkList(candidate.list, 'person.list');
  if (candidate.reason !== undefined && typeof candidate.reason !== 'string') throw invalidArgument(`person.reason must be a string, got ${showValue(candidate.reason)}.`, {});
  checkMetadata(candidate.metadata, 'person.metadata');
}

function checkPatch(patch: PersonPatch): void {
  if (patch === null || typeof patch !== 'object') throw invalidArgument('The patch must be an object.', {});
  checkKeys(patch, ['name', 'list', 'reason', 'metadata'], 'patch');
  if (patch.name !== undefined && (typeof patch.name !== 'string' || patch.name.trim().length === 0)) throw invalidArgument(`patch.name must be a non-empty string, got ${showValue(patch.name)}.`, {});
  if (patch.list !== undefined) checkList(patch.list, 'patch.list');
  if (patch.reason !== undefined && patch.reason !== null && typeof patch.reason !== 'string') throw invalidArgument('patch.reason must be a string or null.', {});
  checkMetadata(patch.metadata, 'patch.metadata');
}

function checkSearchOptions(options: SearchFacesOptions): void {
  if (options === null || typeof options !== 'object') throw invalidArgument('The search options must be an object.', {});
  checkKeys(options, ['k', 'threshold', 'list', 'model', 'signal'], 'options');
}

/** Rejects misspelled keys, naming the one that is not known. */
export function checkKeys(value: object, allowed: readonly string[], name: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw invalidArgument(`Unknown key ${name}.${key}; expected one of ${allowed.join(', ')}.`, { key });
    }
  }
}
