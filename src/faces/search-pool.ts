import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';

import { Piscina } from 'piscina';

import { ErrorCodes, SearchPoolError, StorageError, invalidArgument } from '../errors.js';
import { kernelModule } from '../kernel/kernel.js';
import { noopLogger, type Logger } from '../logger.js';
import { packageRoot } from '../package-root.js';
import type { SearchWorkerData, ShardResult, ShardTask } from './search-messages.js';

export interface SearchPoolOptions {
  /**
   * Worker threads that scan shards of an index beside the calling thread, which scans one shard
   * itself. 0 keeps every search in the calling thread. Default: the available parallelism minus one
   * (the calling thread), at most MAX_SEARCH_THREADS.
   */
  threads?: number;
  /**
   * Searches that may wait while another search runs on the workers; the next one is rejected with
   * SEARCH_QUEUE_FULL. 0 rejects every search that would have to wait. Default 64.
   */
  maxQueue?: number;
  /**
   * Smallest scan that is split across threads, in bytes of rows read (rows x padded dimension x 4,
   * times the number of queries). Smaller scans run in the calling thread, where they end before a
   * worker could return a result. Default 64 MiB, 128,000 rows of 128 floats for one query.
   */
  minParallelBytes?: number;
}

/** Most worker threads one pool may have; each index reserves one scratch slot per thread. */
export const MAX_SEARCH_THREADS = 16;

// NOTE: the default minParallelBytes comes from the crossover table of the "parallel" benchmark on a
// 2-core AMD EPYC shared with other jobs (bench/RESULTS.md), where one thread already used most of
// the memory bandwidth. An idle machine, or one with more bandwidth per core, gains from smaller splits.
export const SEARCH_POOL_DEFAULTS: Readonly<Required<Omit<SearchPoolOptions, 'threads'>>> = Object.freeze({
  maxQueue: 64,
  minParallelBytes: 64 * 1024 * 1024,
});

/** Kernel instances a worker keeps: one per index memory it has scanned, the oldest evicted first. */
const WORKER_INSTANCES = 64;

/** Runs one shard on a worker; `lane` (1 to threads) names the scratch slot the shard may use. */
export type ShardRunner = (lane: number, task: ShardTask) => Promise<ShardResult>;

/** One search: it runs shards through `runShard`, at most one per lane, and merges their results. */
export type SearchRound<T> = (runShard: ShardRunner, lanes: number) => Promise<T>;

interface QueuedRound {
  start(): void;
  fail(error: Error): void;
}

/**
 * A piscina pool of search workers shared by the indexes of one storage. Searches wait in a bounded
 * FIFO queue. Each runs as a round that has every worker to itself, so lane i of a round may use
 * scratch slot i of its index without a lock. A round ends when its shards have settled, even when
 * its caller stopped waiting (abort), so no two rounds write one slot at the same time.
 *
 * The workers start with the first round, not with the pool, so opening a storage that never
 * searches a large index costs no threads.
 */
export class SearchPool {
  readonly threads: number;
  readonly maxQueue: number;
  readonly minParallelBytes: number;

  readonly #logger: Logger;
  readonly #queue: QueuedRound[] = [];
  #piscina: Piscina<ShardTask, ShardResult> | undefined;
  #roundActive = false;
  #closed = false;

