/**
 * Gradient boosting's helper thread (one per process, reused by every parallel fit): while
 * growTree scans the first half of a node's present features on the calling thread, this thread scans the second half with the same evalFeature
 * on the shared histogram, and posts its best split back through shared memory. Started from
 * source text (`eval: true`) like the forest's worker, so it boots while the main thread is
 * blocked in the synchronous fit. The calling thread keeps the better of the two bests, ties
 * going to its own half (the earlier features): the tree is the one a single thread grows.
 */
import { Worker } from "node:worker_threads";
import { evalFeature, type SplitHelper } from "./grow.js";

interface BoostWorkerData {
  hist: Float64Array;
  featCount: Int32Array;
  touched: Int32Array;
  nBins: Int32Array;
  zeroBin: Int32Array;
  binOffset: Int32Array;
  params: Float64Array;
  best: Float64Array;
  control: Int32Array;
}

/** The helper's loop. Self-contained (serialised with toString): uses only its argument and evalFeature. */
function boostWorkerMain(data: BoostWorkerData): void {
  const { hist, featCount, touched, nBins, zeroBin, binOffset, params, best, control } = data;
  const zeroStats = new Float64Array(64);
  const leftStats = new Float64Array(64);
  const tot = new Float64Array(64);
  let seen = 0;
  for (;;) {
    Atomics.wait(control, 0, seen);
    const seq = Atomics.load(control, 0);
    if (seq < 0) return;
    if (seq === seen) continue;
    seen = seq;
    try {
      const S = params[0];
      for (let s = 0; s < S; s++) tot[s] = params[8 + s];
      best[0] = -Infinity;
      best[1] = -1;
      best[2] = -1;
      const pruneCount = params[72];
      const upTo = params[73];
      for (let t = params[6]; t < params[7]; t++) {
        const j = touched[t];
        // Features growTree's bound rules out (see pruneBelow in grow.ts) are skipped.
        const fc = featCount[j];
        if (fc > pruneCount && fc < upTo)
          evalFeature(
            j,
            hist,
            featCount,
            nBins,
            zeroBin,
            binOffset,
            S,
            params[1],
            params[2] === 1,
            tot,
            params[3],
            params[4],
            params[5],
            zeroStats,
            leftStats,
            best,
          );
      }
    } catch {
      Atomics.store(control, 2, 1);
    }
    Atomics.store(control, 1, seq);
    Atomics.notify(control, 1);
  }
}

/** One job per message: a fit's shared buffers; the loop returns when the fit closes it. */
function workerSource(): string {
  return `"use strict";\nvar __name = (f) => f;\n${evalFeature.toString()}\n${boostWorkerMain.toString()}\nconst { parentPort } = require("node:worker_threads");\nparentPort.on("message", (data) => boostWorkerMain(data));\n`;
}

/**
 * The helper thread, started on the first parallel fit and reused by later ones: a fresh
 * thread runs evalFeature unoptimised for its first trees, and the calling thread waits for
 * its half of every big node. `job` is the control block of the fit it serves (marked failed
 * if the thread dies).
 */
let helperState: { worker: Worker; job: Int32Array | null } | null = null;

function helperThread(): { worker: Worker; job: Int32Array | null } | null {
  if (helperState !== null) return helperState;
  let worker: Worker;
  try {
    worker = new Worker(workerSource(), { eval: true, execArgv: [] });
  } catch {
    return null;
  }
  worker.unref();
  const entry = { worker, job: null as Int32Array | null };
  // A worker that dies answers nothing: mark the current fit's helper failed so growTree scans both halves itself.
  const die = (): void => {
    if (helperState === entry) helperState = null;
    const control = entry.job;
    if (control === null) return;
    Atomics.store(control, 2, 1);
    Atomics.store(control, 1, Atomics.load(control, 0));
    Atomics.notify(control, 1);
  };
  worker.on("error", die);
  worker.on("exit", die);
  helperState = entry;
  return entry;
}

/** A running helper and its shared state; close() stops it. */
export interface BoostHelper {
  helper: SplitHelper;
  close(): void;
}

/**
 * Starts the helper for histograms of `totalSlots` doubles over d features (nBins, zeroBin,
 * binOffset must be in shared memory). Returns null when a worker cannot be started (the fit
 * then runs on one thread).
 */
export function startBoostHelper(
  d: number,
  totalSlots: number,
  nBins: Int32Array,
  zeroBin: Int32Array,
  binOffset: Int32Array,
  minFeatures: number,
): BoostHelper | null {
  const shared = <T>(make: (b: SharedArrayBuffer) => T, bytes: number): T => make(new SharedArrayBuffer(bytes));
  const helper: SplitHelper = {
    hist: shared((b) => new Float64Array(b), totalSlots * 8),
    featCount: shared((b) => new Int32Array(b), d * 4),
    touched: shared((b) => new Int32Array(b), d * 4),
    params: shared((b) => new Float64Array(b), 80 * 8),
    best: shared((b) => new Float64Array(b), 3 * 8),
    control: shared((b) => new Int32Array(b), 4 * 4),
    minFeatures,
  };
  const thread = helperThread();
  if (thread === null) return null;
  try {
    const data: BoostWorkerData = { ...helper, nBins, zeroBin, binOffset };
    thread.worker.postMessage(data);
  } catch {
    return null;
  }
  thread.job = helper.control;
  return {
    helper,
    close(): void {
      // Ends this fit's loop; the thread waits for the next fit's message.
      Atomics.store(helper.control, 0, -1);
      Atomics.notify(helper.control, 0);
      if (thread.job === helper.control) thread.job = null;
    },
  };
}
