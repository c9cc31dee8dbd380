import { test, before, after } from "node:test";
import { formatRunsTable } from "../../src/cli/runs.js";
import type { Run } from "../../src/tracking/types.js";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TrackingClient } from "../../src/tracking/client.js";
import { tempDir } from "./helpers.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

let dir: string;
let cleanup: () => void;
let uri: string;
const runIds: string[] = [];

before(async () => {
  ({ dir, cleanup } = tempDir());
  uri = `sqlite:///${join(dir, "cli.db")}`;
  const c = TrackingClient.open({ trackingUri: uri });
  const exp = await c.createExperiment("cli-exp");
  // Distinct start times: runs list's default order is start_time DESC (ties would fall back to run_id).
  const t0 = Date.now() - 10_000;
  for (let i = 0; i < 3; i++) {
    const run = await c.createRun(exp, { runName: `cli-${i}`, startTime: t0 + i * 1000 });
    const runId = run.info.run_id;
    await c.logParams(runId, { C: i, model: "logreg" });
    await c.logMetrics(runId, { acc: 0.6 + i / 10 });
    await c.endRun(runId);
    runIds.push(runId);
  }
  await c.registerModel(`runs:/${runIds[2]}/model`, "clf");
  await c.registerModel(`runs:/${runIds[1]}/model`, "clf");
  await c.close();
});
after(() => cleanup());

test("polarity runs list filters and orders, as a table and as JSON", async () => {
  // independent invocations run side by side to keep the suite quick
  const [table, json, bad] = await Promise.all([
    cli(["runs", "list", "--tracking-uri", uri, "-n", "cli-exp", "--filter", "metrics.acc > 0.65", "--order-by", "metrics.acc ASC"]),
    cli(["runs", "list", "-n", "cli-exp", "--json"], { MLFLOW_TRACKING_URI: uri }),
    cli(["runs", "list", "--tracking-uri", uri, "--filter", "metrics.acc >> 1"]),
  ]);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trim().split("\n");
  assert.match(lines[0], /Run ID\s+Name\s+Status\s+Started\s+Model\s+acc$/);
  assert.deepEqual(
    lines.slice(2).map((l) => l.split(/\s+/)[1]),
    ["cli-1", "cli-2"],
  );
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(
    JSON.parse(json.stdout).map((r: { info: { run_name: string } }) => r.info.run_name),
    ["cli-2", "cli-1", "cli-0"],
  );
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: Invalid filter 'metrics.acc >> 1'.*'>>'/);
});

test("polarity runs show and compare", async () => {
  const [show, cmp, missing] = await Promise.all([
    cli(["runs", "show", runIds[0], "--tracking-uri", uri]),
    cli(["runs", "compare", runIds[0], runIds[2], "--tracking-uri", uri, "--json"]),
    cli(["runs", "show", "ffffffffffffffffffffffffffffffff", "--tracking-uri", uri]),
  ]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /Status:\s+FINISHED/);
  assert.match(show.stdout, /C\s+0/);
  assert.equal(cmp.code, 0, cmp.stderr);
  assert.deepEqual(JSON.parse(cmp.stdout).params, { C: ["0", "2"], model: ["logreg", "logreg"] });
  assert.equal(missing.code, 3);
  assert.match(missing.stderr, /^error: Run with id=f+ not found/);
});

