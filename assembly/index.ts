// Distance kernels over rows of float32 vectors in linear memory.
//
// Memory contract: every pointer is a byte offset into the imported memory, which the host manages.
// Row r of a block starts at `rows + r * stride * 4`. The search functions read whole rows and whole
// queries of `stride` floats, so the host pads both with zeros past the dimension; `stride` is a
// multiple of 4. Scores are "lower is better": squared L2 distance for METRIC_L2 (from stored row
// norms, so it carries float32 rounding of order 1e-7 times the squared norms), the negated inner
// product for METRIC_IP. Ties are broken by the lower row index, so the selected set does not depend
// on scan order or on how the rows are split into shards.
//
// Accumulation contract: for every (row, query) pair the search keeps one f32x4 accumulator, adds
// row[c] * query[c] for the 4-float chunks c = 0, 1, 2, ... in that order, and sums its lanes as
// (l0 + l2) + (l1 + l3). Every path below follows it, whether it reads one row or eight at a time
// and serves one query or two, so a row's score is bit-identical whichever path, shard or batch
// computes it.
//
// Streams: a block of rows is cut into STREAMS contiguous runs that are read side by side, one row of
// each per step. Several sequential streams keep more cache-line fetches in flight than one pass
// (on the 2-core AMD EPYC of bench/RESULTS.md, 100,000 rows of 128 floats were read 1.2 to 1.4 times
// as fast), and each chunk of the query, loaded once, serves four rows.

export const METRIC_L2: i32 = 0;
export const METRIC_IP: i32 = 1;

// Rows read side by side by a scan.
const STREAMS: i32 = 4;

// Returns the first byte that the host may use; everything below is this module's static data.
export function heapBase(): usize {
  return __heap_base;
}

// (l0 + l2) + (l1 + l3), the lane order of the accumulation contract.
// @ts-ignore: decorator
@inline
function horizontalSum(v: v128): f32 {
  const folded = f32x4.add(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(folded, 0) + f32x4.extract_lane(folded, 1);
}

// [horizontalSum(v0), horizontalSum(v1), horizontalSum(v2), horizontalSum(v3)] with the same
// additions in the same order, by transposing instead of extracting lanes.
// @ts-ignore: decorator
@inline
function transposeSum(v0: v128, v1: v128, v2: v128, v3: v128): v128 {
  const s01 = f32x4.add(v128.shuffle<f32>(v0, v1, 0, 4, 1, 5), v128.shuffle<f32>(v0, v1, 2, 6, 3, 7));
  const s23 = f32x4.add(v128.shuffle<f32>(v2, v3, 0, 4, 1, 5), v128.shuffle<f32>(v2, v3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(s01, s23, 0, 1, 4, 5), v128.shuffle<f32>(s01, s23, 2, 3, 6, 7));
}

// Inner product of one row and one query under the accumulation contract.
// @ts-ignore: decorator
@inline
function rowDot(row: usize, query: usize, rowBytes: usize): f32 {
  let acc = f32x4.splat(0);
  const end = row + rowBytes;
  for (; row < end; row += 16, query += 16) {
    acc = f32x4.add(acc, f32x4.mul(v128.load(row), v128.load(query)));
  }
  return horizontalSum(acc);
}

// Inner product of `dim` floats at `a` and at `b`, with four accumulators to hide the latency of the
// dependent adds; the scalar tail covers dimensions that are not a multiple of 4. It serves the
// helpers below, not the search, so it is not bound by the accumulation contract.
// @ts-ignore: decorator
@inline
function innerProduct(a: usize, b: usize, dim: i32): f32 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let acc2 = f32x4.splat(0);
  let acc3 = f32x4.splat(0);

  const end16 = a + (<usize>(dim & ~15) << 2);
  for (; a < end16; a += 64, b += 64) {
    acc0 = f32x4.add(acc0, f32x4.mul(v128.load(a), v128.load(b)));
    acc1 = f32x4.add(acc1, f32x4.mul(v128.load(a, 16), v128.load(b, 16)));
    acc2 = f32x4.add(acc2, f32x4.mul(v128.load(a, 32), v128.load(b, 32)));
    acc3 = f32x4.add(acc3, f32x4.mul(v128.load(a, 48), v128.load(b, 48)));
  }
  const end4 = end16 + (<usize>(dim & 12) << 2);
  for (; a < end4; a += 16, b += 16) {
    acc0 = f32x4.add(acc0, f32x4.mul(v128.load(a), v128.load(b)));
  }

  let sum = horizontalSum(f32x4.add(f32x4.add(acc0, acc1), f32x4.add(acc2, acc3)));
  const end = end4 + (<usize>(dim & 3) << 2);
  for (; a < end; a += 4, b += 4) sum += load<f32>(a) * load<f32>(b);
  return sum;
}

// Squared L2 distance between `dim` floats at `a` and at `b`, computed from the differences.
export function squaredL2(a: usize, b: usize, dim: i32): f32 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);

  const end8 = a + (<usize>(dim & ~7) << 2);
  for (; a < end8; a += 32, b += 32) {
    const d0 = f32x4.sub(v128.load(a), v128.load(b));
    const d1 = f32x4.sub(v128.load(a, 16), v128.load(b, 16));
    acc0 = f32x4.add(acc0, f32x4.mul(d0, d0));
    acc1 = f32x4.add(acc1, f32x4.mul(d1, d1));
  }
  const end4 = end8 + (<usize>(dim & 4) << 2);
  for (; a < end4; a += 16, b += 16) {
    const d = f32x4.sub(v128.load(a), v128.load(b));
    acc0 = f32x4.add(acc0, f32x4.mul(d, d));
  }

  let sum = horizontalSum(f32x4.add(acc0, acc1));
  const end = end4 + (<usize>(dim & 3) << 2);
  for (; a < end; a += 4, b += 4) {
    const d = load<f32>(a) - load<f32>(b);
    sum += d * d;
  }
  return sum;
}

