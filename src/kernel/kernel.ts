import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ErrorCodes, StorageError } from '../errors.js';
import { packageRoot } from '../package-root.js';

/** Exports of `assembly/index.ts`; pointers are byte offsets into the imported memory. */
export interface KernelExports {
  heapBase(): number;
  topK(
    rows: number, norms: number, first: number, end: number, stride: number, query: number, metric: number,
    k: number, maxScore: number, groups: number, tags: number, tagMask: number,
    outScore: number, outRow: number, state: number,
  ): number;
  topKBatch(
    rows: number, norms: number, first: number, end: number, stride: number, queries: number, queryCount: number,
    metric: number, k: number, maxScore: number, groups: number, tags: number, tagMask: number,
    outScore: number, outRow: number, state: number,
  ): void;
  squaredL2(a: number, b: number, dim: number): number;
  squaredNorm(a: number, dim: number): number;
  squaredNorms(rows: number, count: number, stride: number, out: number): void;
  firstNonFinite(pointer: number, count: number): number;
  sumFloats(pointer: number, count: number): number;
}

export const METRIC_L2 = 0;
export const METRIC_IP = 1;

/** Bytes of per-query search state that `topKBatch` keeps at its `state` pointer. */
export const STATE_BYTES = 16;

/** 64 KiB, the WebAssembly page size. */
export const PAGE_BYTES = 65536;

/** The kernel is built with a 4 GiB (65,536 page) shared memory limit, the most wasm32 can address. */
export const MAXIMUM_PAGES = 65536;

let compiled: WebAssembly.Module | undefined;
let heapBase: number | undefined;

/** Returns the path of the compiled kernel that `npm run build` writes. */
export function kernelPath(): string {
  return join(packageRoot(), 'build', 'porchlight.wasm');
}

/** Compiles the kernel once per thread; instances share the compiled code. */
export function kernelModule(): WebAssembly.Module {
  if (compiled !== undefined) return compiled;

  const path = kernelPath();
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new StorageError(ErrorCodes.KERNEL_UNAVAILABLE, `The search kernel ${path} could not be read; run "npm run build" to compile it.`, { cause: error, details: { path } });
  }
  compiled = new WebAssembly.Module(bytes);
  warmUp(compiled);
  return compiled;
}

/** Rows of 128 floats that the warm-up scans: 512 KiB, with room behind them for the rest. */
const WARM_UP_ROWS = 1024;
const WARM_UP_DIMENSION = 128;
const WARM_UP_CALLS = 8;

/**
 * Runs the search functions a few times on scratch data. V8 (11.3, in Node.js 20) first runs wasm
 * code compiled by its baseline compiler, Liftoff. It recompiles a function with its optimizing
 * compiler only once that function has used up a budget of executed code, and a call that is running
 * then finishes in baseline code. Without a warm-up, the first large searches of a process (a batch
 * over a million rows) would run at baseline speed from start to end. The optimized code belongs to
 * the compiled module, so workers that receive this module use it too.
 */
function warmUp(module: WebAssembly.Module): void {
  const rowBytes = WARM_UP_DIMENSION * 4;
  const rows = 0;
  const norms = WARM_UP_ROWS * rowBytes;
  const queries = norms + WARM_UP_ROWS * 4;
  const out = queries + 3 * rowBytes;
  const state = out + 3 * 10 * 8;
  const memory = createKernelMemory(Math.ceil((state + 3 * STATE_BYTES) / PAGE_BYTES));
  const kernel = instantiateKernel(memory, module);
  const floats = new Float32Array(memory.buffer, 0, queries / 4 + 3 * WARM_UP_DIMENSION);
  for (let i = 0; i < floats.length; i++) floats[i] = ((i * 7919) % 1000) / 1000;

  for (let call = 0; call < WARM_UP_CALLS; call++) {
    for (let queryCount = 1; queryCount <= 3; queryCount++) {
      kernel.topKBatch(rows, norms, 0, WARM_UP_ROWS, WARM_UP_DIMENSION, queries, queryCount, METRIC_L2, 10, Number.POSITIVE_INFINITY, 0, 0, 0, out, out + 3 * 10 * 4, state);
    }
    kernel.sumFloats(rows, WARM_UP_ROWS * WARM_UP_DIMENSION);
    kernel.firstNonFinite(rows, WARM_UP_ROWS * WARM_UP_DIMENSION);
    for (let row = 0; row < WARM_UP_ROWS; row++) kernel.squaredNorm(row * rowBytes, WARM_UP_DIMENSION);
  }
}

/** Creates a shared memory of `pages` pages that can grow to the kernel's limit. */
export function createKernelMemory(pages: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: pages, maximum: MAXIMUM_PAGES, shared: true });
}

/**
 * Instantiates the kernel over `memory`; several instances (one per thread) may share one memory.
 * Worker threads pass the module that the main thread compiled and posted to them.
 */
export function instantiateKernel(memory: WebAssembly.Memory, module: WebAssembly.Module = kernelModule()): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory, abort: kernelAbort } });
  return instance.exports as unknown as KernelExports;
}

function kernelAbort(): never {
  throw new StorageError(ErrorCodes.KERNEL_UNAVAILABLE, 'The search kernel aborted; this is a bug in Porchlight, please report it.');
}

/** Returns the first byte past the kernel's static data: hosts lay out their buffers from there. */
export function kernelHeapBase(): number {
  heapBase ??= instantiateKernel(createKernelMemory(1)).heapBase();
  return heapBase;
}
