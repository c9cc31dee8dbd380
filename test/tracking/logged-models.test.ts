// Issue 11, MLflow 3's logged models: the REST calls MLflow 3's client makes in
// `mlflow.<flavor>.log_model` and `load_model` (rest_store.py: create, params, artifacts through
// the mlflow-artifacts proxy, runs/log-model, runs/outputs, metrics with model_id, finalize), and
// the rest of the logged-models API (get, delete, tags, search, artifact listing/download), with
// the request/response shapes and messages of MLflow 3's handlers.py and sqlalchemy_store.py.
// A real server on 127.0.0.1 over a real SQLite file, or PostgreSQL with POLARITY_TEST_STORE=postgresql.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startTrackingServer, type RunningServer } from "../../src/tracking/server.js";
import { openPostgresStores, openSqliteStores } from "../../src/tracking/store/open.js";
import { copyTrackingDatabase } from "../../src/tracking/store/sql/copy.js";
import { freshPostgresDatabase, skipUnlessPostgres, testStoreUri } from "../support/postgres.js";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { httpHarness, inProcessHarness, rejectsWith, requestJson, tempDir, type Harness } from "./helpers.js";

interface Json {
  [k: string]: unknown;
}
interface ModelMsg {
  info: {
    model_id: string;
    experiment_id: string;
    name: string;
    artifact_uri: string;
    status: string;
    model_type?: string;
    source_run_id?: string;
    creation_timestamp_ms: number;
    last_updated_timestamp_ms: number;
    tags?: Array<{ key: string; value: string }>;
  };
  data: {
    params?: Array<{ key: string; value: string }>;
    metrics?: Array<{
      key: string;
      value: number;
      step: number;
      timestamp: number;
      model_id: string;
      run_id: string;
      dataset_name?: string;
      dataset_digest?: string;
    }>;
  };
}

const model = (j: Json) => j.model as ModelMsg;

