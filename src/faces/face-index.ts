import { ErrorCodes, StorageError, ValidationError, invalidArgument, showValue } from '../errors.js';
import {
  METRIC_IP, METRIC_L2, PAGE_BYTES, MAXIMUM_PAGES, STATE_BYTES, createKernelMemory, instantiateKernel, kernelHeapBase,
  type KernelExports,
} from '../kernel/kernel.js';
import { IdRowMap } from './id-row-map.js';
import { shardResultViews, type ShardTask } from './search-messages.js';
import { MAX_SEARCH_THREADS, searchAborted, type SearchPool } from './search-pool.js';
import { mergeShards, type ShardCandidates } from './shard-merge.js';

export type Metric = 'l2' | 'cosine';

export const METRICS: readonly Metric[] = Object.freeze(['l2', 'cosine']);

/** Largest supported vector dimension. */
export const MAX_DIMENSION = 4096;

/** Largest k one search may ask for; the scratch slots in wasm memory are sized for it. */
export const MAX_K = 4096;

export type VectorInput = Float32Array | Float64Array | readonly number[];

export interface FaceIndexOptions {
  metric: Metric;
  dimension: number;
  /** Rows to allocate up front. Default 1024; the buffer doubles when full. */
  initialCapacity?: number;
  /** Worker pool that large searches are split across. Default: none, every search runs in the calling thread. */
  pool?: SearchPool;
}

export interface IndexSearchOptions {
  k: number;
  /** Largest distance returned (inclusive), in the metric's distance unit. Default: no limit. */
  maxDistance?: number;
  /** Return at most one row per group, the best one. Default false. */
  distinctGroups?: boolean;
  /** Only rows whose tag shares a bit with this mask. Default: every row. */
  tagMask?: number;
}

export interface AsyncSearchOptions extends IndexSearchOptions {
  /** Aborts a search that waits for or runs on the worker pool (SEARCH_ABORTED). */
  signal?: AbortSignal;
}

export interface IndexHit {
  id: number;
  group: number;
  /** True L2 distance for `l2`, `1 - cosine similarity` for `cosine`. */
  distance: number;
}

/** Hits of an asynchronous search and the index version they describe. */
export interface IndexSearchResult<T> {
  hits: T;
  /**
   * `FaceIndex.version` when the hits were read. While `index.version` still equals it, every hit's
   * id and group are current; once it differs, a write has moved or removed rows since.
   */
  version: number;
}

interface SearchRequest {
  k: number;
  maxScore: number;
  distinctGroups: boolean;
  tagMask: number;
}

interface SlotLayout {
  queries: number;
  outScore: number;
  outRow: number;
  state: number;
}

/**
 * Scratch per thread: queries, heaps and state of one pass of a search. 256 KiB fit five queries of
 * the largest dimension with k = MAX_K, and 400 queries of 128 floats with k = 10.
 */
const SLOT_BYTES = 256 * 1024;
/** Slot 0 serves the calling thread, slot i the worker on lane i of a round. */
const SCRATCH_SLOTS = 1 + MAX_SEARCH_THREADS;
const ROW_ALIGNMENT = 64;

let nextMemoryId = 1;

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/**
 * Exact nearest-neighbour index over float32 vectors of one dimension, held in the linear memory of a
 * wasm SIMD kernel.
 *
 * Memory layout, in byte offsets: [module data][scratch slots][rows][norms][groups][tags]. The rows
 * block is `capacity * stride * 4` bytes, 64-byte aligned, and each row is padded with zeros to
 * `stride`, a multiple of 4 floats, so every row starts 16-byte aligned and the padding adds nothing to
 * either distance. Squared norms (f32), groups (i32) and tags (one byte) per row follow the rows, so
 * doubling the capacity grows the rows block in place and moves only those 9 bytes per row.
 *
 * The scan ranks rows by ||x||^2 - 2 x.q + ||q||^2 with stored norms; the distances returned are then
 * recomputed from the differences, so they carry no cancellation error.
 *
 * Under `cosine`, vectors are normalized at insert and queries at search, so search runs on the inner
 * product kernel and `distance = 1 - dot`.
 *
 * Parallel search: with a pool, a large search is split into contiguous shards of rows. The calling
 * thread scans the first shard and one worker each of the others, over this same shared memory. The
 * caller merges the shards' top k, which equals the single-thread top k because scores do not depend
 * on the shard and ties go to the lower row.
 *
 * Writes run in the calling thread while workers scan, so every write that changes or moves existing
 * rows (remove, retag, growth) increments `version`. A round reads rows [0, size) as of its start,
 * and appends land past that end. When a round finishes on another version, its shard results may
 * mix two states, so the search runs again in the calling thread, where no write can interleave.
 */
