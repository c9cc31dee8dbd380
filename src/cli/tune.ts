import type { HeldOutMetrics } from "../evaluation/held-out.js";
import type { TrainOptions } from "../models/sentiment-model.js";
import { loadLabelledTexts, scoreOnTestSet } from "./datasets.js";
import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { SEARCH_DEFAULTS, SEARCH_METHODS, SEARCH_METRICS } from "../stages/search-defaults.js";
import type { SearchResult, TrialResult } from "../tuning/search.js";
import type { SearchSpace, TrialConfig } from "../tuning/space.js";
import { DataError, InvalidParameterError } from "../util/errors.js";
import { createReporter } from "../util/progress.js";
import { requireInteger, requireOneOf } from "../util/validate.js";
import { action } from "./run-command.js";

interface TuneFlags {
  dataset: string;
  textColumn: string;
  labelColumn: string;
  params: string;
  space?: string;
  method?: string;
  folds?: string;
  seed?: string;
  nIter?: string;
  metric?: string;
  maxTime?: string;
  jobs: string;
  top: string;
  writeParams?: boolean;
  track?: boolean;
  trackingUri?: string;
  experiment: string;
  test?: string;
  json?: boolean;
}

/**
 * `train.search` of params.yaml through the one params schema; without the file, its defaults
 * as they are: the schema (TypeBox and the YAML parser, ~0.25 s) is then not loaded on this
 * thread, which the fold workers wait on for their data.
 */
async function readSearchSettings(path: string): Promise<typeof SEARCH_DEFAULTS & { space?: unknown }> {
  if (!existsSync(path)) return SEARCH_DEFAULTS;
  return (await (await import("../stages/params.js")).loadParams(path)).train.search;
}

export function trialParams(c: TrialConfig): Record<string, string> {
  const out: Record<string, string> = { preprocess: c.preprocessName };
  for (const [k, v] of Object.entries(c.features)) out[`features.${k}`] = Array.isArray(v) ? JSON.stringify(v) : String(v);
  for (const [k, v] of Object.entries(c.model)) out[`model.${k}`] = String(v);
  return out;
}

/** The results table: rank, configuration, mean ± sd of the metric, folds, status. */
export async function formatTrials(trials: TrialResult[], metric: string, top: number): Promise<string> {
  const [{ describeTrial }, { formatTable }] = await Promise.all([import("../tuning/space.js"), import("../pipeline/metrics-files.js")]);
  const rows = trials.slice(0, top).map((t, i) => {
    const d = describeTrial(t.config);
    return [
      String(i + 1),
      d.preprocess,
      d.features,
      d.model,
      (t.mean[metric] ?? NaN).toFixed(4),
      (t.sd[metric] ?? NaN).toFixed(4),
      String(t.folds.length),
      t.status,
    ];
  });
  return formatTable(["rank", "preprocess", "features", "model", `mean_${metric}`, "sd", "folds", "status"], rows);
}

const toSnake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Writes the best configuration into params.yaml (comments and other keys kept): the
 * preprocess section, featurize, and train.model with its hyperparameter block. Atomic.
 */
export async function writeBestParams(path: string, best: TrialConfig): Promise<void> {
  const { parseDocument } = await import("yaml");
  let text = "";
  try {
    text = await readFile(path, "utf8");
  } catch {
    text = "";
  }
  const doc = parseDocument(text);
  for (const [k, v] of Object.entries(best.preprocess)) doc.setIn(["preprocess", toSnake(k)], v);
  doc.setIn(["featurize", "kind"], best.features.kind);
  for (const [k, v] of Object.entries(best.features)) if (k !== "kind") doc.setIn(["featurize", toSnake(k)], v);
  const { kind, ...hyper } = best.model;
  doc.setIn(["train", "model"], kind);
  for (const [k, v] of Object.entries(hyper)) doc.setIn(["train", kind, k === "C" ? "C" : toSnake(k)], v);
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, doc.toString());
  await rename(tmp, path);
}

