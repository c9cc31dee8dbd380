import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { TrackingClient } from "../../src/tracking/client.js";
import { editParams, makeProject, polarityBinDir, readJson, runCli, spawnCliUntil, stop, type CliResult } from "./helpers.js";

/**
 * The main job end to end, through the real CLI in a temp copy of the repo's dvc.yaml and
 * params.yaml on the built-in uci-sentences data. The steps build on each other, in order.
 */
describe("npm start on a fresh copy of the repo (uci-sentences)", { timeout: 300_000 }, () => {
  let dir: string;
  let path: string;
  let client: TrackingClient;
  let first: CliResult;

  before(async () => {
    dir = await makeProject("main");
    path = `${await polarityBinDir()}:${process.env.PATH ?? ""}`;
    first = await runCli(["start", "--no-serve"], dir);
    client = TrackingClient.open({ trackingUri: `sqlite:///${join(dir, "mlruns.db")}` });
  });

  after(async () => {
    await client?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("the first run executes all six stages, registers v1, promotes it and prints the summary", async () => {
    assert.equal(first.code, 0, first.stderr + first.stdout);
    for (const stage of ["ingest", "preprocess", "featurize", "train", "evaluate", "register"]) {
      assert.match(first.stdout, new RegExp(`Running stage '${stage}'`));
    }
    // Progress lines with counts, prefixed by stage.
    assert.match(first.stdout, /\[ingest\] split 2234 train \/ 745 test/);
    assert.match(first.stdout, /\[train\] fitted in .*converged/);
    assert.match(first.stdout, /PASS min_accuracy: accuracy 0\.\d+ ≥ 0\.82/);
    assert.match(first.stdout, /promoted sentiment v1: alias 'production' → v1, stage Production/);
    assert.match(first.stdout, /== summary\nheld-out metrics \(745 texts/);
    assert.match(first.stdout, /tracking store: sqlite:\/\/\/mlruns\.db \(database mlruns\.db, artifacts mlartifacts\/\)/);
    assert.match(first.stdout, /serve: polarity serve --model models:\/sentiment@production/);

    const metrics = await readJson<Record<string, number>>(join(dir, "reports", "metrics.json"));
    assert.ok(metrics.accuracy >= 0.8, `accuracy ${metrics.accuracy}`);
    for (const k of ["precision", "recall", "f1", "roc_auc", "log_loss"]) assert.equal(typeof metrics[k], "number", k);
    for (const f of ["roc.json", "precision_recall.json", "confusion.json"]) assert.ok(existsSync(join(dir, "reports", "plots", f)), f);

    const lock = parseYaml(await readFile(join(dir, "dvc.lock"), "utf8")) as { schema: string; stages: Record<string, unknown> };
    assert.equal(lock.schema, "2.0");
    assert.deepEqual(Object.keys(lock.stages), ["ingest", "preprocess", "featurize", "train", "evaluate", "register"]);

    const v1 = await client.getModelVersion("sentiment", 1);
    assert.deepEqual([...v1.aliases].sort(), ["production", "staging"]);
    assert.equal(v1.current_stage, "Production");
    const runRecord = await readJson<{ run_id: string }>(join(dir, "reports", "run.json"));
    assert.equal(v1.run_id, runRecord.run_id);
    const run = await client.getRun(runRecord.run_id);
    const params = Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
    assert.equal(params["train.logreg.C"], "10");
    assert.equal(params["featurize.ngram_range"], "[1,2]");
    assert.equal(params["ingest.source"], "uci-sentences");
    const modelMd5 = createHash("md5")
      .update(await readFile(join(dir, "models", "model.json")))
      .digest("hex");
    assert.equal(run.data.tags.find((t) => t.key === "polarity.model_md5")?.value, modelMd5);
    const training = run.inputs.dataset_inputs.find((d) => d.tags.some((t) => t.key === "mlflow.data.context" && t.value === "training"));
    assert.equal(training?.dataset.name, "uci-sentences");
    assert.equal(
      training?.dataset.digest,
      createHash("md5")
        .update(await readFile(join(dir, "data", "raw", "train.csv")))
        .digest("hex"),
    );
    const gate = run.data.metrics.find((m) => m.key === "gate.passed");
    assert.equal(gate?.value, 1, "gate results are logged to the run");
    const artifacts = (await client.listArtifacts(runRecord.run_id)).map((f) => f.path).sort();
    assert.deepEqual(artifacts, ["model", "promotion", "reports"]);
    const modelFiles = (await client.listArtifacts(runRecord.run_id, "model")).map((f) => f.path).sort();
    assert.deepEqual(modelFiles, ["model/model.bin", "model/model.json"], "the bundle is logged as JSON and as the binary file servers prefer");
  });

  test("a second run does nothing: no stage runs, no new version, production unchanged", async () => {
    const r = await runCli(["start", "--no-serve", "--json"], dir);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { repro: { ran: string[]; restored: string[] }; promotion: { outcome: string }; model: { versions: unknown[] } };
    assert.deepEqual(summary.repro.ran, []);
    assert.deepEqual(summary.repro.restored, []);
    assert.equal(summary.promotion.outcome, "unchanged");
    assert.equal(summary.model.versions.length, 1);
    assert.doesNotMatch(r.stderr, /Running stage/);
  });

  test("npm start ends by serving the production model", async () => {
    const { child, match } = await spawnCliUntil(["start", "--port", "0"], dir, /serving (models:\/\S+) on (http:\/\/[\d.:]+)/);
    try {
      assert.equal(match[1], "models:/sentiment@production");
      const res = await fetch(`${match[2]}/invocations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ inputs: ["I love this phone, it works great.", "Awful, it broke after a day."] }),
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { predictions: unknown[]; prediction_ids: string[] };
      assert.deepEqual(body.predictions, [1, 0]);
      assert.equal(body.prediction_ids.length, 2, "monitoring's ids for POST /feedback");
    } finally {
      assert.equal(await stop(child), 0);
    }
  });

  test("changing featurize.max_features reruns exactly featurize → train → evaluate → register and puts v2 in staging", async () => {
    await editParams(dir, (p) => {
      p.featurize.max_features = 3000;
    });
    const r = await runCli(["repro", "--json"], dir, { PATH: path });
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { ran: string[] };
    assert.deepEqual(res.ran, ["featurize", "train", "evaluate", "register"]);
    const v2 = await client.getModelVersion("sentiment", 2);
    assert.deepEqual(v2.aliases, ["staging"]);
    assert.equal(v2.current_stage, "Staging");
    const v1 = await client.getModelVersion("sentiment", 1);
    assert.deepEqual(v1.aliases, ["production"]);
    const featurizer = await readJson<{ vectorizer: { vocabulary: string[] } }>(join(dir, "models", "featurizer.json"));
    assert.equal(featurizer.vectorizer.vocabulary.length, 3000);
  });

  test("promote --dry-run reports the gates for v2 and moves nothing", async () => {
    const r = await runCli(["promote", "--dry-run", "--json"], dir);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { outcome: string; candidate: { version: string }; production: { version: string } };
    assert.deepEqual([result.outcome, result.candidate.version, result.production.version], ["checked", "2", "1"]);
    assert.equal((await client.getModelVersionByAlias("sentiment", "production")).version, "1");
  });

  test("promote with an impossible threshold refuses, names the failed gate and leaves production on v1", async () => {
    const r = await runCli(["promote", "--min-accuracy", "0.999"], dir);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /^error: promotion of sentiment v2 refused, 'production' stays on v1: 1 gate failed: min_accuracy \(accuracy 0\.\d+ < 0\.9990\)/m);
    assert.match(r.stdout, /FAIL min_accuracy/);
    assert.equal((await client.getModelVersionByAlias("sentiment", "production")).version, "1");
    assert.equal((await client.getModelVersion("sentiment", 2)).current_stage, "Staging");
    const report = await readJson<{ outcome: string; gates: Array<{ name: string; passed: boolean }> }>(join(dir, "reports", "promotion.json"));
    assert.equal(report.outcome, "refused");
    assert.deepEqual(
      report.gates.filter((g) => !g.passed).map((g) => g.name),
      ["min_accuracy"],
    );
  });
});