export class FaceIndex {
  readonly metric: Metric;
  readonly dimension: number;
  /** Floats per row: the dimension rounded up to a multiple of 4. */
  readonly stride: number;

  readonly #memory: WebAssembly.Memory;
  readonly #memoryId = nextMemoryId++;
  readonly #kernel: KernelExports;
  readonly #pool: SearchPool | undefined;
  readonly #scratchPointer: number;
  readonly #rowsPointer: number;

  #capacity: number;
  #size = 0;
  #version = 0;
  /** The largest id ever added, removed ones included, so that any larger id is known to be new. */
  #largestId = Number.NEGATIVE_INFINITY;
  #ids: Float64Array;
  readonly #idToRow: IdRowMap;
  #floats!: Float32Array;
  #int32!: Int32Array;
  #bytes!: Uint8Array;

  constructor(options: FaceIndexOptions) {
    const { metric, dimension } = options;
    const initialCapacity = options.initialCapacity ?? 1024;
    if (!METRICS.includes(metric)) {
      throw invalidArgument(`options.metric must be "l2" or "cosine", got ${showValue(metric)}.`, { metric });
    }
    if (!Number.isInteger(dimension) || dimension < 1 || dimension > MAX_DIMENSION) {
      throw invalidArgument(`options.dimension must be an integer from 1 to ${MAX_DIMENSION}, got ${dimension}.`, { dimension });
    }
    if (!Number.isInteger(initialCapacity) || initialCapacity < 1) {
      throw invalidArgument(`options.initialCapacity must be a positive integer, got ${initialCapacity}.`, { initialCapacity });
    }

    this.metric = metric;
    this.dimension = dimension;
    this.stride = alignUp(dimension, 4);
    this.#capacity = initialCapacity;
    this.#ids = new Float64Array(initialCapacity);
    this.#idToRow = new IdRowMap((row) => this.#ids[row]!, initialCapacity);
    this.#pool = options.pool;

    this.#scratchPointer = alignUp(kernelHeapBase(), ROW_ALIGNMENT);
    this.#rowsPointer = alignUp(this.#scratchPointer + SCRATCH_SLOTS * SLOT_BYTES, ROW_ALIGNMENT);

    this.#memory = createKernelMemory(Math.ceil(this.#endOfLayout(initialCapacity) / PAGE_BYTES));
    this.#kernel = instantiateKernel(this.#memory);
    this.#refreshViews();
  }

  /** Number of rows in the index. */
  get size(): number {
    return this.#size;
  }

  /** Rows the index can hold before it next grows. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Incremented by every write that changes or moves existing rows: remove, retag and growth. */
  get version(): number {
    return this.#version;
  }

  /** The shared memory that contains the rows; worker threads instantiate the kernel over it. */
  get memory(): WebAssembly.Memory {
    return this.#memory;
  }

  has(id: number): boolean {
    return this.#idToRow.has(id);
  }

