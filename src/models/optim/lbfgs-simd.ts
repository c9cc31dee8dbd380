/**
 * The two-loop recursion's vector kernels (LbfgsMemory.direction) in WebAssembly with 128-bit
 * SIMD: two f64 lanes per instruction, float32 history values widened in-register. V8 does not
 * vectorise the plain-JS loops, and on big problems (10^5 documents: 0.5 M parameters, 20
 * history vectors) these loops were about half of the fit's main-thread time.
 *
 * The module is compiled from lbfgs-simd.wat beside this file (regenerate the bytes with
 * wabt's wat2wasm --enable-simd --enable-threads, base64). It works on one WebAssembly.Memory
 * that holds the history and the direction's working vectors (LbfgsArena); the kernels take
 * byte offsets. The memory is shared (a SharedArrayBuffer), so another thread can fault its
 * pages in ahead of use (LogisticRegression's gradient worker, split-objective.ts).
 */

import { lazyWasmModule, wasmApi } from "../wasm-kernel.js";

const WASM_BASE64 =
  "AGFzbQEAAAABLQVgBH9/f38BfGAFfH9/f38BfGAJf39/f39/f39/AGADf39/AXxgBX9/fH9/AAISAQNlbnYGbWVtb3J5AgMBgIAEAwcGAAEBAgMEBz4GCW5lZ2F0ZURvdAAAB2F4cHlEb3QAAQhzY2FsZURvdAACCHB1c2hQYWlyAAMDZG90AAQIYXhweUludG8ABQqRCwarAQQBfwJ7AXwBfyADQX5xIQgCQANAIAQgCE8NASAAIARBA3Rq/QAEAP3tASEGIAEgBEEDdGogBv0LBAAgBSAGIAIgBEECdGr9XQMA/V/98gH98AEhBSAEQQJqIQQMAAsLIAX9IQAgBf0hAaAhByAEIANJBEAgASAEQQN0aiAAIARBA3RqKwMAmjkDACAHIAEgBEEDdGorAwAgAiAEQQJ0aioCALuioCEHCyAHC8oCBAF/A3sBfAN/IARBfnEhCiAA/RQhCCADQQBIBEACQANAIAUgCk8NASACIAVBA3RqIQsgCyAL/QAEACAIIAEgBUECdGr9XQMA/V/98gH98AH9CwQAIAVBAmohBQwACwsgBSAESQRAIAIgBUEDdGohCyALIAsrAwAgACABIAVBAnRqKgIAu6KgOQMAC0QAAAAAAAAAAA8LAkADQCAFIApPDQEgAiAFQQN0aiELIAVBAnQhDCAL/QAEACAIIAEgDGr9XQMA/V/98gH98AEhByALIAf9CwQAIAYgByADIAxq/V0DAP1f/fIB/fABIQYgBUECaiEFDAALCyAG/SEAIAb9IQGgIQkgBSAESQRAIAIgBUEDdGohCyALIAsrAwAgACABIAVBAnRqKgIAu6KgOQMAIAkgCysDACADIAVBAnRqKgIAu6KgIQkLIAkL7AEGAX8DewF8An8BewF8IARBfnEhCiAA/RQhCAJAA0AgBSAKTw0BIAIgBUEDdGohCyABQQBIBEAgCCEMBSAIIAEgBUEDdGr9AAQA/fIBIQwLIAv9AAQAIAz98gEhByALIAf9CwQAIAYgByADIAVBAnRq/V0DAP1f/fIB/fABIQYgBUECaiEFDAALCyAG/SEAIAb9IQGgIQkgBSAESQRAIAIgBUEDdGohCyABQQBIBEAgACENBSAAIAEgBUEDdGorAwCiIQ0LIAsgCysDACANojkDACAJIAsrAwAgAyAFQQJ0aioCALuioCEJCyAJC6YDAwR/BnsFfCAHQX5xIQoCQANAIAkgCk8NASAJQQN0IQsgCUECdCEMIAAgC2r9AAQAIAEgC2r9AAQA/fEB/V4hDSACIAtq/QAEACADIAtq/QAEAP3xAf1eIQ4gBCAMaiAN/VsDAAAgBSAMaiAO/VsDAAAgDf1fIQ0gDv1fIQ4gECANIA798gH98AEhECARIA4gDv3yAf3wASERIAZBAEgEQCAOIQ8FIA4gBiALav0ABAD98gEhDwsgEiAOIA/98gH98AEhEiAJQQJqIQkMAAsLIBD9IQAgEP0hAaAhFSAR/SEAIBH9IQGgIRQgEv0hACAS/SEBoCEWIAkgB0kEQCAJQQN0IQsgCUECdCEMIAQgDGogACALaisDACABIAtqKwMAobY4AgAgBSAMaiACIAtqKwMAIAMgC2orAwChtjgCACAEIAxqKgIAuyETIAUgDGoqAgC7IRcgFSATIBeioCEVIBQgFyAXoqAhFCAGQQBIBEAgFiAXIBeioCEWBSAWIBcgFyAGIAtqKwMAoqKgIRYLCyAIIBU5AwAgCCAUOQMIIAggFjkDEAt+BAJ/AXsBfAF/IAJBfnEhBAJAA0AgAyAETw0BIANBA3QhByAFIAAgB2r9AAQAIAEgB2r9AAQA/fIB/fABIQUgA0ECaiEDDAALCyAF/SEAIAX9IQGgIQYgAyACSQRAIANBA3QhByAGIAAgB2orAwAgASAHaisDAKKgIQYLIAYLgAEDAn8BewF/IARBfnEhBiAC/RQhBwJAA0AgBSAGTw0BIAVBA3QhCCAAIAhqIAEgCGr9AAQAIAcgAyAIav0ABAD98gH98AH9CwQAIAVBAmohBQwACwsgBSAESQRAIAVBA3QhCCAAIAhqIAEgCGorAwAgAiADIAhqKwMAoqA5AwALCw==";

