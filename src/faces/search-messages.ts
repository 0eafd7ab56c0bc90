// Messages between the thread that owns a FaceIndex and the search workers. Every pointer is a byte
// offset into `memory`, the index's shared WebAssembly.Memory, whose layout FaceIndex defines.

/** Data a search worker receives when it starts. */
export interface SearchWorkerData {
  /** The compiled kernel; a worker instantiates it over each index memory it is sent. */
  kernel: WebAssembly.Module;
  /** Kernel instances a worker keeps, one per index memory, least recently used evicted first. */
  maxInstances: number;
}

/**
 * One shard of a search: rows [first, end) of one index against `queryCount` queries that the
 * caller has already written to the worker's scratch slot at `queries`. The worker writes its
 * heaps and state to the same slot, then returns a copy of the results, so the slot is free for the
 * next task the moment this one settles.
 */
export interface ShardTask {
  memory: WebAssembly.Memory;
  /** Unique per index memory within the process; the key of the worker's instance cache. */
  memoryId: number;
  rows: number;
  norms: number;
  first: number;
  end: number;
  stride: number;
  queries: number;
  queryCount: number;
  metric: number;
  k: number;
  maxScore: number;
  /** 0 when results need not be distinct per group. */
  groups: number;
  /** 0 when rows are not filtered by tag. */
  tags: number;
  tagMask: number;
  outScore: number;
  outRow: number;
  state: number;
}

/**
 * The shard's results in one transferred buffer: for query j, `counts[j]` (score, row) pairs best
 * first, at `scores[j * k ...]` and `rows[j * k ...]`.
 */
export interface ShardResult {
  buffer: ArrayBuffer;
}

/** Views of a ShardResult buffer laid out for `queryCount` queries and `k` results each. */
export function shardResultViews(buffer: ArrayBuffer, queryCount: number, k: number): { scores: Float32Array; rows: Int32Array; counts: Int32Array } {
  const length = queryCount * k;
  return {
    scores: new Float32Array(buffer, 0, length),
    rows: new Int32Array(buffer, length * 4, length),
    counts: new Int32Array(buffer, length * 8, queryCount),
  };
}

/** Bytes of a ShardResult buffer for `queryCount` queries and `k` results each. */
export function shardResultBytes(queryCount: number, k: number): number {
  return queryCount * k * 8 + queryCount * 4;
}
