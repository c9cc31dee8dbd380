import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { startTrackingServer, type RunningServer } from "../../src/tracking/server.js";
import { requestJson, tempDir } from "./helpers.js";
import { testStoreUri } from "../support/postgres.js";

/**
 * Drives the real server over HTTP on 127.0.0.1 through every endpoint, checking paths,
 * methods, response shapes, error codes and HTTP statuses against MLflow's protocol.
 */
let server: RunningServer;
let cleanup: () => Promise<void>;
const API = "/api/2.0/mlflow";

before(async () => {
  const t = tempDir();
  const store = await testStoreUri(join(t.dir, "c.db"));
  cleanup = async () => {
    await store.drop();
    t.cleanup();
  };
  server = await startTrackingServer({ port: 0, backendStoreUri: store.uri, artifactsDestination: join(t.dir, "art") });
});
after(async () => {
  await server.close();
  await cleanup();
});

interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(method: string, path: string, body?: unknown): Promise<Reply> {
  const r = await requestJson(server.url, method, path, { body });
  return { status: r.status, body: r.json, headers: r.headers };
}

const get = (path: string, query: Record<string, string | string[]> = {}) => {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) for (const item of Array.isArray(v) ? v : [v]) qs.append(k, item);
  return call("GET", `${API}/${path}${qs.size ? `?${qs}` : ""}`);
};
const post = (path: string, body: unknown) => call("POST", `${API}/${path}`, body);

function expectError(r: Reply, status: number, code: string, mention?: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.error_code, code);
  assert.equal(typeof r.body.message, "string");
  if (mention) assert.ok((r.body.message as string).includes(mention), `message '${r.body.message}' should mention ${mention}`);
}

function expectKeys(obj: unknown, types: Record<string, string>): void {
  assert.ok(obj && typeof obj === "object", `expected an object, got ${JSON.stringify(obj)}`);
  for (const [k, t] of Object.entries(types)) {
    const v: unknown = (obj as Record<string, unknown>)[k];
    assert.equal(Array.isArray(v) ? "array" : typeof v, t, `field ${k} of ${JSON.stringify(obj)}`);
  }
}

const EXPERIMENT = {
  experiment_id: "string",
  name: "string",
  artifact_location: "string",
  lifecycle_stage: "string",
  creation_time: "number",
  last_update_time: "number",
  tags: "array",
};
const RUN_INFO = {
  run_id: "string",
  run_uuid: "string",
  run_name: "string",
  experiment_id: "string",
  user_id: "string",
  status: "string",
  start_time: "number",
  artifact_uri: "string",
  lifecycle_stage: "string",
};
const MODEL_VERSION = {
  name: "string",
  version: "string",
  creation_timestamp: "number",
  last_updated_timestamp: "number",
  current_stage: "string",
  description: "string",
  source: "string",
  run_id: "string",
  status: "string",
  tags: "array",
  aliases: "array",
};
const REGISTERED_MODEL = {
  name: "string",
  creation_timestamp: "number",
  last_updated_timestamp: "number",
  description: "string",
  latest_versions: "array",
  tags: "array",
  aliases: "array",
};

