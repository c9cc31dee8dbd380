import { Worker } from "node:worker_threads";
import type { FoldMetrics } from "../evaluation/cross-validate.js";
import type { Label } from "../models/estimator.js";
import { DataError } from "../util/errors.js";
import type { CorpusCounts, FoldReply, FoldWorkerData } from "./fold-worker.js";
import { createPreprocessor } from "../text/preprocess.js";
import type { ClaimedLanes } from "./search.js";
import { preprocessKey, vocabularyKey, type TrialConfig } from "./space.js";
import { startModuleWorker } from "../util/module-worker.js";

/** fold-worker.js from dist/, or fold-worker.ts under tsx (src/util/module-worker.ts). */
function startWorker(workerData?: FoldWorkerData): Worker {
  return startModuleWorker(import.meta.url, "fold-worker", workerData === undefined ? {} : { workerData });
}

/**
 * `jobs` fold workers started before their data is known, for a FoldWorkerPool to take over:
 * their start-up (a thread, Node's bootstrap, the models' modules) overlaps the caller's own
 * (`polarity tune` reads its settings and the dataset meanwhile). Unreferenced until taken
 * over, so a caller that fails first still exits.
 */
export function prestartFoldWorkers(jobs: number): Worker[] {
  return Array.from({ length: jobs }, () => {
    const w = startWorker();
    w.unref();
    // Until a pool listens: an 'error' event without a listener would throw here.
    w.once("error", (err) => earlyErrors.set(w, err));
    return w;
  });
}

/** Errors of prestarted workers before a pool took them over. */
const earlyErrors = new WeakMap<Worker, Error>();