  /** Encoding ids in row order. */
  ids(): number[] {
    return Array.from(this.#ids.subarray(0, this.#size));
  }

  /**
   * Checks a vector and returns the float32 copy that would be stored: normalized under `cosine`.
   * Throws DIMENSION_MISMATCH, INVALID_VECTOR (NaN or infinite component) or ZERO_VECTOR (cosine).
   */
  prepare(vector: VectorInput): Float32Array {
    return prepareVector(vector, this.dimension, this.metric);
  }

  /** Makes room for `extra` more rows, so that the adds that follow cannot fail for lack of memory. */
  reserve(extra: number): void {
    const needed = this.#size + extra;
    if (needed <= this.#capacity) return;

    let capacity = this.#capacity;
    while (capacity < needed) capacity *= 2;
    this.#grow(capacity);
  }

  /**
   * Adds one row. `group` is a caller-chosen integer (a person), `tag` a bit set that searches can
   * filter on (a list). The vector is checked and prepared first, so a bad one leaves the index as it was.
   */
  add(id: number, vector: VectorInput, group: number, tag: number): void {
    const prepared = this.prepare(vector);
    this.addPrepared(id, prepared, group, tag);
  }

  /** Adds a row from the output of `prepare`. */
  addPrepared(id: number, prepared: Float32Array, group: number, tag: number): void {
    if (this.#idToRow.has(id)) throw invalidArgument(`Encoding ${id} is already in the index.`, { id });
    if (prepared.length !== this.dimension) {
      throw new ValidationError(ErrorCodes.DIMENSION_MISMATCH, `Expected a vector of ${this.dimension} components, got ${prepared.length}.`, { details: { expected: this.dimension, actual: prepared.length } });
    }
    this.reserve(1);

    const start = (this.#rowsPointer >> 2) + this.#size * this.stride;
    this.#floats.set(prepared, start);
    this.#floats.fill(0, start + this.dimension, start + this.stride);
    this.#appendRow(id, group, tag);
  }

  /**
   * Adds rows from their stored form, `dimension` little-endian float32 per row back to back, as
   * FaceDatabase keeps them: the fast path of loading an index at open. The bytes are copied straight
   * into index memory (in one copy when the dimension is a multiple of 4) and checked there, and the
   * rows equal those `add` would store. Throws INVALID_VECTOR (wrong length, NaN or infinite
   * component) or ZERO_VECTOR (cosine) and then leaves the index as it was.
   */
  addStoredRows(ids: ArrayLike<number>, bytes: Uint8Array, groups: ArrayLike<number>, tags: ArrayLike<number>): void {
    const count = ids.length;
    const rowBytes = this.dimension * 4;
    if (groups.length !== count || tags.length !== count) throw invalidArgument(`addStoredRows needs one group and one tag per id: ${count} ids, ${groups.length} groups, ${tags.length} tags.`, {});
    if (bytes.byteLength !== count * rowBytes) {
      throw new StorageError(ErrorCodes.INVALID_VECTOR, `${count} stored encodings of ${this.dimension} float32 components need ${count * rowBytes} bytes, got ${bytes.byteLength}; the database is damaged.`, { details: { count, bytes: bytes.byteLength } });
    }
    this.#checkNewIds(ids);
    this.reserve(count);

    const first = this.#rowsPointer + this.#size * this.stride * 4;
    if (this.stride === this.dimension) {
      this.#bytes.set(bytes, first);
    } else {
      for (let i = 0; i < count; i++) {
        const pointer = first + i * this.stride * 4;
        this.#bytes.set(bytes.subarray(i * rowBytes, (i + 1) * rowBytes), pointer);
        this.#bytes.fill(0, pointer + rowBytes, pointer + this.stride * 4);
      }
    }
    this.#checkStoredRows(ids, first);

    this.#kernel.squaredNorms(first, count, this.stride, this.#normsPointer() + this.#size * 4);
    const groupsStart = (this.#groupsPointer() >> 2) + this.#size;
    const tagsStart = this.#tagsPointer() + this.#size;
    for (let i = 0; i < count; i++) {
      const row = this.#size + i;
      this.#int32[groupsStart + i] = groups[i]!;
      this.#bytes[tagsStart + i] = tags[i]!;
      this.#ids[row] = ids[i]!;
      this.#idToRow.set(ids[i]!, row);
      if (ids[i]! > this.#largestId) this.#largestId = ids[i]!;
    }
    this.#size += count;
  }

  /** Rejects ids that are in the index or repeated; ascending ids, as SQLite returns them, need no set. */
  #checkNewIds(ids: ArrayLike<number>): void {
    let ascending = true;
    for (let i = 1; i < ids.length; i++) {
      if (ids[i]! <= ids[i - 1]!) ascending = false;
    }
    // Ascending ids above every id ever added cannot be in the index, which spares a lookup per row
    // when an index is loaded in id order.
    if (ascending && ids.length > 0 && ids[0]! > this.#largestId) return;

    for (let i = 0; i < ids.length; i++) {
      if (this.#idToRow.has(ids[i]!)) throw invalidArgument(`Encoding ${ids[i]} is already in the index.`, { id: ids[i] });
    }
    if (ascending) return;

    const seen = new Set<number>();
    for (let i = 0; i < ids.length; i++) {
      if (seen.has(ids[i]!)) throw invalidArgument(`Encoding ${ids[i]} appears twice among the rows to add.`, { id: ids[i] });
      seen.add(ids[i]!);
    }
  }

  /** Checks the rows just copied to `first` for non-finite components and, under cosine, normalizes them. */
  #checkStoredRows(ids: ArrayLike<number>, first: number): void {
    const strideBytes = this.stride * 4;
    const bad = this.#kernel.firstNonFinite(first, ids.length * this.stride);
    if (bad !== -1) {
      const row = Math.floor(bad / this.stride);
      const index = bad % this.stride;
      throw new StorageError(ErrorCodes.INVALID_VECTOR, `Component ${index} of stored encoding ${ids[row]} is ${this.#floats[(first >> 2) + bad]}; the database is damaged.`, { details: { id: ids[row], index } });
    }
    if (this.metric !== 'cosine') return;

    for (let i = 0; i < ids.length; i++) this.#normalizeRow(ids[i]!, (first + i * strideBytes) >> 2);
  }

  /** Removes a row in O(1) by moving the last row into its place. Throws NOT_FOUND for an unknown id. */
  remove(id: number): void {
    const row = this.#idToRow.get(id);
    if (row === undefined) {
      throw new ValidationError(ErrorCodes.NOT_FOUND, `Encoding ${id} is not in the index.`, { details: { id } });
    }

    this.#version += 1;
    const last = this.#size - 1;
    // The id map reads ids through this.#ids, so the removed id leaves it before its row is reused.
    this.#idToRow.delete(id);
    if (row !== last) {
      const from = this.#rowsPointer + last * this.stride * 4;
      this.#bytes.copyWithin(this.#rowsPointer + row * this.stride * 4, from, from + this.stride * 4);
      const norms = this.#normsPointer() >> 2;
      this.#floats[norms + row] = this.#floats[norms + last]!;
      const groups = this.#groupsPointer() >> 2;
      this.#int32[groups + row] = this.#int32[groups + last]!;
      const tags = this.#tagsPointer();
      this.#bytes[tags + row] = this.#bytes[tags + last]!;
      const movedId = this.#ids[last]!;
      this.#idToRow.set(movedId, row);
      this.#ids[row] = movedId;
    }
    this.#size = last;
  }

  /** Sets the tag of every row of `group`; O(size). */
  retag(group: number, tag: number): void {
    this.#version += 1;
    const groups = this.#groupsPointer() >> 2;
    const tags = this.#tagsPointer();
    for (let row = 0; row < this.#size; row++) {
      if (this.#int32[groups + row] === group) this.#bytes[tags + row] = tag;
    }
  }

  /** Returns the group of encoding `id`, or undefined when it is not indexed. */
  groupOf(id: number): number | undefined {
    const row = this.#idToRow.get(id);
    return row === undefined ? undefined : this.#int32[(this.#groupsPointer() >> 2) + row];
  }

  /** Returns the stored (prepared) vector of encoding `id` as a copy. */
  vectorOf(id: number): Float32Array | undefined {
    const row = this.#idToRow.get(id);
    if (row === undefined) return undefined;
    const start = (this.#rowsPointer >> 2) + row * this.stride;
    return this.#floats.slice(start, start + this.dimension);
  }

  /** Exact k-nearest search in the calling thread, best first. */
  search(query: VectorInput, options: IndexSearchOptions): IndexHit[] {
    const request = this.#checkSearch(options);
    const prepared = this.prepare(query);
    return this.#searchSync([prepared], request)[0]!;
  }

  /** `search` for several queries in the calling thread, each row read once for a block of queries. */
  searchBatch(queries: readonly VectorInput[], options: IndexSearchOptions): IndexHit[][] {
    const request = this.#checkSearch(options);
    const prepared = this.#prepareAll(queries);
    return this.#searchSync(prepared, request);
  }

  /**
   * `search` that is split across the worker pool when the index is large enough (see
   * SearchPoolOptions.minParallelBytes); the hits are identical to those of `search`.
   */
  async searchAsync(query: VectorInput, options: AsyncSearchOptions): Promise<IndexSearchResult<IndexHit[]>> {
    const request = this.#checkSearch(options);
    const prepared = this.prepare(query);
    const result = await this.#searchMany([prepared], request, options.signal);
    return { hits: result.hits[0]!, version: result.version };
  }

  /** `searchBatch` that is split across the worker pool when the scan is large enough. */
  async searchBatchAsync(queries: readonly VectorInput[], options: AsyncSearchOptions): Promise<IndexSearchResult<IndexHit[][]>> {
    const request = this.#checkSearch(options);
    const prepared = this.#prepareAll(queries);
    return this.#searchMany(prepared, request, options.signal);
  }

  #checkSearch(options: IndexSearchOptions): SearchRequest {
    const { k } = options;
    const maxDistance = options.maxDistance ?? Number.POSITIVE_INFINITY;
    const tagMask = options.tagMask ?? 0;
    if (!Number.isInteger(k) || k < 1 || k > MAX_K) {
      throw invalidArgument(`k must be an integer from 1 to ${MAX_K}, got ${k}.`, { k });
    }
    if (Number.isNaN(maxDistance) || maxDistance < 0) {
      throw invalidArgument(`threshold must be a non-negative number, got ${maxDistance}.`, { threshold: maxDistance });
    }
    return { k, maxScore: this.#maxScore(maxDistance), distinctGroups: options.distinctGroups === true, tagMask };
  }

  #prepareAll(queries: readonly VectorInput[]): Float32Array[] {
    if (!Array.isArray(queries)) throw invalidArgument('queries must be an array of vectors.', {});
    return queries.map((query, position) => {
      try {
        return this.prepare(query);
      } catch (error) {
        if (error instanceof ValidationError) {
          error.message = `Query ${position}: ${error.message}`;
          error.details.position = position;
        }
        throw error;
      }
    });
  }

  async #searchMany(prepared: Float32Array[], request: SearchRequest, signal: AbortSignal | undefined): Promise<IndexSearchResult<IndexHit[][]>> {
    if (signal?.aborted) throw searchAborted(signal);

    const scanBytes = this.#size * this.stride * 4 * prepared.length;
    if (this.#pool === undefined || prepared.length === 0 || !this.#pool.shouldSplit(scanBytes)) {
      return { hits: this.#searchSync(prepared, request), version: this.#version };
    }
    return this.#pool.run((runShard, lanes) => this.#searchRound(prepared, request, runShard, lanes), signal);
  }

  /** Every query against every row in the calling thread, in passes that fit slot 0. */
  #searchSync(prepared: Float32Array[], request: SearchRequest): IndexHit[][] {
    const size = this.#size;
    if (size === 0) return prepared.map(() => []);

    const k = Math.min(request.k, size);
    const passQueries = this.#passQueries(k);
    const hits: IndexHit[][] = [];
    for (let start = 0; start < prepared.length; start += passQueries) {
      const count = Math.min(passQueries, prepared.length - start);
      const slot = this.#slotLayout(0, count, k);
      this.#writeQueries(slot.queries, prepared, start, count);
      this.#scan(slot, 0, size, count, k, request);
      for (let j = 0; j < count; j++) {
        const found = this.#int32[(slot.state + j * STATE_BYTES) >> 2]!;
        const rows = this.#int32.subarray((slot.outRow >> 2) + j * k, (slot.outRow >> 2) + j * k + found);
        const scores = this.#floats.subarray((slot.outScore >> 2) + j * k, (slot.outScore >> 2) + j * k + found);
        hits.push(this.#toHits(rows, scores, slot.queries + j * this.stride * 4));
      }
    }
    return hits;
  }

  /**
   * One search on the pool: shard 0 in the calling thread, shard i on lane i, in passes that fit a
   * slot. See the class comment for why a changed version makes it search again in this thread.
   */
  async #searchRound(prepared: Float32Array[], request: SearchRequest, runShard: (lane: number, task: ShardTask) => Promise<{ buffer: ArrayBuffer }>, lanes: number): Promise<IndexSearchResult<IndexHit[][]>> {
    const version = this.#version;
    const size = this.#size;
    if (size === 0) return { hits: prepared.map(() => []), version };

    const k = Math.min(request.k, size);
    const passQueries = this.#passQueries(k);
    const bounds = shardBounds(size, lanes + 1);
    const candidates: ShardCandidates[][] = prepared.map(() => []);
    for (let start = 0; start < prepared.length; start += passQueries) {
      const count = Math.min(passQueries, prepared.length - start);
      const pending: Promise<void>[] = [];
      for (let lane = 1; lane < bounds.length - 1; lane++) {
        const slot = this.#slotLayout(lane, count, k);
        this.#writeQueries(slot.queries, prepared, start, count);
        const task = this.#shardTask(slot, bounds[lane]!, bounds[lane + 1]!, count, k, request);
        pending.push(runShard(lane, task).then(({ buffer }) => {
          collect(candidates, start, shardResultViews(buffer, count, k), count, k);
        }));
      }

      const slot = this.#slotLayout(0, count, k);
      this.#writeQueries(slot.queries, prepared, start, count);
      this.#scan(slot, bounds[0]!, bounds[1]!, count, k, request);
      collect(candidates, start, this.#slotResults(slot, count, k), count, k);
      await Promise.all(pending);
    }

    if (this.#version !== version) return { hits: this.#searchSync(prepared, request), version: this.#version };

    const groups = request.distinctGroups ? this.#groupsPointer() >> 2 : -1;
    const slot = this.#slotLayout(0, 1, k);
    const hits = candidates.map((shards, j) => {
      const merged = mergeShards(shards, k, groups === -1 ? undefined : (row) => this.#int32[groups + row]!);
      this.#writeQueries(slot.queries, prepared, j, 1);
      return this.#toHits(merged.rows, merged.scores, slot.queries);
    });
    return { hits, version };
  }

  /** Rows the kernel returned for one query, as hits; the query must still be at `queryPointer`. */
  #toHits(rows: Int32Array, scores: Float32Array, queryPointer: number): IndexHit[] {
    const groups = this.#groupsPointer() >> 2;
    const hits: IndexHit[] = [];
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const score = this.metric === 'l2'
        ? this.#kernel.squaredL2(this.#rowsPointer + row * this.stride * 4, queryPointer, this.stride)
        : scores[i]!;
      hits.push({ id: this.#ids[row]!, group: this.#int32[groups + row]!, distance: this.#distance(score) });
    }
    return hits;
  }

  #scan(slot: SlotLayout, first: number, end: number, count: number, k: number, request: SearchRequest): void {
    this.#kernel.topKBatch(
      this.#rowsPointer, this.#normsPointer(), first, end, this.stride, slot.queries, count,
      this.metric === 'l2' ? METRIC_L2 : METRIC_IP, k, request.maxScore,
      request.distinctGroups ? this.#groupsPointer() : 0, request.tagMask === 0 ? 0 : this.#tagsPointer(), request.tagMask,
      slot.outScore, slot.outRow, slot.state,
    );
  }

  #shardTask(slot: SlotLayout, first: number, end: number, count: number, k: number, request: SearchRequest): ShardTask {
    return {
      memory: this.#memory,
      memoryId: this.#memoryId,
      rows: this.#rowsPointer,
      norms: this.#normsPointer(),
      first,
      end,
      stride: this.stride,
      queries: slot.queries,
      queryCount: count,
      metric: this.metric === 'l2' ? METRIC_L2 : METRIC_IP,
      k,
      maxScore: request.maxScore,
      groups: request.distinctGroups ? this.#groupsPointer() : 0,
      tags: request.tagMask === 0 ? 0 : this.#tagsPointer(),
      tagMask: request.tagMask,
      outScore: slot.outScore,
      outRow: slot.outRow,
      state: slot.state,
    };
  }

  /** A copy of the results in a slot, in the layout of a worker's ShardResult. */
  #slotResults(slot: SlotLayout, count: number, k: number): { scores: Float32Array; rows: Int32Array; counts: Int32Array } {
    const counts = new Int32Array(count);
    for (let j = 0; j < count; j++) counts[j] = this.#int32[(slot.state + j * STATE_BYTES) >> 2]!;
    return {
      scores: this.#floats.slice(slot.outScore >> 2, (slot.outScore >> 2) + count * k),
      rows: this.#int32.slice(slot.outRow >> 2, (slot.outRow >> 2) + count * k),
      counts,
    };
  }

  /** Queries that one pass can hold in a slot at this stride and k. */
  #passQueries(k: number): number {
    return Math.floor(SLOT_BYTES / (this.stride * 4 + k * 8 + STATE_BYTES));
  }

  #slotLayout(slot: number, count: number, k: number): SlotLayout {
    const queries = this.#scratchPointer + slot * SLOT_BYTES;
    const outScore = queries + count * this.stride * 4;
    const outRow = outScore + count * k * 4;
    return { queries, outScore, outRow, state: outRow + count * k * 4 };
  }

  /** Writes `count` prepared queries from `start` on at `pointer`, each padded with zeros to the stride. */
  #writeQueries(pointer: number, prepared: Float32Array[], start: number, count: number): void {
    for (let j = 0; j < count; j++) {
      const offset = (pointer >> 2) + j * this.stride;
      this.#floats.set(prepared[start + j]!, offset);
      this.#floats.fill(0, offset + this.dimension, offset + this.stride);
    }
  }

  /** Records the row just written at index `size`: its norm, group, tag and id. */
  #appendRow(id: number, group: number, tag: number): void {
    const row = this.#size;
    this.#floats[(this.#normsPointer() >> 2) + row] = this.#kernel.squaredNorm(this.#rowsPointer + row * this.stride * 4, this.stride);
    this.#int32[(this.#groupsPointer() >> 2) + row] = group;
    this.#bytes[this.#tagsPointer() + row] = tag;
    this.#ids[row] = id;
    this.#idToRow.set(id, row);
    if (id > this.#largestId) this.#largestId = id;
    this.#size = row + 1;
  }

  /** Normalizes the row at float offset `start` in place, with the arithmetic of prepareVector. */
  #normalizeRow(id: number, start: number): void {
    let squaredNorm = 0;
    for (let i = 0; i < this.dimension; i++) squaredNorm += this.#floats[start + i]! * this.#floats[start + i]!;
    if (squaredNorm === 0) {
      throw new StorageError(ErrorCodes.ZERO_VECTOR, `Stored encoding ${id} is a zero vector, which has no direction under cosine; the database is damaged.`, { details: { id } });
    }
    const scale = 1 / Math.sqrt(squaredNorm);
    for (let i = 0; i < this.dimension; i++) this.#floats[start + i] = this.#floats[start + i]! * scale;
  }

  /** Converts a distance limit to the kernel's score unit (squared L2, or negated inner product). */
  #maxScore(maxDistance: number): number {
    if (maxDistance === Number.POSITIVE_INFINITY) return maxDistance;
    return this.metric === 'l2' ? maxDistance * maxDistance : maxDistance - 1;
  }

