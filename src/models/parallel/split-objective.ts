import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { countColumns, fillColumns, lossAndResiduals, startsFromCounts, type ColumnArena, type CsrLike } from "./binary-logistic-kernel.js";
import {
  CTRL_DONE,
  CTRL_PREFAULT,
  CTRL_REQUEST,
  CTRL_STATE,
  PHASE_COUNT,
  PHASE_FILL,
  PHASE_GRADIENT,
  PHASE_RESIDUALS,
  PHASE_SCORES,
  PROTOCOL,
  STATE_BOOTING,
  STATE_FAILED,
  STATE_READY,
  STOP,
  gradientWorkerSource,
  type GradientWorkerData,
  type PrefaultRegion,
} from "./gradient-worker.js";

/**
 * Below this many non-zeros a fit stays on one thread. Measured on the 2-core bench machine
 * (synthetic TF-IDF 1–2-grams, tol 1e-6, 4 alternating runs): 10^5 documents (1.08 M
 * non-zeros) ~0.75 s on two threads vs ~1.05 s on one; 3·10^4 documents (0.32 M) ~0.2 s
 * either way, slightly worse on two. 10^6 documents (10.8 M): ~5.6 s vs ~8.4 s. The worker
 * starts in ~20 ms, but the two cores share memory bandwidth, so the random-access gradient
 * pass scales well below 2×.
 */
export const PARALLEL_MIN_NNZ = 1_000_000;

/**
 * From this many non-zeros the worker helps build the column copy (each thread counts and fills
 * half of X's rows). Below, this thread builds it alone while the worker starts: a worker that
 * saw X must be replaced by a fresh one when X is released (handOverToFit), and at 10^5
 * documents (2.2 M non-zeros) the second start cost more than the half fill saves.
 */
export const TWO_THREAD_FILL_MIN_NNZ = 8_000_000;

/** How long to wait for a worker to start before computing its rows on the main thread instead. */
const WORKER_START_TIMEOUT_MS = 30_000;

/** Threads to use for a problem with `nnz` non-zeros: `requested` ("auto" = 2 when it pays and the machine has 2 cores). */
export function resolveThreads(requested: number | "auto", nnz: number): number {
  if (requested !== "auto") return requested;
  return nnz >= PARALLEL_MIN_NNZ && availableParallelism() >= 2 ? 2 : 1;
}

function isShared(a: Int32Array | Float64Array): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