test("polarity models list, show, versions, alias and transition", async () => {
  const [alias, tr] = await Promise.all([
    cli(["models", "alias", "clf", "champion", "2", "--tracking-uri", uri]),
    cli(["models", "transition", "clf", "1", "production", "--tracking-uri", uri, "--json"]),
  ]);
  assert.equal(alias.code, 0, alias.stderr);
  assert.match(alias.stdout, /clf@champion -> version 2/);
  assert.equal(tr.code, 0, tr.stderr);
  assert.equal(JSON.parse(tr.stdout).current_stage, "Production");
  const [versions, list, show, reserved] = await Promise.all([
    cli(["models", "versions", "clf", "--tracking-uri", uri, "--json"]),
    cli(["models", "list", "--tracking-uri", uri]),
    cli(["models", "show", "clf", "--tracking-uri", uri]),
    cli(["models", "alias", "clf", "latest", "1", "--tracking-uri", uri]),
  ]);
  assert.deepEqual(
    JSON.parse(versions.stdout).map((v: { version: string; current_stage: string; aliases: string[] }) => [v.version, v.current_stage, v.aliases]),
    [
      ["2", "None", ["champion"]],
      ["1", "Production", []],
    ],
  );
  assert.match(list.stdout, /clf\s+2\s+champion=v2/);
  assert.match(show.stdout, /Aliases:\s+champion -> v2/);
  assert.equal(reserved.code, 2);
  assert.match(reserved.stderr, /reserved/);
});

test("polarity server serves the store over HTTP until stopped", async () => {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", MAIN, "server", "--port", "0", "--backend-store-uri", uri, "--artifacts-destination", join(dir, "art"), "--auth-token", "tkn"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.on("exit", (code) => reject(new Error(`server exited ${code}`)));
    });
    const c = TrackingClient.open({ trackingUri: url, token: "tkn", maxRetries: 0 });
    const exp = await c.getExperimentByName("cli-exp");
    assert.ok(exp);
    assert.equal((await c.searchRuns({ experimentIds: [exp.experiment_id] })).runs.length, 3);
    assert.equal((await c.getModelVersionByAlias("clf", "champion")).version, "2");
    assert.equal((await fetch(`${url}/api/2.0/mlflow/experiments/get?experiment_id=0`)).status, 401);
  } finally {
    const exited = new Promise((r) => child.on("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
});

test("runs list's default columns are what a user compares by: model kind, features, accuracy, F1, ROC AUC", () => {
  const run = (id: string, params: Record<string, string>, metrics: Record<string, number>): Run => ({
    info: {
      run_id: id,
      run_uuid: id,
      run_name: `n-${id}`,
      experiment_id: "1",
      user_id: "",
      status: "FINISHED",
      start_time: 0,
      artifact_uri: "",
      lifecycle_stage: "active",
    },
    data: {
      params: Object.entries(params).map(([key, value]) => ({ key, value })),
      metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp: 0, step: 0 })),
      tags: [],
    },
    inputs: { dataset_inputs: [] },
  });
  const evaluated = [
    run(
      "a",
      { "train.model": "logreg", "featurize.kind": "tfidf", "featurize.ngram_range": "[1,2]" },
      { accuracy: 0.85, f1: 0.84, roc_auc: 0.93, precision: 0.8, cv_accuracy_mean: 0.84 },
    ),
    run("b", { "train.model": "nbsvm", "featurize.kind": "bow", "featurize.ngram_range": "[1,1]" }, { accuracy: 0.8, f1: 0.79, roc_auc: 0.9 }),
  ];
  const lines = formatRunsTable(evaluated).trim().split("\n");
  assert.match(lines[0], /^Run ID\s+Name\s+Status\s+Started\s+Model\s+Features\s+accuracy\s+f1\s+roc_auc$/);
  assert.match(lines[2], /logreg\s+tfidf 1-2\s+0\.85\s+0\.84\s+0\.93$/);
  assert.match(lines[3], /nbsvm\s+bow 1-1\s+0\.8\s+0\.79\s+0\.9$/);
  // runs without those keys fall back to their own metrics (no cv_* breakdown), or the ones asked for
  const other = [run("c", {}, { loss: 0.1, cv_loss_mean: 0.2 })];
  assert.match(formatRunsTable(other).split("\n")[0], /Started\s+loss$/);
  assert.match(formatRunsTable(evaluated, ["precision"]).split("\n")[0], /Features\s+precision$/);
});