// Squared norm of `dim` floats at `a`.
export function squaredNorm(a: usize, dim: i32): f32 {
  return innerProduct(a, a, dim);
}

// Writes the squared norms of `count` rows of `stride` floats at `rows` to `out`, one float per row,
// with the arithmetic of squaredNorm.
export function squaredNorms(rows: usize, count: i32, stride: i32, out: usize): void {
  const rowBytes = <usize>stride << 2;
  for (let r = 0; r < count; r++) {
    store<f32>(out + (<usize>r << 2), innerProduct(rows + <usize>r * rowBytes, rows + <usize>r * rowBytes, stride));
  }
}

// Index of the first of `count` floats at `pointer` that is NaN or infinite, or -1 when all are
// finite. x - x is 0 for a finite x and NaN otherwise, and NaN is the one value unequal to itself.
export function firstNonFinite(pointer: usize, count: i32): i32 {
  const end4 = pointer + (<usize>(count & ~3) << 2);
  let p = pointer;
  for (; p < end4; p += 16) {
    const x = v128.load(p);
    const d = f32x4.sub(x, x);
    if (!i32x4.all_true(f32x4.eq(d, d))) break;
  }
  const end = pointer + (<usize>count << 2);
  for (; p < end; p += 4) {
    const x = load<f32>(p);
    if (x - x != 0) return <i32>((p - pointer) >> 2);
  }
  return -1;
}

// (scoreA, rowA) ranks after (scoreB, rowB): a higher score, or an equal score on a higher row.
// @ts-ignore: decorator
@inline
function ranksAfter(scoreA: f32, rowA: i32, scoreB: f32, rowB: i32): bool {
  return scoreA > scoreB || (scoreA == scoreB && rowA > rowB);
}