  #distance(score: number): number {
    if (this.metric === 'l2') return Math.sqrt(Math.max(0, score));
    return Math.min(2, Math.max(0, 1 + score));
  }

  #normsPointer(capacity = this.#capacity): number {
    return this.#rowsPointer + capacity * this.stride * 4;
  }

  #groupsPointer(capacity = this.#capacity): number {
    return this.#normsPointer(capacity) + capacity * 4;
  }

  #tagsPointer(capacity = this.#capacity): number {
    return this.#groupsPointer(capacity) + capacity * 4;
  }

  #endOfLayout(capacity: number): number {
    return this.#tagsPointer(capacity) + capacity;
  }

  #grow(capacity: number): void {
    const end = this.#endOfLayout(capacity);
    const pages = Math.ceil(end / PAGE_BYTES);
    if (pages > MAXIMUM_PAGES) {
      throw invalidArgument(`The index for dimension ${this.dimension} cannot hold ${capacity} rows: that needs ${end} bytes and wasm32 memory ends at 4 GiB.`, { capacity });
    }
    this.#version += 1;
    const currentPages = this.#memory.buffer.byteLength / PAGE_BYTES;
    if (pages > currentPages) this.#memory.grow(pages - currentPages);
    this.#refreshViews();

    // Tags, then groups, then norms: each moves to a higher address, and copyWithin handles the overlap.
    const oldNorms = this.#normsPointer();
    const oldGroups = this.#groupsPointer();
    const oldTags = this.#tagsPointer();
    this.#bytes.copyWithin(this.#tagsPointer(capacity), oldTags, oldTags + this.#size);
    this.#bytes.copyWithin(this.#groupsPointer(capacity), oldGroups, oldGroups + this.#size * 4);
    this.#bytes.copyWithin(this.#normsPointer(capacity), oldNorms, oldNorms + this.#size * 4);

    const ids = new Float64Array(capacity);
    ids.set(this.#ids.subarray(0, this.#size));
    this.#ids = ids;
    this.#capacity = capacity;
  }

  #refreshViews(): void {
    const buffer = this.#memory.buffer;
    this.#floats = new Float32Array(buffer);
    this.#int32 = new Int32Array(buffer);
    this.#bytes = new Uint8Array(buffer);
  }
}

