// Issue 9 items 4 and 5: request bodies bounded per route and in nesting depth; MLflow's field limits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { attackTarget } from "./tracking-helpers.js";

test("deeply nested JSON is refused quickly with a 400, before parsing recurses into it", { timeout: 60_000 }, async () => {
  const t = await attackTarget();
  try {
    const depth = 200_000; // 400 KB, under the body limit
    const body = '{"name":' + "[".repeat(depth) + "]".repeat(depth) + "}";
    const started = performance.now();
    const r = await t.api("/api/2.0/mlflow/experiments/create", body);
    const ms = performance.now() - started;
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.match(String(r.json.message), /nests JSON deeper/);
    assert.ok(ms < 5_000, `took ${ms} ms`);
  } finally {
    await t.close();
  }
});

test("bodies are bounded per route: 60 MB to experiments/create is a 413, log-batch over 1 MB is MLflow's 400", { timeout: 60_000 }, async () => {
  const t = await attackTarget();
  try {
    const big = JSON.stringify({ name: "x".repeat(60 * 1024 * 1024) });
    const r = await t.api("/api/2.0/mlflow/experiments/create", big);
    assert.equal(r.status, 413);
    assert.equal(r.json.error_code, "PAYLOAD_TOO_LARGE");
    const batch = await t.api("/api/2.0/mlflow/runs/log-batch", JSON.stringify({ run_id: "r", params: [{ key: "k", value: "v".repeat(1_100_000) }] }));
    assert.equal(batch.status, 400);
    assert.match(String(batch.json.message), /Batched logging API requests must be at most 1000000 bytes/);
    // the server is still healthy
    assert.equal((await fetch(`${t.url}/health`)).status, 200);
  } finally {
    await t.close();
  }
});

test("MLflow's field limits: descriptions, param and tag values, run names", { timeout: 60_000 }, async () => {
  const t = await attackTarget();
  try {
    const huge = "d".repeat(5001);
    const model = await t.api("/api/2.0/mlflow/registered-models/create", { name: "m", description: huge });
    assert.equal(model.status, 400);
    assert.match(String(model.json.message), /had length 5001, which exceeded length limit of 5000/);
    assert.ok(String(model.json.message).length < 1000, "the oversized value is not echoed in full");
    assert.equal((await t.api("/api/2.0/mlflow/registered-models/create", { name: "m" })).status, 200);
    assert.equal((await t.api("/api/2.0/mlflow/registered-models/update", { name: "m", description: huge }, "PATCH")).status, 400);
    const run = await t.api("/api/2.0/mlflow/runs/create", { experiment_id: "0" });
    const runId = (run.json.run as { info: { run_id: string } }).info.run_id;
    const param = await t.api("/api/2.0/mlflow/runs/log-parameter", { run_id: runId, key: "p", value: "v".repeat(6001) });
    assert.equal(param.status, 400);
    assert.match(String(param.json.message), /Param value .* exceeded length limit of 6000/);
    const tag = await t.api("/api/2.0/mlflow/runs/set-tag", { run_id: runId, key: "t", value: "v".repeat(5001) });
    assert.equal(tag.status, 400);
    const name = await t.api("/api/2.0/mlflow/runs/create", { experiment_id: "0", run_name: "n".repeat(251) });
    assert.equal(name.status, 400);
    assert.match(String(name.json.message), /Run name .* exceeded length limit of 250/);
  } finally {
    await t.close();
  }
});
