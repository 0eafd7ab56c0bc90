// The WebAssembly JS API that Node.js provides as a global. TypeScript declares it only in its DOM
// and web worker libraries, and @types/node 20 does not, so the parts Porchlight uses are declared here.
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }

  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
    grow(delta: number): number;
  }

  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }

  type Imports = Record<string, Record<string, unknown>>;

  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Record<string, unknown>;
  }
}