  constructor(options: SearchPoolOptions = {}, logger: Logger = noopLogger) {
    if (options === null || typeof options !== 'object') throw invalidArgument('options.searchPool must be an object.', {});
    const threads = options.threads ?? defaultThreads();
    const maxQueue = options.maxQueue ?? SEARCH_POOL_DEFAULTS.maxQueue;
    const minParallelBytes = options.minParallelBytes ?? SEARCH_POOL_DEFAULTS.minParallelBytes;
    if (!Number.isInteger(threads) || threads < 0 || threads > MAX_SEARCH_THREADS) {
      throw invalidArgument(`options.searchPool.threads must be an integer from 0 to ${MAX_SEARCH_THREADS}, got ${String(threads)}.`, { threads });
    }
    if (!Number.isInteger(maxQueue) || maxQueue < 0) {
      throw invalidArgument(`options.searchPool.maxQueue must be a non-negative integer, got ${String(maxQueue)}.`, { maxQueue });
    }
    if (typeof minParallelBytes !== 'number' || Number.isNaN(minParallelBytes) || minParallelBytes < 0) {
      throw invalidArgument(`options.searchPool.minParallelBytes must be a non-negative number, got ${String(minParallelBytes)}.`, { minParallelBytes });
    }

    this.threads = threads;
    this.maxQueue = maxQueue;
    this.minParallelBytes = minParallelBytes;
    this.#logger = logger;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Searches waiting for the workers. */
  get queueSize(): number {
    return this.#queue.length;
  }

  /** The worker threads, for diagnostics: none before the first split search and after `close`. */
  get workerThreads(): readonly Worker[] {
    return this.#piscina?.threads ?? [];
  }

  /** Whether a scan reading `bytes` bytes of rows should be split across the workers. */
  shouldSplit(bytes: number): boolean {
    return this.threads > 0 && !this.#closed && bytes >= this.minParallelBytes;
  }

  /**
   * Queues `round` and resolves to its result. Rejects with SEARCH_QUEUE_FULL when `maxQueue`
   * searches already wait, SEARCH_ABORTED when `signal` aborts first, SEARCH_WORKER_FAILED when a
   * worker fails or exits during the round, and CLOSED once the pool is closed.
   */
  run<T>(round: SearchRound<T>, signal?: AbortSignal): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(searchAborted(signal));
    // A search waits only while another round runs on the workers, because the queue is empty otherwise.
    if (this.#roundActive && this.#queue.length >= this.maxQueue) {
      return Promise.reject(new SearchPoolError(ErrorCodes.SEARCH_QUEUE_FULL, `The search queue is full: ${this.maxQueue} searches are waiting for the workers. Retry later, search less often, or raise searchPool.maxQueue.`, { details: { maxQueue: this.maxQueue } }));
    }

    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (action: () => void) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        action();
      };
      const entry: QueuedRound = {
        start: () => {
          this.#startRound(round).then(
            (value) => settle(() => resolve(value)),
            (error: unknown) => settle(() => reject(error)),
          );
        },
        fail: (error) => settle(() => reject(error)),
      };
      const onAbort = () => {
        const position = this.#queue.indexOf(entry);
        if (position !== -1) this.#queue.splice(position, 1);
        settle(() => reject(searchAborted(signal!)));
      };

      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(entry);
      this.#drain();
    });
  }

  /** Rejects the waiting searches, ends the workers and rejects the searches they were running. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;

    for (const entry of this.#queue.splice(0)) entry.fail(closedError());
    const piscina = this.#piscina;
    this.#piscina = undefined;
    if (piscina !== undefined) await piscina.destroy();
  }

  #drain(): void {
    while (!this.#roundActive && !this.#closed && this.#queue.length > 0) {
      this.#queue.shift()!.start();
    }
  }

  /** Runs a round with every lane, and frees the lanes once all of its shards have settled. */
  async #startRound<T>(round: SearchRound<T>): Promise<T> {
    this.#roundActive = true;
    const shards: Promise<unknown>[] = [];
    const runShard: ShardRunner = (lane, task) => {
      if (!Number.isInteger(lane) || lane < 1 || lane > this.threads) throw new RangeError(`lane must be from 1 to ${this.threads}, got ${lane}`);
      const shard = this.#runShard(task);
      shards.push(shard.catch(() => undefined));
      return shard;
    };

    try {
      return await round(runShard, this.threads);
    } finally {
      await Promise.all(shards);
      this.#roundActive = false;
      queueMicrotask(() => this.#drain());
    }
  }

  async #runShard(task: ShardTask): Promise<ShardResult> {
    if (this.#closed) throw closedError();
    try {
      return await this.#workers().run(task);
    } catch (error) {
      if (this.#closed) throw closedError();
      this.#logger.warn({ err: error }, 'search worker failed; the pool replaces it');
      throw new SearchPoolError(ErrorCodes.SEARCH_WORKER_FAILED, `A search worker failed during the search (${(error as Error)?.message ?? String(error)}); the pool has replaced it, so retrying the search may succeed.`, { cause: error });
    }
  }

  #workers(): Piscina<ShardTask, ShardResult> {
    if (this.#piscina !== undefined) return this.#piscina;

    const filename = searchWorkerPath();
    const workerData: SearchWorkerData = { kernel: kernelModule(), maxInstances: WORKER_INSTANCES };
    const piscina = new Piscina<ShardTask, ShardResult>({
      filename: pathToFileURL(filename).href,
      minThreads: this.threads,
      maxThreads: this.threads,
      workerData,
    });
    // A worker that dies between tasks is replaced by piscina; without a listener the 'error' event
    // would be thrown as an uncaught exception.
    piscina.on('error', (error: unknown) => this.#logger.error({ err: error }, 'search worker failed between searches'));
    this.#piscina = piscina;
    this.#logger.info({ threads: this.threads }, 'search workers started');
    return piscina;
  }
}

function defaultThreads(): number {
  return Math.min(MAX_SEARCH_THREADS, Math.max(0, availableParallelism() - 1));
}

/** The compiled worker script; vitest runs the sources, so it is resolved from the package root. */
function searchWorkerPath(): string {
  const path = join(packageRoot(), 'dist', 'src', 'faces', 'search-worker.js');
  if (!existsSync(path)) {
    throw new StorageError(ErrorCodes.KERNEL_UNAVAILABLE, `The search worker ${path} is missing; run "npm run build" to compile it.`, { details: { path } });
  }
  return path;
}

function closedError(): SearchPoolError {
  return new SearchPoolError(ErrorCodes.CLOSED, 'The search pool is closed, because its storage was closed; open the storage again to search.');
}

/** The error of a search that `signal` aborted. */
export function searchAborted(signal: AbortSignal): SearchPoolError {
  return new SearchPoolError(ErrorCodes.SEARCH_ABORTED, 'The search was aborted by its signal.', { cause: signal.reason });
}
