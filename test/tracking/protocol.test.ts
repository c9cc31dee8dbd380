// Issue 11, MLflow protocol: probes, runs/log-model, multipart fallback, model version sources,
// idempotent run creation, and MLflow 2.12's validation wording (assertions ported from
// tests/tracking/test_rest_tracking.py and mlflow/server/handlers.py; MLflow's Python suite
// itself cannot run here: PyPI is unreachable).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { TrackingClient } from "../../src/tracking/client.js";
import { MULTIPART_UNSUPPORTED_MESSAGE, startTrackingServer, type RunningServer } from "../../src/tracking/server.js";
import { requestJson, tempDir } from "./helpers.js";

let server: RunningServer;
let dir: string;
let cleanup: () => void;

before(async () => {
  ({ dir, cleanup } = tempDir());
  server = await startTrackingServer({ port: 0, backendStoreUri: `sqlite:///${join(dir, "p.db")}`, artifactsDestination: join(dir, "art") });
});
after(async () => {
  await server.close();
  cleanup();
});

const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => requestJson(server.url, method, path, { body, headers });
const post = (path: string, body: unknown, headers?: Record<string, string>) => call("POST", `/api/2.0/mlflow/${path}`, body, headers);
const DOCS = "See the API docs for more information about request parameters.";

async function newRun(): Promise<string> {
  const r = await post("runs/create", { experiment_id: "0" });
  return (r.json.run as { info: { run_id: string } }).info.run_id;
}

test("GET /health and /version answer as MLflow's server does", async () => {
  const health = await call("GET", "/health");
  assert.equal(health.status, 200);
  assert.equal(health.text, "OK");
  const version = await call("GET", "/version");
  assert.equal(version.status, 200);
  assert.match(version.text, /^\d+\.\d+\.\d+$/);
});

test("runs/log-model appends the model to the run's mlflow.log-model.history tag", async () => {
  const runId = await newRun();
  const model = { artifact_path: "model", flavors: { python_function: {} }, utc_time_created: "2026-01-01 00:00:00.000000", run_id: runId };
  assert.equal((await post("runs/log-model", { run_id: runId, model_json: JSON.stringify(model) })).status, 200);
  assert.equal((await post("runs/log-model", { run_id: runId, model_json: JSON.stringify({ ...model, artifact_path: "second" }) })).status, 200);
  const run = await call("GET", `/api/2.0/mlflow/runs/get?run_id=${runId}`);
  const tag = (run.json.run as { data: { tags: Array<{ key: string; value: string }> } }).data.tags.find((t) => t.key === "mlflow.log-model.history")!;
  assert.deepEqual(
    (JSON.parse(tag.value) as Array<{ artifact_path: string }>).map((m) => m.artifact_path),
    ["model", "second"],
  );
  const bad = await post("runs/log-model", { run_id: runId, model_json: "{not json" });
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.message), /^Malformed model info/);
  const missing = await post("runs/log-model", { run_id: runId, model_json: JSON.stringify({ artifact_path: "m" }) });
  assert.equal(missing.status, 400);
  assert.match(String(missing.json.message), /^Model json is missing mandatory fields: \{/);
});

test("proxied multipart upload answers with the message MLflow's client treats as 'not supported' (it falls back to one PUT)", async () => {
  for (const action of ["create", "complete", "abort"]) {
    const r = await call("POST", `/api/2.0/mlflow-artifacts/mpu/${action}/0/run/artifacts/model.bin`, { path: "/tmp/model.bin", num_parts: 2 });
    assert.equal(r.status, 501);
    assert.ok(String(r.json.message).startsWith(MULTIPART_UNSUPPORTED_MESSAGE));
  }
});

