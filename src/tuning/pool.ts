import { Worker } from "node:worker_threads";
import type { FoldMetrics } from "../evaluation/cross-validate.js";
import type { Label } from "../models/estimator.js";
import { DataError } from "../util/errors.js";
import type { FoldReply, FoldWorkerData } from "./fold-worker.js";
import { preprocessKey, vocabularyKey, type TrialConfig } from "./space.js";
import { startModuleWorker } from "../util/module-worker.js";

/** fold-worker.js from dist/, or fold-worker.ts under tsx (src/util/module-worker.ts). */
function startWorker(workerData: FoldWorkerData): Worker {
  return startModuleWorker(import.meta.url, "fold-worker", { workerData });
}

/**
 * `jobs` worker threads scoring (configuration, fold) pairs for runSearch. Each preprocessing ×
 * vocabulary group g (features configs that differ only in their values, BoW vs TF-IDF, share
 * one) and fold f goes to one worker, (g·folds + f) mod jobs, so each fold's
 * vectorizers are fitted once and the C-path warm start (FoldScorer) stays on one thread,
 * while the (group, fold) pairs — not just the folds (5 folds on 2 workers would be 3:2) —
 * are spread evenly. Tokenising is repeated per worker. A worker's error rejects that request
 * with the worker's message.
 */
export class FoldWorkerPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, { resolve: (m: FoldMetrics) => void; reject: (e: Error) => void }>();
  private readonly index = new Map<TrialConfig, number>();
  /**
   * Group number (preprocessing × vocabulary, by first appearance) of each configuration: BoW
   * and TF-IDF of the same n-grams share a group, so their folds go to the same worker, where
   * NBSVM's fits (which see only the binarised matrix) are shared between them (FoldScorer).
   */
  private readonly group: number[] = [];
  private readonly folds: number;
  private nextId = 0;

  constructor(texts: readonly string[], labels: readonly Label[], folds: number, seed: number, configs: TrialConfig[], jobs: number) {
    configs.forEach((c, i) => this.index.set(c, i));
    const groups = new Map<string, number>();
    for (const c of configs) {
      const key = `${preprocessKey(c.preprocess)}|${vocabularyKey(c.features)}`;
      if (!groups.has(key)) groups.set(key, groups.size);
      this.group.push(groups.get(key) as number);
    }
    this.folds = folds;
    const data: FoldWorkerData = { texts: [...texts], labels: [...labels], folds, seed, configs };
    this.workers = Array.from({ length: jobs }, () => {
      const w = startWorker(data);
      w.on("message", (reply: FoldReply) => {
        const p = this.pending.get(reply.id);
        if (!p) return;
        this.pending.delete(reply.id);
        if (reply.error !== undefined) p.reject(new DataError(`tune: ${reply.error}`));
        else p.resolve(reply.metrics as FoldMetrics);
      });
      w.on("error", (err) => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
      return w;
    });
  }

  /** The worker that scores (config, fold). */
  private workerOf(c: number, fold: number): number {
    return (this.group[c] * this.folds + fold) % this.workers.length;
  }

  /** runSearch's lanes: one per worker, so each worker is fed from its own queue. */
  get lanes(): { count: number; of: (config: TrialConfig, fold: number) => number } {
    return { count: this.workers.length, of: (config, fold) => this.workerOf(this.index.get(config) ?? 0, fold) };
  }

  scoreFold(config: TrialConfig, fold: number): Promise<FoldMetrics> {
    const c = this.index.get(config);
    if (c === undefined) return Promise.reject(new Error("FoldWorkerPool: unknown configuration"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[this.workerOf(c, fold)].postMessage({ id, config: c, fold });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