test("experiments endpoints", async () => {
  const created = await post("experiments/create", { name: "conf", tags: [{ key: "a", value: "1" }] });
  assert.equal(created.status, 200);
  expectKeys(created.body, { experiment_id: "string" });
  const id = created.body.experiment_id as string;
  expectError(await post("experiments/create", { name: "conf" }), 400, "RESOURCE_ALREADY_EXISTS", "conf");
  expectError(await post("experiments/create", {}), 400, "INVALID_PARAMETER_VALUE", "name");
  expectError(await post("experiments/create", { name: "x".repeat(501) }), 400, "INVALID_PARAMETER_VALUE");

  const got = await get("experiments/get", { experiment_id: id });
  assert.equal(got.status, 200);
  expectKeys(got.body.experiment, EXPERIMENT);
  expectError(await get("experiments/get", { experiment_id: "4242" }), 404, "RESOURCE_DOES_NOT_EXIST");
  expectError(await get("experiments/get", {}), 400, "INVALID_PARAMETER_VALUE", "experiment_id");
  const byName = await get("experiments/get-by-name", { experiment_name: "conf" });
  assert.equal((byName.body.experiment as { experiment_id: string }).experiment_id, id);
  expectError(await get("experiments/get-by-name", { experiment_name: "nope" }), 404, "RESOURCE_DOES_NOT_EXIST");

  const searchPost = await post("experiments/search", { max_results: 10, filter: "name = 'conf'" });
  assert.equal(searchPost.status, 200);
  assert.deepEqual(
    (searchPost.body.experiments as Array<{ name: string }>).map((e) => e.name),
    ["conf"],
  );
  const searchGet = await get("experiments/search", { max_results: "1", order_by: "name ASC" });
  assert.equal((searchGet.body.experiments as unknown[]).length, 1);
  assert.equal(typeof searchGet.body.next_page_token, "string");
  expectError(await post("experiments/search", { filter: "name = " }), 400, "INVALID_PARAMETER_VALUE", "<end of filter>");
  expectError(await post("experiments/search", { max_results: "lots" }), 400, "INVALID_PARAMETER_VALUE", "max_results");

  assert.equal((await post("experiments/update", { experiment_id: id, new_name: "conf2" })).status, 200);
  assert.equal((await post("experiments/set-experiment-tag", { experiment_id: id, key: "b", value: "2" })).status, 200);
  assert.deepEqual(((await get("experiments/get", { experiment_id: id })).body.experiment as { tags: unknown }).tags, [
    { key: "a", value: "1" },
    { key: "b", value: "2" },
  ]);
  const del = await post("experiments/delete", { experiment_id: id });
  assert.deepEqual([del.status, del.body], [200, {}]);
  assert.equal(((await get("experiments/get", { experiment_id: id })).body.experiment as { lifecycle_stage: string }).lifecycle_stage, "deleted");
  assert.equal((await post("experiments/restore", { experiment_id: id })).status, 200);
  expectError(await post("experiments/delete", { experiment_id: "0" }), 400, "INVALID_PARAMETER_VALUE");
});