test("model-versions/create accepts a run_id unknown to this server and refuses traversal or local sources outside a run", async () => {
  assert.equal((await post("registered-models/create", { name: "src" })).status, 200);
  const foreign = await post("model-versions/create", { name: "src", source: "s3://bucket/models/1", run_id: "0123456789abcdef0123456789abcdef" });
  assert.equal(foreign.status, 200, JSON.stringify(foreign.json));
  assert.equal((foreign.json.model_version as { run_id: string }).run_id, "0123456789abcdef0123456789abcdef");
  for (const source of ["/etc", "file:///etc/passwd", "mlflow-artifacts:/0/../../../etc", "mlflow-artifacts:/0/%2e%2e/%2e%2e/etc", "s3://bucket/a/../../b"]) {
    const r = await post("model-versions/create", { name: "src", source });
    assert.equal(r.status, 400, `${source}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.error_code, "INVALID_PARAMETER_VALUE");
    assert.match(String(r.json.message), /^Invalid model version source: /);
  }
  // a local path inside the run's artifact directory is fine with its run_id
  const runId = await newRun();
  const inRun = join(dir, "art", "0", runId, "artifacts", "model");
  mkdirSync(inRun, { recursive: true });
  writeFileSync(join(inRun, "model.json"), "{}");
  const ok = await post("model-versions/create", { name: "src", source: pathToFileURL(inRun).href, run_id: runId });
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  const noRun = await post("model-versions/create", { name: "src", source: pathToFileURL(inRun).href });
  assert.equal(noRun.status, 400);
  // runs:/ and mlflow-artifacts:/ sources of real runs stay valid
  assert.equal((await post("model-versions/create", { name: "src", source: `runs:/${runId}/model`, run_id: runId })).status, 200);
  assert.equal((await post("model-versions/create", { name: "src", source: `mlflow-artifacts:/0/${runId}/artifacts/model`, run_id: runId })).status, 200);
});

test("a retried runs/create (same Idempotency-Key, or MLflow's identical body with start_time) returns the first run", async () => {
  const body = { experiment_id: "0", run_name: "retried", start_time: 1_700_000_000_123 };
  const a = await post("runs/create", body, { "idempotency-key": "k-1" });
  const b = await post("runs/create", { ...body, start_time: 1_700_000_000_999 }, { "idempotency-key": "k-1" });
  assert.equal((a.json.run as { info: { run_id: string } }).info.run_id, (b.json.run as { info: { run_id: string } }).info.run_id);
  const fresh = { ...body, start_time: Date.now() }; // what MLflow's client sends, and resends on a retry
  const c = await post("runs/create", fresh);
  const d = await post("runs/create", fresh);
  assert.equal((c.json.run as { info: { run_id: string } }).info.run_id, (d.json.run as { info: { run_id: string } }).info.run_id);
  // an explicit old start_time repeated on purpose (MLflow's test_search_pagination) makes a run each time
  const old1 = await post("runs/create", body);
  const old2 = await post("runs/create", body);
  assert.notEqual((old1.json.run as { info: { run_id: string } }).info.run_id, (old2.json.run as { info: { run_id: string } }).info.run_id);
  const e = await post("runs/create", { ...fresh, start_time: fresh.start_time + 1 });
  assert.notEqual((e.json.run as { info: { run_id: string } }).info.run_id, (c.json.run as { info: { run_id: string } }).info.run_id);
  // two creates through Polarity's client are two runs (a fresh key each)
  const client = TrackingClient.open({ trackingUri: server.url, maxRetries: 0 });
  try {
    const r1 = await client.createRun("0", { runName: "twice", startTime: 5 });
    const r2 = await client.createRun("0", { runName: "twice", startTime: 5 });
    assert.notEqual(r1.info.run_id, r2.info.run_id);
  } finally {
    await client.close();
  }
});

test("wrong types and missing values get MLflow 2.12's 400 INVALID_PARAMETER_VALUE wording", async () => {
  const runId = await newRun();
  const expectInvalid = async (path: string, body: unknown, message: string) => {
    const r = await post(path, body);
    assert.equal(r.status, 400, `${path} ${JSON.stringify(body)}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.error_code, "INVALID_PARAMETER_VALUE");
    assert.equal(r.json.message, message);
  };
  await expectInvalid("experiments/create", { name: 123 }, `Invalid value 123 for parameter 'name' supplied. Hint: Value was of type 'int'. ${DOCS}`);
  await expectInvalid(
    "runs/log-metric",
    { run_id: 31, key: "m", value: 1, timestamp: 1 },
    `Invalid value 31 for parameter 'run_id' supplied. Hint: Value was of type 'int'. ${DOCS}`,
  );
  await expectInvalid(
    "runs/log-metric",
    { run_id: runId, key: "m", value: 1, timestamp: 1, step: "foo" },
    `Invalid value foo for parameter 'step' supplied. Hint: Value was of type 'str'. ${DOCS}`,
  );
  await expectInvalid(
    "runs/log-parameter",
    { run_id: runId, key: "p", value: 5 },
    `Invalid value 5 for parameter 'value' supplied. Hint: Value was of type 'int'. ${DOCS}`,
  );
  await expectInvalid("runs/update", { run_id: null }, `Missing value for required parameter 'run_id'. ${DOCS}`);
  await expectInvalid("runs/log-metric", { run_id: runId, key: "m", value: 1 }, `Missing value for required parameter 'timestamp'. ${DOCS}`);
  await expectInvalid("runs/log-inputs", { run_id: runId }, `Missing value for required parameter 'datasets'. ${DOCS}`);
  const batch = await post("runs/log-batch", { run_id: runId, metrics: [{ key: "m", value: "x", timestamp: 1 }] });
  assert.equal(batch.status, 400);
  assert.match(String(batch.json.message), /^Invalid value .* for parameter 'metrics' supplied\. Hint: Value was of type 'list'\./);
  // MLflow's int-like and float-like strings are accepted in JSON bodies
  assert.equal((await post("runs/log-metric", { run_id: runId, key: "m", value: "0.5", timestamp: "7", step: "2" })).status, 200);
  // artifact paths
  const listed = await call("GET", `/api/2.0/mlflow/artifacts/list?run_id=${runId}&path=${encodeURIComponent("../x")}`);
  assert.equal(listed.status, 400);
  assert.match(String(listed.json.message), /^Invalid path/);
});

