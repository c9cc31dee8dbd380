/**
 * The worker thread of ColumnBinaryObjective (split-objective.ts), started from source text
 * (`eval: true`) with no execArgv: the same code runs from dist/, from a bundle and under tsx,
 * and a worker that needs no module loader can boot while the main thread is blocked in a
 * synchronous fit (a worker importing a .ts file through tsx's loader cannot: it waits for the
 * blocked main thread).
 *
 * The worker owns a fixed range of X's columns [c0, c1) of a ColumnArena (the same shared
 * memory the main thread uses, and the same WebAssembly kernels when the arena has them).
 * Whenever the main thread bumps the request counter it runs one phase over its columns:
 * PHASE_SCORES adds their part of the scores (weights from the arena's x) into zWorker,
 * PHASE_GRADIENT writes their gradient entries from the residuals r. The handshake is Atomics only.
 *
 * While no request is pending, the worker first faults in the pages of the `prefault` regions
 * (memory the main thread will write soon: the arena's matrix while the main thread fills it,
 * the optimiser's history), a few pages at a time, checking for a request between them; only
 * the first control[CTRL_PREFAULT] regions (the main thread raises it and wakes the worker). A page
 * first written costs ~15 µs on the bench machine (~4 ms per MB, bench/core.ts's notes): on
 * this otherwise idle thread that cost leaves the main thread's path. Each page is touched with
 * an atomic add of 0, which never changes a value, so the main thread may be using the memory.
 */
import { columnGradient, columnScores, columnViews, countColumns, fillColumns, lossAndResiduals, type ColumnLayout } from "./binary-logistic-kernel.js";

/** Slots of the control Int32Array. */
export const CTRL_REQUEST = 0; // main: the number of the request it makes (STOP to quit)
export const CTRL_DONE = 1; // worker: the number of the last request it finished
export const CTRL_STATE = 2; // worker: STATE_*
export const CTRL_PREFAULT = 3; // main: how many of the prefault regions the worker may touch (it raises it)
export const STATE_BOOTING = 0;
export const STATE_READY = 1;
export const STATE_FAILED = 2;
export const STOP = -1;
export const PHASE_SCORES = 1;
export const PHASE_GRADIENT = 2;
export const PHASE_COUNT = 3;
export const PHASE_FILL = 4;
export const PHASE_RESIDUALS = 5;

export interface GradientWorkerData {
  buffer: SharedArrayBuffer;
  layout: ColumnLayout;
  /** The arena's shared WebAssembly.Memory and the kernels' module (null: plain-JS kernels). */
  memory: object | null;
  module: object | null;
  control: Int32Array;
  /**
   * [0] phase (in), [1] the first of the worker's columns (in; its range ends at the last
   * column), [2] intercept b, [3] 1/S (in), [4] loss and [5] Σ residuals of the worker's rows
   * (out), [6] the first of the worker's rows for PHASE_RESIDUALS (in; to the last row).
   */
  scalars: Float64Array;
  /** X by rows in shared memory when the worker helps build the arena (PHASE_COUNT, PHASE_FILL over rows [rowSplit, n)), else null. */
  csr: { indptr: Int32Array; indices: Int32Array; data: Float64Array } | null;
  rowSplit: number;
  /** Per-column counts of the worker's rows (PHASE_COUNT), then their next slots (PHASE_FILL). */
  count: Int32Array | null;
  /** Byte ranges of shared memory to fault in while idle, in this order, as far as control[CTRL_PREFAULT] allows (see above). */
  prefault: PrefaultRegion[];
  protocol: {
    request: number;
    done: number;
    state: number;
    prefault: number;
    ready: number;
    failed: number;
    stop: number;
    scores: number;
    gradient: number;
    count: number;
    fill: number;
    residuals: number;
  };
}

/** A byte range [start, end) of a SharedArrayBuffer. */
export interface PrefaultRegion {
  buffer: SharedArrayBuffer;
  start: number;
  end: number;
}

type Scores = typeof columnScores;
type Gradient = typeof columnGradient;
type Views = typeof columnViews;
type Count = typeof countColumns;
type Fill = typeof fillColumns;
type Residuals = typeof lossAndResiduals;
interface Wasm {
  scatter(colPtr: number, rowIdx: number, vals: number, x: number, z: number, c0: number, c1: number): void;
  gather(colPtr: number, rowIdx: number, vals: number, r: number, g: number, c0: number, c1: number): void;
}

