// Distance kernels over rows of float32 vectors in linear memory.
//
// Memory contract: every pointer is a byte offset into the imported memory, which the host manages.
// Row r of a block starts at `rows + r * stride * 4`; only its first `dim` floats are read. Scores are
// "lower is better": squared L2 distance for METRIC_L2 (from stored row norms, so it carries float32
// rounding of order 1e-7 times the squared norms), the negated inner product for METRIC_IP.
// Ties are broken by the lower row index, so the selected set does not depend on scan order or on how
// the rows are split into shards.

export const METRIC_L2: i32 = 0;
export const METRIC_IP: i32 = 1;

// First byte that the host may use; everything below holds this module's static data.
export function heapBase(): usize {
  return __heap_base;
}

// @ts-ignore: decorator
@inline
function horizontalSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// Inner product of `dim` floats at `a` and at `b`. Pointer increments and four accumulators keep the
// loop short and hide the latency of the dependent adds; the scalar tail covers dimensions that are
// not a multiple of 4.
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

// Score of one row. Under METRIC_L2 it uses ||x - q||^2 = ||x||^2 - 2 x.q + ||q||^2 with the row's
// stored squared norm, which costs one multiply and one add per component instead of three operations.
// @ts-ignore: decorator
@inline
function score(metric: i32, row: usize, query: usize, dim: i32, rowNorm: f32, queryNorm: f32): f32 {
  const dot = innerProduct(row, query, dim);
  return metric == METRIC_L2 ? rowNorm - 2 * dot + queryNorm : -dot;
}

// Squared norm of `dim` floats at `a`.
export function squaredNorm(a: usize, dim: i32): f32 {
  return innerProduct(a, a, dim);
}

// Writes the score of every row in [first, end) to `out` (one float per row, starting at out[0]).
// `norms` holds one float per row, the squared norm, and is read under METRIC_L2 only.
export function scores(rows: usize, norms: usize, first: i32, end: i32, stride: i32, dim: i32, query: usize, metric: i32, out: usize): void {
  const rowBytes = <usize>stride << 2;
  const queryNorm = squaredNorm(query, dim);
  let row = rows + <usize>first * rowBytes;
  let target = out;
  for (let r = first; r < end; r++) {
    const rowNorm = metric == METRIC_L2 ? load<f32>(norms + (<usize>r << 2)) : 0;
    store<f32>(target, score(metric, row, query, dim, rowNorm, queryNorm));
    row += rowBytes;
    target += 4;
  }
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

// Offers one candidate to the heap. With `groups` set, the heap keeps at most one entry per group
// (the best one), so that k results name k different persons.
// @ts-ignore: decorator
@inline
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

// Selects the k best rows of [first, end) whose score is at most `maxScore`, writes them best first to
// outScore/outRow (k floats and k ints), and returns how many it wrote. `norms` is as for `scores`.
// `groups` (0 for none) is one i32 per row: at most one row per group is returned.
// `tags` (0 for none) is one byte per row: a row is skipped unless `tags[r] & tagMask` is non-zero.
export function topK(
  rows: usize, norms: usize, first: i32, end: i32, stride: i32, dim: i32, query: usize, metric: i32,
  k: i32, maxScore: f32, groups: usize, tags: usize, tagMask: i32,
  outScore: usize, outRow: usize,
): i32 {
  const rowBytes = <usize>stride << 2;
  let size: i32 = 0;
  let row = rows + <usize>first * rowBytes;

  if (metric == METRIC_L2) {
    const queryNorm = squaredNorm(query, dim);
    for (let r = first; r < end; r++, row += rowBytes) {
      if (tags != 0 && (<i32>load<u8>(tags + <usize>r) & tagMask) == 0) continue;
      const s = load<f32>(norms + (<usize>r << 2)) - 2 * innerProduct(row, query, dim) + queryNorm;
      if (s > maxScore) continue;
      size = offer(outScore, outRow, size, k, s, r, groups);
    }
  } else {
    for (let r = first; r < end; r++, row += rowBytes) {
      if (tags != 0 && (<i32>load<u8>(tags + <usize>r) & tagMask) == 0) continue;
      const s = -innerProduct(row, query, dim);
      if (s > maxScore) continue;
      size = offer(outScore, outRow, size, k, s, r, groups);
    }
  }

  // Heap sort in place: the worst entry moves to the back each round, leaving the array best first.
  for (let last = size - 1; last > 0; last--) {
    const lastOffset = <usize>last << 2;
    const worstScore = load<f32>(outScore);
    const worstRow = load<i32>(outRow);
    store<f32>(outScore, load<f32>(outScore + lastOffset));
    store<i32>(outRow, load<i32>(outRow + lastOffset));
    store<f32>(outScore + lastOffset, worstScore);
    store<i32>(outRow + lastOffset, worstRow);
    siftDown(outScore, outRow, last, 0);
  }
  return size;
}

// Sums `count` floats at `pointer`: the cost of merely reading the bytes, as a floor for the search.
export function sumFloats(pointer: usize, count: i32): f32 {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let acc2 = f32x4.splat(0);
  let acc3 = f32x4.splat(0);
  const end16 = pointer + (<usize>(count & ~15) << 2);
  for (; pointer < end16; pointer += 64) {
    acc0 = f32x4.add(acc0, v128.load(pointer));
    acc1 = f32x4.add(acc1, v128.load(pointer, 16));
    acc2 = f32x4.add(acc2, v128.load(pointer, 32));
    acc3 = f32x4.add(acc3, v128.load(pointer, 48));
  }
  let sum = horizontalSum(f32x4.add(f32x4.add(acc0, acc1), f32x4.add(acc2, acc3)));
  const end = end16 + (<usize>(count & 15) << 2);
  for (; pointer < end; pointer += 4) sum += load<f32>(pointer);
  return sum;
}