// The heap is a max-heap of (score, row) pairs kept in two parallel arrays, worst entry at index 0.
function siftDown(heapScore: usize, heapRow: usize, size: i32, start: i32): void {
  let parent = start;
  while (true) {
    const left = parent * 2 + 1;
    if (left >= size) break;
    let child = left;
    const right = left + 1;
    if (right < size) {
      if (ranksAfter(
        load<f32>(heapScore + (<usize>right << 2)), load<i32>(heapRow + (<usize>right << 2)),
        load<f32>(heapScore + (<usize>left << 2)), load<i32>(heapRow + (<usize>left << 2)),
      )) child = right;
    }
    const parentScore = load<f32>(heapScore + (<usize>parent << 2));
    const parentRow = load<i32>(heapRow + (<usize>parent << 2));
    const childScore = load<f32>(heapScore + (<usize>child << 2));
    const childRow = load<i32>(heapRow + (<usize>child << 2));
    if (!ranksAfter(childScore, childRow, parentScore, parentRow)) break;
    store<f32>(heapScore + (<usize>parent << 2), childScore);
    store<i32>(heapRow + (<usize>parent << 2), childRow);
    store<f32>(heapScore + (<usize>child << 2), parentScore);
    store<i32>(heapRow + (<usize>child << 2), parentRow);
    parent = child;
  }
}

function siftUp(heapScore: usize, heapRow: usize, start: i32): void {
  let child = start;
  while (child > 0) {
    const parent = (child - 1) >> 1;
    const parentScore = load<f32>(heapScore + (<usize>parent << 2));
    const parentRow = load<i32>(heapRow + (<usize>parent << 2));
    const childScore = load<f32>(heapScore + (<usize>child << 2));
    const childRow = load<i32>(heapRow + (<usize>child << 2));
    if (!ranksAfter(childScore, childRow, parentScore, parentRow)) break;
    store<f32>(heapScore + (<usize>parent << 2), childScore);
    store<i32>(heapRow + (<usize>parent << 2), childRow);
    store<f32>(heapScore + (<usize>child << 2), parentScore);
    store<i32>(heapRow + (<usize>child << 2), parentRow);
    child = parent;
  }
}

// Offers one candidate to the heap and returns its new size. With `groups` set, the heap keeps at
// most one entry per group (the best one), so that k results name k different persons.
function offer(heapScore: usize, heapRow: usize, size: i32, k: i32, s: f32, r: i32, groups: usize): i32 {
  if (size == k && !ranksAfter(load<f32>(heapScore), load<i32>(heapRow), s, r)) return size;

  if (groups != 0) {
    const group = load<i32>(groups + (<usize>r << 2));
    for (let j = 0; j < size; j++) {
      const heldRow = load<i32>(heapRow + (<usize>j << 2));
      if (load<i32>(groups + (<usize>heldRow << 2)) != group) continue;
      if (ranksAfter(load<f32>(heapScore + (<usize>j << 2)), heldRow, s, r)) {
        store<f32>(heapScore + (<usize>j << 2), s);
        store<i32>(heapRow + (<usize>j << 2), r);
        siftDown(heapScore, heapRow, size, j);
      }
      return size;
    }
  }

  if (size < k) {
    store<f32>(heapScore + (<usize>size << 2), s);
    store<i32>(heapRow + (<usize>size << 2), r);
    siftUp(heapScore, heapRow, size);
    return size + 1;
  }
  store<f32>(heapScore, s);
  store<i32>(heapRow, r);
  siftDown(heapScore, heapRow, size, 0);
  return size;
}

// Heap sort in place: the worst entry moves to the back each round, leaving the array best first.
function sortHeap(heapScore: usize, heapRow: usize, size: i32): void {
  for (let last = size - 1; last > 0; last--) {
    const lastOffset = <usize>last << 2;
    const worstScore = load<f32>(heapScore);
    const worstRow = load<i32>(heapRow);
    store<f32>(heapScore, load<f32>(heapScore + lastOffset));
    store<i32>(heapRow, load<i32>(heapRow + lastOffset));
    store<f32>(heapScore + lastOffset, worstScore);
    store<i32>(heapRow + lastOffset, worstRow);
    siftDown(heapScore, heapRow, last, 0);
  }
}

