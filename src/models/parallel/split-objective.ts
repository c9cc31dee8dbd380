import { availableParallelism } from "node:os";
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { binaryLossGradientRows, type BinaryLogisticData } from "./binary-logistic-kernel.js";
import { CTRL_DONE, CTRL_REQUEST, CTRL_STATE, PROTOCOL, STATE_BOOTING, STATE_FAILED, STATE_READY, STOP, gradientWorkerSource, type GradientWorkerData } from "./gradient-worker.js";

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
 * The binary logistic loss + gradient with its rows split in two at the middle non-zero:
 * the main thread does the first half, one worker thread the second, each into its own
 * gradient buffer; then loss, Σ residuals and gradient are summed in a fixed order
 * (main + worker). The result therefore does not depend on timing, and equals the serial
 * evaluation up to the rounding of that one extra addition.
 *
 * The CSR arrays, labels and weights must be shared (SharedArrayBuffer) to avoid a copy;
 * non-shared arrays are copied once here. If the worker cannot start, its rows are computed
 * on the main thread with the same kernel (same result, no speed-up).
 * Call close() when done; the worker is unref'd, so it never keeps the process alive.
 */
export class SplitBinaryObjective {
  private readonly data: BinaryLogisticData;
  private readonly mid: number;
  private readonly n: number;
  /** Shared weight vectors the worker has been sent, in order (it reads scalars[3]-th). */
  private readonly vectors: Float64Array[] = [];
  private copyBuffer: Float64Array | null = null;
  private readonly port: MessagePort;
  private readonly workerGrad: Float64Array;
  private readonly control: Int32Array;
  private readonly scalars: Float64Array;
  private readonly sumR = new Float64Array(1);
  private worker: Worker | null;
  private request = 0;

  constructor(data: BinaryLogisticData, rows: number, nParams: number) {
    const nnz = data.indptr[rows];
    // First row whose start reaches half the non-zeros: both threads get ~equal work.
    let mid = 0;
    while (mid < rows && data.indptr[mid] < nnz / 2) mid++;
    this.mid = mid;
    this.n = rows;
    this.data = {
      indptr: sharedInt32(data.indptr),
      indices: sharedInt32(data.indices),
      data: sharedFloat64(data.data),
      ySign: sharedFloat64(data.ySign),
      sw: sharedFloat64(data.sw),
      invS: data.invS,
    };
    this.workerGrad = new Float64Array(new SharedArrayBuffer(nParams * 8));
    this.control = new Int32Array(new SharedArrayBuffer(16));
    this.scalars = new Float64Array(new SharedArrayBuffer(32));
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.port.unref();
    const workerData: GradientWorkerData = { ...this.data, port: channel.port2, grad: this.workerGrad, control: this.control, scalars: this.scalars, start: mid, end: rows, protocol: PROTOCOL };
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
    return new Float64Array(new SharedArrayBuffer(length * 8));
  }

  /** Index (for the worker) of the shared vector holding x: x itself if shared, else a copy. */
  private vectorIndex(x: Float64Array): number {
    let v = x;
    if (!(x.buffer instanceof SharedArrayBuffer)) {
      if (this.copyBuffer === null || this.copyBuffer.length !== x.length) this.copyBuffer = this.allocateVector(x.length);
      this.copyBuffer.set(x);
      v = this.copyBuffer;
    }
    let k = this.vectors.indexOf(v);
    if (k < 0) {
      k = this.vectors.length;
      this.vectors.push(v);
      this.port.postMessage(v);
    }
    return k;
  }

  /** Whether the worker is (still) in use. */
  get parallel(): boolean {
    return this.worker !== null;
  }

  /**
   * Loss Σ s_i·loss_i over all rows (returned), the gradient of the data term written into
   * `grad` (zeroed here), Σ residuals into out[0]. `x` holds the weights (the first
   * grad.length entries are used), `b` is the intercept.
   */
  evaluate(x: Float64Array, b: number, grad: Float64Array, out: Float64Array): number {
    const d = grad.length;
    let asked = false;
    if (this.worker !== null && this.waitReady()) {
      this.scalars[3] = this.vectorIndex(x);
      this.scalars[0] = b;
      this.request++;
      Atomics.store(this.control, CTRL_REQUEST, this.request);
      Atomics.notify(this.control, CTRL_REQUEST);
      asked = true;
    }
    grad.fill(0);
    let loss = binaryLossGradientRows(this.data, x, b, grad, 0, this.mid, this.sumR);
    let sumR = this.sumR[0];
    let workerLoss: number;
    let workerSumR: number;
    if (asked && this.waitDone()) {
      workerLoss = this.scalars[1];
      workerSumR = this.scalars[2];
    } else {
      // No worker (it failed to start or died): its rows on this thread, same kernel and order.
      this.stopWorker();
      this.workerGrad.fill(0);
      workerLoss = binaryLossGradientRows(this.data, x, b, this.workerGrad, this.mid, this.n, this.sumR);
      workerSumR = this.sumR[0];
    }
    const wg = this.workerGrad;
    for (let j = 0; j < d; j++) grad[j] += wg[j];
    loss += workerLoss;
    sumR += workerSumR;
    out[0] = sumR;
    return loss;
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
    this.port.close();
  }

  /** Stops the worker. Idempotent. */
  close(): void {
    this.stopWorker();
  }
}
