import { summarizeFolds, type FoldMetrics } from "../evaluation/cross-validate.js";
import { InvalidParameterError } from "../util/errors.js";
import { Random } from "../util/random.js";
import type { TrialConfig } from "./space.js";

export type SearchMethod = "grid" | "random" | "halving";

/** The outcome of one configuration. */
export interface TrialResult {
  id: number;
  config: TrialConfig;
  /** Metrics of the folds scored so far (successive halving stops weak trials early). */
  folds: FoldMetrics[];
  mean: Record<string, number>;
  sd: Record<string, number>;
  seconds: number;
  /** complete: every fold; pruned: dropped by successive halving; partial: cut by the time budget. */
  status: "complete" | "pruned" | "partial";
}

export function summarizeTrial(id: number, config: TrialConfig, folds: FoldMetrics[], seconds: number, status: TrialResult["status"]): TrialResult {
  const { mean, sd } = summarizeFolds(folds);
  return { id, config, folds, mean, sd, seconds, status };
}

/** Scores one configuration on one fold (FoldScorer.scoreFold, or a worker doing it). */
export type ScoreFold = (config: TrialConfig, fold: number) => FoldMetrics | Promise<FoldMetrics>;

export interface SearchOptions {
  method: SearchMethod;
  folds: number;
  /** Metric to maximise (logLoss is minimised). Default accuracy. */
  metric?: string;
  /** random: how many configurations to draw. */
  nIter?: number;
  /** halving: keep the best 1/eta at each rung. Default 3. */
  eta?: number;
  seed?: number;
  /** Stop starting new fold fits after this many ms (0 = no limit); unfinished trials are reported as partial. */
  maxTimeMs?: number;
  /** After each fold fit: units done / planned (planned may shrink as halving prunes). */
  onProgress?: (done: number, planned: number) => void;
  /** When a trial is final (complete, pruned or partial). */
  onTrial?: (result: TrialResult) => void | Promise<void>;
  /** Fold fits that may run at once (a pool of workers behind scoreFold), per lane. Default 1. */
  concurrency?: number;
  /**
   * Fold fits that must run in order on one worker (FoldWorkerPool.lanes), `concurrency` fits
   * in flight per lane: fixed lanes (each fed from its own queue, so a worker never waits
   * behind another worker's backlog: one shared queue stalls a worker whose next unit in line
   * belongs to a busy one) or claimed units (ClaimedLanes). Default: one lane.
   */
  lanes?: FixedLanes | ClaimedLanes;
}

/** Each (configuration, fold) runs on lane `of(config, fold)`. */
export interface FixedLanes {
  count: number;
  of: (config: TrialConfig, fold: number) => number;
}

/**
 * Units of (configuration, fold) pairs that must run on one lane (a worker's cached fold
 * matrices and warm starts), handed out as the lanes run dry: a lane with nothing in flight and
 * nothing left of its units claims an unclaimed unit, and `claim(unit, lane)` tells the pool
 * where the unit's fits now go. Which unit: the costliest (`cost`; ties: first needed first)
 * of a `family` the lane already holds, else of a family no lane holds, else any — units of
 * one family share setup work on a worker (the pool: a preprocessing's tokens and corpus
 * counts), so the workers split the families before they share them. A unit keeps its lane
 * for the whole search (successive halving's later rungs too). Unlike fixed lanes, a wrong
 * cost estimate or a slower worker costs at most about the last unit's length.
 */
export interface ClaimedLanes {
  count: number;
  unitOf: (config: TrialConfig, fold: number) => number;
  cost: (unit: number) => number;
  family: (unit: number) => number;
  claim: (unit: number, lane: number) => void;
  /**
   * Called once per lane when the search will send it no more fits (its last fit is back):
   * FoldWorkerPool stops that worker then, while the others finish their last units, instead
   * of after the search (a worker's teardown is ~50 ms).
   */
  release?: (lane: number) => void;
}

export interface SearchResult {
  method: SearchMethod;
  metric: string;
  /** Sorted best first: complete trials by mean metric, then partial/pruned ones. */
  trials: TrialResult[];
  best: TrialResult | null;
  seconds: number;
  timedOut: boolean;
}

