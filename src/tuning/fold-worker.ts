/**
 * A worker of FoldWorkerPool: holds its own FoldScorer (its own token and fold-matrix caches)
 * and scores (configuration, fold) requests with it. The pool sends every (preprocessing ×
 * features group, fold) pair to the same worker, so each fold's vectorizers are fitted by one
 * worker only. Its data comes as workerData, or as the first message when the worker was
 * started before the data was known (prestartFoldWorkers).
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import type { CsrMatrix } from "../features/csr.js";
import type { Label } from "../models/estimator.js";
import type { TrialConfig } from "./space.js";
import { FoldScorer } from "./trials.js";

export interface FoldWorkerData {
  texts: string[];
  labels: Label[];
  folds: number;
  seed: number;
  configs: TrialConfig[];
}

export type FoldRequest = { id: number; config: number; fold: number };
export type FoldReply = { id: number; metrics?: Record<string, number | null>; error?: string };
/** A whole-corpus count matrix one worker counted, which the pool passes on to the others (FoldScorer.adoptCorpusCounts). */
export type CorpusCounts = { corpus: { group: string; counts: CsrMatrix } };

const port = parentPort;
if (port === null) throw new Error("fold-worker must run in a worker thread (started by FoldWorkerPool)");

function serve(data: FoldWorkerData, port: MessagePort): void {
  // Each fit on this thread: the pool's workers already use every core.
  const scorer = new FoldScorer(data.texts, data.labels, data.folds, data.seed, 6, true, 1);
  // Copies of exactly the matrix's length (the counting may leave spare room in its buffers), handed over.
  scorer.onCorpusCounts = (group, { rows, cols, indptr, indices, data }) => {
    const counts = { rows, cols, indptr: indptr.slice(), indices: indices.slice(), data: data.slice() };
    const message: CorpusCounts = { corpus: { group, counts } };
    port.postMessage(message, [counts.indptr.buffer, counts.indices.buffer, counts.data.buffer]);
  };
  port.on("message", (req: FoldRequest | CorpusCounts) => {
    if ("corpus" in req) {
      scorer.adoptCorpusCounts(req.corpus.group, req.corpus.counts);
      return;
    }
    let reply: FoldReply;
    try {
      reply = { id: req.id, metrics: scorer.scoreFold(data.configs[req.config], req.fold) };
    } catch (err) {
      reply = { id: req.id, error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
  });
}

// Started with its data, or ahead of it (prestartFoldWorkers): then the data is the first message.
if (workerData) serve(workerData as FoldWorkerData, port);
else port.once("message", (data: FoldWorkerData) => serve(data, port));
