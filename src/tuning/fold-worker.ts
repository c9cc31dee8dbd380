/**
 * A worker of FoldWorkerPool: holds its own FoldScorer (its own token and fold-matrix caches)
 * and scores (configuration, fold) requests with it. The pool sends every fold to the same
 * worker (fold mod jobs), so each fold's vectorizers are fitted by one worker only.
 */
import { parentPort, workerData } from "node:worker_threads";
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
const data = workerData as FoldWorkerData;
const scorer = new FoldScorer(data.texts, data.labels, data.folds, data.seed);
port.on("message", (req: FoldRequest) => {
  let reply: FoldReply;
  try {
    reply = { id: req.id, metrics: scorer.scoreFold(data.configs[req.config], req.fold) };
  } catch (err) {
    reply = { id: req.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