describe("MLflow 3 logged models over REST", { timeout: 120_000 }, () => {
  let server: RunningServer;
  let cleanup: () => void;
  let drop: () => Promise<void>;

  before(async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const store = await testStoreUri(join(t.dir, "lm.db"));
    drop = store.drop;
    server = await startTrackingServer({ port: 0, backendStoreUri: store.uri, artifactsDestination: join(t.dir, "artifacts") });
  });
  after(async () => {
    await server.close();
    await drop();
    cleanup();
  });

  const call = (method: string, path: string, body?: unknown) => requestJson(server.url, method, path, { body });
  const api = (method: string, path: string, body?: unknown) => call(method, `/api/2.0/mlflow/${path}`, body);
  const ok = async (method: string, path: string, body?: unknown) => {
    const r = await api(method, path, body);
    assert.equal(r.status, 200, `${method} ${path}: ${r.text}`);
    return r.json;
  };

  async function experiment(name: string): Promise<string> {
    return (await ok("POST", "experiments/create", { name })).experiment_id as string;
  }
  async function run(experimentId: string): Promise<string> {
    return ((await ok("POST", "runs/create", { experiment_id: experimentId, start_time: Date.now() })).run as { info: { run_id: string } }).info.run_id;
  }

  test("log_model's call sequence: create (PENDING) → params → artifacts via the proxy → log-model → outputs → linked metrics → finalize (READY) → load", async () => {
    const exp = await experiment("lm-sequence");
    const runId = await run(exp);
    const created = model(
      await ok("POST", "logged-models", {
        experiment_id: exp,
        name: "sentiment",
        model_type: "Classifier",
        source_run_id: runId,
        params: [{ key: "C", value: "10.0" }],
        tags: [{ key: "mlflow.source.type", value: "LOCAL" }],
      }),
    );
    const id = created.info.model_id;
    assert.match(id, /^m-[0-9a-f]{32}$/);
    assert.equal(created.info.status, "LOGGED_MODEL_PENDING");
    assert.equal(created.info.experiment_id, exp);
    assert.equal(created.info.name, "sentiment");
    assert.equal(created.info.model_type, "Classifier");
    assert.equal(created.info.source_run_id, runId);
    assert.equal(created.info.artifact_uri, `mlflow-artifacts:/${exp}/models/${id}/artifacts`);
    assert.deepEqual(created.data.params, [{ key: "C", value: "10.0" }]);
    assert.deepEqual(created.info.tags, [{ key: "mlflow.source.type", value: "LOCAL" }]);

    // Params past the first 100 come through logged-models/{id}/params (the body repeats model_id).
    assert.deepEqual(await ok("POST", `logged-models/${id}/params`, { model_id: id, params: [{ key: "ngram", value: "1-2" }] }), {});
    // The client uploads the model directory to the proxied artifact location.
    const proxied = `/api/2.0/mlflow-artifacts/artifacts/${exp}/models/${id}/artifacts`;
    const mlmodel = "artifact_path: null\nflavors:\n  python_function: {}\nmodel_id: " + id + "\n";
    assert.equal((await call("PUT", `${proxied}/MLmodel`, mlmodel)).status, 200);
    assert.equal((await call("PUT", `${proxied}/data/model.bin`, new Uint8Array([1, 2, 3, 4]))).status, 200);
    await ok("POST", "runs/log-model", {
      run_id: runId,
      model_json: JSON.stringify({
        artifact_path: null,
        flavors: { python_function: {} },
        utc_time_created: "2026-01-01 00:00:00.000000",
        run_id: runId,
        model_id: id,
      }),
    });
    await ok("POST", "runs/outputs", { run_id: runId, models: [{ model_id: id, step: 0 }] });
    // Metrics logged while the model is active carry its id and the evaluation dataset.
    await ok("POST", "runs/log-batch", {
      run_id: runId,
      metrics: [
        { key: "accuracy", value: 0.86, timestamp: 1000, step: 0, model_id: id, dataset_name: "test", dataset_digest: "abc123" },
        { key: "loss", value: "NaN", timestamp: 1000, step: 0, model_id: id },
        { key: "run_only", value: 1, timestamp: 1000, step: 0 },
      ],
    });
    await ok("POST", "runs/log-metric", { run_id: runId, key: "f1", value: 0.84, timestamp: 1001, step: 1, model_id: id });

    const ready = model(await ok("PATCH", `logged-models/${id}`, { model_id: id, status: "LOGGED_MODEL_READY" }));
    assert.equal(ready.info.status, "LOGGED_MODEL_READY");
    assert.ok(ready.info.last_updated_timestamp_ms >= ready.info.creation_timestamp_ms);

    const got = model(await ok("GET", `logged-models/${id}`));
    assert.deepEqual(got.data.params, [
      { key: "C", value: "10.0" },
      { key: "ngram", value: "1-2" },
    ]);
    const metrics = got.data.metrics ?? [];
    assert.deepEqual(
      metrics.map((m) => [m.key, m.value, m.step, m.model_id, m.run_id, m.dataset_name ?? null, m.dataset_digest ?? null]),
      [
        ["accuracy", 0.86, 0, id, runId, "test", "abc123"],
        ["f1", 0.84, 1, id, runId, null, null],
        ["loss", "NaN", 0, id, runId, null, null],
      ],
    );
    // The run still has every metric, and records the model as its output.
    const runMsg = (await ok("GET", `runs/get?run_id=${runId}`)).run as { data: { metrics: Array<{ key: string }> }; outputs?: { model_outputs: unknown[] } };
    assert.deepEqual(runMsg.data.metrics.map((m) => m.key).sort(), ["accuracy", "f1", "loss", "run_only"]);
    assert.deepEqual(runMsg.outputs?.model_outputs, [{ model_id: id, step: 0 }]);

    // load_model: the model's artifacts are listed and fetched through the proxy under artifact_uri.
    const listing = (await call("GET", `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(`${exp}/models/${id}/artifacts`)}`)).json;
    assert.deepEqual((listing.files as Array<{ path: string }>).map((f) => f.path).sort(), ["MLmodel", "data"]);
    assert.equal((await call("GET", `${proxied}/MLmodel`)).text, mlmodel);

    // MLflow 3 resolves runs:/<run>/<name> through a search on the run and the model's name.
    const byRun = await ok("POST", "logged-models/search", {
      experiment_ids: [exp],
      filter: `source_run_id = '${runId}' AND name = 'sentiment'`,
      max_results: 2,
    });
    assert.deepEqual(
      (byRun.models as ModelMsg[]).map((m) => m.info.model_id),
      [id],
    );
    // mlflow.register_model("models:/<id>", …): the version's download URI is the model's artifact location.
    await ok("POST", "registered-models/create", { name: "sentiment-registered" });
    const version = (await ok("POST", "model-versions/create", { name: "sentiment-registered", source: `models:/${id}`, run_id: runId, model_id: id }))
      .model_version as {
      version: string;
    };
    assert.deepEqual(await ok("GET", `model-versions/get-download-uri?name=sentiment-registered&version=${version.version}`), {
      artifact_uri: created.info.artifact_uri,
    });

    // The logged-model artifact API (the UI's).
    const dir = await ok("GET", `logged-models/${id}/artifacts/directories`);
    assert.equal(dir.root_uri, created.info.artifact_uri);
    assert.deepEqual(dir.files, [
      { path: "MLmodel", is_dir: false, file_size: Buffer.byteLength(mlmodel) },
      { path: "data", is_dir: true },
    ]);
    const sub = await ok("GET", `logged-models/${id}/artifacts/directories?artifact_directory_path=data`);
    assert.deepEqual(sub.files, [{ path: "data/model.bin", is_dir: false, file_size: 4 }]);
    const file = await call("GET", `/ajax-api/2.0/mlflow/logged-models/${id}/artifacts/files?artifact_file_path=data/model.bin`);
    assert.equal(file.status, 200);
    assert.match(file.headers.get("content-disposition") ?? "", /^attachment; filename="model.bin"$/);
    assert.equal(file.headers.get("x-content-type-options"), "nosniff");
    const noPath = await call("GET", `/ajax-api/2.0/mlflow/logged-models/${id}/artifacts/files`);
    assert.equal(noPath.status, 400);
    assert.deepEqual(noPath.json, { error_code: "BAD_REQUEST", message: 'Request must include the "artifact_file_path" query parameter.' });
    for (const bad of ["../../../etc/passwd", "/etc/passwd", "data/%2e%2e/%2e%2e/x"]) {
      const r = await call("GET", `/api/2.0/mlflow/logged-models/${id}/artifacts/files?artifact_file_path=${encodeURIComponent(bad)}`);
      assert.equal(r.status, 400, `${bad}: ${r.text}`);
      const l = await api("GET", `logged-models/${id}/artifacts/directories?artifact_directory_path=${encodeURIComponent(bad)}`);
      assert.equal(l.status, 400, `${bad}: ${l.text}`);
    }
  });

  test("a name is generated when none is given; finalize also takes the enum number and UPLOAD_FAILED", async () => {
    const exp = await experiment("lm-defaults");
    const m = model(await ok("POST", "logged-models", { experiment_id: exp }));
    assert.match(m.info.name, /^[a-z]+-[a-z]+-\d+$/);
    assert.equal(m.info.source_run_id, undefined);
    assert.equal(
      model(await ok("PATCH", `logged-models/${m.info.model_id}`, { model_id: m.info.model_id, status: 3 })).info.status,
      "LOGGED_MODEL_UPLOAD_FAILED",
    );
    assert.equal(model(await ok("PATCH", `logged-models/${m.info.model_id}`, { model_id: m.info.model_id, status: 2 })).info.status, "LOGGED_MODEL_READY");
  });

  test("tags: set (PATCH …/tags, no model_id in the body), overwrite, delete; deleting a missing tag is MLflow's 404", async () => {
    const exp = await experiment("lm-tags");
    const id = model(await ok("POST", "logged-models", { experiment_id: exp, name: "tagged" })).info.model_id;
    await ok("PATCH", `logged-models/${id}/tags`, {
      tags: [
        { key: "stage", value: "dev" },
        { key: "owner", value: "ana" },
      ],
    });
    await ok("PATCH", `logged-models/${id}/tags`, { tags: [{ key: "stage", value: "prod" }] });
    assert.deepEqual(model(await ok("GET", `logged-models/${id}`)).info.tags, [
      { key: "owner", value: "ana" },
      { key: "stage", value: "prod" },
    ]);
    assert.deepEqual(await ok("DELETE", `logged-models/${id}/tags/owner`), {});
    assert.deepEqual(model(await ok("GET", `logged-models/${id}`)).info.tags, [{ key: "stage", value: "prod" }]);
    const missing = await api("DELETE", `logged-models/${id}/tags/owner`);
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json, { error_code: "RESOURCE_DOES_NOT_EXIST", message: `No tag with key 'owner' found for model with ID '${id}'.` });
    const badKey = await api("PATCH", `logged-models/${id}/tags`, { tags: [{ key: "../x", value: "v" }] });
    assert.equal(badKey.status, 400);
    assert.match(String(badKey.json.message), /^Invalid tag name: '\.\.\/x'/);
  });

  test("delete hides the model (404 with MLflow's message) unless allow_deleted; unknown and malformed ids are 404 too", async () => {
    const exp = await experiment("lm-delete");
    const id = model(await ok("POST", "logged-models", { experiment_id: exp, name: "gone" })).info.model_id;
    assert.deepEqual(await ok("DELETE", `logged-models/${id}`, { model_id: id }), {});
    const r = await api("GET", `logged-models/${id}`);
    assert.equal(r.status, 404);
    assert.deepEqual(r.json, { error_code: "RESOURCE_DOES_NOT_EXIST", message: `Logged model with ID '${id}' not found.` });
    assert.equal(model(await ok("GET", `logged-models/${id}?allow_deleted=true`)).info.model_id, id);
    const unknown = "m-0123456789abcdef0123456789abcdef";
    for (const [method, path, body] of [
      ["GET", `logged-models/${unknown}`, undefined],
      ["PATCH", `logged-models/${unknown}`, { model_id: unknown, status: "LOGGED_MODEL_READY" }],
      ["DELETE", `logged-models/${unknown}`, undefined],
      ["PATCH", `logged-models/${unknown}/tags`, { tags: [] }],
      ["POST", `logged-models/${unknown}/params`, { model_id: unknown, params: [] }],
      ["GET", `logged-models/${unknown}/artifacts/directories`, undefined],
    ] as const) {
      const res = await api(method, path, body);
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      assert.equal(res.json.message, `Logged model with ID '${unknown}' not found.`);
    }
    const weird = await api("GET", `logged-models/${encodeURIComponent("x'; DROP TABLE logged_models; --")}`);
    assert.equal(weird.status, 404);
    assert.equal(weird.json.error_code, "RESOURCE_DOES_NOT_EXIST");
  });

  test("bad input gets MLflow's 400s: path-like names, deleted experiments, unfinalizable status, missing fields, changed params, unknown model in a metric", async () => {
    const exp = await experiment("lm-errors");
    const badName = await api("POST", "logged-models", { experiment_id: exp, name: "a/b" });
    assert.equal(badName.status, 400);
    assert.equal(
      badName.json.message,
      `Invalid model name ('a/b') provided. Model name must be a non-empty string and cannot contain the following characters: ('/', ':', '.', '%', '"', "'")`,
    );
    const noExp = await api("POST", "logged-models", { name: "x" });
    assert.equal(noExp.status, 400);
    assert.equal(noExp.json.message, "Missing value for required parameter 'experiment_id'. See the API docs for more information about request parameters.");
    assert.equal((await api("POST", "logged-models", { experiment_id: "987654" })).status, 404);
    const dead = await experiment("lm-dead");
    await ok("POST", "experiments/delete", { experiment_id: dead });
    const inDead = await api("POST", "logged-models", { experiment_id: dead });
    assert.equal(inDead.status, 400);
    assert.equal(inDead.json.message, `The experiment ${dead} must be in the 'active' state. Current state is deleted.`);

    const id = model(await ok("POST", "logged-models", { experiment_id: exp, params: [{ key: "C", value: "1" }] })).info.model_id;
    for (const status of ["LOGGED_MODEL_PENDING", "READY", 0, 1, 7]) {
      const r = await api("PATCH", `logged-models/${id}`, { model_id: id, status });
      assert.equal(r.status, 400, `status ${status}`);
      assert.match(String(r.json.message), /^Invalid value .* for parameter 'status' supplied/);
    }
    assert.equal(
      (await api("PATCH", `logged-models/${id}`, { model_id: id })).json.message,
      "Missing value for required parameter 'status'. See the API docs for more information about request parameters.",
    );
    await ok("POST", `logged-models/${id}/params`, { model_id: id, params: [{ key: "C", value: "1" }] }); // same value: idempotent
    const changed = await api("POST", `logged-models/${id}/params`, { model_id: id, params: [{ key: "C", value: "2" }] });
    assert.equal(changed.status, 400);
    assert.match(String(changed.json.message), /^Changing param values is not allowed/);
    const tooMany = await api("POST", `logged-models/${id}/params`, {
      model_id: id,
      params: Array.from({ length: 1001 }, (_, i) => ({ key: `p${i}`, value: "v" })),
    });
    assert.equal(tooMany.status, 400);
    assert.match(String(tooMany.json.message), /at most 1000 params/);

    const runId = await run(exp);
    const ghost = "m-ffffffffffffffffffffffffffffffff";
    const metric = await api("POST", "runs/log-batch", { run_id: runId, metrics: [{ key: "a", value: 1, timestamp: 1, model_id: ghost }] });
    assert.equal(metric.status, 404);
    assert.equal(metric.json.message, `Logged model with ID '${ghost}' not found.`);
    const outputs = await api("POST", "runs/outputs", { run_id: runId });
    assert.equal(outputs.json.message, "Missing value for required parameter 'models'. See the API docs for more information about request parameters.");
    assert.equal(
      (await api("POST", "runs/outputs", { run_id: runId, models: [{ model_id: id }] })).json.message,
      "Missing value for required parameter 'models[0].step'. See the API docs for more information about request parameters.",
    );
  });

  test("runs/log-inputs takes models alone (MLflow 3) but still needs datasets or models (MLflow 2.12)", async () => {
    const exp = await experiment("lm-inputs");
    const runId = await run(exp);
    const id = model(await ok("POST", "logged-models", { experiment_id: exp })).info.model_id;
    await ok("POST", "runs/log-inputs", { run_id: runId, models: [{ model_id: id }] });
    const r = (await ok("GET", `runs/get?run_id=${runId}`)).run as { inputs: { model_inputs?: unknown[]; dataset_inputs: unknown[] } };
    assert.deepEqual(r.inputs.model_inputs, [{ model_id: id }]);
    const neither = await api("POST", "runs/log-inputs", { run_id: runId });
    assert.equal(neither.status, 400);
    assert.equal(neither.json.message, "Missing value for required parameter 'datasets'. See the API docs for more information about request parameters.");
  });

  test("search: experiment scope, filters on metrics/params/tags/attributes, dataset scoping, ordering by a metric, paging tokens bound to the query", async () => {
    const exp = await experiment("lm-search");
    const other = await experiment("lm-search-other");
    const runId = await run(exp);
    const ids: string[] = [];
    for (const [name, acc, c] of [
      ["low", 0.6, "1"],
      ["high", 0.9, "10"],
      ["mid", 0.75, "10"],
    ] as const) {
      const id = model(
        await ok("POST", "logged-models", {
          experiment_id: exp,
          name,
          params: [{ key: "C", value: c }],
          tags: [{ key: "team", value: name === "low" ? "a" : "b" }],
        }),
      ).info.model_id;
      ids.push(id);
      await ok("POST", "runs/log-batch", {
        run_id: runId,
        metrics: [{ key: "acc", value: acc, timestamp: 5, step: 0, model_id: id, dataset_name: "eval", dataset_digest: "d1" }],
      });
    }
    const [low, high, mid] = ids;
    await ok("POST", "runs/log-batch", { run_id: runId, metrics: [{ key: "acc", value: 0.99, timestamp: 1, step: 0, model_id: low, dataset_name: "train" }] });
    await ok("POST", "logged-models", { experiment_id: other, name: "elsewhere" });
    const gone = model(await ok("POST", "logged-models", { experiment_id: exp, name: "deleted" })).info.model_id;
    await ok("DELETE", `logged-models/${gone}`);

    const names = async (body: Json) => ((await ok("POST", "logged-models/search", body)).models as ModelMsg[]).map((m) => m.info.name);
    // Default order: newest first; deleted models and other experiments left out.
    assert.deepEqual(await names({ experiment_ids: [exp] }), ["mid", "high", "low"]);
    assert.deepEqual((await names({ experiment_ids: [exp, other] })).length, 4);
    assert.deepEqual(await names({ experiment_ids: [exp], filter: "metrics.acc > 0.7" }), ["mid", "high", "low"]); // low has 0.99 on train
    assert.deepEqual(await names({ experiment_ids: [exp], filter: "metrics.acc > 0.7", datasets: [{ dataset_name: "eval" }] }), ["mid", "high"]);
    assert.deepEqual(await names({ experiment_ids: [exp], filter: "params.C = '10' AND tags.team = 'b'" }), ["mid", "high"]);
    assert.deepEqual(await names({ experiment_ids: [exp], filter: "name LIKE 'h%'" }), ["high"]);
    assert.deepEqual(await names({ experiment_ids: [exp], filter: "attributes.name ILIKE 'H%'" }), ["high"]);
    assert.deepEqual(await names({ experiment_ids: [exp], filter: `model_id IN ('${low}', '${mid}')` }), ["mid", "low"]);
    assert.deepEqual(await names({ experiment_ids: [exp], filter: "creation_timestamp_ms > 0 AND metrics.`acc` <= 0.75" }), ["mid", "low"]);
    assert.deepEqual(await names({ experiment_ids: [exp], filter: "status = 'PENDING'" }), ["mid", "high", "low"]);
    assert.deepEqual(await names({ experiment_ids: [exp], datasets: [{ dataset_name: "train" }] }), ["low"]);
    const byAcc = [{ field_name: "metrics.acc", ascending: false, dataset_name: "eval" }];
    assert.deepEqual(await names({ experiment_ids: [exp], order_by: byAcc }), ["high", "mid", "low"]);
    assert.deepEqual(await names({ experiment_ids: [exp], order_by: [{ field_name: "name" }] }), ["high", "low", "mid"]);

    // Paging: max_results 1, the token carries the query and refuses another one.
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await ok("POST", "logged-models/search", {
        experiment_ids: [exp],
        order_by: byAcc,
        max_results: 1,
        ...(token ? { page_token: token } : {}),
      });
      seen.push(...(page.models as ModelMsg[]).map((m) => m.info.model_id));
      token = page.next_page_token as string | undefined;
    } while (token && seen.length < 10);
    assert.deepEqual(seen, [high, mid, low]);
    const first = await ok("POST", "logged-models/search", { experiment_ids: [exp], max_results: 1 });
    const mismatch = await api("POST", "logged-models/search", {
      experiment_ids: [exp],
      filter: "name = 'x'",
      max_results: 1,
      page_token: first.next_page_token,
    });
    assert.equal(mismatch.status, 400);
    assert.match(String(mismatch.json.message), /^Filter string in the page token does not match the requested filter string/);
    assert.equal((await api("POST", "logged-models/search", { experiment_ids: [exp], page_token: "!!!" })).status, 400);

    // Bad queries are 400s naming the problem.
    const badOrder = await api("POST", "logged-models/search", { experiment_ids: [exp], order_by: [{ field_name: "params.C" }] });
    assert.equal(badOrder.json.message, "Invalid order by field name: params.C. Only metrics are supported.");
    assert.equal(
      (await api("POST", "logged-models/search", { experiment_ids: [exp], order_by: [{ field_name: "nope" }] })).json.message,
      "Invalid order by field name: nope",
    );
    assert.equal((await api("POST", "logged-models/search", { experiment_ids: [exp], datasets: [{ dataset_digest: "x" }] })).status, 400);
    assert.equal((await api("POST", "logged-models/search", { experiment_ids: [exp], filter: "metrics.acc > 'x'" })).status, 400);
    assert.equal((await api("POST", "logged-models/search", { experiment_ids: [exp], filter: "run_id = 'x'" })).status, 400);
    assert.equal((await api("POST", "logged-models/search", { experiment_ids: [exp], max_results: 1001 })).status, 400);
    assert.equal((await api("POST", "logged-models/search", { experiment_ids: ["1 OR 1=1"] })).status, 400);
    assert.equal(
      (await api("POST", "logged-models/search", {})).json.message,
      "Missing value for required parameter 'experiment_ids'. See the API docs for more information about request parameters.",
    );
  });
});

