import { ErrorCodes, ValidationError, invalidArgument } from '../errors.js';
import {
  METRIC_IP, METRIC_L2, PAGE_BYTES, MAXIMUM_PAGES, createKernelMemory, instantiateKernel, kernelHeapBase,
  type KernelExports,
} from '../kernel/kernel.js';

export type Metric = 'l2' | 'cosine';

export const METRICS: readonly Metric[] = Object.freeze(['l2', 'cosine']);

/** Largest supported vector dimension. */
export const MAX_DIMENSION = 4096;

/** Largest k one search may ask for; the result buffers in wasm memory are sized for it. */
export const MAX_K = 4096;

export type VectorInput = Float32Array | Float64Array | readonly number[];

export interface FaceIndexOptions {
  metric: Metric;
  dimension: number;
  /** Rows to allocate up front. Default 1024; the buffer doubles when full. */
  initialCapacity?: number;
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

export interface IndexHit {
  id: number;
  group: number;
  /** True L2 distance for `l2`, `1 - cosine similarity` for `cosine`. */
  distance: number;
}

const QUERY_BYTES = MAX_DIMENSION * 4;
const RESULT_BYTES = MAX_K * 4;
const ROW_ALIGNMENT = 64;

function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

/**
 * Exact nearest-neighbour index over float32 vectors of one dimension, held in the linear memory of a
 * wasm SIMD kernel.
 *
 * Memory layout, in byte offsets: [module data][query][result scores][result rows][rows][norms][groups][tags].
 * The rows block is `capacity * stride * 4` bytes, 64-byte aligned, and each row is padded with zeros to
 * `stride`, a multiple of 4 floats, so every row starts 16-byte aligned and the padding adds nothing to
 * either distance. Squared norms (f32), groups (i32) and tags (one byte) per row follow the rows, so
 * doubling the capacity grows the rows block in place and moves only those 9 bytes per row.
 *
 * The scan ranks rows by ||x||^2 - 2 x.q + ||q||^2 with stored norms; the distances returned are then
 * recomputed from the differences, so they carry no cancellation error.
 *
 * Under `cosine`, vectors are normalized at insert and queries at search, so search runs on the inner
 * product kernel and `distance = 1 - dot`.
 */
export class FaceIndex {
  readonly metric: Metric;
  readonly dimension: number;
  /** Floats per row: the dimension rounded up to a multiple of 4. */
  readonly stride: number;

  readonly #memory: WebAssembly.Memory;
  readonly #kernel: KernelExports;
  readonly #queryPointer: number;
  readonly #scorePointer: number;
  readonly #rowPointer: number;
  readonly #rowsPointer: number;

  #capacity: number;
  #size = 0;
  #ids: Float64Array;
  #idToRow = new Map<number, number>();
  #floats!: Float32Array;
  #int32!: Int32Array;
  #bytes!: Uint8Array;

  constructor(options: FaceIndexOptions) {
    const { metric, dimension } = options;
    const initialCapacity = options.initialCapacity ?? 1024;
    if (!METRICS.includes(metric)) {
      throw invalidArgument(`options.metric must be "l2" or "cosine", got ${JSON.stringify(metric)}.`, { metric });
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

    this.#queryPointer = alignUp(kernelHeapBase(), ROW_ALIGNMENT);
    this.#scorePointer = this.#queryPointer + QUERY_BYTES;
    this.#rowPointer = this.#scorePointer + RESULT_BYTES;
    this.#rowsPointer = alignUp(this.#rowPointer + RESULT_BYTES, ROW_ALIGNMENT);

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

  /** The shared memory that holds the rows; worker threads instantiate the kernel over it. */
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

    const row = this.#size;
    const start = (this.#rowsPointer >> 2) + row * this.stride;
    this.#floats.set(prepared, start);
    this.#floats.fill(0, start + this.dimension, start + this.stride);
    this.#floats[(this.#normsPointer() >> 2) + row] = this.#kernel.squaredNorm(start * 4, this.stride);
    this.#int32[(this.#groupsPointer() >> 2) + row] = group;
    this.#bytes[this.#tagsPointer() + row] = tag;
    this.#ids[row] = id;
    this.#idToRow.set(id, row);
    this.#size = row + 1;
  }

  /** Removes a row in O(1) by moving the last row into its place. Throws NOT_FOUND for an unknown id. */
  remove(id: number): void {
    const row = this.#idToRow.get(id);
    if (row === undefined) {
      throw new ValidationError(ErrorCodes.NOT_FOUND, `Encoding ${id} is not in the index.`, { details: { id } });
    }

    const last = this.#size - 1;
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
      this.#ids[row] = movedId;
      this.#idToRow.set(movedId, row);
    }
    this.#idToRow.delete(id);
    this.#size = last;
  }

  /** Sets the tag of every row of `group`; O(size). */
  retag(group: number, tag: number): void {
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

  /** Exact k-nearest search, best first. */
  search(query: VectorInput, options: IndexSearchOptions): IndexHit[] {
    const { k } = options;
    const maxDistance = options.maxDistance ?? Number.POSITIVE_INFINITY;
    const tagMask = options.tagMask ?? 0;
    if (!Number.isInteger(k) || k < 1 || k > MAX_K) {
      throw invalidArgument(`k must be an integer from 1 to ${MAX_K}, got ${k}.`, { k });
    }
    if (Number.isNaN(maxDistance) || maxDistance < 0) {
      throw invalidArgument(`threshold must be a non-negative number, got ${maxDistance}.`, { threshold: maxDistance });
    }
    const prepared = this.prepare(query);
    if (this.#size === 0) return [];

    this.#floats.set(prepared, this.#queryPointer >> 2);
    this.#floats.fill(0, (this.#queryPointer >> 2) + this.dimension, (this.#queryPointer >> 2) + this.stride);
    const found = this.#kernel.topK(
      this.#rowsPointer, this.#normsPointer(), 0, this.#size, this.stride, this.stride, this.#queryPointer,
      this.metric === 'l2' ? METRIC_L2 : METRIC_IP,
      Math.min(k, this.#size), this.#maxScore(maxDistance),
      options.distinctGroups === true ? this.#groupsPointer() : 0,
      tagMask === 0 ? 0 : this.#tagsPointer(), tagMask,
      this.#scorePointer, this.#rowPointer,
    );

    const hits: IndexHit[] = [];
    const groups = this.#groupsPointer() >> 2;
    for (let i = 0; i < found; i++) {
      const row = this.#int32[(this.#rowPointer >> 2) + i]!;
      const score = this.metric === 'l2'
        ? this.#kernel.squaredL2(this.#rowsPointer + row * this.stride * 4, this.#queryPointer, this.stride)
        : this.#floats[(this.#scorePointer >> 2) + i]!;
      hits.push({ id: this.#ids[row]!, group: this.#int32[groups + row]!, distance: this.#distance(score) });
    }
    return hits;
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