interface Exports {
  /** out = −g; returns Σ v·out. */
  negateDot(g: number, out: number, v: number, n: number): number;
  /** out += a·u; returns Σ v·out on the updated values (0 when v < 0). */
  axpyDot(a: number, u: number, out: number, v: number, n: number): number;
  /** out *= γ·M (γ alone when m < 0); returns Σ v·out on the scaled values. */
  scaleDot(gamma: number, m: number, out: number, v: number, n: number): number;
  /** s = f32(xNew − xOld), y = f32(gNew − gOld); Σ s·y, Σ y·y, Σ y·M·y (of the rounded values) as three f64 at `sums`. */
  pushPair(xNew: number, xOld: number, gNew: number, gOld: number, s: number, y: number, m: number, n: number, sums: number): void;
  /** Σ a·b. */
  dot(a: number, b: number, n: number): number;
  /** out = x + a·d. */
  axpyInto(out: number, x: number, a: number, d: number, n: number): void;
}

/** The kernels' module, compiled on first use (null without WebAssembly SIMD). */
const module = lazyWasmModule(WASM_BASE64);

const PAGE = 65536;
/** memory32's limit. */
const MAX_BYTES = 65536 * PAGE;

/**
 * The L-BFGS history (m pairs of float32 vectors of n) and the direction's g, out and M
 * (float64) in one WebAssembly memory, with the kernels bound to it.
 */
export interface LbfgsArena {
  /** The history and working vectors; the arena's bytes are [0, bytes). */
  readonly buffer: SharedArrayBuffer;
  readonly bytes: number;
  /** The n and m it was made for. */
  readonly n: number;
  readonly m: number;
  readonly kernels: Exports;
  /** Scratch for pushPair's three sums. */
  readonly sums: Float64Array;
  /** Two iterate buffers (an optimiser that keeps x here lets push() and the line search run in SIMD). */
  readonly x: [Float64Array, Float64Array];
  readonly s: Float32Array[];
  readonly y: Float32Array[];
  /** Two gradient buffers (an optimiser that keeps its gradients here spares direction() a copy; else g[0] receives the copy). */
  readonly g: [Float64Array, Float64Array];
  readonly out: Float64Array;
  /** The preconditioner (null without one). */
  readonly M: Float64Array | null;
}

/** A WebAssembly memory with the kernels instantiated on it: what an arena's views are laid over. */
interface ArenaMemory {
  buffer: SharedArrayBuffer;
  /** Its size, the largest arena it can hold. */
  capacity: number;
  kernels: Exports;
}

/** The bytes of an arena for n parameters and m pairs (and a preconditioner or not); its vectors start 16-byte aligned. */
function arenaBytes(n: number, m: number, withPrecond: boolean): number {
  const align = (b: number): number => Math.ceil(b / 16) * 16;
  return 32 + align(n * 8) * (withPrecond ? 6 : 5) + align(n * 4) * 2 * m;
}