// The search state of one query, 16 bytes at `state + 16 * j` for query j: the heap size (i32), the
// query's squared norm (f32), the cut (f32: a score above it cannot enter the heap) and the query's
// maximum score (f32).
const STATE_BYTES: usize = 16;

// @ts-ignore: decorator
@inline
function initState(state: usize, query: usize, rowBytes: usize, metric: i32, maxScore: f32): void {
  store<i32>(state, 0);
  store<f32>(state, metric == METRIC_L2 ? rowDot(query, query, rowBytes) : 0, 4);
  store<f32>(state, maxScore, 8);
  store<f32>(state, maxScore, 12);
}

// Offers row r with score s to the query whose state and heap are given, and lowers the cut once
// the heap is full. Rows whose tag shares no bit with `tagMask` (when `tags` is set) are skipped.
// @ts-ignore: decorator
@inline
function consider(
  state: usize, heapScore: usize, heapRow: usize, k: i32, s: f32, r: i32,
  groups: usize, tags: usize, tagMask: i32,
): void {
  if (s > load<f32>(state, 12)) return;
  if (tags != 0 && (<i32>load<u8>(tags + <usize>r) & tagMask) == 0) return;

  const size = offer(heapScore, heapRow, load<i32>(state), k, s, r, groups);
  store<i32>(state, size);
  if (size == k) store<f32>(state, min(load<f32>(heapScore), load<f32>(state, 12)), 8);
}

// Scores of four rows from their dot products (lanes) with one query.
// @ts-ignore: decorator
@inline
function scoreLanes(metric: i32, dots: v128, norms: v128, queryNorm: f32): v128 {
  if (metric != METRIC_L2) return f32x4.neg(dots);
  return f32x4.add(f32x4.sub(norms, f32x4.mul(f32x4.splat(2), dots)), f32x4.splat(queryNorm));
}

// @ts-ignore: decorator
@inline
function scoreOne(metric: i32, dot: f32, norm: f32, queryNorm: f32): f32 {
  return metric == METRIC_L2 ? norm - 2 * dot + queryNorm : -dot;
}

// Squared norms of rows r, r + m, r + 2m and r + 3m, as lanes.
// @ts-ignore: decorator
@inline
function gatherNorms(norms: usize, r: i32, m: i32): v128 {
  const at = norms + (<usize>r << 2);
  const gap = <usize>m << 2;
  let lanes = f32x4.splat(load<f32>(at));
  lanes = f32x4.replace_lane(lanes, 1, load<f32>(at + gap));
  lanes = f32x4.replace_lane(lanes, 2, load<f32>(at + gap * 2));
  return f32x4.replace_lane(lanes, 3, load<f32>(at + gap * 3));
}

// Offers the four rows r, r + m, r + 2m, r + 3m unless every lane of `scores` is above the cut: the
// vector test passes over most rows of a scan with one compare.
// @ts-ignore: decorator
@inline
function considerLanes(
  state: usize, heapScore: usize, heapRow: usize, k: i32, scores: v128, r: i32, m: i32,
  groups: usize, tags: usize, tagMask: i32,
): void {
  if (i32x4.all_true(f32x4.gt(scores, f32x4.splat(load<f32>(state, 8))))) return;
  consider(state, heapScore, heapRow, k, f32x4.extract_lane(scores, 0), r, groups, tags, tagMask);
  consider(state, heapScore, heapRow, k, f32x4.extract_lane(scores, 1), r + m, groups, tags, tagMask);
  consider(state, heapScore, heapRow, k, f32x4.extract_lane(scores, 2), r + m * 2, groups, tags, tagMask);
  consider(state, heapScore, heapRow, k, f32x4.extract_lane(scores, 3), r + m * 3, groups, tags, tagMask);
}

