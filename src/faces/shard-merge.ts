/** One shard's results for one query: (score, row) pairs best first, as the kernel returns them. */
export interface ShardCandidates {
  scores: Float32Array;
  rows: Int32Array;
}

/**
 * Merges the shards' results of one query into the k best (score, row) pairs, best first, ties to
 * the lower row: the order the kernel uses. With `groupOf`, only the best row of each group is kept.
 *
 * The result equals a single scan over all shards. Each shard returns its k best rows (its k best
 * groups, each by its best row), so the union contains every row of the overall top k. With groups, a
 * group whose best row lies in a shard where k other groups beat it is beaten by those same k groups
 * overall, so the rows it contributes from other shards sort after k distinct groups and are dropped.
 */
export function mergeShards(shards: readonly ShardCandidates[], k: number, groupOf?: (row: number) => number): { scores: Float32Array; rows: Int32Array } {
  const order: { score: number; row: number }[] = [];
  for (const shard of shards) {
    for (let i = 0; i < shard.rows.length; i++) order.push({ score: shard.scores[i]!, row: shard.rows[i]! });
  }
  order.sort((a, b) => a.score - b.score || a.row - b.row);

  const scores = new Float32Array(Math.min(k, order.length));
  const rows = new Int32Array(scores.length);
  const seenGroups = new Set<number>();
  let taken = 0;
  for (const candidate of order) {
    if (taken === scores.length) break;
    if (groupOf !== undefined) {
      const group = groupOf(candidate.row);
      if (seenGroups.has(group)) continue;
      seenGroups.add(group);
    }
    scores[taken] = candidate.score;
    rows[taken] = candidate.row;
    taken += 1;
  }
  return { scores: scores.subarray(0, taken), rows: rows.subarray(0, taken) };
}