export function register(program: Command): void {
  program
    .command("tune")
    .description("Search preprocessing × features × model × hyperparameters by stratified k-fold CV (train.search in params.yaml)")
    .option("--dataset <name|path|url>", "uci-sentences, or a CSV/TSV/JSON/JSONL file or URL", "uci-sentences")
    .option("--text-column <name>", "text column of a file dataset", "text")
    .option("--label-column <name>", "label column of a file dataset", "label")
    .option("--params <path>", "params.yaml holding train.search (optional)", "params.yaml")
    .option("--space <path>", "a YAML file holding just the search space (overrides train.search.space)")
    .option("--method <grid|random|halving>", "search method (default: train.search.method, else grid)")
    .option("--folds <k>", "CV folds (default: train.search.folds, else 5)")
    .option("--seed <n>", "fold and sampling seed (default: train.search.seed, else 42)")
    .option("--n-iter <n>", "random search: configurations to draw (default 10)")
    .option("--metric <name>", "metric to maximise (accuracy, f1, rocAuc; logLoss is minimised)")
    .option("--max-time <seconds>", "stop starting new fits after this long; unfinished trials are marked partial")
    .option("--jobs <n>", "worker threads scoring folds (0 = in this thread)", "2")
    .option("--top <n>", "rows of the results table", "20")
    .option("--write-params", "write the best configuration into params.yaml (preprocess, featurize, train)")
    .option("--no-track", "do not log the trials as runs")
    .option("--tracking-uri <uri>", "tracking store (default: MLFLOW_TRACKING_URI, then sqlite:///mlruns.db)")
    .option("--experiment <name>", "experiment of the parent and child runs", "polarity-tune")
    .option("--test <path|url>", "fit the best configuration on the whole dataset and score it on this separately supplied test set (same columns)")
    .option("--json", "print the results as JSON")
    .action(action(async (o: TuneFlags) => runTuneCommand(o)));
}