/**
 * `jobs` worker threads scoring (configuration, fold) pairs for runSearch. Each preprocessing ×
 * vocabulary group g (features configs that differ only in their values, BoW vs TF-IDF, share
 * one) and fold f — a unit — goes to one worker, so each fold's vectorizers are fitted once and
 * the C-path warm start (FoldScorer) stays on one thread. runSearch hands the units out through
 * `lanes` (ClaimedLanes): a worker that runs dry claims the costliest unit left, preferring the
 * preprocessings it already holds (a worker tokenises the texts once per preprocessing it meets;
 * the whole-corpus n-gram counts are passed on by the worker that counted them), so the workers
 * finish together whatever the cost estimate's error or the machine's other load (a fixed split
 * by estimated cost, balancedLanes, left one worker idle at the end: negation scope costs more
 * than its token count says). A unit nobody claimed (scoreFold called directly) goes to its
 * balancedLanes worker. A worker's error rejects that request with the worker's message.
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
  /** Worker of each (group, fold) unit, at group·folds + fold: balancedLanes', until runSearch claims the unit. */
  private readonly laneOf: Int32Array;
  /** Preprocessing number of each group: a worker tokenises the texts (and counts n-grams over them) once per preprocessing it meets. */
  private readonly preprocessingOf: number[] = [];
  /** Estimated cost of each group's units (groupCosts). */
  private readonly groupCost: Float64Array;
  private nextId = 0;
  /** Workers being stopped: by close(), or as soon as the search releases them (ClaimedLanes.release). */
  private readonly stopping: (Promise<number> | undefined)[] = [];

  /** `started`: workers from prestartFoldWorkers (`jobs` of them), taken over instead of starting new ones. */
  constructor(texts: readonly string[], labels: readonly Label[], folds: number, seed: number, configs: TrialConfig[], jobs: number, started?: Worker[]) {
    if (started !== undefined && started.length !== jobs) throw new Error(`FoldWorkerPool: ${started.length} prestarted workers for ${jobs} jobs`);
    configs.forEach((c, i) => this.index.set(c, i));
    const groups = new Map<string, number>();
    const preprocessings = new Map<string, number>();
    for (const c of configs) {
      const pre = preprocessKey(c.preprocess);
      if (!preprocessings.has(pre)) preprocessings.set(pre, preprocessings.size);
      const key = `${pre}|${vocabularyKey(c.features)}`;
      if (!groups.has(key)) {
        groups.set(key, groups.size);
        this.preprocessingOf.push(preprocessings.get(pre) as number);
      }
      this.group.push(groups.get(key) as number);
    }
    this.folds = folds;
    const data: FoldWorkerData = { texts: [...texts], labels: [...labels], folds, seed, configs };
    this.workers = Array.from({ length: jobs }, (_, j) => {
      let w: Worker;
      if (started) {
        w = started[j];
        const early = earlyErrors.get(w);
        if (early) throw early;
        w.ref();
        w.postMessage(data);
      } else w = startWorker(data);
      w.on("message", (reply: FoldReply | CorpusCounts) => {
        if ("corpus" in reply) {
          // To the other workers at once: one that later claims a unit of this preprocessing finds the counts there.
          for (const other of this.workers) if (other !== w) other.postMessage(reply);
          return;
        }
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
    // Estimated while the workers start.
    this.groupCost = groupCosts(texts, configs, this.group);
    this.laneOf = lanesByCost(this.groupCost, folds, jobs);
  }

  /** The worker that scores (config, fold). */
  private workerOf(c: number, fold: number): number {
    return this.laneOf[this.group[c] * this.folds + fold];
  }

  /** runSearch's lanes: one per worker, claiming (group, fold) units as they run dry. */
  get lanes(): ClaimedLanes {
    return {
      count: this.workers.length,
      unitOf: (config, fold) => this.group[this.index.get(config) ?? 0] * this.folds + fold,
      cost: (unit) => this.groupCost[Math.floor(unit / this.folds)],
      family: (unit) => this.preprocessingOf[Math.floor(unit / this.folds)],
      claim: (unit, lane) => {
        this.laneOf[unit] = lane;
      },
      release: (lane) => void this.stop(lane),
    };
  }

  scoreFold(config: TrialConfig, fold: number): Promise<FoldMetrics> {
    const c = this.index.get(config);
    if (c === undefined) return Promise.reject(new Error("FoldWorkerPool: unknown configuration"));
    const w = this.workerOf(c, fold);
    if (this.stopping[w] !== undefined) return Promise.reject(new Error("FoldWorkerPool: its worker was stopped (a pool serves one search)"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[w].postMessage({ id, config: c, fold });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((_, j) => this.stop(j)));
  }

  /** Stops worker j once (its request queue is then closed: scoreFold refuses its units). */
  private stop(j: number): Promise<number> {
    return (this.stopping[j] ??= this.workers[j].terminate());
  }
}

/**
 * Estimated cost of each group's (group, fold) units: the tokens of a sample of the texts under
 * the group's preprocessing (its matrices' size: fits cost about that per pass) times the
 * group's number of configurations.
 */
export function groupCosts(texts: readonly string[], configs: readonly TrialConfig[], groupOf: readonly number[]): Float64Array {
  const groups = groupOf.reduce((m, g) => Math.max(m, g + 1), 0);
  const size = new Float64Array(groups);
  const sampleTokens = new Map<string, number>();
  const step = Math.max(1, Math.ceil(texts.length / 256));
  configs.forEach((c, i) => {
    const key = preprocessKey(c.preprocess);
    let tokens = sampleTokens.get(key);
    if (tokens === undefined) {
      const tokenize = createPreprocessor(c.preprocess);
      tokens = 0;
      for (let t = 0; t < texts.length; t += step) tokens += tokenize(texts[t]).length + 1;
      sampleTokens.set(key, tokens);
    }
    size[groupOf[i]] += tokens;
  });
  return size;
}

/**
 * Spreads the (group, fold) pairs over `jobs` workers so that their estimated work (groupCosts)
 * is even: pairs are placed largest first on the least loaded worker (ties: the earlier group,
 * fold and worker), which is deterministic. Round robin over the pairs would leave the odd pairs
 * of each group (5 folds on 2 workers: 3 : 2) on one worker, e.g. the two heavy preprocessings'
 * extra folds on the same one. The lanes only decide where a pair runs: results do not depend
 * on them.
 */
export function balancedLanes(texts: readonly string[], configs: readonly TrialConfig[], groupOf: readonly number[], folds: number, jobs: number): Int32Array {
  return lanesByCost(groupCosts(texts, configs, groupOf), folds, jobs);
}

function lanesByCost(size: Float64Array, folds: number, jobs: number): Int32Array {
  const groups = size.length;
  const lanes = new Int32Array(groups * folds);
  if (jobs <= 1 || groups === 0) return lanes;
  const units = Array.from({ length: groups * folds }, (_, u) => u);
  units.sort((a, b) => size[Math.floor(b / folds)] - size[Math.floor(a / folds)] || a - b);
  const load = new Float64Array(jobs);
  for (const u of units) {
    let lane = 0;
    for (let w = 1; w < jobs; w++) if (load[w] < load[lane]) lane = w;
    lanes[u] = lane;
    load[lane] += size[Math.floor(u / folds)];
  }
  return lanes;
}
