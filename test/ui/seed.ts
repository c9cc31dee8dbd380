/**
 * Seeded tracking stores for the UI tests, the screenshots and bench/ui.ts, written through the
 * public TrackingClient (embedded SQLite store + artifact directory, as `polarity` writes them).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TrackingClient } from "../../src/tracking/client.js";
import { Random } from "../../src/util/random.js";

export interface SeededStore {
  dbPath: string;
  artifactsDir: string;
  experimentId: string;
  runIds: string[];
  parentRunId: string;
  childRunIds: string[];
  modelName: string;
}

const PNG_1x1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

export function openClient(dir: string): TrackingClient {
  return TrackingClient.open({ trackingUri: `sqlite:///${join(dir, "mlruns.db")}` });
}

/**
 * A small, realistic experiment: 12 runs over model × C × n-grams with a loss history each, one
 * parent with three child runs, dataset inputs, the evaluate stage's artifacts (metrics, ROC /
 * PR / confusion plot files, a CSV, text, an image), and a registered model with three
 * versions, aliases production → 1 and staging → 2, and promotion gate results on the runs.
 */
export async function seedDemoStore(dir: string): Promise<SeededStore> {
  const client = openClient(dir);
  const rng = new Random(7);
  const rand = () => rng.nextFloat();
  const files = join(dir, "files");
  await mkdir(join(files, "plots"), { recursive: true });
  try {
    const experimentId = await client.createExperiment("sentiment-demo");
    await client.createExperiment("scratch");
    const runIds: string[] = [];
    const models = ["logreg", "nb", "svm"];
    const t0 = Date.UTC(2026, 10, 30, 9, 0, 0);
    for (let i = 0; i < 12; i++) {
      const model = models[i % 3];
      const C = [0.1, 1, 10, 100][Math.floor(i / 3)];
      const ngram = i % 2 === 0 ? "1-2" : "1-1";
      const run = await client.createRun(experimentId, {
        runName: `${model}-C${C}-${ngram}`,
        startTime: t0 + i * 60_000,
        tags: { "mlflow.source.git.commit": `c0ffee${i.toString(16).padStart(2, "0")}d15ea5e`, model },
      });
      const id = run.info.run_id;
      runIds.push(id);
      const acc = 0.78 + 0.06 * rand() + (model === "svm" ? 0.02 : 0);
      const metrics = [];
      for (let step = 0; step < 50; step++)
        metrics.push({ key: "loss", value: 0.7 * Math.exp(-step / (10 + i)) + 0.2 + 0.01 * rand(), timestamp: t0 + i * 60_000 + step * 200, step });
      metrics.push({ key: "accuracy", value: acc, timestamp: t0 + i * 60_000 + 10_000, step: 0 });
      metrics.push({ key: "f1", value: acc - 0.01 * rand(), timestamp: t0 + i * 60_000 + 10_000, step: 0 });
      metrics.push({ key: "roc_auc", value: acc + 0.07, timestamp: t0 + i * 60_000 + 10_000, step: 0 });
      await client.logBatch(id, {
        metrics,
        params: [
          { key: "model", value: model },
          { key: "C", value: String(C) },
          { key: "ngram_range", value: ngram },
          { key: "features", value: "tfidf" },
        ],
      });
      await client.logDatasetInput(id, { name: "uci-sentences", digest: "3f2a9c1e", source_type: "local", source: "data/raw/sentences.csv" }, "training");
      await client.updateRun(id, { status: i === 11 ? "FAILED" : "FINISHED", endTime: t0 + i * 60_000 + 12_345 + i * 1000 });
    }

    // The evaluate stage's artifacts on the first run.
    const roc = { roc: [0, 0.05, 0.1, 0.2, 0.4, 1].map((fpr, i) => ({ fpr, tpr: [0, 0.55, 0.72, 0.85, 0.94, 1][i], threshold: 1 - i / 5 })) };
    const pr = { precision_recall: [0, 0.25, 0.5, 0.75, 1].map((recall, i) => ({ recall, precision: [1, 0.97, 0.93, 0.88, 0.5][i], threshold: null })) };
    const confusion = { confusion: Array.from({ length: 40 }, (_, i) => ({ actual: String(i % 2), predicted: String(i % 7 === 0 ? 1 - (i % 2) : i % 2) })) };
    await writeFile(join(files, "plots", "roc.json"), JSON.stringify(roc));
    await writeFile(join(files, "plots", "precision_recall.json"), JSON.stringify(pr));
    await writeFile(join(files, "plots", "confusion.json"), JSON.stringify(confusion));
    await writeFile(join(files, "metrics.json"), JSON.stringify({ accuracy: 0.8591, f1: 0.8587, roc_auc: 0.9303 }, null, 2));
    await writeFile(join(files, "predictions.csv"), 'text,label,proba\n"I love this, really",1,0.93\n"not good at all",0,0.12\n"meh ""fine""",1,0.55\n');
    await writeFile(join(files, "notes.txt"), "Trained on uci-sentences with TF-IDF 1-2-grams.\n<script>alert(1)</script>\n");
    await writeFile(join(files, "confusion.png"), Buffer.from(PNG_1x1, "base64"));
    await client.logArtifacts(runIds[0], join(files, "plots"), "reports/plots");
    for (const f of ["metrics.json", "predictions.csv", "notes.txt", "confusion.png"]) await client.logArtifact(runIds[0], join(files, f), "reports");

    // Nested runs: a tuning parent with three children.
    const parent = await client.createRun(experimentId, { runName: "tune-C", startTime: t0 + 20 * 60_000 });
    const childRunIds: string[] = [];
    for (const [j, C] of [0.5, 2, 8].entries()) {
      const child = await client.createRun(experimentId, {
        runName: `tune-C-${C}`,
        parentRunId: parent.info.run_id,
        startTime: t0 + 20 * 60_000 + (j + 1) * 1000,
      });
      await client.logBatch(child.info.run_id, {
        metrics: [{ key: "accuracy", value: 0.83 + j * 0.01, timestamp: t0, step: 0 }],
        params: [
          { key: "C", value: String(C) },
          { key: "model", value: "logreg" },
        ],
      });
      await client.endRun(child.info.run_id);
      childRunIds.push(child.info.run_id);
    }
    await client.endRun(parent.info.run_id);

    // The registry: three versions from the first three runs, with the gates `polarity promote` logs.
    const modelName = "sentiment";
    await client.createRegisteredModel(modelName, { description: "Sentence polarity classifier" });
    for (let v = 0; v < 3; v++) {
      await client.createModelVersion(modelName, `runs:/${runIds[v]}/model`, { runId: runIds[v] });
      await client.logMetrics(runIds[v], { "gate.passed": v === 2 ? 0 : 1, "gate.thresholds": 1, "gate.no_regression": v === 2 ? 0 : 1, "gate.signature": 1 });
      await client.setTag(
        runIds[v],
        "polarity.promotion",
        v === 2 ? `refused (staging → production, v${v + 1})` : `promoted (staging → production, v${v + 1})`,
      );
    }
    await client.setRegisteredModelAlias(modelName, "production", 1);
    await client.setRegisteredModelAlias(modelName, "staging", 2);
    await client.transitionModelVersionStage(modelName, 1, "Production");
    return {
      dbPath: join(dir, "mlruns.db"),
      artifactsDir: join(dir, "mlartifacts"),
      experimentId,
      runIds,
      parentRunId: parent.info.run_id,
      childRunIds,
      modelName,
    };
  } finally {
    await client.close();
  }
}

