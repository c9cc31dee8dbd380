/**
 * The random forest's helper thread, started from source text (`eval: true`, no execArgv) so
 * that it boots while the main thread is blocked in the synchronous fit and runs the same
 * under tsx and from dist/ (the pattern of src/models/parallel/gradient-worker.ts). One
 * thread serves every fit of the process (one job message per fit), so it stays warm.
 *
 * Both threads claim tree numbers from one shared counter (Atomics.add) until all are taken;
 * tree t is grown from its own seed, so the forest does not depend on which thread grew
 * which tree. The worker posts each tree on its port; the main thread reads them with
 * receiveMessageOnPort once the shared "finished" counter says all trees are done.
 */
import type { MessagePort } from "node:worker_threads";
import {
  accumulateColumns,
  accumulateRows,
  clearHistogram,
  drawFrom,
  evalFeature,
  evalSampledFeature,
  finishNodes,
  forestScratch,
  growBootstrapTree,
  growForestTree,
  growTree,
  growTreeSampled,
  isIdentity,
  newSampledScratch,
  isLeafShaped,
  mergeProbe,
  nodeTotals,
  pruneBelow,
  newNodeStore,
  rowBin,
  sumTo,
  treeRandom,
  type BinnedRows,
  type GrowParams,
} from "./grow.js";

/** Slots of the control Int32Array. */
export const CTRL_NEXT = 0; // next tree number to claim
export const CTRL_FINISHED = 1; // trees finished by either thread
export const CTRL_FAILED = 2; // 1 when the worker failed; CTRL_FAILED_TREE then names its unfinished tree (or −1)
export const CTRL_FAILED_TREE = 3;

export interface ForestWorkerData {
  X: BinnedRows;
  y: Int32Array;
  k: number;
  bootstrap: boolean;
  params: Omit<GrowParams, "seed">;
  seeds: Int32Array;
  control: Int32Array;
}

/** The worker's loop. Self-contained (serialised with toString): uses only its arguments and the grow functions. */
function forestWorkerMain(data: ForestWorkerData & { port: MessagePort }): void {
  const { X, y, k, bootstrap, params, seeds, control, port } = data;
  const { maxDepth, minSamplesSplit, minSamplesLeaf, maxFeatures } = params;
  const scratch = forestScratch(X, maxFeatures);
  let current = -1;
  try {
    for (;;) {
      const t = Atomics.add(control, 0, 1);
      if (t >= seeds.length) break;
      current = t;
      const tree = growBootstrapTree(X, y, k, bootstrap, maxDepth, minSamplesSplit, minSamplesLeaf, maxFeatures, seeds[t], scratch);
      port.postMessage({ t, tree }, [
        tree.feature.buffer,
        tree.bin.buffer,
        tree.left.buffer,
        tree.right.buffer,
        tree.value.buffer,
        tree.improvement.buffer,
      ] as ArrayBuffer[]);
      current = -1;
      Atomics.add(control, 1, 1);
      Atomics.notify(control, 1);
    }
  } catch {
    Atomics.store(control, 3, current);
    Atomics.store(control, 2, 1);
    Atomics.notify(control, 1);
  }
}

/** The grow functions and the worker loop as source, with esbuild's __name helper stubbed (tsx keeps names). */
export function forestKernelSource(): string {
  const parts = [
    treeRandom,
    rowBin,
    sumTo,
    isIdentity,
    newNodeStore,
    finishNodes,
    evalFeature,
    isLeafShaped,
    accumulateRows,
    accumulateColumns,
    clearHistogram,
    nodeTotals,
    pruneBelow,
    mergeProbe,
    growTree,
    drawFrom,
    evalSampledFeature,
    newSampledScratch,
    forestScratch,
    growTreeSampled,
    growBootstrapTree,
    growForestTree,
    forestWorkerMain,
  ].map((f) => f.toString());
  return `"use strict";\nvar __name = (f) => f;\n${parts.join("\n")}\n`;
}

/**
 * Worker source: the kernel plus a message loop running one forest job per message. The worker
 * is kept for later fits (forest.ts): a fresh thread runs its first trees several times slower
 * than a warm one while V8 optimises the kernel, long enough to lose most of a 100-tree fit.
 */
export function forestWorkerSource(): string {
  return `${forestKernelSource()}const { parentPort } = require("node:worker_threads");\nparentPort.on("message", (job) => forestWorkerMain(job));\n`;
}