async function runTuneCommand(o: TuneFlags): Promise<void> {
  // The fold workers start (thread, bootstrap, modules) while this thread reads the settings and the data.
  const early = Number(o.jobs);
  const prestarted = Number.isInteger(early) && early >= 1 && early <= 8 ? (await import("../tuning/pool.js")).prestartFoldWorkers(early) : undefined;
  const search = await readSearchSettings(o.params);
  const method = requireOneOf("--method", o.method ?? search.method, SEARCH_METHODS);
  const folds = requireInteger("--folds", Number(o.folds ?? search.folds), 2, 100);
  const seed = requireInteger("--seed", Number(o.seed ?? search.seed), 0);
  const nIter = requireInteger("--n-iter", Number(o.nIter ?? search.nIter), 1);
  const metric = requireOneOf("--metric", o.metric ?? search.metric, SEARCH_METRICS);
  const maxTimeMs = Number(o.maxTime ?? search.maxTime) * 1000;
  if (!(maxTimeMs >= 0)) throw new InvalidParameterError(`--max-time must be a number of seconds >= 0, got ${String(o.maxTime)}`);
  const jobs = requireInteger("--jobs", Number(o.jobs), 0, 8);
  const top = requireInteger("--top", Number(o.top), 1);

  const { DEFAULT_SEARCH_SPACE, expandSpace } = await import("../tuning/space.js");
  let space = (search.space as SearchSpace | undefined) ?? DEFAULT_SEARCH_SPACE;
  if (o.space) {
    const { parse } = await import("yaml");
    let text: string;
    try {
      text = await readFile(o.space, "utf8");
    } catch {
      throw new DataError(`--space: cannot read ${o.space}`);
    }
    space = parse(text) as SearchSpace;
  }
  const configs = expandSpace(space);
  const data = await loadLabelledTexts(o.dataset, o.textColumn, o.labelColumn);
  const testData = o.test === undefined ? null : await loadLabelledTexts(o.test, o.textColumn, o.labelColumn, "--test");
  const reporter = createReporter({ stream: process.stderr, quiet: o.json === true });
  reporter.log(
    `tune: ${method} search over ${configs.length} configurations × ${folds} folds on ${data.texts.length} texts (${jobs} worker${jobs === 1 ? "" : "s"})`,
  );

  // The workers get their data first. With workers, this thread never fits: FoldScorer (the
  // vectorizers and every model) is only loaded for --jobs 0.
  const pool = jobs > 0 ? new (await import("../tuning/pool.js")).FoldWorkerPool(data.texts, data.labels, folds, seed, configs, jobs, prestarted) : null;
  const scorer = pool ? null : new (await import("../tuning/trials.js")).FoldScorer(data.texts, data.labels, folds, seed);
  const { runSearch } = await import("../tuning/search.js");

  let result: SearchResult;
  let tracking: TuneTracking | null = null;
  // The parent run is opened once the first fold fits are posted: the tracking client's modules
  // and the store's schema (0.2-0.3 s of this thread's CPU) would otherwise keep the workers waiting for
  // their first requests. A trial that finishes before it is open waits for it; a store that
  // cannot be opened ends the search.
  let opening: Promise<TuneTracking> | null = null;
  let searching: Promise<SearchResult> | null = null;
  let closing: Promise<void> | undefined;
  try {
    searching = runSearch(configs, pool ? (c, f) => pool.scoreFold(c, f) : (c, f) => (scorer as NonNullable<typeof scorer>).scoreFold(c, f), {
      method,
      folds,
      metric,
      nIter,
      eta: search.eta,
      seed,
      maxTimeMs,
      // Each worker fed from its own queue, two fold fits in flight, so it never idles between messages.
      concurrency: 2,
      lanes: pool?.lanes,
      onProgress: (done, planned) => reporter.progress("tune", done, planned),
      onTrial: o.track === false ? undefined : async (t) => (await (opening as Promise<TuneTracking>)).logTrial(t),
    });
    opening =
      o.track === false
        ? null
        : openTuneTracking(o.trackingUri, o.experiment, "tune", { method, folds, seed, metric, configs: configs.length, dataset: o.dataset });
    [result, tracking] = await Promise.all([searching, opening]);
  } catch (err) {
    // The search is abandoned when the store could not be opened (the workers are stopped below).
    searching?.catch(() => undefined);
    await opening?.then(
      (t) => t.end("FAILED"),
      () => undefined,
    );
    throw err;
  } finally {
    reporter.close();
    // The workers' teardown (~50 ms) overlaps the tracking's last calls and the output.
    closing = pool?.close();
  }
  await tracking?.logBest(result);
  let test: HeldOutMetrics | null = null;
  if (testData !== null && result.best) {
    const { preprocess, features, model } = result.best.config;
    try {
      test = await scoreOnTestSet(data, testData, { preprocess, features, model } as TrainOptions, { dataset: o.dataset, test: o.test as string });
      await tracking?.logMetrics(testMetricsForRun(test));
    } catch (err) {
      await tracking?.end("FAILED");
      throw err;
    }
  }
  await tracking?.end("FINISHED");
  if (o.writeParams && result.best) await writeBestParams(o.params, result.best.config);

  if (o.json) {
    const { describeTrial } = await import("../tuning/space.js");
    const trials = result.trials.map((t) => ({
      rank: result.trials.indexOf(t) + 1,
      ...describeTrial(t.config),
      config: t.config,
      mean: t.mean,
      sd: t.sd,
      folds: t.folds.length,
      status: t.status,
      seconds: t.seconds,
    }));
    console.log(
      JSON.stringify(
        {
          method,
          metric,
          seconds: result.seconds,
          timedOut: result.timedOut,
          parentRunId: tracking?.parentRunId ?? null,
          best: trials[0] ?? null,
          ...(test !== null ? { test: { source: o.test, ...test } } : {}),
          trials,
        },
        null,
        2,
      ),
    );
    await closing;
    return;
  }
  console.log(await formatTrials(result.trials, metric, top));
  const b = result.best;
  console.log(
    `\n${result.trials.length} trials in ${result.seconds.toFixed(1)} s${result.timedOut ? " (stopped by --max-time)" : ""}; best mean ${metric} ${b ? `${(b.mean[metric] ?? NaN).toFixed(4)} ± ${(b.sd[metric] ?? NaN).toFixed(4)}` : "n/a"}` +
      `${tracking ? `; parent run ${tracking.parentRunId}` : ""}${o.writeParams && b ? `; written to ${o.params}` : ""}`,
  );
  if (test !== null)
    console.log(
      `test: the best configuration fitted on all ${data.texts.length} texts scores ${formatTestMetrics(test)} on ${test.n_test} texts from ${o.test}`,
    );
  await closing;
}