/**
 * The benchmark's store: `runs` runs × `metrics` metrics × `params` params in one experiment,
 * plus one run whose metric `loss` has `historyPoints` points. Returns the experiment and that run.
 */
export async function seedLargeStore(
  dir: string,
  opts: { runs: number; metrics: number; params: number; historyPoints: number },
): Promise<{ experimentId: string; historyRunId: string }> {
  const client = openClient(dir);
  const rng = new Random(42);
  const rand = () => rng.nextFloat();
  try {
    const experimentId = await client.createExperiment("large");
    const t0 = Date.UTC(2026, 0, 1);
    for (let i = 0; i < opts.runs; i++) {
      const run = await client.createRun(experimentId, { runName: `run-${i}`, startTime: t0 + i * 1000 });
      const metrics = Array.from({ length: opts.metrics }, (_, k) => ({
        key: `m${String(k).padStart(2, "0")}`,
        value: rand(),
        timestamp: t0 + i * 1000,
        step: 0,
      }));
      const params = Array.from({ length: opts.params }, (_, k) => ({ key: `p${String(k).padStart(2, "0")}`, value: String(Math.floor(rand() * 100)) }));
      await client.logBatch(run.info.run_id, { metrics, params });
      await client.updateRun(run.info.run_id, { status: "FINISHED", endTime: t0 + i * 1000 + 500 });
    }
    const hist = await client.createRun(experimentId, { runName: "long-history", startTime: t0 + opts.runs * 1000 });
    for (let start = 0; start < opts.historyPoints; start += 1000) {
      const batch = [];
      for (let s = start; s < Math.min(opts.historyPoints, start + 1000); s++)
        batch.push({ key: "loss", value: Math.exp(-s / 20000) + 0.05 * rand(), timestamp: t0 + s, step: s });
      await client.logBatch(hist.info.run_id, { metrics: batch });
    }
    return { experimentId, historyRunId: hist.info.run_id };
  } finally {
    await client.close();
  }
}
