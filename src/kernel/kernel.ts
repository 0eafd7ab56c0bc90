import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ErrorCodes, StorageError } from '../errors.js';
import { packageRoot } from '../package-root.js';

/** Exports of `assembly/index.ts`; pointers are byte offsets into the imported memory. */
export interface KernelExports {
  heapBase(): number;
  topK(
    rows: number, norms: number, first: number, end: number, stride: number, dim: number, query: number, metric: number,
    k: number, maxScore: number, groups: number, tags: number, tagMask: number,
    outScore: number, outRow: number,
  ): number;
  scores(rows: number, norms: number, first: number, end: number, stride: number, dim: number, query: number, metric: number, out: number): void;
  squaredL2(a: number, b: number, dim: number): number;
  squaredNorm(a: number, dim: number): number;
  sumFloats(pointer: number, count: number): number;
}

export const METRIC_L2 = 0;
export const METRIC_IP = 1;

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
  return compiled;
}

/** Creates a shared memory of `pages` pages that can grow to the kernel's limit. */
export function createKernelMemory(pages: number): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: pages, maximum: MAXIMUM_PAGES, shared: true });
}

/** Instantiates the kernel over `memory`; several instances (one per thread) may share one memory. */
export function instantiateKernel(memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(kernelModule(), { env: { memory, abort: kernelAbort } });
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
