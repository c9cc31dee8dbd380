/**
 * A worker of FoldWorkerPool: holds its own FoldScorer (its own token and fold-matrix caches)
 * and scores (configuration, fold) requests with it. The pool sends every (preprocessing ×
 * features group, fold) pair to the same worker, so each fold's vectorizers are fitted by one
 * worker only. Its data comes as workerData, or as the first message when the worker was
 * started before the data was known (prestartFoldWorkers).
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
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

const port = parentPort;
if (port === null) throw new Error("fold-worker must run in a worker thread (started by FoldWorkerPool)");

function serve(data: FoldWorkerData, port: MessagePort): void {
  // Each fit on this thread: the pool's workers already use every core.
  const scorer = new FoldScorer(data.texts, data.labels, data.folds, data.seed, 6, true, 1);
  port.on("message", (req: FoldRequest) => {
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
