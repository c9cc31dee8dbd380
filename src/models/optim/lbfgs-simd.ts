/**
 * The two-loop recursion's vector kernels (LbfgsMemory.direction) in WebAssembly with 128-bit
 * SIMD: two f64 lanes per instruction, float32 history values widened in-register. V8 does not
 * vectorise the plain-JS loops, and on big problems (10^5 documents: 0.5 M parameters, 20
 * history vectors) these loops were about half of the fit's main-thread time.
 *
 * The module is compiled from lbfgs-simd.wat beside this file (regenerate the bytes with
 * wabt's wat2wasm --enable-simd, base64). It works on one WebAssembly.Memory that holds the
 * history and the direction's working vectors (LbfgsArena); the kernels take byte offsets.
 */

const WASM_BASE64 = "AGFzbQEAAAABEgJgBH9/f38BfGAFfH9/f38BfAIPAQNlbnYGbWVtb3J5AgABAwQDAAEBByIDCW5lZ2F0ZURvdAAAB2F4cHlEb3QAAQhzY2FsZURvdAACCugFA6sBBAF/AnsBfAF/IANBfnEhCAJAA0AgBCAITw0BIAAgBEEDdGr9AAQA/e0BIQYgASAEQQN0aiAG/QsEACAFIAYgAiAEQQJ0av1dAwD9X/3yAf3wASEFIARBAmohBAwACwsgBf0hACAF/SEBoCEHIAQgA0kEQCABIARBA3RqIAAgBEEDdGorAwCaOQMAIAcgASAEQQN0aisDACACIARBAnRqKgIAu6KgIQcLIAcLygIEAX8DewF8A38gBEF+cSEKIAD9FCEIIANBAEgEQAJAA0AgBSAKTw0BIAIgBUEDdGohCyALIAv9AAQAIAggASAFQQJ0av1dAwD9X/3yAf3wAf0LBAAgBUECaiEFDAALCyAFIARJBEAgAiAFQQN0aiELIAsgCysDACAAIAEgBUECdGoqAgC7oqA5AwALRAAAAAAAAAAADwsCQANAIAUgCk8NASACIAVBA3RqIQsgBUECdCEMIAv9AAQAIAggASAMav1dAwD9X/3yAf3wASEHIAsgB/0LBAAgBiAHIAMgDGr9XQMA/V/98gH98AEhBiAFQQJqIQUMAAsLIAb9IQAgBv0hAaAhCSAFIARJBEAgAiAFQQN0aiELIAsgCysDACAAIAEgBUECdGoqAgC7oqA5AwAgCSALKwMAIAMgBUECdGoqAgC7oqAhCQsgCQvsAQYBfwN7AXwCfwF7AXwgBEF+cSEKIAD9FCEIAkADQCAFIApPDQEgAiAFQQN0aiELIAFBAEgEQCAIIQwFIAggASAFQQN0av0ABAD98gEhDAsgC/0ABAAgDP3yASEHIAsgB/0LBAAgBiAHIAMgBUECdGr9XQMA/V/98gH98AEhBiAFQQJqIQUMAAsLIAb9IQAgBv0hAaAhCSAFIARJBEAgAiAFQQN0aiELIAFBAEgEQCAAIQ0FIAAgASAFQQN0aisDAKIhDQsgCyALKwMAIA2iOQMAIAkgCysDACADIAVBAnRqKgIAu6KgIQkLIAkL";

interface Exports {
  /** out = −g; returns Σ v·out. */
  negateDot(g: number, out: number, v: number, n: number): number;
  /** out += a·u; returns Σ v·out on the updated values (0 when v < 0). */
  axpyDot(a: number, u: number, out: number, v: number, n: number): number;
  /** out *= γ·M (γ alone when m < 0); returns Σ v·out on the scaled values. */
  scaleDot(gamma: number, m: number, out: number, v: number, n: number): number;
}

/** The part of the WebAssembly global used here (the project's TypeScript lib has no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
}

const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
let compiled: object | null | undefined;

function module(): object | null {
  if (compiled === undefined) {
    try {
      compiled = wasmApi ? new wasmApi.Module(Buffer.from(WASM_BASE64, "base64")) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

const PAGE = 65536;
/** memory32's limit. */
const MAX_BYTES = 65536 * PAGE;

/**
 * The L-BFGS history (m pairs of float32 vectors of n) and the direction's g, out and M
 * (float64) in one WebAssembly memory, with the kernels bound to it.
 */
export interface LbfgsArena {
  readonly kernels: Exports;
  readonly s: Float32Array[];
  readonly y: Float32Array[];
  /** Two gradient buffers (an optimiser that keeps its gradients here spares direction() a copy; else g[0] receives the copy). */
  readonly g: [Float64Array, Float64Array];
  readonly out: Float64Array;
  /** The preconditioner's copy (null without one). */
  readonly M: Float64Array | null;
}

/** An arena for n parameters and m pairs, or null when WebAssembly SIMD is unavailable or the arena would not fit in 4 GiB. */
export function createLbfgsArena(n: number, m: number, precond: Float64Array | null): LbfgsArena | null {
  const mod = module();
  if (mod === null || wasmApi === undefined) return null;
  const align = (b: number): number => Math.ceil(b / 16) * 16;
  const f64 = align(n * 8);
  const f32 = align(n * 4);
  const bytes = f64 * (precond ? 4 : 3) + f32 * 2 * m;
  if (bytes > MAX_BYTES - PAGE) return null;
  let memory: { buffer: ArrayBuffer };
  let kernels: Exports;
  try {
    memory = new wasmApi.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE)) });
    kernels = new wasmApi.Instance(mod, { env: { memory } }).exports as Exports;
  } catch {
    return null;
  }
  const buf = memory.buffer;
  let at = 0;
  const g: [Float64Array, Float64Array] = [new Float64Array(buf, at, n), new Float64Array(buf, at + f64, n)];
  at += 2 * f64;
  const out = new Float64Array(buf, at, n);
  at += f64;
  let M: Float64Array | null = null;
  if (precond) {
    M = new Float64Array(buf, at, n);
    M.set(precond);
    at += f64;
  }
  const s: Float32Array[] = [];
  const y: Float32Array[] = [];
  for (let k = 0; k < m; k++) {
    s.push(new Float32Array(buf, at, n));
    at += f32;
    y.push(new Float32Array(buf, at, n));
    at += f32;
  }
  return { kernels, s, y, g, out, M };
}