test("runs, metrics and artifacts-list endpoints", async () => {
  const exp = (await post("experiments/create", { name: "conf-runs" })).body.experiment_id as string;
  const created = await post("runs/create", { experiment_id: exp, run_name: "r", start_time: 1700000000000, tags: [{ key: "t", value: "v" }] });
  assert.equal(created.status, 200);
  const run = created.body.run as { info: Record<string, unknown>; data: Record<string, unknown>; inputs: Record<string, unknown> };
  expectKeys(run.info, RUN_INFO);
  expectKeys(run.data, { metrics: "array", params: "array", tags: "array" });
  const id = run.info.run_id as string;
  expectError(await post("runs/create", { experiment_id: "31337" }), 404, "RESOURCE_DOES_NOT_EXIST");

  assert.equal((await post("runs/log-metric", { run_id: id, key: "acc", value: 0.5, timestamp: 1700000000001, step: 1 })).status, 200);
  assert.equal((await post("runs/log-metric", { run_id: id, key: "acc", value: "NaN", timestamp: 1700000000002, step: 0 })).status, 200);
  expectError(await post("runs/log-metric", { run_id: id, key: "acc", value: "high", timestamp: 1 }), 400, "INVALID_PARAMETER_VALUE", "value");
  expectError(await post("runs/log-metric", { run_id: id, key: "acc", value: 1 }), 400, "INVALID_PARAMETER_VALUE", "timestamp");
  assert.equal((await post("runs/log-parameter", { run_id: id, key: "C", value: "1" })).status, 200);
  expectError(await post("runs/log-parameter", { run_id: id, key: "C", value: "2" }), 400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed");
  expectError(await post("runs/log-parameter", { run_id: id, key: "bad!key", value: "2" }), 400, "INVALID_PARAMETER_VALUE", "bad!key");
  assert.equal((await post("runs/set-tag", { run_id: id, key: "t", value: "w" })).status, 200);
  assert.equal((await post("runs/delete-tag", { run_id: id, key: "t" })).status, 200);
  const batch = await post("runs/log-batch", {
    run_id: id,
    metrics: [{ key: "loss", value: 1.5, timestamp: 5, step: 0 }],
    params: [{ key: "penalty", value: "l2" }],
    tags: [{ key: "note", value: "x" }],
  });
  assert.deepEqual([batch.status, batch.body], [200, {}]);
  const over = Array.from({ length: 1001 }, (_, i) => ({ key: "m", value: i, timestamp: i, step: i }));
  expectError(await post("runs/log-batch", { run_id: id, metrics: over }), 400, "INVALID_PARAMETER_VALUE", "1000");
  const hugeBody = {
    run_id: id,
    params: Array.from({ length: 100 }, (_, i) => ({ key: `big${i}`, value: "x".repeat(5999) })),
    tags: Array.from({ length: 100 }, (_, i) => ({ key: `t${i}`, value: "y".repeat(4999) })),
  };
  expectError(await post("runs/log-batch", hugeBody), 400, "INVALID_PARAMETER_VALUE", "1000000 bytes");
  const inputs = await post("runs/log-inputs", {
    run_id: id,
    datasets: [{ tags: [{ key: "mlflow.data.context", value: "training" }], dataset: { name: "d", digest: "abc", source_type: "local", source: "x.csv" } }],
  });
  assert.equal(inputs.status, 200);

  const got = await get("runs/get", { run_id: id });
  const data = (got.body.run as { data: { metrics: Array<{ key: string; value: unknown; step: number }>; params: unknown[] } }).data;
  assert.deepEqual(
    data.metrics.find((m) => m.key === "acc"),
    { key: "acc", value: 0.5, timestamp: 1700000000001, step: 1 },
  );
  assert.equal(data.params.length, 2);
  assert.equal((got.body.run as { inputs: { dataset_inputs: unknown[] } }).inputs.dataset_inputs.length, 1);
  expectError(await get("runs/get", { run_id: "abcdef" }), 404, "RESOURCE_DOES_NOT_EXIST");

  const history = await get("metrics/get-history", { run_id: id, metric_key: "acc" });
  assert.deepEqual(history.body.metrics, [
    { key: "acc", value: "NaN", timestamp: 1700000000002, step: 0 },
    { key: "acc", value: 0.5, timestamp: 1700000000001, step: 1 },
  ]);
  const paged = await get("metrics/get-history", { run_id: id, metric_key: "acc", max_results: "1" });
  assert.equal((paged.body.metrics as unknown[]).length, 1);
  assert.equal(typeof paged.body.next_page_token, "string");

  const updated = await post("runs/update", { run_id: id, status: "FINISHED", end_time: 1700000000100 });
  expectKeys(updated.body.run_info, RUN_INFO);
  assert.equal((updated.body.run_info as { end_time: number }).end_time, 1700000000100);
  expectError(await post("runs/update", { run_id: id, status: "SLEEPING" }), 400, "INVALID_PARAMETER_VALUE", "status");

  const search = await post("runs/search", {
    experiment_ids: [exp],
    filter: "metrics.loss < 2 AND params.penalty = 'l2'",
    order_by: ["metrics.loss DESC"],
    max_results: 10,
  });
  assert.equal(search.status, 200);
  assert.deepEqual(
    (search.body.runs as Array<{ info: { run_id: string } }>).map((r) => r.info.run_id),
    [id],
  );
  expectError(await post("runs/search", { experiment_ids: [exp], filter: "metrics.loss < 2 OR params.x = 'y'" }), 400, "INVALID_PARAMETER_VALUE", "'OR'");
  expectError(await post("runs/search", { experiment_ids: [exp], filter: "metrics.loss ~ 2" }), 400, "INVALID_PARAMETER_VALUE", "'~'");
  expectError(
    await post("runs/search", { experiment_ids: [exp], max_results: 50001 }),
    400,
    "INVALID_PARAMETER_VALUE",
    "Invalid value 50001 for parameter 'max_results' supplied",
  );
  expectError(await post("runs/search", { experiment_ids: [exp], page_token: "bm90IGpzb24=" }), 400, "INVALID_PARAMETER_VALUE", "page token");

  const up = await call("PUT", `/api/2.0/mlflow-artifacts/artifacts/${exp}/${id}/artifacts/dir/file.txt`, "content");
  assert.equal(up.status, 200);
  const listed = await get("artifacts/list", { run_id: id });
  assert.deepEqual(listed.body, { root_uri: `mlflow-artifacts:/${exp}/${id}/artifacts`, files: [{ path: "dir", is_dir: true }] });
  const listedDir = await get("artifacts/list", { run_id: id, path: "dir" });
  assert.deepEqual(listedDir.body.files, [{ path: "dir/file.txt", is_dir: false, file_size: 7 }]);

  assert.equal((await post("runs/delete", { run_id: id })).status, 200);
  expectError(await post("runs/log-metric", { run_id: id, key: "acc", value: 1, timestamp: 1 }), 400, "INVALID_PARAMETER_VALUE", "active");
  assert.equal((await post("runs/restore", { run_id: id })).status, 200);
});

test("mlflow-artifacts proxy: PUT, GET, list, DELETE", async () => {
  const base = "/api/2.0/mlflow-artifacts/artifacts";
  assert.equal((await call("PUT", `${base}/proxy/a/b.bin`, "0123456789")).status, 200);
  const res = await fetch(`${server.url}${base}/proxy/a/b.bin`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "0123456789");
  assert.deepEqual((await call("GET", `${base}?path=proxy/a`)).body, { files: [{ path: "b.bin", is_dir: false, file_size: 10 }] });
  assert.deepEqual((await call("GET", `${base}?path=proxy`)).body, { files: [{ path: "a", is_dir: true }] });
  assert.equal((await call("DELETE", `${base}/proxy/a/b.bin`)).status, 200);
  expectError(await call("GET", `${base}/proxy/a/b.bin`), 404, "RESOURCE_DOES_NOT_EXIST");
  expectError(await call("DELETE", `${base}/proxy/a/b.bin`), 404, "RESOURCE_DOES_NOT_EXIST");
});

test("model registry endpoints with their HTTP methods", async () => {
  const created = await post("registered-models/create", { name: "reg", description: "d", tags: [{ key: "k", value: "v" }] });
  assert.equal(created.status, 200);
  expectKeys(created.body.registered_model, REGISTERED_MODEL);
  expectError(await post("registered-models/create", { name: "reg" }), 400, "RESOURCE_ALREADY_EXISTS", "reg");
  expectError(await get("registered-models/get", { name: "nope" }), 404, "RESOURCE_DOES_NOT_EXIST");
  expectKeys((await get("registered-models/get", { name: "reg" })).body.registered_model, REGISTERED_MODEL);
  const searched = await get("registered-models/search", { filter: "name LIKE 're%'", max_results: "5" });
  assert.deepEqual(
    (searched.body.registered_models as Array<{ name: string }>).map((m) => m.name),
    ["reg"],
  );
  expectError(
    await get("registered-models/search", { max_results: "1001" }),
    400,
    "INVALID_PARAMETER_VALUE",
    "Invalid value 1001 for parameter 'max_results' supplied. Hint: Value was of type 'str'",
  );
  const patched = await call("PATCH", `${API}/registered-models/update`, { name: "reg", description: "new" });
  assert.equal((patched.body.registered_model as { description: string }).description, "new");
  assert.equal((await post("registered-models/set-tag", { name: "reg", key: "x", value: "y" })).status, 200);
  assert.equal((await call("DELETE", `${API}/registered-models/delete-tag`, { name: "reg", key: "x" })).status, 200);

  const mv = await post("model-versions/create", { name: "reg", source: "mlflow-artifacts:/0/abc/artifacts/model", description: "v1" });
  assert.equal(mv.status, 200);
  expectKeys(mv.body.model_version, MODEL_VERSION);
  assert.equal((mv.body.model_version as { version: string }).version, "1");
  await post("model-versions/create", { name: "reg", source: "mlflow-artifacts:/0/def/artifacts/model" });
  expectError(await post("model-versions/create", { name: "ghost", source: "mlflow-artifacts:/0/x" }), 404, "RESOURCE_DOES_NOT_EXIST");
  // MLflow's _validate_source: a bare local path without its run is refused first
  expectError(await post("model-versions/create", { name: "ghost", source: "x" }), 400, "INVALID_PARAMETER_VALUE", "Invalid model version source");
  expectKeys((await get("model-versions/get", { name: "reg", version: "2" })).body.model_version, MODEL_VERSION);
  expectError(await get("model-versions/get", { name: "reg", version: "3" }), 404, "RESOURCE_DOES_NOT_EXIST");
  expectError(await get("model-versions/get", { name: "reg", version: "two" }), 400, "INVALID_PARAMETER_VALUE");
  const versions = await get("model-versions/search", { filter: "name = 'reg'" });
  assert.deepEqual(
    (versions.body.model_versions as Array<{ version: string }>).map((v) => v.version),
    ["2", "1"],
  );
  const mvPatched = await call("PATCH", `${API}/model-versions/update`, { name: "reg", version: "1", description: "first" });
  assert.equal((mvPatched.body.model_version as { description: string }).description, "first");
  assert.equal((await post("model-versions/set-tag", { name: "reg", version: "1", key: "k", value: "v" })).status, 200);
  assert.equal((await call("DELETE", `${API}/model-versions/delete-tag`, { name: "reg", version: "1", key: "k" })).status, 200);

  const staged = await post("model-versions/transition-stage", { name: "reg", version: "1", stage: "Production", archive_existing_versions: false });
  assert.equal((staged.body.model_version as { current_stage: string }).current_stage, "Production");
  await post("model-versions/transition-stage", { name: "reg", version: "2", stage: "Production", archive_existing_versions: true });
  assert.equal(((await get("model-versions/get", { name: "reg", version: "1" })).body.model_version as { current_stage: string }).current_stage, "Archived");
  expectError(await post("model-versions/transition-stage", { name: "reg", version: "1", stage: "Gold" }), 400, "INVALID_PARAMETER_VALUE", "Gold");
  const latest = await post("registered-models/get-latest-versions", { name: "reg", stages: ["Production"] });
  assert.deepEqual(
    (latest.body.model_versions as Array<{ version: string }>).map((v) => v.version),
    ["2"],
  );
  const latestGet = await get("registered-models/get-latest-versions", { name: "reg", stages: "Archived" });
  assert.deepEqual(
    (latestGet.body.model_versions as Array<{ version: string }>).map((v) => v.version),
    ["1"],
  );
  assert.deepEqual((await get("model-versions/get-download-uri", { name: "reg", version: "1" })).body, {
    artifact_uri: "mlflow-artifacts:/0/abc/artifacts/model",
  });

  assert.deepEqual((await post("registered-models/alias", { name: "reg", alias: "champion", version: "2" })).body, {});
  const byAlias = await get("registered-models/alias", { name: "reg", alias: "champion" });
  assert.equal((byAlias.body.model_version as { version: string; aliases: string[] }).version, "2");
  assert.deepEqual((byAlias.body.model_version as { aliases: string[] }).aliases, ["champion"]);
  expectError(await post("registered-models/alias", { name: "reg", alias: "Latest", version: "1" }), 400, "INVALID_PARAMETER_VALUE", "reserved");
  assert.equal((await call("DELETE", `${API}/registered-models/alias`, { name: "reg", alias: "champion" })).status, 200);
  expectError(await get("registered-models/alias", { name: "reg", alias: "champion" }), 404, "RESOURCE_DOES_NOT_EXIST");

  const renamed = await post("registered-models/rename", { name: "reg", new_name: "reg2" });
  assert.equal((renamed.body.registered_model as { name: string }).name, "reg2");
  assert.equal((await call("DELETE", `${API}/model-versions/delete`, { name: "reg2", version: "1" })).status, 200);
  assert.equal((await call("DELETE", `${API}/registered-models/delete`, { name: "reg2" })).status, 200);
  expectError(await get("registered-models/get", { name: "reg2" }), 404, "RESOURCE_DOES_NOT_EXIST");
});

test("unknown endpoints, wrong methods and malformed bodies get MLflow-style errors, never 500", async () => {
  expectError(await get("experiments/frobnicate"), 404, "ENDPOINT_NOT_FOUND");
  expectError(await call("GET", "/nothing/here"), 404, "ENDPOINT_NOT_FOUND");
  expectError(await call("DELETE", `${API}/runs/get`), 404, "ENDPOINT_NOT_FOUND");
  expectError(await call("GET", `${API}/registered-models/update?name=x`), 404, "ENDPOINT_NOT_FOUND");
  const bad = await call("POST", `${API}/experiments/create`, "{not json");
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error_code, "BAD_REQUEST");
  expectError(await post("experiments/create", [1, 2]), 400, "INVALID_PARAMETER_VALUE");
  expectError(await post("runs/log-batch", { run_id: "x", metrics: [{ key: "a" }] }), 400, "INVALID_PARAMETER_VALUE", "parameter 'metrics[0].value'");
});

