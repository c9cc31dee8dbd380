/**
 * A WebAssembly kernel that runs on a copy of a problem in a memory of its own, kept for the
 * thread's later problems: LinearSVC's dual passes (svc-dual.wat) and LogisticRegression's
 * row-wise loss/gradient (logistic-rows.wat). First writes to fresh memory cost ~4 ms per MB
 * on this VM and tune fits hundreds of small models per fold worker, so the memory is made
 * once per thread (module state is per isolate), grown to the largest problem so far
 * (WebAssembly memories do not shrink) and overwritten by each problem after it.
 */

/** The part of the WebAssembly global the models use (the project's TypeScript lib has no WebAssembly types). */
export interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: {
    /** A fixed-size shared memory (threads' arenas: lbfgs-simd.ts, binary-logistic-kernel.ts). */
    new (descriptor: { initial: number; maximum: number; shared: true }): { buffer: SharedArrayBuffer };
    /** A growable memory of one thread (threadKernel). */
    new (descriptor: { initial: number }): { buffer: ArrayBuffer; grow(pages: number): number };
  };
}

/** The WebAssembly global, or undefined where there is none (the callers then run their JavaScript passes). */
export const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** The module in `base64` (wat2wasm's output), compiled on the returned function's first call; null without WebAssembly or when it does not compile. */
export function lazyWasmModule(base64: string): () => object | null {
  let compiled: object | null | undefined;
  return () => {
    if (compiled === undefined) {
      try {
        compiled = wasmApi ? new wasmApi.Module(Buffer.from(base64, "base64")) : null;
      } catch {
        compiled = null;
      }
    }
    return compiled;
  };
}

/** Up to this size a problem's copy lives in a kernel's memory; a bigger one is left to the JavaScript passes (no second copy of X). */
export const KERNEL_MAX_BYTES = 32 << 20;

/** Views laid one after another from byte 0 of a kernel's memory: take the f64 ones first (8-byte aligned), then the i32 ones. */
export interface KernelLayout {
  f64(length: number): Float64Array;
  i32(length: number): Int32Array;
}

export interface ThreadKernel<K> {
  /** The instance's exports. */
  readonly kernel: K;
  /** Grows the memory to hold `bytes` (when it is smaller) and returns a layout over it from byte 0. */
  layout(bytes: number): KernelLayout;
}

/**
 * The thread's instance of the module in `base64` (imports: `env.memory`, made here, plus
 * `env` functions), made on the returned function's first call; null without WebAssembly or
 * when the module does not instantiate (the callers then run their JavaScript passes).
 */
export function threadKernel<K>(base64: string, envFunctions: Record<string, (x: number) => number> = {}): () => ThreadKernel<K> | null {
  const module = lazyWasmModule(base64);
  let made: ThreadKernel<K> | null | undefined;
  return () => {
    if (made !== undefined) return made;
    try {
      const mod = module();
      if (wasmApi === undefined || mod === null) throw new Error("no WebAssembly");
      const memory = new wasmApi.Memory({ initial: 1 });
      const instance = new wasmApi.Instance(mod, { env: { memory, ...envFunctions } });
      made = {
        kernel: instance.exports as K,
        layout(bytes: number): KernelLayout {
          const have = memory.buffer.byteLength;
          if (have < bytes) memory.grow(Math.ceil((bytes - have) / 65536));
          const buf = memory.buffer;
          let at = 0;
          return {
            f64(length: number): Float64Array {
              const v = new Float64Array(buf, at, length);
              at += 8 * length;
              return v;
            },
            i32(length: number): Int32Array {
              const v = new Int32Array(buf, at, length);
              at += 4 * length;
              return v;
            },
          };
        },
      };
    } catch {
      made = null;
    }
    return made;
  };
}