/** Boundaries of `shards` contiguous, nearly equal shards of [0, size): shard i is [b[i], b[i + 1]). */
function shardBounds(size: number, shards: number): number[] {
  return Array.from({ length: shards + 1 }, (_, i) => Math.floor((size * i) / shards));
}

/** Appends one shard's per-query results to the candidates of queries start .. start + count - 1. */
function collect(candidates: ShardCandidates[][], start: number, results: { scores: Float32Array; rows: Int32Array; counts: Int32Array }, count: number, k: number): void {
  for (let j = 0; j < count; j++) {
    const found = results.counts[j]!;
    candidates[start + j]!.push({
      scores: results.scores.subarray(j * k, j * k + found),
      rows: results.rows.subarray(j * k, j * k + found),
    });
  }
}

/** Checks a vector's length and components, and returns a float32 copy (normalized under cosine). */
export function prepareVector(vector: VectorInput, dimension: number | undefined, metric: Metric): Float32Array {
  if (!(vector instanceof Float32Array || vector instanceof Float64Array || Array.isArray(vector))) {
    throw new ValidationError(ErrorCodes.INVALID_VECTOR, 'A face encoding must be a Float32Array, a Float64Array or an array of numbers.', { details: { type: typeof vector } });
  }
  if (vector.length === 0 || vector.length > MAX_DIMENSION) {
    throw new ValidationError(ErrorCodes.DIMENSION_MISMATCH, `A face encoding must have 1 to ${MAX_DIMENSION} components, got ${vector.length}.`, { details: { actual: vector.length } });
  }
  if (dimension !== undefined && vector.length !== dimension) {
    throw new ValidationError(ErrorCodes.DIMENSION_MISMATCH, `Expected a vector of ${dimension} components, got ${vector.length}; encodings of one model must all have the same dimension.`, { details: { expected: dimension, actual: vector.length } });
  }

  let squaredNorm = 0;
  for (let i = 0; i < vector.length; i++) {
    const value = vector[i];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ValidationError(ErrorCodes.INVALID_VECTOR, `Component ${i} of the vector is ${String(value)}; every component must be a finite number.`, { details: { index: i, value } });
    }
    squaredNorm += value * value;
  }

  const prepared = Float32Array.from(vector as ArrayLike<number>);
  const overflow = prepared.findIndex((value) => !Number.isFinite(value));
  if (overflow !== -1) {
    throw new ValidationError(ErrorCodes.INVALID_VECTOR, `Component ${overflow} of the vector is ${vector[overflow]}, which overflows float32; scale the encoding down.`, { details: { index: overflow, value: vector[overflow] } });
  }
  if (metric === 'cosine') {
    if (squaredNorm === 0) {
      throw new ValidationError(ErrorCodes.ZERO_VECTOR, 'A zero vector has no direction, so it cannot be compared by cosine distance.', { details: {} });
    }
    const scale = 1 / Math.sqrt(squaredNorm);
    for (let i = 0; i < prepared.length; i++) prepared[i] = (vector[i] as number) * scale;
  }
  return prepared;
}