test("artifact paths cannot escape the root: .., absolute, %2e%2e-encoded", async () => {
  const raw = (method: string, path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(server.url);
      const req = httpRequest({ host: url.hostname, port: url.port, method, path }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      });
      req.on("error", reject);
      req.end(method === "PUT" ? "evil" : undefined);
    });
  const base = "/api/2.0/mlflow-artifacts/artifacts";
  for (const path of [
    `${base}/../../etc/passwd`,
    `${base}/a/../../x`,
    `${base}/%2e%2e/%2e%2e/x`,
    `${base}/a/%2E%2E/%2e%2e/x`,
    `${base}/%252e%252e/x`,
    `${base}//etc/passwd`,
    `${base}/a%2f..%2f..%2fx`,
  ]) {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const r = await raw(method, path);
      assert.ok(r.status === 400 || r.status === 404, `${method} ${path} → ${r.status} ${r.body}`);
      assert.notEqual(r.status, 200, `${method} ${path} must not succeed`);
    }
  }
  const listUp = await call("GET", `${base}?path=../..`);
  expectError(listUp, 400, "INVALID_PARAMETER_VALUE");
  const listAbs = await call("GET", `${base}?path=/etc`);
  expectError(listAbs, 400, "INVALID_PARAMETER_VALUE");
});

test("request variants MLflow's own clients send: bracketed query arrays and double-encoded JSON bodies", async () => {
  const exp = (await post("experiments/create", JSON.stringify(JSON.stringify({ name: "double-encoded" })))).body.experiment_id as string;
  assert.equal(((await get("experiments/get", { experiment_id: exp })).body.experiment as { name: string }).name, "double-encoded");
  await post("registered-models/create", { name: "brackets" });
  await post("model-versions/create", { name: "brackets", source: "mlflow-artifacts:/0/s" });
  await post("model-versions/transition-stage", { name: "brackets", version: "1", stage: "Staging" });
  for (const key of ["stages[]", "stages[0]"]) {
    const r = await call("GET", `${API}/registered-models/get-latest-versions?name=brackets&${encodeURIComponent(key)}=Staging`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(
      (r.body.model_versions as Array<{ version: string }>).map((v) => v.version),
      ["1"],
    );
  }
  const missing = await get("model-versions/get", { name: "brackets" });
  expectError(missing, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'version'");
});
