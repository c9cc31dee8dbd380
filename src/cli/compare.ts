import { readFile, rename, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type { Command } from "commander";
import type { SearchSpace } from "../tuning/space.js";
import type { TrialResult } from "../tuning/trials.js";
import { createReporter } from "../util/progress.js";
import { requireInteger, requireOneOf } from "../util/validate.js";
import { action } from "./run-command.js";
import { loadLabelledTexts, scoreOnTestSet } from "./datasets.js";
import type { HeldOutMetrics } from "../evaluation/held-out.js";
import type { TrainOptions } from "../models/sentiment-model.js";
import { formatTestMetrics, formatTrials, openTuneTracking, testMetricsForRun } from "./tune.js";

interface CompareFlags {
  dataset: string;
  textColumn: string;
  labelColumn: string;
  preprocess: string;
  folds: string;
  seed: string;
  jobs: string;
  html: string;
  trees: string;
  track?: boolean;
  trackingUri?: string;
  experiment: string;
  test?: string;
  json?: boolean;
}

const MODELS = ["logreg", "nb", "nbsvm", "svm", "rf", "gbdt"] as const;

/** The comparison of the system Polarity replaces: six models × {BoW, TF-IDF}, each at its defaults. */
export function comparisonSpace(preprocess: string, trees: number): SearchSpace {
  return {
    preprocess: [preprocess],
    features: [
      { kind: "bow", ngram_range: [1, 2] },
      { kind: "tfidf", ngram_range: [1, 2] },
    ],
    model: MODELS.map((kind) => (kind === "rf" || kind === "gbdt" ? { kind, nEstimators: trees } : { kind })),
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);
}

/**
 * A self-contained page (no network): the results table and an ECharts parallel-coordinates
 * plot (model, features, preprocessing, fit time → accuracy, F1, ROC AUC), echarts' min build
 * inlined. Data goes in as JSON inside a <script type="application/json"> block (escaped `<`).
 */
export async function renderComparisonHtml(trials: TrialResult[], title: string): Promise<string> {
  const require = createRequire(import.meta.url);
  const echarts = await readFile(require.resolve("echarts/dist/echarts.min.js"), "utf8");
  const rows = trials.map((t) => ({
    model: t.config.model.kind,
    features: t.config.features.kind,
    preprocess: t.config.preprocessName,
    accuracy: t.mean.accuracy ?? null,
    accuracySd: t.sd.accuracy ?? null,
    f1: t.mean.f1 ?? null,
    rocAuc: t.mean.rocAuc ?? null,
    fitSeconds: t.mean.fitSeconds ?? null,
  }));
  const data = JSON.stringify(rows).replace(/</g, "\\u003c");
  const table = rows
    .map(
      (r, i) =>
        `<tr><td>${i + 1}</td><td>${escapeHtml(r.model)}</td><td>${escapeHtml(r.features)}</td><td>${escapeHtml(r.preprocess)}</td><td>${r.accuracy?.toFixed(4) ?? ""} ± ${r.accuracySd?.toFixed(4) ?? ""}</td><td>${r.f1?.toFixed(4) ?? ""}</td><td>${r.rocAuc?.toFixed(4) ?? ""}</td><td>${r.fitSeconds?.toFixed(3) ?? ""}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin-top:16px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}#plot{width:100%;height:460px}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
<div id="plot" role="img" aria-label="parallel coordinates: model, features, preprocessing and fit time against accuracy, F1 and ROC AUC"></div>
<table><thead><tr><th>rank</th><th>model</th><th>features</th><th>preprocess</th><th>accuracy (mean ± sd)</th><th>F1</th><th>ROC AUC</th><th>fit s / fold</th></tr></thead><tbody>
${table}
</tbody></table>
<script type="application/json" id="data">${data}</script>
<script>${echarts.replace(/<\/script/gi, "<\\/script")}</script>
<script>
const rows = JSON.parse(document.getElementById("data").textContent);
const cats = (k) => [...new Set(rows.map((r) => r[k]))];
const dims = [
  { dim: 0, name: "model", type: "category", data: cats("model") },
  { dim: 1, name: "features", type: "category", data: cats("features") },
  { dim: 2, name: "preprocess", type: "category", data: cats("preprocess") },
  { dim: 3, name: "fit s/fold", scale: true },
  { dim: 4, name: "F1", scale: true },
  { dim: 5, name: "ROC AUC", scale: true },
  { dim: 6, name: "accuracy", scale: true },
];
const values = rows.map((r) => [r.model, r.features, r.preprocess, r.fitSeconds, r.f1, r.rocAuc, r.accuracy]);
const acc = rows.map((r) => r.accuracy).filter((v) => v !== null);
const chart = echarts.init(document.getElementById("plot"));
chart.setOption({
  animation: false,
  parallelAxis: dims,
  parallel: { left: 60, right: 80, top: 40, bottom: 30 },
  visualMap: { show: true, type: "continuous", dimension: 6, min: Math.min(...acc), max: Math.max(...acc), right: 0, top: "middle", inRange: { color: ["#d94e5d", "#eac736", "#50a3ba"] } },
  tooltip: {},
  series: [{ type: "parallel", lineStyle: { width: 2, opacity: 0.8 }, data: values }],
});
window.addEventListener("resize", () => chart.resize());
</script>
</body></html>
`;
}

export function register(program: Command): void {
  program
    .command("compare")
    .description("Compare LR, NB, NBSVM, linear SVM, random forest and boosted trees on BoW and TF-IDF by stratified CV (table, runs, HTML page)")
    .option("--dataset <name|path|url>", "uci-sentences, or a CSV/TSV/JSON/JSONL file or URL", "uci-sentences")
    .option("--text-column <name>", "text column of a file dataset", "text")
    .option("--label-column <name>", "label column of a file dataset", "label")
    .option("--preprocess <light|default>", "preprocessing of every configuration", "light")
    .option("--folds <k>", "CV folds", "5")
    .option("--seed <n>", "fold seed", "42")
    .option("--trees <n>", "trees of the forest / rounds of boosting", "100")
    .option("--jobs <n>", "worker threads scoring folds (0 = in this thread)", "2")
    .option("--html <path>", "where to write the self-contained HTML report", "reports/compare.html")
    .option("--no-track", "do not log the comparison as runs")
    .option("--tracking-uri <uri>", "tracking store (default: MLFLOW_TRACKING_URI, then sqlite:///mlruns.db)")
    .option("--experiment <name>", "experiment of the runs", "polarity-compare")
    .option("--test <path|url>", "also fit every configuration on the whole dataset and score it on this separately supplied test set (same columns)")
    .option("--json", "print the results as JSON")
    .action(
      action(async (o: CompareFlags) => {
        const preprocess = requireOneOf("--preprocess", o.preprocess, ["light", "default"] as const);
        const folds = requireInteger("--folds", Number(o.folds), 2, 100);
        const seed = requireInteger("--seed", Number(o.seed), 0);
        const jobs = requireInteger("--jobs", Number(o.jobs), 0, 8);
        const trees = requireInteger("--trees", Number(o.trees), 1, 10_000);
        const [{ expandSpace }, { runSearch }, { FoldScorer }, { FoldWorkerPool }] = await Promise.all([
          import("../tuning/space.js"),
          import("../tuning/search.js"),
          import("../tuning/trials.js"),
          import("../tuning/pool.js"),
        ]);
        const configs = expandSpace(comparisonSpace(preprocess, trees));
        const data = await loadLabelledTexts(o.dataset, o.textColumn, o.labelColumn);
        const testData = o.test === undefined ? null : await loadLabelledTexts(o.test, o.textColumn, o.labelColumn, "--test");
        const reporter = createReporter({ stream: process.stderr, quiet: o.json === true });
        reporter.log(`compare: ${configs.length} configurations × ${folds} folds on ${data.texts.length} texts`);
        const pool = jobs > 0 ? new FoldWorkerPool(data.texts, data.labels, folds, seed, configs, jobs) : null;
        const scorer = pool ? null : new FoldScorer(data.texts, data.labels, folds, seed);
        const tracking =
          o.track === false ? null : await openTuneTracking(o.trackingUri, o.experiment, "compare", { folds, seed, preprocess, dataset: o.dataset, trees });
        let trials: TrialResult[];
        const tests = new Map<TrialResult, HeldOutMetrics>();
        try {
          const result = await runSearch(
            configs,
            pool ? (c, f) => pool.scoreFold(c, f) : (c, f) => (scorer as InstanceType<typeof FoldScorer>).scoreFold(c, f),
            {
              method: "grid",
              folds,
              // One fold fit in flight per worker, each fed from its own queue.
              concurrency: 1,
              lanes: pool?.lanes,
              onProgress: (done, planned) => reporter.progress("compare", done, planned),
              onTrial: tracking ? (t) => tracking.logTrial(t) : undefined,
            },
          );
          trials = result.trials;
          await tracking?.logBest(result);
          if (testData !== null) {
            for (const t of trials) {
              const { preprocess: p, features, model } = t.config;
              const m = await scoreOnTestSet(data, testData, { preprocess: p, features, model } as TrainOptions, {
                dataset: o.dataset,
                test: o.test as string,
              });
              tests.set(t, m);
              await tracking?.logMetrics(testMetricsForRun(m, `.${model.kind}.${features.kind}`));
            }
          }
          await tracking?.end("FINISHED");
        } catch (err) {
          await tracking?.end("FAILED");
          throw err;
        } finally {
          reporter.close();
          await pool?.close();
        }
        const html = await renderComparisonHtml(trials, `Polarity model comparison — ${o.dataset}, ${folds}-fold CV, ${preprocess} preprocessing`);
        const { mkdir } = await import("node:fs/promises");
        const { dirname } = await import("node:path");
        await mkdir(dirname(o.html), { recursive: true });
        const tmp = `${o.html}.tmp-${process.pid}`;
        await writeFile(tmp, html);
        await rename(tmp, o.html);
        if (o.json) {
          console.log(
            JSON.stringify(
              {
                html: o.html,
                parentRunId: tracking?.parentRunId ?? null,
                trials: trials.map((t) => ({
                  model: t.config.model.kind,
                  features: t.config.features.kind,
                  mean: t.mean,
                  sd: t.sd,
                  ...(tests.has(t) ? { test: { source: o.test, ...tests.get(t) } } : {}),
                })),
              },
              null,
              2,
            ),
          );
          return;
        }
        console.log(await formatTrials(trials, "accuracy", trials.length));
        if (tests.size > 0) {
          console.log(`\ntest set ${o.test} (each configuration fitted on all ${data.texts.length} texts):`);
          for (const t of trials) {
            const m = tests.get(t);
            if (m) console.log(`  ${t.config.model.kind.padEnd(6)} ${t.config.features.kind.padEnd(6)} ${formatTestMetrics(m)}`);
          }
        }
        console.log(`\nreport: ${o.html}${tracking ? `; parent run ${tracking.parentRunId}` : ""}`);
      }),
    );
}
