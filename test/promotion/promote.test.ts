import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promoteModel, PromotionRefusedError } from "../../src/promotion/promote.js";
import { loadStageContext, type StageContext } from "../../src/stages/context.js";
import { runEvaluateStage } from "../../src/stages/evaluate.js";
import { runFeaturizeStage } from "../../src/stages/featurize.js";
import { runIngestStage } from "../../src/stages/ingest.js";
import { runPreprocessStage } from "../../src/stages/preprocess.js";
import { runRegisterStage } from "../../src/stages/register.js";
import { runTrainStage } from "../../src/stages/train.js";
import { TrackingClient } from "../../src/tracking/client.js";
import { createReporter } from "../../src/util/progress.js";

/**
 * The seam between the stages and promotion, without the repro engine: the six stage
 * functions in a temp project on the built-in data with a real SQLite tracking store, then
 * promoteModel against what register left there.
 */
describe("promotion on the stages' outputs", { timeout: 180_000 }, () => {
  let dir: string;
  let ctx: StageContext;
  let client: TrackingClient;
  const quiet = createReporter({ quiet: true });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "polarity-promote-"));
    await writeFile(join(dir, "params.yaml"), `train: {cv_folds: 0, logreg: {C: 10}}\ntracking: {uri: "sqlite:///${join(dir, "mlruns.db")}"}\n`);
    ctx = await loadStageContext(dir, { reporter: quiet });
    for (const run of [runIngestStage, runPreprocessStage, runFeaturizeStage, runTrainStage, runEvaluateStage, runRegisterStage]) await run(ctx);
    client = TrackingClient.open({ trackingUri: `sqlite:///${join(dir, "mlruns.db")}` });
  });

  after(async () => {
    await client?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("a candidate that passes every gate gets the production alias and stage; the gates are logged to its run", async () => {
    const result = await promoteModel({ dir, params: ctx.params, reporter: quiet });
    assert.equal(result.outcome, "promoted");
    assert.equal(result.candidate.version, "1");
    assert.ok(result.gates.length >= 5 && result.gates.every((g) => g.passed), JSON.stringify(result.gates));
    const evaluated = JSON.parse(await readFile(join(dir, "reports", "metrics.json"), "utf8")) as { accuracy: number };
    // The gates score the registered model on the same held-out file the evaluate stage used.
    assert.equal(result.candidate.metrics?.accuracy, evaluated.accuracy);
    // The built-in data's class names reach the bundle: predictions say "positive", not only 1.
    const bundle = JSON.parse(await readFile(join(dir, "models", "model.json"), "utf8")) as { classes: unknown[]; classNames: string[] };
    assert.deepEqual(
      [bundle.classes, bundle.classNames],
      [
        [0, 1],
        ["negative", "positive"],
      ],
    );
    const v1 = await client.getModelVersion("sentiment", 1);
    assert.deepEqual([...v1.aliases].sort(), ["production", "staging"]);
    assert.equal(v1.current_stage, "Production");
    const run = await client.getRun(v1.run_id);
    // The evaluate stage names its run after what was trained.
    assert.equal(run.info.run_name, "logreg C=10 · tfidf 1-2-grams · porter");
    const metrics = Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]));
    assert.equal(metrics["gate.passed"], 1);
  });

  test("promoting the version that already holds the alias is a no-op", async () => {
    const again = await promoteModel({ dir, params: ctx.params, reporter: quiet });
    assert.equal(again.outcome, "unchanged");
  });

  test("a candidate below a threshold is refused and the alias stays where it was", async () => {
    await runEvaluateStage(ctx);
    await runRegisterStage(ctx);
    await assert.rejects(
      promoteModel({ dir, params: ctx.params, reporter: quiet, overrides: { minAccuracy: 0.999 } }),
      (e: unknown) => e instanceof PromotionRefusedError && /refused, 'production' stays on v1: 1 gate failed: min_accuracy/.test(e.message),
    );
    const written = JSON.parse(await readFile(join(dir, "reports", "promotion.json"), "utf8")) as { outcome: string; candidate: { version: string } };
    assert.deepEqual([written.outcome, written.candidate.version], ["refused", "2"]);
    assert.equal((await client.getModelVersionByAlias("sentiment", "production")).version, "1");
  });
});