// One query against rows [first, end): four streams of m rows each, then the rows left over one by
// one. Four streams with two chunks per step keep the loop's live values within the 16 vector
// registers of x86-64, where V8 would otherwise spill accumulators to the stack.
function scanOne(
  rows: usize, norms: usize, first: i32, end: i32, stride: i32, query: usize, metric: i32,
  k: i32, groups: usize, tags: usize, tagMask: i32, heapScore: usize, heapRow: usize, state: usize,
): void {
  const rowBytes = <usize>stride << 2;
  const queryNorm = load<f32>(state, 4);
  const m = (end - first) / STREAMS;
  const gap = <usize>m * rowBytes;
  const pairedBytes = rowBytes & ~(<usize>31);

  let p0 = rows + <usize>first * rowBytes;
  let p1 = p0 + gap;
  let p2 = p1 + gap;
  let p3 = p2 + gap;
  for (let r = first; r < first + m; r++) {
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let q = query;
    const pairedEnd = query + pairedBytes;
    const rowEnd = query + rowBytes;
    for (; q < pairedEnd; q += 32, p0 += 32, p1 += 32, p2 += 32, p3 += 32) {
      let c = v128.load(q);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(p0), c));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(p1), c));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(p2), c));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(p3), c));
      c = v128.load(q, 16);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(p0, 16), c));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(p1, 16), c));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(p2, 16), c));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(p3, 16), c));
    }
    for (; q < rowEnd; q += 16, p0 += 16, p1 += 16, p2 += 16, p3 += 16) {
      const c = v128.load(q);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(p0), c));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(p1), c));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(p2), c));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(p3), c));
    }

    const rowNorms = metric == METRIC_L2 ? gatherNorms(norms, r, m) : f32x4.splat(0);
    const scores = scoreLanes(metric, transposeSum(a0, a1, a2, a3), rowNorms, queryNorm);
    considerLanes(state, heapScore, heapRow, k, scores, r, m, groups, tags, tagMask);
  }

  let row = rows + <usize>(first + m * STREAMS) * rowBytes;
  for (let r = first + m * STREAMS; r < end; r++, row += rowBytes) {
    const norm = metric == METRIC_L2 ? load<f32>(norms + (<usize>r << 2)) : 0;
    consider(state, heapScore, heapRow, k, scoreOne(metric, rowDot(row, query, rowBytes), norm, queryNorm), r, groups, tags, tagMask);
  }
}