/** A test set's scores as parent-run metrics (`test_accuracy`, …; missing ones left out). */
export function testMetricsForRun(m: HeldOutMetrics, suffix = ""): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of ["accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"] as const) {
    const v = m[k];
    if (typeof v === "number" && Number.isFinite(v)) out[`test_${k}${suffix}`] = v;
  }
  return out;
}

export function formatTestMetrics(m: HeldOutMetrics): string {
  return `accuracy ${m.accuracy.toFixed(4)}, F1 ${m.f1.toFixed(4)}${m.roc_auc === null ? "" : `, ROC AUC ${m.roc_auc.toFixed(4)}`}`;
}

export interface TuneTracking {
  parentRunId: string;
  logTrial(t: TrialResult): Promise<void>;
  logBest(r: SearchResult): Promise<void>;
  /** Metrics of the parent run (e.g. the test-set scores of `--test`). */
  logMetrics(metrics: Record<string, number>): Promise<void>;
  end(status: "FINISHED" | "FAILED"): Promise<void>;
}

/** One parent run for the search and one child run per trial (MLflow's mlflow.parentRunId tag). */
export async function openTuneTracking(
  trackingUri: string | undefined,
  experiment: string,
  kind: "tune" | "compare",
  meta: Record<string, unknown>,
): Promise<TuneTracking> {
  const { TrackingClient } = await import("../tracking/client.js");
  const client = TrackingClient.open(trackingUri ? { trackingUri } : {});
  const experimentId = await client.getOrCreateExperiment(experiment);
  const parent = await client.createRun(experimentId, {
    runName: kind === "tune" ? `tune-${String(meta.method)}` : "compare",
    tags: { "polarity.kind": kind },
  });
  const parentRunId = parent.info.run_id;
  await client.logParams(parentRunId, meta);
  return {
    parentRunId,
    async logTrial(t) {
      const { describeTrial } = await import("../tuning/space.js");
      const d = describeTrial(t.config);
      const child = await client.createRun(experimentId, {
        runName: `${d.model} | ${d.features} | ${d.preprocess}`,
        parentRunId,
        tags: { "polarity.kind": `${kind}-trial`, "polarity.trial_status": t.status },
      });
      const id = child.info.run_id;
      const metrics: Record<string, number> = { folds_scored: t.folds.length, fit_seconds: t.seconds };
      for (const [k, v] of Object.entries(t.mean)) metrics[`mean_${k}`] = v;
      for (const [k, v] of Object.entries(t.sd)) metrics[`sd_${k}`] = v;
      // Params and metrics in one logBatch (one store transaction instead of two per trial).
      const timestamp = Date.now();
      await client.logBatch(id, {
        params: Object.entries(trialParams(t.config)).map(([key, value]) => ({ key, value })),
        metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp, step: 0 })),
      });
      await client.endRun(id, "FINISHED");
    },
    async logBest(r) {
      if (!r.best) return;
      await client.logParams(parentRunId, Object.fromEntries(Object.entries(trialParams(r.best.config)).map(([k, v]) => [`best.${k}`, v])));
      await client.logMetrics(parentRunId, Object.fromEntries(Object.entries(r.best.mean).map(([k, v]) => [`best_mean_${k}`, v])));
    },
    async logMetrics(metrics) {
      await client.logMetrics(parentRunId, metrics);
    },
    async end(status) {
      await client.endRun(parentRunId, status);
      await client.close();
    },
  };
}