type Unit = { id: number; fold: number };
/** take's answer when the lane must wait for its fits in flight before claiming its next unit. */
const WAIT = { id: -1, fold: -1 };
/** The next (trial, fold) of a lane (`inFlight`: its fits not yet returned), WAIT, or null when the lane has no more work. */
type Take = (lane: number, inFlight: number) => Unit | typeof WAIT | null;

/** FixedLanes: each lane's queue holds its units in trial-major order. */
function fixedQueues(configs: TrialConfig[], lanes: FixedLanes | undefined, units: Unit[], laneCount: number): Take {
  const queues: Unit[][] = Array.from({ length: laneCount }, () => []);
  for (const u of units) queues[lanes ? lanes.of(configs[u.id], u.fold) % laneCount : 0].push(u);
  const next = new Int32Array(laneCount);
  return (lane) => (next[lane] < queues[lane].length ? queues[lane][next[lane]++] : null);
}

/**
 * ClaimedLanes: each unit's (trial, fold) pairs in trial-major order (the order a warm-start
 * path needs); a lane drains the units it holds (`laneOfUnit`, kept across calls), then, once
 * its fits in flight are back, claims its next unit (see ClaimedLanes).
 */
function claimedQueues(configs: TrialConfig[], lanes: ClaimedLanes, units: Unit[], laneCount: number, laneOfUnit: Map<number, number>): Take {
  const queues = new Map<number, Unit[]>();
  for (const u of units) {
    const k = lanes.unitOf(configs[u.id], u.fold);
    const q = queues.get(k);
    if (q) q.push(u);
    else queues.set(k, [u]);
  }
  const held: number[][] = Array.from({ length: laneCount }, () => []);
  const unclaimed: number[] = [];
  for (const k of queues.keys()) {
    const lane = laneOfUnit.get(k);
    if (lane === undefined) unclaimed.push(k);
    else held[lane % laneCount].push(k);
  }
  const firstNeeded = new Map(unclaimed.map((k, i) => [k, i]));
  unclaimed.sort((a, b) => lanes.cost(b) - lanes.cost(a) || (firstNeeded.get(a) as number) - (firstNeeded.get(b) as number));
  // Families each lane holds (units claimed in earlier calls too).
  const families: Set<number>[] = Array.from({ length: laneCount }, () => new Set());
  for (const [k, lane] of laneOfUnit) families[lane % laneCount].add(lanes.family(k));
  const choose = (lane: number): number => {
    let unheld = -1;
    for (let c = 0; c < unclaimed.length; c++) {
      const f = lanes.family(unclaimed[c]);
      if (families[lane].has(f)) return c;
      if (unheld < 0 && !families.some((other) => other.has(f))) unheld = c;
    }
    return unheld >= 0 ? unheld : 0;
  };
  const next = new Map<number, number>();
  return (lane, inFlight) => {
    const own = held[lane];
    for (;;) {
      while (own.length > 0) {
        const q = queues.get(own[0]) as Unit[];
        const p = next.get(own[0]) ?? 0;
        if (p < q.length) {
          next.set(own[0], p + 1);
          return q[p];
        }
        own.shift();
      }
      if (unclaimed.length === 0) return null;
      // Claimed by a lane that is idle, so the last units go to whichever worker is free first.
      if (inFlight > 0) return WAIT;
      const k = unclaimed.splice(choose(lane), 1)[0];
      laneOfUnit.set(k, lane);
      families[lane].add(lanes.family(k));
      lanes.claim(k, lane);
      own.push(k);
    }
  };
}

export function higherIsBetter(metric: string): boolean {
  return metric !== "logLoss" && metric !== "fitSeconds";
}

/** Orders trials: complete before pruned/partial, then by mean metric (best first), then by id. */
export function rankTrials(trials: TrialResult[], metric: string): TrialResult[] {
  const sign = higherIsBetter(metric) ? -1 : 1;
  const rank = (t: TrialResult): number => (t.status === "complete" ? 0 : t.status === "partial" ? 1 : 2);
  return [...trials].sort((a, b) => rank(a) - rank(b) || sign * ((a.mean[metric] ?? -Infinity) - (b.mean[metric] ?? -Infinity)) || a.id - b.id);
}