function newArenaMemory(bytes: number): ArenaMemory | null {
  const mod = module();
  if (mod === null || wasmApi === undefined || bytes > MAX_BYTES - PAGE) return null;
  try {
    const pages = Math.max(1, Math.ceil(bytes / PAGE));
    const memory = new wasmApi.Memory({ initial: pages, maximum: pages, shared: true });
    const kernels = new wasmApi.Instance(mod, { env: { memory } }).exports as Exports;
    return { buffer: memory.buffer, capacity: pages * PAGE, kernels };
  } catch {
    return null;
  }
}

/** The arena's views for n parameters and m pairs over `mem` (which holds at least arenaBytes(n, m, withPrecond)). */
function layArena(mem: ArenaMemory, n: number, m: number, withPrecond: boolean): LbfgsArena {
  const align = (b: number): number => Math.ceil(b / 16) * 16;
  const f64 = align(n * 8);
  const f32 = align(n * 4);
  const buf = mem.buffer;
  const sums = new Float64Array(buf, 0, 4);
  let at = 32;
  const x: [Float64Array, Float64Array] = [new Float64Array(buf, at, n), new Float64Array(buf, at + f64, n)];
  at += 2 * f64;
  const g: [Float64Array, Float64Array] = [new Float64Array(buf, at, n), new Float64Array(buf, at + f64, n)];
  at += 2 * f64;
  const out = new Float64Array(buf, at, n);
  at += f64;
  let M: Float64Array | null = null;
  if (withPrecond) {
    M = new Float64Array(buf, at, n);
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
  return { buffer: buf, bytes: arenaBytes(n, m, withPrecond), n, m, kernels: mem.kernels, sums, x, s, y, g, out, M };
}

/**
 * An arena for n parameters and m pairs (with a zeroed slot for the preconditioner M when
 * `withPrecond`: the caller writes it), or null when WebAssembly SIMD is unavailable or the
 * arena would not fit in 4 GiB.
 */
export function createLbfgsArena(n: number, m: number, withPrecond: boolean): LbfgsArena | null {
  const mem = newArenaMemory(arenaBytes(n, m, withPrecond));
  return mem === null ? null : layArena(mem, n, m, withPrecond);
}

/**
 * Up to this size the memory of an arena given back (returnLbfgsArena) is kept for the next
 * borrowLbfgsArena on the thread; a bigger one is left to the garbage collector (at 10^6
 * documents an arena is ~300 MB, which must not outlive its fit).
 */
const SPARE_MAX_BYTES = 32 << 20;

/** The memory of the last arena given back on this thread (one per thread: module state is per isolate). */
let spare: ArenaMemory | null = null;
const memoryOf = new WeakMap<LbfgsArena, ArenaMemory>();

/**
 * An arena as createLbfgsArena makes it, laid over the memory of the last one given back on this
 * thread when that is big enough (its M slot zeroed; the other vectors are written before they
 * are read). Many small fits one after another (tune, cv: 3,000 texts, ~5 MB arenas) then fault
 * the pages in once: first writes to a fresh WebAssembly memory cost ~4 ms per MB here, more than
 * such a fit's own passes over the history. Give it back with returnLbfgsArena once nothing reads
 * it any more.
 */
export function borrowLbfgsArena(n: number, m: number, withPrecond: boolean): LbfgsArena | null {
  const bytes = arenaBytes(n, m, withPrecond);
  let mem = spare;
  if (mem !== null && mem.capacity >= bytes) spare = null;
  else mem = newArenaMemory(bytes);
  if (mem === null) return null;
  const arena = layArena(mem, n, m, withPrecond);
  arena.M?.fill(0);
  memoryOf.set(arena, mem);
  return arena;
}

/** Gives back an arena from borrowLbfgsArena: its memory serves the next borrow (the bigger of it and the current spare is kept, up to SPARE_MAX_BYTES). */
export function returnLbfgsArena(arena: LbfgsArena): void {
  const mem = memoryOf.get(arena);
  if (mem === undefined) return;
  memoryOf.delete(arena);
  if (mem.capacity <= SPARE_MAX_BYTES && (spare === null || spare.capacity < mem.capacity)) spare = mem;
}