// Two queries (at `query` and `query + stride * 4`) against rows [first, end): four streams, each
// loaded chunk serving both queries, then the rows left over one by one. One chunk per step keeps
// the eight accumulators, two query chunks and four row chunks in registers.
function scanPair(
  rows: usize, norms: usize, first: i32, end: i32, stride: i32, query: usize, metric: i32,
  k: i32, groups: usize, tags: usize, tagMask: i32, heapScore: usize, heapRow: usize, state: usize,
): void {
  const rowBytes = <usize>stride << 2;
  const heapBytes = <usize>k << 2;
  const queryB = query + rowBytes;
  const heapScoreB = heapScore + heapBytes;
  const heapRowB = heapRow + heapBytes;
  const stateB = state + STATE_BYTES;
  const queryNormA = load<f32>(state, 4);
  const queryNormB = load<f32>(stateB, 4);
  const m = (end - first) / STREAMS;
  const gap = <usize>m * rowBytes;

  let p0 = rows + <usize>first * rowBytes;
  let p1 = p0 + gap;
  let p2 = p1 + gap;
  let p3 = p2 + gap;
  for (let r = first; r < first + m; r++) {
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0);
    let b1 = f32x4.splat(0);
    let b2 = f32x4.splat(0);
    let b3 = f32x4.splat(0);
    let qa = query;
    let qb = queryB;
    const rowEnd = query + rowBytes;
    for (; qa < rowEnd; qa += 16, qb += 16, p0 += 16, p1 += 16, p2 += 16, p3 += 16) {
      const ca = v128.load(qa);
      const cb = v128.load(qb);
      const x0 = v128.load(p0);
      const x1 = v128.load(p1);
      const x2 = v128.load(p2);
      const x3 = v128.load(p3);
      a0 = f32x4.add(a0, f32x4.mul(x0, ca));
      a1 = f32x4.add(a1, f32x4.mul(x1, ca));
      a2 = f32x4.add(a2, f32x4.mul(x2, ca));
      a3 = f32x4.add(a3, f32x4.mul(x3, ca));
      b0 = f32x4.add(b0, f32x4.mul(x0, cb));
      b1 = f32x4.add(b1, f32x4.mul(x1, cb));
      b2 = f32x4.add(b2, f32x4.mul(x2, cb));
      b3 = f32x4.add(b3, f32x4.mul(x3, cb));
    }

    const rowNorms = metric == METRIC_L2 ? gatherNorms(norms, r, m) : f32x4.splat(0);
    const scoresA = scoreLanes(metric, transposeSum(a0, a1, a2, a3), rowNorms, queryNormA);
    const scoresB = scoreLanes(metric, transposeSum(b0, b1, b2, b3), rowNorms, queryNormB);
    considerLanes(state, heapScore, heapRow, k, scoresA, r, m, groups, tags, tagMask);
    considerLanes(stateB, heapScoreB, heapRowB, k, scoresB, r, m, groups, tags, tagMask);
  }

  let row = rows + <usize>(first + m * STREAMS) * rowBytes;
  for (let r = first + m * STREAMS; r < end; r++, row += rowBytes) {
    const norm = metric == METRIC_L2 ? load<f32>(norms + (<usize>r << 2)) : 0;
    consider(state, heapScore, heapRow, k, scoreOne(metric, rowDot(row, query, rowBytes), norm, queryNormA), r, groups, tags, tagMask);
    consider(stateB, heapScoreB, heapRowB, k, scoreOne(metric, rowDot(row, queryB, rowBytes), norm, queryNormB), r, groups, tags, tagMask);
  }
}

// Rows per block of a batch scan: every query pair scans one block before the scan moves on, so a
// block is read from memory once and from cache by the other pairs. 256 rows of 128 floats are
// 128 KiB, which fits a level-2 cache.
const BATCH_BLOCK_BYTES: usize = 131072;

// Selects the k best rows of [first, end) for each of `queryCount` queries. Query j is the `stride`
// floats at `queries + j * stride * 4`; its results go best first to `outScore + j * k * 4` (floats)
// and `outRow + j * k * 4` (ints), and their count to the i32 at `state + 16 * j`. `state` is
// scratch of 16 bytes per query. Only rows whose score is at most `maxScore` are returned. `norms`
// holds one float per row, the squared norm, and is read under METRIC_L2 only. `groups` (0 for none)
// is one i32 per row: at most one row per group is returned. `tags` (0 for none) is one byte per
// row: a row is skipped unless `tags[r] & tagMask` is non-zero.
export function topKBatch(
  rows: usize, norms: usize, first: i32, end: i32, stride: i32, queries: usize, queryCount: i32, metric: i32,
  k: i32, maxScore: f32, groups: usize, tags: usize, tagMask: i32,
  outScore: usize, outRow: usize, state: usize,
): void {
  const rowBytes = <usize>stride << 2;
  const heapBytes = <usize>k << 2;
  for (let j = 0; j < queryCount; j++) {
    initState(state + <usize>j * STATE_BYTES, queries + <usize>j * rowBytes, rowBytes, metric, maxScore);
  }

  if (queryCount == 1) {
    scanOne(rows, norms, first, end, stride, queries, metric, k, groups, tags, tagMask, outScore, outRow, state);
  } else {
    const blockRows = max(<i32>(BATCH_BLOCK_BYTES / rowBytes), STREAMS * 16);
    for (let blockStart = first; blockStart < end; blockStart += blockRows) {
      const blockEnd = min(end, blockStart + blockRows);
      let j = 0;
      for (; j + 2 <= queryCount; j += 2) {
        scanPair(
          rows, norms, blockStart, blockEnd, stride, queries + <usize>j * rowBytes, metric, k, groups, tags, tagMask,
          outScore + <usize>j * heapBytes, outRow + <usize>j * heapBytes, state + <usize>j * STATE_BYTES,
        );
      }
      if (j < queryCount) {
        scanOne(
          rows, norms, blockStart, blockEnd, stride, queries + <usize>j * rowBytes, metric, k, groups, tags, tagMask,
          outScore + <usize>j * heapBytes, outRow + <usize>j * heapBytes, state + <usize>j * STATE_BYTES,
        );
      }
    }
  }

  for (let j = 0; j < queryCount; j++) {
    sortHeap(outScore + <usize>j * heapBytes, outRow + <usize>j * heapBytes, load<i32>(state + <usize>j * STATE_BYTES));
  }
}

