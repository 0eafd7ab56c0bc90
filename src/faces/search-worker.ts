// The task function of the search workers, run by piscina in each worker thread. It scans one shard
// of an index in that index's shared memory with its own instance of the kernel.
import { workerData } from 'node:worker_threads';

import { STATE_BYTES, instantiateKernel, type KernelExports } from '../kernel/kernel.js';
import { shardResultBytes, shardResultViews, type SearchWorkerData, type ShardResult, type ShardTask } from './search-messages.js';

const { kernel: kernelModule, maxInstances } = workerData as SearchWorkerData;

// Map iteration order is insertion order, so re-inserting on use keeps the least recently used first.
// NOTE: an instance keeps its index memory alive, so a worker holds on to up to maxInstances index
// memories after their indexes are dropped, until it is evicted or the pool closes. FaceDatabase
// keeps its indexes as long as its storage, and closing the storage closes the pool.
const instances = new Map<number, KernelExports>();

function kernelFor(task: ShardTask): KernelExports {
  const cached = instances.get(task.memoryId);
  if (cached !== undefined) {
    instances.delete(task.memoryId);
    instances.set(task.memoryId, cached);
    return cached;
  }

  const kernel = instantiateKernel(task.memory, kernelModule);
  instances.set(task.memoryId, kernel);
  if (instances.size > maxInstances) instances.delete(instances.keys().next().value!);
  return kernel;
}

export default function scanShard(task: ShardTask): ShardResult {
  const kernel = kernelFor(task);
  kernel.topKBatch(
    task.rows, task.norms, task.first, task.end, task.stride, task.queries, task.queryCount, task.metric,
    task.k, task.maxScore, task.groups, task.tags, task.tagMask, task.outScore, task.outRow, task.state,
  );

  // The memory may have grown since the task was posted, and views made now cover its current length.
  const memory = task.memory.buffer;
  const buffer = new ArrayBuffer(shardResultBytes(task.queryCount, task.k));
  const result = shardResultViews(buffer, task.queryCount, task.k);
  const length = task.queryCount * task.k;
  result.scores.set(new Float32Array(memory, task.outScore, length));
  result.rows.set(new Int32Array(memory, task.outRow, length));
  const int32 = new Int32Array(memory);
  for (let j = 0; j < task.queryCount; j++) result.counts[j] = int32[(task.state + j * STATE_BYTES) >> 2]!;
  return { buffer };
}
