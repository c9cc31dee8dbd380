import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readDatasetCsv, readJsonFile } from "../data/files.js";
import { writeFileAtomic, writeJsonAtomic } from "../util/atomic-write.js";
import type { ValidationReport } from "../data/report.js";
import { evaluateModelOn, heldOutPlotData, round6, type HeldOutMetrics } from "../evaluation/held-out.js";
import { SentimentModel } from "../models/sentiment-model.js";
import type { StageContext } from "./context.js";
import { LAYOUT, projectPath } from "./layout.js";
import { flattenParams } from "./params.js";
import { formatDuration } from "../util/progress.js";
import { gitCommit, withTracking } from "./with-tracking.js";

/**
 * Stage 5: the model bundle on the held-out raw texts (through the same code path serving
 * uses) → reports/metrics.json (DVC metrics), ROC / precision-recall / confusion plot data,
 * and one tracked run holding every param, the metrics, the model and reports as artifacts
 * and the training data as a dataset input; reports/run.json names that run.
 */

export interface RunRecord {
  run_id: string;
  experiment_id: string;
  experiment_name: string;
  tracking_uri: string;
  model_uri: string;
  model_md5: string;
  metrics: HeldOutMetrics;
}

const snake = (k: string): string => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export async function runEvaluateStage(ctx: StageContext): Promise<RunRecord> {
  const log = (line: string) => ctx.reporter.log(line);
  const modelPath = projectPath(ctx.dir, "model");
  const modelBytes = await readFile(modelPath);
  const model = SentimentModel.fromJSON(JSON.parse(modelBytes.toString("utf8")));
  const test = await readDatasetCsv(projectPath(ctx.dir, "rawTest"));
  const t0 = performance.now();
  const ev = evaluateModelOn(model, test.texts, test.labels);
  const m = ev.metrics;
  log(
    `held-out (${m.n_test} texts, ${m.average}${m.pos_label !== null ? `, positive class ${JSON.stringify(m.pos_label)}` : ""}) in ${formatDuration(performance.now() - t0)}: ` +
      `accuracy ${m.accuracy.toFixed(4)}, precision ${m.precision.toFixed(4)}, recall ${m.recall.toFixed(4)}, F1 ${m.f1.toFixed(4)}, ` +
      `ROC AUC ${m.roc_auc === null ? "n/a" : m.roc_auc.toFixed(4)}, log loss ${m.log_loss === null ? "n/a" : m.log_loss.toFixed(4)}`,
  );
  await writeJsonAtomic(projectPath(ctx.dir, "metrics"), m);
  const plots = heldOutPlotData(model.classes, test.labels, ev);
  await writeJsonAtomic(projectPath(ctx.dir, "rocPlot"), plots.roc);
  await writeJsonAtomic(projectPath(ctx.dir, "prPlot"), plots.pr);
  await writeJsonAtomic(projectPath(ctx.dir, "confusionPlot"), plots.confusion);
  log(`wrote ${LAYOUT.metrics}, ${LAYOUT.rocPlot}, ${LAYOUT.prPlot}, ${LAYOUT.confusionPlot}`);

  const validation = await readJsonFile<ValidationReport>(projectPath(ctx.dir, "validationReport"));
  const trainCsv = await readFile(projectPath(ctx.dir, "rawTrain"));
  const testCsv = await readFile(projectPath(ctx.dir, "rawTest"));
  const md5 = (b: Buffer): string => createHash("md5").update(b).digest("hex");
  const modelMd5 = md5(modelBytes);
  const git = await gitCommit(ctx.dir);
  const source = validation.source as { name?: string; uri?: string; type?: string; sha256?: string };
  const schema = JSON.stringify({
    mlflow_colspec: [
      { type: "string", name: "text" },
      { type: typeof test.labels[0] === "number" ? "long" : "string", name: "label" },
    ],
  });

  const record = await withTracking(ctx.params.tracking, async (client) => {
    const name = ctx.params.tracking.experimentName;
    const experimentId = await client.getOrCreateExperiment(name);
    return client.withRun(
      { experimentId },
      async (run) => {
        const modelParams = (model.metadata.params ?? {}) as Record<string, unknown>;
        await run.logParams({ ...flattenParams(modelParams), "tracking.experiment_name": name });
        const numeric: Record<string, number> = {};
        for (const [k, v] of Object.entries(m)) if (typeof v === "number") numeric[k] = v;
        await run.logMetrics(numeric);
        const fit = model.metadata.fitReport as { iterations?: number } | null | undefined;
        if (typeof fit?.iterations === "number") await run.logMetric("train_iterations", fit.iterations);
        const cv = model.metadata.cv as { mean?: Record<string, number>; sd?: Record<string, number> } | null | undefined;
        if (cv?.mean && cv.sd) {
          const cvMetrics: Record<string, number> = {};
          for (const [k, v] of Object.entries(cv.mean)) if (k !== "fitSeconds") cvMetrics[`cv_${snake(k)}_mean`] = round6(v);
          for (const [k, v] of Object.entries(cv.sd)) if (k !== "fitSeconds") cvMetrics[`cv_${snake(k)}_sd`] = round6(v);
          await run.logMetrics(cvMetrics);
        }
        const tags: Record<string, string> = {
          "mlflow.source.name": "polarity stage evaluate",
          "mlflow.source.type": "LOCAL",
          "polarity.model_md5": modelMd5,
          "polarity.classes": JSON.stringify(model.classes),
          "polarity.dataset.source": String(source.uri ?? ""),
        };
        if (git) {
          tags["mlflow.source.git.commit"] = git.commit;
          tags["polarity.git.dirty"] = String(git.dirty);
        }
        await run.setTags(tags);
        const profile = (rows: number, counts: Record<string, number>) => JSON.stringify({ num_rows: rows, class_counts: counts });
        await run.logDatasetInput(
          {
            name: String(source.name ?? "data"),
            digest: md5(trainCsv),
            source_type: String(source.type ?? "local"),
            source: JSON.stringify({ uri: source.uri, sha256: source.sha256, path: LAYOUT.rawTrain }),
            schema,
            profile: profile(validation.train.rows, validation.train.classCounts),
          },
          "training",
        );
        await run.logDatasetInput(
          {
            name: `${String(source.name ?? "data")}-test`,
            digest: md5(testCsv),
            source_type: String(source.type ?? "local"),
            source: JSON.stringify({ uri: source.uri, sha256: source.sha256, path: LAYOUT.rawTest }),
            schema,
            profile: profile(validation.test.rows, validation.test.classCounts),
          },
          "evaluation",
        );
        await run.logArtifact(modelPath, "model");
        // The same bundle as model.bin (docs/features.md): servers that load the version from the
        // registry read its typed-array sections as they are instead of parsing the JSON.
        const binDir = await mkdtemp(join(tmpdir(), "polarity-bin-"));
        try {
          const binPath = join(binDir, "model.bin");
          await writeFile(binPath, model.toBinary());
          await run.logArtifact(binPath, "model");
        } finally {
          await rm(binDir, { recursive: true, force: true });
        }
        for (const key of ["metrics", "validationReport"] as const) await run.logArtifact(projectPath(ctx.dir, key), "reports");
        await run.logArtifacts(join(ctx.dir, LAYOUT.plotsDir), "reports/plots");
        const rec: RunRecord = {
          run_id: run.runId,
          experiment_id: experimentId,
          experiment_name: name,
          tracking_uri: client.trackingUri,
          model_uri: run.artifactUri("model"),
          model_md5: modelMd5,
          metrics: m,
        };
        return rec;
      },
      { runName: runNameFor(model.metadata.params) },
    );
  });
  await writeFileAtomic(projectPath(ctx.dir, "run"), JSON.stringify(record, null, 2) + "\n");
  log(`logged run ${record.run_id} in experiment '${record.experiment_name}' (${record.tracking_uri}); wrote ${LAYOUT.run}`);
  return record;
}

/**
 * A run name that says what was trained, from the bundle's params snapshot: the model and
 * the hyperparameters set for it, the features, the word form — e.g.
 * "logreg C=10 · tfidf 1-2-grams · porter".
 */
export function runNameFor(params: unknown): string {
  const p = (params ?? {}) as { train?: Record<string, unknown>; featurize?: { kind?: string; ngram_range?: number[] }; preprocess?: { word_form?: string } };
  const kind = typeof p.train?.model === "string" ? p.train.model : "model";
  const block = (p.train?.[kind] ?? {}) as Record<string, unknown>;
  const hyper = Object.entries(block)
    .filter(([, v]) => v !== null && typeof v !== "object")
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(" ");
  const ngram = p.featurize?.ngram_range;
  const features = p.featurize?.kind ? `${p.featurize.kind}${Array.isArray(ngram) ? ` ${ngram[0]}-${ngram[1]}-grams` : ""}` : null;
  return [hyper ? `${kind} ${hyper}` : kind, features, p.preprocess?.word_form ?? null].filter((x) => x !== null).join(" · ");
}