export function sharedInt32(a: Int32Array): Int32Array {
  if (isShared(a)) return a;
  const out = new Int32Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

export function sharedFloat64(a: Float64Array): Float64Array {
  if (isShared(a)) return a;
  const out = new Float64Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

/**
 * Two zeroed Int32 arrays of d entries over the arena's gradient slot (d float64s), for the
 * column counts while the arena is built; every evaluation writes the whole gradient afterwards.
 */
function countsInGradientSlot(arena: ColumnArena): Int32Array {
  const counts = new Int32Array(arena.buffer, arena.layout.g, 2 * arena.X.cols);
  counts.fill(0);
  return counts;
}

/**
 * The binary logistic loss and gradient computed by columns (X in a ColumnArena):
 *   1. scores z = X·w: each column's weight scattered into the n-sized z;
 *   2. the loss and residuals r_i row by row;
 *   3. the gradient Xᵀ·r: each column's entry gathered from r and written once.
 * Every random access then goes to an n-sized vector (800 KB at 10^5 documents, in cache)
 * instead of the d-sized weights and gradient a row-wise pass reads and writes at random, and
 * steps 1 and 3 run as WebAssembly kernels: at 10^5 documents (0.5 M features, 2.2 M
 * non-zeros) ~30 ms of CPU per evaluation instead of ~150 ms for the row-wise JS pass.
 *
 * With a worker thread, the columns are split in two at the middle non-zero: the worker runs
 * steps 1 and 3 on its half (into its own score buffer) while the main thread runs them on the
 * first half; the two score parts are added in a fixed order (main + worker), so the result
 * does not depend on timing. The gradient needs no reduction (each thread owns its columns).
 * If the worker cannot start or dies, its columns are computed on the main thread with the
 * same kernels. Call close() when done; the worker is unref'd, so it never keeps the process alive.
 */
export class ColumnBinaryObjective {
  private readonly A: ColumnArena;
  /** First column of the worker's half (cols when there is no worker). */
  private readonly mid: number;
  private control: Int32Array;
  private scalars: Float64Array;
  private worker: Worker | null = null;
  private request = 0;
  /** First of the rows whose loss and residuals the worker computes (rows when there is no worker). */
  private rowMid: number;

  /**
   * `fillFrom`: X itself when the arena was created empty (createColumnArena(X, wasm, false));
   * with a worker and X in shared memory (the vectorizer builds big matrices there) the two
   * threads then count and fill half of X's rows each, else this thread fills it.
   * `releaseX`: the caller releases X once the arena is built (handOverToFit); the worker that
   * helped fill it is then replaced by a fresh one that never saw X, so no thread keeps X alive
   * (a worker's references last until its own garbage collection, which an idle worker never runs).
   * `twoThreadFillMinNnz`: the worker helps build the copy only from this many non-zeros.
   * `prefault`: more shared memory the fit will write soon (the optimiser's arena), which the
   * worker faults in while it has nothing else to do, after the arena's own matrix and vectors
   * (gradient-worker.ts), once openPrefault() is called: a caller that releases X calls it after
   * that, as pages faulted while X is still held would add to the fit's peak memory.
   */
  constructor(
    arena: ColumnArena,
    threads: number,
    fillFrom: CsrLike | null = null,
    releaseX = false,
    twoThreadFillMinNnz = TWO_THREAD_FILL_MIN_NNZ,
    prefault: readonly PrefaultRegion[] = [],
  ) {
    this.A = arena;
    const { rows: n, cols: d, colPtr } = arena.X;
    this.control = new Int32Array(new SharedArrayBuffer(16));
    this.scalars = new Float64Array(new SharedArrayBuffer(64));
    this.mid = d;
    this.rowMid = n;
    const X = fillFrom;
    const shared =
      X !== null && threads > 1 && X.indptr[n] >= twoThreadFillMinNnz && [X.indptr, X.indices, X.data].every((a) => a.buffer instanceof SharedArrayBuffer);
    // Rows [0, rowSplit) are filled here, the rest by the worker: half of the non-zeros each.
    let rowSplit = n;
    if (X !== null && shared) {
      rowSplit = 0;
      while (rowSplit < n && X.indptr[rowSplit] < X.indptr[n] / 2) rowSplit++;
    }
    // The per-column counts (this thread's and the worker's) live in the gradient's slot, which
    // is free until the first evaluation: no d-sized arrays outside the arena while it is built.
    const counts = countsInGradientSlot(arena);
    const workerCount = shared ? counts.subarray(d, 2 * d) : null;
    // The arena's parts the main thread does not write first: the matrix (when it is filled
    // now) and the n-sized vectors; then the caller's regions.
    const L = arena.layout;
    const own: PrefaultRegion[] = [
      ...(X !== null ? [{ buffer: arena.buffer, start: L.rowIdx, end: L.x }] : []),
      { buffer: arena.buffer, start: L.z, end: L.bytes },
    ];
    this.prefault = [...own, ...prefault];
    this.prefaultAllowed = own.length;
    if (threads > 1) this.startWorker(X !== null && shared ? X : null, rowSplit, workerCount);
    if (X !== null) {
      const { indptr, indices, data } = X;
      const { rowIdx, vals } = arena.X;
      const count = counts.subarray(0, d);
      const asked = workerCount !== null && this.ask(PHASE_COUNT);
      countColumns(indptr, indices, 0, rowSplit, count);
      if (workerCount !== null && !(asked && this.waitDone())) {
        this.stopWorker();
        countColumns(indptr, indices, rowSplit, n, workerCount);
      }
      startsFromCounts(colPtr, count, workerCount);
      const asked2 = workerCount !== null && this.ask(PHASE_FILL);
      fillColumns(indptr, indices, data, 0, rowSplit, count, rowIdx, vals);
      if (workerCount !== null && !(asked2 && this.waitDone())) {
        this.stopWorker();
        fillColumns(indptr, indices, data, rowSplit, n, workerCount, rowIdx, vals);
      }
      if (releaseX && workerCount !== null && this.worker !== null) {
        this.stopWorker();
        this.control = new Int32Array(new SharedArrayBuffer(16));
        this.scalars = new Float64Array(new SharedArrayBuffer(64));
        this.request = 0;
        this.startWorker(null, n, null);
      }
    }
    if (this.worker !== null) {
      // First column whose start reaches half the non-zeros: both threads get ~equal work.
      const nnz = colPtr[d];
      let mid = 0;
      while (mid < d && colPtr[mid] < nnz / 2) mid++;
      this.mid = mid;
      this.scalars[1] = mid;
      this.rowMid = n >> 1;
      this.scalars[6] = this.rowMid;
    }
  }

  /** Sets the labels (±1) and sample weights of the problem evaluated next (copied into the arena). */
  setRows(ySign: Float64Array, sw: Float64Array): void {
    // The arena's own vectors (the caller wrote them in place) need no copy.
    if (ySign !== this.A.ySign) this.A.ySign.set(ySign);
    if (sw !== this.A.sw) this.A.sw.set(sw);
  }

  /** Lets the worker fault in the caller's prefault regions too (see the constructor). */
  openPrefault(): void {
    this.prefaultAllowed = this.prefault.length;
    Atomics.store(this.control, CTRL_PREFAULT, this.prefaultAllowed);
    // Wakes a worker waiting for a request; it finds none and prefaults.
    Atomics.notify(this.control, CTRL_REQUEST);
  }

  private readonly prefault: PrefaultRegion[];
  private prefaultAllowed: number;

  private startWorker(X: CsrLike | null, rowSplit: number, count: Int32Array | null): void {
    const arena = this.A;
    Atomics.store(this.control, CTRL_PREFAULT, this.prefaultAllowed);
    const workerData: GradientWorkerData = {
      buffer: arena.buffer,
      layout: arena.layout,
      memory: arena.memory,
      module: arena.module,
      control: this.control,
      scalars: this.scalars,
      csr: X === null ? null : { indptr: X.indptr, indices: X.indices, data: X.data },
      rowSplit,
      count,
      prefault: this.prefault,
      protocol: PROTOCOL,
    };
    try {
      this.worker = new Worker(gradientWorkerSource(), { eval: true, workerData, execArgv: [] });
      this.worker.unref();
      // An error is only delivered through the event loop, which a synchronous fit blocks;
      // the state flag below is what the main thread actually relies on.
      this.worker.on("error", () => Atomics.store(this.control, CTRL_STATE, STATE_FAILED));
    } catch {
      this.worker = null;
    }
  }

  /** Whether the worker is (still) in use. */
  get parallel(): boolean {
    return this.worker !== null;
  }

  /**
   * Loss Σ s_i·loss_i over all rows (returned), the gradient of the data term written into
   * `grad` (length cols), Σ residuals into out[0]. `x` holds the weights (its first cols
   * entries are used), `b` is the intercept, invS = 1 / Σ sw; the labels and sample weights
   * are the last setRows's.
   */
  evaluate(x: Float64Array, b: number, invS: number, grad: Float64Array, out: Float64Array): number {
    const A = this.A;
    const d = A.X.cols;
    const mid = this.mid;
    const split = mid < d;
    A.x.set(x.length === d ? x : x.subarray(0, d));
    const asked = split && this.ask(PHASE_SCORES);
    A.z.fill(0);
    A.scores(A.z, 0, mid);
    if (split && !(asked && this.waitDone())) {
      // No worker (it failed to start or died): its columns on this thread, same kernel.
      this.stopWorker();
      A.zWorker.fill(0);
      A.scores(A.zWorker, mid, d);
    }
    // Rows [rowMid, n) on the worker, in parallel with the first rows here; summed in a fixed order.
    const n = A.X.rows;
    const rowMid = this.rowMid;
    this.scalars[2] = b;
    this.scalars[3] = invS;
    const asked3 = rowMid < n && this.ask(PHASE_RESIDUALS);
    let loss = lossAndResiduals(A.z, split ? A.zWorker : null, b, A.ySign, A.sw, invS, A.r, out, 0, rowMid);
    if (rowMid < n) {
      let sumR = out[0];
      if (asked3 && this.waitDone()) {
        loss += this.scalars[4];
        sumR += this.scalars[5];
      } else {
        this.stopWorker();
        loss += lossAndResiduals(A.z, split ? A.zWorker : null, b, A.ySign, A.sw, invS, A.r, out, rowMid, n);
        sumR += out[0];
      }
      out[0] = sumR;
    }
    const asked2 = split && this.ask(PHASE_GRADIENT);
    A.gradient(0, mid);
    if (split && !(asked2 && this.waitDone())) {
      this.stopWorker();
      A.gradient(mid, d);
    }
    grad.set(A.g);
    return loss;
  }

  /** Asks the worker for one phase; false when there is no (working) worker. */
  private ask(phase: number): boolean {
    if (this.worker === null || !this.waitReady()) return false;
    this.scalars[0] = phase;
    this.request++;
    Atomics.store(this.control, CTRL_REQUEST, this.request);
    Atomics.notify(this.control, CTRL_REQUEST);
    return true;
  }

  private waitReady(): boolean {
    const deadline = Date.now() + WORKER_START_TIMEOUT_MS;
    for (;;) {
      const state = Atomics.load(this.control, CTRL_STATE);
      if (state === STATE_READY) return true;
      if (state === STATE_FAILED || Date.now() > deadline) {
        this.stopWorker();
        return false;
      }
      Atomics.wait(this.control, CTRL_STATE, STATE_BOOTING, 50);
    }
  }

  private waitDone(): boolean {
    for (;;) {
      const done = Atomics.load(this.control, CTRL_DONE);
      if (Atomics.load(this.control, CTRL_STATE) === STATE_FAILED) return false;
      if (done === this.request) return true;
      Atomics.wait(this.control, CTRL_DONE, done, 50);
    }
  }

  private stopWorker(): void {
    if (this.worker === null) return;
    Atomics.store(this.control, CTRL_REQUEST, STOP);
    Atomics.notify(this.control, CTRL_REQUEST);
    void this.worker.terminate();
    this.worker = null;
  }

  /** Stops the worker. Idempotent. */
  close(): void {
    this.stopWorker();
  }
}