test("log-batch names a metric's missing field as MLflow's handler does (metrics[0].timestamp), a null counting as missing", async () => {
  const runId = await newRun();
  for (const [metric, field] of [
    [{ key: "mae", value: 2.5 }, "metrics[0].timestamp"],
    [{ key: "mae", value: 2.5, timestamp: null }, "metrics[0].timestamp"],
    [{ key: "mae", timestamp: 1 }, "metrics[0].value"],
  ] as const) {
    const r = await post("runs/log-batch", { run_id: runId, metrics: [metric] });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error_code: "INVALID_PARAMETER_VALUE", message: `Missing value for required parameter '${field}'. ${DOCS}` });
  }
  const second = await post("runs/log-batch", {
    run_id: runId,
    metrics: [
      { key: "a", value: 1, timestamp: 1 },
      { key: "b", value: 1 },
    ],
  });
  assert.equal(second.json.message, `Missing value for required parameter 'metrics[1].timestamp'. ${DOCS}`);
  // nothing of a refused batch is written
  const run = await call("GET", `/api/2.0/mlflow/runs/get?run_id=${runId}`);
  assert.deepEqual((run.json.run as { data: { metrics?: unknown[] } }).data.metrics ?? [], []);
});

test("an oversized max_results gets MLflow's words: the handler's cap (runs 50000, registered models 1000, versions 200000), the store's for experiments", async () => {
  const hint = (v: number, type: string) => `Invalid value ${v} for parameter 'max_results' supplied. Hint: Value was of type '${type}'. ${DOCS}`;
  const runs = await post("runs/search", { experiment_ids: ["0"], max_results: 123456789 });
  assert.equal(runs.status, 400);
  assert.equal(runs.json.message, hint(123456789, "int"));
  assert.equal((await post("runs/search", { experiment_ids: ["0"], max_results: 50000 })).status, 200);
  const zero = await post("runs/search", { experiment_ids: ["0"], max_results: 0 });
  assert.equal(zero.json.message, "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer");
  // GET query values are strings, so MLflow's hint says 'str'.
  const models = await call("GET", "/api/2.0/mlflow/registered-models/search?max_results=1001");
  assert.equal(models.status, 400);
  assert.equal(models.json.message, hint(1001, "str"));
  assert.equal((await call("GET", "/api/2.0/mlflow/registered-models/search?max_results=1000")).status, 200);
  const versions = await call("GET", "/api/2.0/mlflow/model-versions/search?max_results=200001");
  assert.equal(versions.json.message, hint(200001, "str"));
  const experiments = await post("experiments/search", { max_results: 50001 });
  assert.equal(experiments.status, 400);
  assert.deepEqual(experiments.json, {
    error_code: "INVALID_PARAMETER_VALUE",
    message: "Invalid value 50001 for parameter 'max_results' supplied. It must be at most 50000",
  });
});

test("the embedded store keeps a relative artifact_location absolute, as MLflow's resolve_uri_if_local does", async () => {
  const { dir: d, cleanup: c } = tempDir();
  const client = TrackingClient.open({ trackingUri: `sqlite:///${join(d, "e.db")}` });
  try {
    const id = await client.createExperiment("rel", { artifactLocation: "rel/artifacts" });
    assert.equal((await client.getExperiment(id)).artifact_location, pathToFileURL(resolve("rel/artifacts")).href);
  } finally {
    await client.close();
    c();
  }
});