// `topKBatch` for one query: returns the number of rows written to outScore/outRow.
export function topK(
  rows: usize, norms: usize, first: i32, end: i32, stride: i32, query: usize, metric: i32,
  k: i32, maxScore: f32, groups: usize, tags: usize, tagMask: i32,
  outScore: usize, outRow: usize, state: usize,
): i32 {
  topKBatch(rows, norms, first, end, stride, query, 1, metric, k, maxScore, groups, tags, tagMask, outScore, outRow, state);
  return load<i32>(state);
}

// Sums `count` floats at `pointer`: the cost of merely reading the bytes, as a floor for the search.
// Eight streams were the fastest plain read measured on the machine of bench/RESULTS.md (one, two,
// four, twelve and sixteen streams were slower), so the floor is not flattered by a slow read.
export function sumFloats(pointer: usize, count: i32): f32 {
  const streamBytes = <usize>(count / 64) << 5;
  let p0 = pointer;
  let p1 = p0 + streamBytes;
  let p2 = p1 + streamBytes;
  let p3 = p2 + streamBytes;
  let p4 = p3 + streamBytes;
  let p5 = p4 + streamBytes;
  let p6 = p5 + streamBytes;
  let p7 = p6 + streamBytes;
  const end = p1;
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let acc2 = f32x4.splat(0);
  let acc3 = f32x4.splat(0);
  for (; p0 < end; p0 += 32, p1 += 32, p2 += 32, p3 += 32, p4 += 32, p5 += 32, p6 += 32, p7 += 32) {
    acc0 = f32x4.add(acc0, f32x4.add(v128.load(p0), v128.load(p0, 16)));
    acc1 = f32x4.add(acc1, f32x4.add(v128.load(p1), v128.load(p1, 16)));
    acc2 = f32x4.add(acc2, f32x4.add(v128.load(p2), v128.load(p2, 16)));
    acc3 = f32x4.add(acc3, f32x4.add(v128.load(p3), v128.load(p3, 16)));
    acc0 = f32x4.add(acc0, f32x4.add(v128.load(p4), v128.load(p4, 16)));
    acc1 = f32x4.add(acc1, f32x4.add(v128.load(p5), v128.load(p5, 16)));
    acc2 = f32x4.add(acc2, f32x4.add(v128.load(p6), v128.load(p6, 16)));
    acc3 = f32x4.add(acc3, f32x4.add(v128.load(p7), v128.load(p7, 16)));
  }
  let sum = horizontalSum(f32x4.add(f32x4.add(acc0, acc1), f32x4.add(acc2, acc3)));
  const tail = pointer + (<usize>count << 2);
  for (let p = p7; p < tail; p += 4) sum += load<f32>(p);
  return sum;
}
