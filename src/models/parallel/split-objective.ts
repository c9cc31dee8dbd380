import { availableParallelism } from "node:os";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import type { CsrMatrix } from "../../features/csr.js";
import { columnGradient, columnScores, lossAndResiduals, type CscMatrix32 } from "./binary-logistic-kernel.js";
import {
  CTRL_DONE,
  CTRL_REQUEST,
  CTRL_STATE,
  PHASE_GRADIENT,
  PHASE_SCORES,
  PROTOCOL,
  STATE_BOOTING,
  STATE_FAILED,
  STATE_READY,
  STOP,
  gradientWorkerSource,
  type GradientWorkerData,
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
 * X by columns with single-precision values (CscMatrix32), in shared memory when `shared`:
 * O(nnz + d), two passes over X. float32 values carry X to 6e-8 relative, far below the
 * solver's tolerance, and make the copy 8 bytes per non-zero.
 */
export function toCsc32(X: CsrMatrix, shared: boolean): CscMatrix32 {
  const { rows, cols, indptr, indices, data } = X;
  const nnz = indptr[rows];
  const colPtr = shared ? new Int32Array(new SharedArrayBuffer((cols + 1) * 4)) : new Int32Array(cols + 1);
  const rowIdx = shared ? new Int32Array(new SharedArrayBuffer(nnz * 4)) : new Int32Array(nnz);
  const vals = shared ? new Float32Array(new SharedArrayBuffer(nnz * 4)) : new Float32Array(nnz);
  for (let p = indptr[0]; p < nnz; p++) colPtr[indices[p] + 1]++;
  for (let j = 0; j < cols; j++) colPtr[j + 1] += colPtr[j];
  // next[j] = where column j's next entry goes: colPtr shifted by one, filled in place.
  const next = colPtr.slice(0, cols);
  for (let i = 0; i < rows; i++) {
    for (let p = indptr[i]; p < indptr[i + 1]; p++) {
      const q = next[indices[p]]++;
      rowIdx[q] = i;
      vals[q] = data[p];
    }
  }
  return { rows, cols, colPtr, rowIdx, vals };
}

/**
 * The binary logistic loss and gradient computed by columns (X as CscMatrix32):
 *   1. scores z = X·w: each column's weight scattered into the n-sized z;
 *   2. the loss and residuals r_i row by row;
 *   3. the gradient Xᵀ·r: each column's entry gathered from r and written once.
 * Every random access then goes to an n-sized vector (800 KB at 10^5 documents, in cache)
 * instead of the d-sized weights and gradient a row-wise pass reads and writes at random:
 * at 10^5 documents (0.5 M features, 2.2 M non-zeros) ~70 ms of CPU per evaluation instead of
 * ~150 ms (bench/core.ts).
 *
 * With a worker thread, the columns are split in two at the middle non-zero: the worker runs
 * steps 1 and 3 on its half into its own buffers while the main thread runs them on the first
 * half; the two score parts are added in a fixed order (main + worker), so the result does not
 * depend on timing. The gradient needs no reduction (each thread owns its columns). If the
 * worker cannot start or dies, its columns are computed on the main thread with the same
 * kernels. Call close() when done; the worker is unref'd, so it never keeps the process alive.
 */
export class ColumnBinaryObjective {
  private readonly X: CscMatrix32;
  /** First column of the worker's half (cols when there is no worker). */
  private readonly mid: number;
  /** Shared weight vectors the worker has been sent, in order (it reads scalars[1]-th). */
  private readonly vectors: Float64Array[] = [];
  private copyBuffer: Float64Array | null = null;
  private readonly port: MessagePort | null = null;
  private readonly z: Float64Array;
  private readonly workerZ: Float64Array;
  private readonly r: Float64Array;
  private readonly workerGrad: Float64Array;
  private readonly control: Int32Array;
  private readonly scalars: Float64Array;
  private worker: Worker | null = null;
  private request = 0;

  constructor(X: CscMatrix32, threads: number) {
    this.X = X;
    const { rows: n, cols: d, colPtr } = X;
    const nnz = colPtr[d];
    let mid = d;
    if (threads > 1) {
      // First column whose start reaches half the non-zeros: both threads get ~equal work.
      mid = 0;
      while (mid < d && colPtr[mid] < nnz / 2) mid++;
    }
    this.mid = mid;
    const shared = (length: number): Float64Array => new Float64Array(new SharedArrayBuffer(length * 8));
    this.z = new Float64Array(n);
    this.workerZ = mid < d ? shared(n) : new Float64Array(0);
    this.r = mid < d ? shared(n) : new Float64Array(n);
    this.workerGrad = mid < d ? shared(d - mid) : new Float64Array(0);
    this.control = new Int32Array(new SharedArrayBuffer(16));
    this.scalars = new Float64Array(new SharedArrayBuffer(16));
    if (mid === d) return;
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.port.unref();
    const workerData: GradientWorkerData = {
      colPtr: X.colPtr,
      rowIdx: X.rowIdx,
      vals: X.vals,
      port: channel.port2,
      z: this.workerZ,
      r: this.r,
      grad: this.workerGrad,
      control: this.control,
      scalars: this.scalars,
      c0: mid,
      c1: d,
      protocol: PROTOCOL,
    };
    try {
      this.worker = new Worker(gradientWorkerSource(), { eval: true, workerData, transferList: [channel.port2], execArgv: [] });
      this.worker.unref();
      // An error is only delivered through the event loop, which a synchronous fit blocks;
      // the state flag below is what the main thread actually relies on.
      this.worker.on("error", () => Atomics.store(this.control, CTRL_STATE, STATE_FAILED));
    } catch {
      this.worker = null;
    }
  }

  /**
   * A weight vector in shared memory: an optimiser that keeps its iterates in these spares
   * the per-evaluation copy (and the d-sized copy buffer) when the worker reads them.
   */
  allocateVector(length: number): Float64Array {
    return this.mid < this.X.cols ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Float64Array(length);
  }

  /** Index (for the worker) of the shared vector holding x: x itself if shared, else a copy. */
  private vectorIndex(x: Float64Array): number {
    let v = x;
    if (!(x.buffer instanceof SharedArrayBuffer)) {
      if (this.copyBuffer === null || this.copyBuffer.length !== x.length) this.copyBuffer = new Float64Array(new SharedArrayBuffer(x.length * 8));
      this.copyBuffer.set(x);
      v = this.copyBuffer;
    }
    let k = this.vectors.indexOf(v);
    if (k < 0) {
      k = this.vectors.length;
      this.vectors.push(v);
      this.port?.postMessage(v);
    }
    return k;
  }

  /** Whether the worker is (still) in use. */
  get parallel(): boolean {
    return this.worker !== null;
  }

  /**
   * Loss Σ s_i·loss_i over all rows (returned), the gradient of the data term written into
   * `grad` (length cols), Σ residuals into out[0]. `x` holds the weights (its first cols
   * entries are used), `b` is the intercept, ySign the ±1 labels, sw the sample weights and
   * invS = 1 / Σ sw.
   */
  evaluate(x: Float64Array, b: number, ySign: Float64Array, sw: Float64Array, invS: number, grad: Float64Array, out: Float64Array): number {
    const { colPtr, rowIdx, vals, cols: d } = this.X;
    const mid = this.mid;
    const split = mid < d;
    const asked = split && this.ask(PHASE_SCORES, x);
    this.z.fill(0);
    columnScores(colPtr, rowIdx, vals, x, this.z, 0, mid);
    if (split && !(asked && this.waitDone())) {
      // No worker (it failed to start or died): its columns on this thread, same kernel.
      this.stopWorker();
      this.workerZ.fill(0);
      columnScores(colPtr, rowIdx, vals, x, this.workerZ, mid, d);
    }
    const loss = lossAndResiduals(this.z, split ? this.workerZ : null, b, ySign, sw, invS, this.r, out);
    const asked2 = split && this.ask(PHASE_GRADIENT, x);
    columnGradient(colPtr, rowIdx, vals, this.r, grad, 0, mid, 0);
    if (split) {
      if (!(asked2 && this.waitDone())) {
        this.stopWorker();
        columnGradient(colPtr, rowIdx, vals, this.r, this.workerGrad, mid, d, mid);
      }
      grad.set(this.workerGrad, mid);
    }
    return loss;
  }

  /** Asks the worker for one phase; false when there is no (working) worker. */
  private ask(phase: number, x: Float64Array): boolean {
    if (this.worker === null || !this.waitReady()) return false;
    this.scalars[0] = phase;
    if (phase === PHASE_SCORES) this.scalars[1] = this.vectorIndex(x);
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
    this.port?.close();
  }

  /** Stops the worker. Idempotent. */
  close(): void {
    this.stopWorker();
  }
}