describe("db migrate-from carries logged models from the embedded store into PostgreSQL", { skip: skipUnlessPostgres(), timeout: 120_000 }, () => {
  test("models, their tags, params, linked metrics and the run's outputs read back identical through the API", async () => {
    const t = tempDir();
    const db = await freshPostgresDatabase();
    const sqlitePath = join(t.dir, "embedded.db");
    const artifacts = join(t.dir, "artifacts");
    const post = async (url: string, path: string, method: string, body?: unknown) => {
      const res = await fetch(`${url}/api/2.0/mlflow/${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json()) as Json;
      assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(json)}`);
      return json;
    };
    try {
      const src = await startTrackingServer({ port: 0, backendStoreUri: `sqlite:///${sqlitePath}`, artifactsDestination: artifacts });
      let before: Json, beforeRun: Json, id: string, runId: string;
      try {
        const exp = (await post(src.url, "experiments/create", "POST", { name: "migrated" })).experiment_id as string;
        runId = ((await post(src.url, "runs/create", "POST", { experiment_id: exp, start_time: Date.now() })).run as { info: { run_id: string } }).info.run_id;
        id = model(
          await post(src.url, "logged-models", "POST", {
            experiment_id: exp,
            name: "m1",
            source_run_id: runId,
            params: [{ key: "C", value: "1" }],
            tags: [{ key: "k", value: "v" }],
          }),
        ).info.model_id;
        await post(src.url, "runs/log-batch", "POST", {
          run_id: runId,
          metrics: [{ key: "acc", value: 0.8, timestamp: 3, step: 1, model_id: id, dataset_name: "eval" }],
        });
        await post(src.url, "runs/outputs", "POST", { run_id: runId, models: [{ model_id: id, step: 1 }] });
        await post(src.url, `logged-models/${id}`, "PATCH", { model_id: id, status: "LOGGED_MODEL_READY" });
        before = await post(src.url, `logged-models/${id}`, "GET");
        beforeRun = await post(src.url, `runs/get?run_id=${runId}`, "GET");
      } finally {
        await src.close();
      }
      const from = openSqliteStores(sqlitePath);
      const to = openPostgresStores(db.url);
      try {
        await Promise.all([from.ready, to.ready]);
        const report = await copyTrackingDatabase(from.driver, to.driver);
        assert.equal(report.tables.find((r) => r.table === "logged_models")?.rows, 1);
      } finally {
        await from.close();
        await to.close();
      }
      const dst = await startTrackingServer({ port: 0, backendStoreUri: db.url, artifactsDestination: artifacts });
      try {
        assert.deepEqual(await post(dst.url, `logged-models/${id}`, "GET"), before);
        assert.deepEqual(await post(dst.url, `runs/get?run_id=${runId}`, "GET"), beforeRun);
      } finally {
        await dst.close();
      }
    } finally {
      await db.drop();
      t.cleanup();
    }
  });
});