/**
 * Runs a search over `configs` (already expanded): grid = all of them on every fold; random =
 * nIter of them drawn without replacement; halving = successive halving with folds as the
 * resource (rung r scores the survivors on the first ⌈k / eta^(R−r)⌉ folds, keeps the best
 * 1/eta; the last rung uses all k folds, so the winner is judged like a grid trial). Fold fits
 * are scheduled `concurrency` at a time; results do not depend on it.
 */
export async function runSearch(configs: TrialConfig[], scoreFold: ScoreFold, options: SearchOptions): Promise<SearchResult> {
  const metric = options.metric ?? "accuracy";
  const k = options.folds;
  const t0 = performance.now();
  const deadline = options.maxTimeMs && options.maxTimeMs > 0 ? t0 + options.maxTimeMs : Infinity;
  const rng = new Random(options.seed ?? 0);
  let chosen = configs.map((c, id) => ({ id, config: c }));
  if (options.method === "random") {
    const n = Math.min(options.nIter ?? 10, configs.length);
    if (!(n >= 1)) throw new InvalidParameterError(`random search: n_iter must be >= 1, got ${options.nIter}`);
    const order = rng.shuffle(chosen.slice());
    // Keep the chosen configurations in space order, so fold matrices are shared by neighbours.
    chosen = order.slice(0, n).sort((a, b) => a.id - b.id);
  } else if (options.method !== "grid" && options.method !== "halving") {
    throw new InvalidParameterError(`search method must be grid, random or halving, got ${JSON.stringify(options.method)}`);
  }
  const foldMetrics = new Map<number, FoldMetrics[]>();
  const seconds = new Map<number, number>();
  for (const c of chosen) {
    foldMetrics.set(c.id, []);
    seconds.set(c.id, 0);
  }
  let timedOut = false;
  let done = 0;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  // ClaimedLanes: the lane each unit was claimed by (kept across halving's rungs).
  const laneOfUnit = new Map<number, number>();

  // Scores folds [from, to) of each trial in `ids`, `concurrency` fold fits at a time, in
  // trial-major order; `onComplete(id)` runs as soon as trial id has all `to` folds (so trials
  // are logged as they finish while later trials' folds are already being fitted).
  // `last`: the search's last call (ClaimedLanes.release is called as each lane runs out of work).
  const scoreUpTo = async (ids: number[], to: number, planned: () => number, last: boolean, onComplete?: (id: number) => Promise<void>): Promise<void> => {
    const units: { id: number; fold: number }[] = [];
    for (const id of ids) for (let f = (foldMetrics.get(id) as FoldMetrics[]).length; f < to; f++) units.push({ id, fold: f });
    const results = new Map<string, FoldMetrics>();
    const remaining = new Map<number, number>();
    for (const u of units) remaining.set(u.id, (remaining.get(u.id) ?? 0) + 1);
    // Folds are appended in order, only while contiguous (a timeout may leave gaps).
    const collect = (id: number): void => {
      const list = foldMetrics.get(id) as FoldMetrics[];
      for (let f = list.length; f < to; f++) {
        const m = results.get(`${id}:${f}`);
        if (!m) break;
        list.push(m);
      }
    };
    const laneCount = options.lanes ? Math.max(1, options.lanes.count) : 1;
    const lanes = options.lanes;
    const take = lanes && "unitOf" in lanes ? claimedQueues(configs, lanes, units, laneCount, laneOfUnit) : fixedQueues(configs, lanes, units, laneCount);
    const inFlight = new Int32Array(laneCount);
    const waiting: (() => void)[][] = Array.from({ length: laneCount }, () => []);
    // A lane's loops end once nothing is left for it (or the time is up), each with its fit back.
    const loopsLeft = new Int32Array(laneCount).fill(concurrency);
    const release = last && lanes && "release" in lanes ? lanes.release : undefined;
    const worker = async (lane: number): Promise<void> => {
      await scoreLane(lane);
      if (--loopsLeft[lane] === 0) release?.(lane);
    };
    const scoreLane = async (lane: number): Promise<void> => {
      for (;;) {
        if (performance.now() > deadline) {
          timedOut = true;
          return;
        }
        const u = take(lane, inFlight[lane]);
        if (u === null) return;
        if (u === WAIT) {
          // The lane's next unit is claimed once its fits in flight are done.
          await new Promise<void>((resolve) => waiting[lane].push(resolve));
          continue;
        }
        inFlight[lane]++;
        const s = performance.now();
        const m = await scoreFold(configs[u.id], u.fold);
        seconds.set(u.id, (seconds.get(u.id) as number) + (performance.now() - s) / 1000);
        inFlight[lane]--;
        for (const wake of waiting[lane].splice(0)) wake();
        results.set(`${u.id}:${u.fold}`, m);
        done++;
        options.onProgress?.(done, planned());
        const left = (remaining.get(u.id) as number) - 1;
        remaining.set(u.id, left);
        if (left === 0 && onComplete) {
          collect(u.id);
          await onComplete(u.id);
        }
      }
    };
    const loops: Promise<void>[] = [];
    for (let lane = 0; lane < laneCount; lane++) for (let c = 0; c < concurrency; c++) loops.push(worker(lane));
    await Promise.all(loops);
    for (const id of ids) collect(id);
  };

  const finished: TrialResult[] = [];
  const finish = async (id: number, status: TrialResult["status"]): Promise<void> => {
    const folds = foldMetrics.get(id) as FoldMetrics[];
    if (folds.length === 0) return;
    const r = summarizeTrial(id, configs[id], folds, seconds.get(id) as number, folds.length === k ? "complete" : status);
    finished.push(r);
    await options.onTrial?.(r);
  };

  if (options.method !== "halving") {
    const ids = chosen.map((c) => c.id);
    // All trials' folds in one queue, trial-major (workers never wait for a trial's last fold),
    // each trial finished and logged as soon as its folds are in.
    await scoreUpTo(
      ids,
      k,
      () => ids.length * k,
      true,
      (id) => finish(id, "partial"),
    );
    for (const id of ids) if (!finished.some((r) => r.id === id)) await finish(id, "partial");
  } else {
    const eta = options.eta ?? 3;
    if (!(eta >= 2)) throw new InvalidParameterError(`halving: eta must be >= 2, got ${eta}`);
    let survivors = chosen.map((c) => c.id);
    const rungs = Math.max(0, Math.ceil(Math.log(survivors.length) / Math.log(eta)));
    const sign = higherIsBetter(metric) ? -1 : 1;
    let plannedTotal = 0;
    {
      let n = survivors.length;
      for (let r = 0; r <= rungs; r++) {
        plannedTotal += n * Math.max(1, Math.ceil(k / eta ** (rungs - r)));
        n = Math.max(1, Math.ceil(n / eta));
      }
    }
    for (let r = 0; r <= rungs && !timedOut; r++) {
      const foldsNow = r === rungs ? k : Math.min(k, Math.max(1, Math.ceil(k / eta ** (rungs - r))));
      await scoreUpTo(survivors, foldsNow, () => plannedTotal, r === rungs);
      if (r === rungs || timedOut) break;
      const keep = Math.max(1, Math.ceil(survivors.length / eta));
      const scored = survivors.map((id) => {
        const list = foldMetrics.get(id) as FoldMetrics[];
        const values = list.map((m) => m[metric]).filter((v): v is number => typeof v === "number");
        return { id, score: values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN };
      });
      scored.sort((a, b) => sign * ((Number.isNaN(a.score) ? -Infinity : a.score) - (Number.isNaN(b.score) ? -Infinity : b.score)) || a.id - b.id);
      const next = scored.slice(0, keep).map((s) => s.id);
      for (const s of scored.slice(keep)) await finish(s.id, "pruned");
      survivors = next.sort((a, b) => a - b);
    }
    for (const id of survivors) await finish(id, "partial");
  }
  const trials = rankTrials(finished, metric);
  const best = trials.find((t) => t.status === "complete") ?? trials[0] ?? null;
  return { method: options.method, metric, trials, best, seconds: (performance.now() - t0) / 1000, timedOut };
}
