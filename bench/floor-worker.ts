// The second thread of the two-thread read floor: each time the benchmark raises the request
// counter, it sums its half of the rows with the kernel's sumFloats and publishes the counter back.
// Atomics instead of messages keep the hand-off as cheap as a thread switch can be.
import { workerData } from 'node:worker_threads';

import { instantiateKernel } from '../src/kernel/kernel.js';

export interface FloorWorkerData {
  memory: WebAssembly.Memory;
  kernel: WebAssembly.Module;
  /** Int32Array over 8 bytes: [0] the request counter (-1 ends the worker), [1] the last request done. */
  control: SharedArrayBuffer;
  pointer: number;
  count: number;
}

const { memory, kernel: module, control, pointer, count } = workerData as FloorWorkerData;
const kernel = instantiateKernel(memory, module);
const counters = new Int32Array(control);

let seen = 0;
for (;;) {
  Atomics.wait(counters, 0, seen);
  seen = Atomics.load(counters, 0);
  if (seen < 0) break;
  kernel.sumFloats(pointer, count);
  Atomics.store(counters, 1, seen);
  Atomics.notify(counters, 1);
}