for (const [transport, open] of [
  ["in-process", inProcessHarness],
  ["http", httpHarness],
] as const) {
  describe(`TrackingClient logged models over ${transport}`, { timeout: 60_000 }, () => {
    let h: Harness;
    before(async () => {
      h = await open();
    });
    after(async () => {
      await h.close();
    });

    test("create, upload artifacts, finalize, tag, search, download and delete", async () => {
      const c = h.client;
      const exp = await c.createExperiment(`client-lm-${transport}`);
      const run = await c.createRun(exp);
      const m = await c.createLoggedModel(exp, { name: "clf", sourceRunId: run.info.run_id, params: { C: "10" }, tags: { team: "nlp" } });
      assert.equal(m.info.status, "LOGGED_MODEL_PENDING");
      const src = join(h.dir, "model-src");
      mkdirSync(join(src, "data"), { recursive: true });
      writeFileSync(join(src, "MLmodel"), "flavors: {}\n");
      writeFileSync(join(src, "data", "weights.bin"), "0123");
      await c.logLoggedModelArtifacts(m.info.model_id, src);
      assert.equal((await c.finalizeLoggedModel(m.info.model_id, "READY")).info.status, "LOGGED_MODEL_READY");
      await c.setLoggedModelTags(m.info.model_id, { stage: "candidate" });
      const found = await c.searchLoggedModels({ experimentIds: [exp], filter: "tags.stage = 'candidate' AND params.C = '10'" });
      assert.deepEqual(
        found.models.map((x) => x.info.model_id),
        [m.info.model_id],
      );
      const out = await c.downloadArtifacts(m.info.artifact_uri, join(h.dir, "downloaded"));
      assert.equal(readFileSync(join(out, "data", "weights.bin"), "utf8"), "0123");
      await c.deleteLoggedModel(m.info.model_id);
      await rejectsWith(c.getLoggedModel(m.info.model_id), "RESOURCE_DOES_NOT_EXIST", /^Logged model with ID 'm-[0-9a-f]{32}' not found\.$/);
    });
  });
}