/** The worker's loop. Self-contained (it is serialised with toString): it may use only its arguments and globals. */
function gradientWorkerMain(
  w: GradientWorkerData,
  scores: Scores,
  gradient: Gradient,
  views: Views,
  countColumns: Count,
  fillColumns: Fill,
  residuals: Residuals,
): void {
  const { control, scalars, layout: L, protocol: P } = w;
  const c1 = L.d;
  const V = views(w.buffer, L);
  let wasm: Wasm | null = null;
  try {
    if (w.module !== null && w.memory !== null) {
      const api = (globalThis as unknown as { WebAssembly: { Instance: new (m: object, i: object) => { exports: unknown } } }).WebAssembly;
      wasm = new api.Instance(w.module, { env: { memory: w.memory } }).exports as Wasm;
    }
  } catch {
    Atomics.store(control, P.state, P.failed);
    Atomics.notify(control, P.state);
    return;
  }
  Atomics.store(control, P.state, P.ready);
  Atomics.notify(control, P.state);
  let seen = 0;
  // Prefaulting: region `region`, next byte `at`; 16 pages (64 KB) between two checks for a request.
  const PAGE = 4096;
  const STRIDE = 16 * PAGE;
  let region = 0;
  let at = w.prefault.length > 0 ? w.prefault[0].start : 0;
  let words: Int32Array | null = null;
  for (;;) {
    if (region < Math.min(w.prefault.length, Atomics.load(control, P.prefault)) && Atomics.load(control, P.request) === seen) {
      const R = w.prefault[region];
      try {
        words ??= new Int32Array(R.buffer, 0, R.buffer.byteLength >> 2);
        const stop = Math.min(R.end, at + STRIDE, words.length * 4);
        for (let b = at - (at % PAGE); b < stop; b += PAGE) Atomics.add(words, b >> 2, 0);
        at = stop;
      } catch {
        at = R.end; // not worth failing for: the main thread faults these pages itself
      }
      if (at >= R.end || words === null || at >= words.length * 4) {
        region++;
        words = null;
        if (region < w.prefault.length) at = w.prefault[region].start;
      }
      continue;
    }
    Atomics.wait(control, P.request, seen);
    const request = Atomics.load(control, P.request);
    if (request === P.stop) break;
    if (request === seen) continue;
    seen = request;
    try {
      const c0 = scalars[1];
      const phase = scalars[0];
      if (phase === P.residuals) {
        const out = new Float64Array(1);
        scalars[4] = residuals(V.z, V.zWorker, scalars[2], V.ySign, V.sw, scalars[3], V.r, out, scalars[6], L.n);
        scalars[5] = out[0];
      } else if (phase === P.count || phase === P.fill) {
        const X = w.csr;
        if (X === null || w.count === null) throw new Error("no matrix to build from");
        if (phase === P.count) countColumns(X.indptr, X.indices, w.rowSplit, L.n, w.count);
        else {
          fillColumns(X.indptr, X.indices, X.data, w.rowSplit, L.n, w.count, V.X.rowIdx, V.X.vals);
          // Built: X by rows is not read again here (so a matrix the caller handed over can be freed).
          w.csr = null;
        }
      } else if (phase === P.scores) {
        V.zWorker.fill(0);
        if (wasm) wasm.scatter(L.colPtr, L.rowIdx, L.vals, L.x, L.zWorker, c0, c1);
        else scores(V.X.colPtr, V.X.rowIdx, V.X.vals, V.x, V.zWorker, c0, c1);
      } else if (wasm) wasm.gather(L.colPtr, L.rowIdx, L.vals, L.r, L.g + c0 * 8, c0, c1);
      else gradient(V.X.colPtr, V.X.rowIdx, V.X.vals, V.r, V.g, c0, c1);
    } catch {
      Atomics.store(control, P.state, P.failed);
    }
    Atomics.store(control, P.done, request);
    Atomics.notify(control, P.done);
  }
}

export const PROTOCOL: GradientWorkerData["protocol"] = {
  request: CTRL_REQUEST,
  done: CTRL_DONE,
  state: CTRL_STATE,
  prefault: CTRL_PREFAULT,
  ready: STATE_READY,
  failed: STATE_FAILED,
  stop: STOP,
  scores: PHASE_SCORES,
  gradient: PHASE_GRADIENT,
  count: PHASE_COUNT,
  fill: PHASE_FILL,
  residuals: PHASE_RESIDUALS,
};

/** CommonJS source of the worker: the loop above applied to workerData and the shared kernels. */
export function gradientWorkerSource(): string {
  return `"use strict";\nconst { workerData } = require("node:worker_threads");\n(${gradientWorkerMain.toString()})(workerData, ${columnScores.toString()}, ${columnGradient.toString()}, ${columnViews.toString()}, ${countColumns.toString()}, ${fillColumns.toString()}, ${lossAndResiduals.toString()});\n`;
}
