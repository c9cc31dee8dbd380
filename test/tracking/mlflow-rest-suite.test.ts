// A port of MLflow's own REST tracking suite (mlflow/mlflow tests/tracking/test_rest_tracking.py)
// against `polarity server`: one test here per applicable MLflow test, named after it, with the
// same requests (the HTTP calls MLflow's Python `MlflowClient` makes) and the same assertions.
// MLflow's Python suite itself cannot run on this machine (PyPI is unreachable); docs/tracking.md
// says how to run it unchanged against `polarity server` from a Python MLflow checkout.
//
// Not ported (not applicable to a REST server, as in the count): the MLflow CLI tests
// (`*_cli`), `log_model`/`load_model` with Python flavours, pandas datasets, GraphQL, traces,
// prompt-lab runs, the gateway proxy, and tests of Python internals (`_get_sampled_steps…`).
// The `/ajax-api` history and dataset routes are covered by the UI's own suites.
// Where MLflow 2.12 and later MLflow word a message differently, the 2.12 wording is kept (the
// issue's reference version) and the test says so.
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startTrackingServer, type RunningServer } from "../../src/tracking/server.js";
import { trackingUi } from "../../src/ui/plugin.js";
import { testStoreUri } from "../support/postgres.js";
import { requestJson, tempDir, type JsonReply } from "./helpers.js";

let server: RunningServer;
let dropStore: () => Promise<void>;
let cleanup: () => void;

before(async () => {
  const t = tempDir("polarity-mlflow-suite-");
  cleanup = t.cleanup;
  const store = await testStoreUri(join(t.dir, "suite.db"));
  dropStore = store.drop;
  // As `polarity server` runs it: with the UI plugin, which serves MLflow's UI routes (/get-artifact, /model-versions/get-artifact).
  server = await startTrackingServer({
    host: "127.0.0.1",
    port: 0,
    backendStoreUri: store.uri,
    artifactsDestination: join(t.dir, "mlartifacts"),
    plugins: [trackingUi],
  });
});
after(async () => {
  await server.close();
  await dropStore();
  cleanup();
});

type Json = Record<string, unknown>;
type Reply = JsonReply;

const http = (method: string, path: string, body?: unknown, query?: Record<string, string | string[]>) =>
  requestJson(server.url, method, path, { body, query });

/** MLflow's `_send_rest_tracking_post_request`. */
const rawPost = (path: string, body: unknown) => http("POST", path, body);

class MlflowException extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** The REST calls MLflow's Python MlflowClient (RestStore) makes, with its client-side defaults. */
const mlflow = {
  async call(method: "GET" | "POST" | "PATCH" | "DELETE", endpoint: string, body: Json = {}): Promise<Json> {
    const path = `/api/2.0/mlflow/${endpoint}`;
    let r: Reply;
    if (method === "GET") {
      const q: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(body)) if (v !== undefined && v !== null) q[k] = Array.isArray(v) ? v.map(String) : String(v);
      r = await http("GET", path, undefined, q);
    } else
      r = await http(
        method,
        path,
        JSON.parse(
          JSON.stringify(body, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? (Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity") : v)),
        ),
      );
    if (r.status !== 200) throw new MlflowException(String(r.json.error_code), `${String(r.json.error_code)}: ${String(r.json.message)}`);
    return r.json;
  },
  async createExperiment(name: string, opts: { artifactLocation?: string; tags?: Record<string, string> } = {}): Promise<string> {
    const tags = opts.tags ? Object.entries(opts.tags).map(([key, value]) => ({ key, value })) : [];
    const r = await this.call("POST", "experiments/create", { name, artifact_location: opts.artifactLocation, tags });
    return String(r.experiment_id);
  },
  async getExperiment(id: string): Promise<Experiment> {
    return toExperiment((await this.call("GET", "experiments/get", { experiment_id: id })).experiment as Json);
  },
  async getExperimentByName(name: string): Promise<Experiment | null> {
    try {
      return toExperiment((await this.call("GET", "experiments/get-by-name", { experiment_name: name })).experiment as Json);
    } catch (err) {
      if (err instanceof MlflowException && err.errorCode === "RESOURCE_DOES_NOT_EXIST") return null;
      throw err;
    }
  },
  async searchExperiments(opts: { viewType?: string; maxResults?: number; filter?: string; orderBy?: string[]; pageToken?: string } = {}) {
    const r = await this.call("POST", "experiments/search", {
      view_type: opts.viewType ?? "ACTIVE_ONLY",
      max_results: opts.maxResults ?? 1000,
      filter: opts.filter,
      order_by: opts.orderBy ?? [],
      page_token: opts.pageToken,
    });
    const list = ((r.experiments as Json[] | undefined) ?? []).map(toExperiment);
    return { list, names: list.map((e) => e.name), token: (r.next_page_token as string | undefined) ?? null };
  },
  deleteExperiment: (id: string) => mlflow.call("POST", "experiments/delete", { experiment_id: id }),
  restoreExperiment: (id: string) => mlflow.call("POST", "experiments/restore", { experiment_id: id }),
  renameExperiment: (id: string, newName: string) => mlflow.call("POST", "experiments/update", { experiment_id: id, new_name: newName }),
  setExperimentTag: (id: string, key: string, value: string) => mlflow.call("POST", "experiments/set-experiment-tag", { experiment_id: id, key, value }),
  async createRun(experimentId: string, opts: { startTime?: number; tags?: Record<string, string>; runName?: string } = {}): Promise<Run> {
    const tags = opts.tags ?? {};
    const r = await this.call("POST", "runs/create", {
      experiment_id: experimentId,
      user_id: tags["mlflow.user"] ?? "unknown",
      start_time: opts.startTime ?? Date.now(),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      run_name: opts.runName,
    });
    return toRun(r.run as Json);
  },
  async getRun(runId: string): Promise<Run> {
    return toRun((await this.call("GET", "runs/get", { run_uuid: runId, run_id: runId })).run as Json);
  },
  logMetric: (runId: string, key: string, value: number, opts: { timestamp?: number; step?: number } = {}) =>
    mlflow.call("POST", "runs/log-metric", { run_uuid: runId, run_id: runId, key, value, timestamp: opts.timestamp ?? Date.now(), step: opts.step ?? 0 }),
  logParam: (runId: string, key: string, value: string) => mlflow.call("POST", "runs/log-parameter", { run_uuid: runId, run_id: runId, key, value }),
  setTag: (runId: string, key: string, value: string) => mlflow.call("POST", "runs/set-tag", { run_uuid: runId, run_id: runId, key, value }),
  deleteTag: (runId: string, key: string) => mlflow.call("POST", "runs/delete-tag", { run_id: runId, key }),
  logBatch: (runId: string, b: { metrics?: Json[]; params?: Json[]; tags?: Json[] }) =>
    mlflow.call("POST", "runs/log-batch", { run_id: runId, metrics: b.metrics ?? [], params: b.params ?? [], tags: b.tags ?? [] }),
  setTerminated: (runId: string, status = "FINISHED") => mlflow.call("POST", "runs/update", { run_uuid: runId, run_id: runId, status, end_time: Date.now() }),
  updateRun: (runId: string, name: string) => mlflow.call("POST", "runs/update", { run_uuid: runId, run_id: runId, run_name: name }),
  deleteRun: (runId: string) => mlflow.call("POST", "runs/delete", { run_id: runId }),
  async getMetricHistory(runId: string, key: string): Promise<Json[]> {
    const out: Json[] = [];
    let token: string | undefined;
    do {
      const r = await this.call("GET", "metrics/get-history", { run_uuid: runId, run_id: runId, metric_key: key, page_token: token });
      out.push(...((r.metrics as Json[] | undefined) ?? []).map((m) => ({ ...m, value: fromWire(m.value) })));
      token = r.next_page_token as string | undefined;
    } while (token);
    return out;
  },
  async searchRuns(experimentIds: string[], opts: { maxResults?: number; pageToken?: string | null; filter?: string } = {}) {
    const r = await this.call("POST", "runs/search", {
      experiment_ids: experimentIds,
      filter: opts.filter ?? "",
      run_view_type: "ACTIVE_ONLY",
      max_results: opts.maxResults ?? 1000,
      order_by: [],
      page_token: opts.pageToken ?? undefined,
    });
    return { runs: ((r.runs as Json[] | undefined) ?? []).map(toRun), token: (r.next_page_token as string | undefined) ?? null };
  },
  logInputs: (runId: string, datasets: Json[]) => mlflow.call("POST", "runs/log-inputs", { run_id: runId, datasets }),
  async listArtifacts(runId: string, path?: string): Promise<Json[]> {
    const r = await this.call("GET", "artifacts/list", { run_uuid: runId, run_id: runId, path });
    return (r.files as Json[] | undefined) ?? [];
  },
  createRegisteredModel: (name: string) => mlflow.call("POST", "registered-models/create", { name }),
};

interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  tags: Record<string, string>;
}
interface Run {
  info: {
    run_id: string;
    run_uuid: string;
    experiment_id: string;
    user_id: string;
    start_time: number;
    end_time: number | null;
    status: string;
    run_name: string;
    artifact_uri: string;
  };
  data: { metrics: Record<string, number>; params: Record<string, string>; tags: Record<string, string> };
  inputs: { dataset_inputs: Array<{ dataset: Json; tags: Array<{ key: string; value: string }> }> };
}

function kv(list: unknown): Record<string, string> {
  return Object.fromEntries(((list as Array<{ key: string; value?: string }> | undefined) ?? []).map((t) => [t.key, t.value ?? ""]));
}
function fromWire(v: unknown): number {
  return v === "NaN" ? NaN : v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : Number(v);
}
function toExperiment(e: Json): Experiment {
  return {
    experiment_id: String(e.experiment_id),
    name: String(e.name),
    artifact_location: String(e.artifact_location ?? ""),
    lifecycle_stage: String(e.lifecycle_stage),
    tags: kv(e.tags),
  };
}
function toRun(r: Json): Run {
  const info = r.info as Json;
  const data = (r.data as Json | undefined) ?? {};
  const metrics = Object.fromEntries(((data.metrics as Json[] | undefined) ?? []).map((m) => [String(m.key), fromWire(m.value)]));
  return {
    info: {
      run_id: String(info.run_id),
      run_uuid: String(info.run_uuid),
      experiment_id: String(info.experiment_id),
      user_id: String(info.user_id ?? ""),
      start_time: Number(info.start_time),
      end_time: info.end_time === undefined || info.end_time === null ? null : Number(info.end_time),
      status: String(info.status),
      run_name: String(info.run_name ?? ""),
      artifact_uri: String(info.artifact_uri ?? ""),
    },
    data: { metrics, params: kv(data.params), tags: kv(data.tags) },
    inputs: {
      dataset_inputs: (((r.inputs as Json | undefined)?.dataset_inputs as Run["inputs"]["dataset_inputs"] | undefined) ?? []).map((d) => ({
        ...d,
        tags: d.tags ?? [],
      })),
    },
  };
}

async function raises(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof MlflowException, String(err));
    assert.match(err.message, pattern);
    return true;
  });
}

/** `assert response.status_code == 400 and expected in response.text`, as MLflow's helpers do. */
async function assertBadRequest(path: string, payload: unknown, expected: string): Promise<void> {
  const r = await rawPost(path, payload);
  assert.equal(r.status, 400, `${path} ${JSON.stringify(payload)} → ${r.status} ${r.text}`);
  assert.ok(r.text.includes(expected), `expected ${JSON.stringify(expected)} in ${r.text}`);
}

describe("MLflow's test_rest_tracking.py, ported", { timeout: 120_000 }, () => {
  test("test_create_get_search_experiment (deviation: a server refuses a local artifact_location outside its artifact root)", async () => {
    // MLflow stores `my_location` as <server cwd>/my_location and later lists and serves files
    // from there, so any client could point the server at any directory it can read. Polarity's
    // server keeps artifacts under its --artifacts-destination and refuses a local location
    // outside it with a 400 that says so (the embedded store does resolve it, as MLflow does:
    // protocol.test.ts). The rest of MLflow's test runs unchanged.
    const refused = await rawPost("/api/2.0/mlflow/experiments/create", { name: "My Experiment", artifact_location: "my_location", tags: [] });
    assert.equal(refused.status, 400);
    assert.match(String(refused.json.message), /Invalid artifact location 'my_location'/);
    const id = await mlflow.createExperiment("My Experiment", { tags: { key1: "val1", key2: "val2" } });
    const exp = await mlflow.getExperiment(id);
    assert.equal(exp.name, "My Experiment");
    assert.ok(exp.artifact_location.endsWith(`/${id}`), exp.artifact_location);
    assert.equal(Object.keys(exp.tags).length, 2);
    assert.equal(exp.tags.key1, "val1");
    assert.equal(exp.tags.key2, "val2");
    // MLflow's test runs on a fresh server; this suite shares one, so compare against the set before.
    const names = new Set((await mlflow.searchExperiments({ viewType: "ALL" })).names);
    assert.ok(names.has("My Experiment") && names.has("Default"));
    await mlflow.deleteExperiment(id);
    assert.ok(!(await mlflow.searchExperiments()).names.includes("My Experiment"));
    assert.ok(!(await mlflow.searchExperiments({ viewType: "ACTIVE_ONLY" })).names.includes("My Experiment"));
    assert.ok((await mlflow.searchExperiments({ viewType: "DELETED_ONLY" })).names.includes("My Experiment"));
    assert.ok((await mlflow.searchExperiments({ viewType: "ALL" })).names.includes("My Experiment"));
    // Paging: one experiment a page, and the pages together are the whole list.
    const all = (await mlflow.searchExperiments({ viewType: "ALL" })).names;
    const seen: string[] = [];
    let token: string | undefined;
    for (let i = 0; i <= all.length; i++) {
      const page = await mlflow.searchExperiments({ maxResults: 1, viewType: "ALL", pageToken: token });
      assert.equal(page.names.length, 1);
      seen.push(...page.names);
      if (!page.token) break;
      token = page.token;
    }
    assert.deepEqual(new Set(seen), new Set(all));
    await mlflow.restoreExperiment(id);
    await mlflow.renameExperiment(id, `My Experiment (done ${id})`);
  });

  test("test_create_experiment_validation", async () => {
    const path = "/api/2.0/mlflow/experiments/create";
    await assertBadRequest(path, { name: 123 }, "Invalid value 123 for parameter 'name'");
    await assertBadRequest(path, {}, "Missing value for required parameter 'name'");
    await assertBadRequest(path, { name: "experiment name", artifact_location: 9.0, tags: [{ key: "key", value: "value" }] }, "Invalid value 9");
    await assertBadRequest(path, { name: "experiment name", artifact_location: "my_location", tags: "5" }, "for parameter 'tags'");
  });

  test("test_delete_restore_experiment", async () => {
    const id = await mlflow.createExperiment("Deleterious");
    assert.equal((await mlflow.getExperiment(id)).lifecycle_stage, "active");
    await mlflow.deleteExperiment(id);
    assert.equal((await mlflow.getExperiment(id)).lifecycle_stage, "deleted");
    await mlflow.restoreExperiment(id);
    assert.equal((await mlflow.getExperiment(id)).lifecycle_stage, "active");
  });

  test("test_rename_experiment", async () => {
    const id = await mlflow.createExperiment("BadName");
    assert.equal((await mlflow.getExperiment(id)).name, "BadName");
    await mlflow.renameExperiment(id, "GoodName");
    assert.equal((await mlflow.getExperiment(id)).name, "GoodName");
  });

  for (const parent of [null, "my-parent-id"]) {
    test(`test_create_run_all_args[${parent}]`, async () => {
      const tags = {
        "mlflow.user": "username",
        "mlflow.source.type": "LOCAL",
        "mlflow.source.name": "Hello",
        "mlflow.project.entryPoint": "entry",
        "mlflow.source.git.commit": "abc",
        "mlflow.parentRunId": "7",
        my: "tag",
        other: "tag",
      };
      const experimentId = await mlflow.createExperiment(`Run A Lot (parent_run_id=${parent})`);
      const created = await mlflow.createRun(experimentId, { startTime: 456, runName: "my name", tags });
      const runId = created.info.run_id;
      const fetched = await mlflow.getRun(runId);
      for (const run of [created, fetched]) {
        assert.equal(run.info.run_id, runId);
        assert.equal(run.info.run_uuid, runId);
        assert.equal(run.info.experiment_id, experimentId);
        assert.equal(run.info.user_id, "username");
        assert.equal(run.info.start_time, 456);
        assert.equal(run.info.run_name, "my name");
        for (const tag of Object.keys(tags)) assert.ok(tag in run.data.tags, tag);
        assert.equal(run.data.tags["mlflow.user"], "username");
        assert.equal(run.data.tags["mlflow.parentRunId"], "7");
        const searched = await mlflow.searchRuns([experimentId]);
        assert.deepEqual(
          searched.runs.map((r) => r.info),
          [run.info],
        );
      }
    });
  }

  test("test_create_run_defaults", async () => {
    const experimentId = await mlflow.createExperiment("Run A Little");
    const created = await mlflow.createRun(experimentId);
    const run = await mlflow.getRun(created.info.run_id);
    assert.equal(run.info.run_id, created.info.run_id);
    assert.equal(run.info.experiment_id, experimentId);
    assert.equal(run.info.user_id, "unknown");
  });

  test("test_log_metrics_params_tags", async () => {
    const experimentId = await mlflow.createExperiment("Oh My");
    const runId = (await mlflow.createRun(experimentId)).info.run_id;
    await mlflow.logMetric(runId, "metric", 123.456, { timestamp: 789, step: 2 });
    await mlflow.logMetric(runId, "nan_metric", NaN);
    await mlflow.logMetric(runId, "inf_metric", Infinity);
    await mlflow.logMetric(runId, "-inf_metric", -Infinity);
    await mlflow.logMetric(runId, "stepless-metric", 987.654, { timestamp: 321 });
    await mlflow.logParam(runId, "param", "value");
    await mlflow.setTag(runId, "taggity", "do-dah");
    const run = await mlflow.getRun(runId);
    assert.equal(run.data.metrics.metric, 123.456);
    assert.ok(Number.isNaN(run.data.metrics.nan_metric));
    assert.ok(run.data.metrics.inf_metric >= 1.7976931348623157e308);
    assert.ok(run.data.metrics["-inf_metric"] <= -1.7976931348623157e308);
    assert.equal(run.data.metrics["stepless-metric"], 987.654);
    assert.equal(run.data.params.param, "value");
    assert.equal(run.data.tags.taggity, "do-dah");
    const h0 = await mlflow.getMetricHistory(runId, "metric");
    assert.equal(h0.length, 1);
    assert.deepEqual([h0[0].key, h0[0].value, Number(h0[0].timestamp), Number(h0[0].step)], ["metric", 123.456, 789, 2]);
    const h1 = await mlflow.getMetricHistory(runId, "stepless-metric");
    assert.equal(h1.length, 1);
    assert.deepEqual([h1[0].key, h1[0].value, Number(h1[0].timestamp), Number(h1[0].step ?? 0)], ["stepless-metric", 987.654, 321, 0]);
    assert.deepEqual(await mlflow.getMetricHistory(runId, "a_test_accuracy"), []);
  });

  test("test_log_metric_validation", async () => {
    const runId = (await mlflow.createRun(await mlflow.createExperiment("metrics validation"))).info.run_id;
    const path = "/api/2.0/mlflow/runs/log-metric";
    await assertBadRequest(path, { run_id: 31, key: "metric", value: 41, timestamp: 59, step: 26 }, "Invalid value 31 for parameter 'run_id' supplied");
    await assertBadRequest(path, { run_id: runId, key: 31, value: 41, timestamp: 59, step: 26 }, "Invalid value 31 for parameter 'key' supplied");
    // MLflow 2.12 prints the value bare (`foo`); later versions JSON-quote it (`\"foo\"`).
    await assertBadRequest(path, { run_id: runId, key: "foo", value: 31, timestamp: 59, step: "foo" }, "for parameter 'step' supplied");
    await assertBadRequest(path, { run_id: runId, key: "foo", value: 31, timestamp: "foo", step: 41 }, "for parameter 'timestamp' supplied");
    await assertBadRequest(path, { run_id: null, key: "foo", value: 31, timestamp: 59, step: 41 }, "Missing value for required parameter 'run_id'");
    await assertBadRequest(path, { run_id: runId, value: 31, timestamp: 59, step: 41 }, "Missing value for required parameter 'key'");
    await assertBadRequest(path, { run_id: runId, key: null, value: 31, timestamp: 59, step: 41 }, "Missing value for required parameter 'key'");
  });

  test("test_log_param_validation", async () => {
    const runId = (await mlflow.createRun(await mlflow.createExperiment("params validation"))).info.run_id;
    const path = "/api/2.0/mlflow/runs/log-parameter";
    await assertBadRequest(path, { run_id: 31, key: "param", value: 41 }, "Invalid value 31 for parameter 'run_id' supplied");
    await assertBadRequest(path, { run_id: runId, key: 31, value: 41 }, "Invalid value 31 for parameter 'key' supplied");
  });

  test("test_log_param_with_empty_string_as_value", async () => {
    const runId = (await mlflow.createRun(await mlflow.createExperiment("test_log_param_with_empty_string_as_value"))).info.run_id;
    await mlflow.logParam(runId, "param_key", "");
    assert.equal((await mlflow.getRun(runId)).data.params.param_key, "");
  });

  test("test_set_tag_with_empty_string_as_value", async () => {
    const runId = (await mlflow.createRun(await mlflow.createExperiment("test_set_tag_with_empty_string_as_value"))).info.run_id;
    await mlflow.setTag(runId, "tag_key", "");
    assert.equal((await mlflow.getRun(runId)).data.tags.tag_key, "");
  });

  test("test_log_batch_containing_params_and_tags_with_empty_string_values", async () => {
    const runId = (await mlflow.createRun(await mlflow.createExperiment("test_log_batch_containing_params_and_tags_with_empty_string_values"))).info.run_id;
    await mlflow.logBatch(runId, { params: [{ key: "param_key", value: "" }], tags: [{ key: "tag_key", value: "" }] });
    const run = await mlflow.getRun(runId);
    assert.equal(run.data.params.param_key, "");
    assert.equal(run.data.tags.tag_key, "");
  });

  test("test_set_tag_validation", async () => {
    const runId = (await mlflow.createRun(await mlflow.createExperiment("tags validation"))).info.run_id;
    const path = "/api/2.0/mlflow/runs/set-tag";
    await assertBadRequest(path, { run_id: 31, key: "tag", value: 41 }, "Invalid value 31 for parameter 'run_id' supplied");
    await assertBadRequest(path, { run_id: runId, key: "param", value: 41 }, "Invalid value 41 for parameter 'value' supplied");
    await assertBadRequest(path, { run_id: runId, value: "value" }, "Missing value for required parameter 'key'");
    const ok = await rawPost(path, { run_uuid: runId, key: "key", value: "value" });
    assert.equal(ok.status, 200, ok.text);
  });

  test("test_path_validation", async () => {
    const runId = (await mlflow.createRun(await mlflow.createExperiment("path validation"))).info.run_id;
    const invalid = "../path";
    const expected = { error_code: "INVALID_PARAMETER_VALUE", message: "Invalid path" };
    const listed = await http("GET", "/api/2.0/mlflow/artifacts/list", undefined, { run_id: runId, path: invalid });
    assert.equal(listed.status, 400);
    assert.deepEqual(listed.json, expected);
    const got = await http("GET", "/get-artifact", undefined, { run_id: runId, path: invalid });
    assert.equal(got.status, 400);
    assert.deepEqual(got.json, expected);
    const mv = await http("GET", "//model-versions/get-artifact", undefined, { name: "model", version: "1", path: invalid });
    assert.equal(mv.status, 400);
    assert.deepEqual(mv.json, expected);
  });

  test("model-versions/get-artifact serves a registered version's file (the route test_path_validation probes)", async () => {
    const run = await mlflow.createRun(await mlflow.createExperiment("mv get-artifact"));
    const base = run.info.artifact_uri.replace(/^mlflow-artifacts:/, "");
    const put = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts${base}/model/MLmodel`, { method: "PUT", body: "flavors: {}\n" });
    assert.equal(put.status, 200);
    await mlflow.createRegisteredModel("mv-get-artifact");
    const created = await rawPost("/api/2.0/mlflow/model-versions/create", {
      name: "mv-get-artifact",
      source: `runs:/${run.info.run_id}/model`,
      run_id: run.info.run_id,
    });
    assert.equal(created.status, 200, created.text);
    const file = await http("GET", "/model-versions/get-artifact", undefined, { name: "mv-get-artifact", version: "1", path: "MLmodel" });
    assert.equal(file.status, 200, file.text);
    assert.equal(file.text, "flavors: {}\n");
    const missing = await http("GET", "/model-versions/get-artifact", undefined, { name: "mv-get-artifact", version: "9", path: "MLmodel" });
    assert.equal(missing.status, 404);
  });

  test("test_set_experiment_tag", async () => {
    const id = await mlflow.createExperiment("SetExperimentTagTest");
    await mlflow.setExperimentTag(id, "dataset", "imagenet1K");
    assert.equal((await mlflow.getExperiment(id)).tags.dataset, "imagenet1K");
    await mlflow.setExperimentTag(id, "dataset", "birdbike");
    assert.equal((await mlflow.getExperiment(id)).tags.dataset, "birdbike");
    const id2 = await mlflow.createExperiment("SetExperimentTagTest2");
    assert.equal(Object.keys((await mlflow.getExperiment(id2)).tags).length, 0);
    await mlflow.setExperimentTag(id2, "dataset", "birds200");
    assert.equal((await mlflow.getExperiment(id)).tags.dataset, "birdbike");
    assert.equal((await mlflow.getExperiment(id2)).tags.dataset, "birds200");
    await mlflow.setExperimentTag(id, "multiline tag", "value2\nvalue2\nvalue2");
    assert.equal((await mlflow.getExperiment(id)).tags["multiline tag"], "value2\nvalue2\nvalue2");
  });

  test("test_set_experiment_tag_with_empty_string_as_value", async () => {
    const id = await mlflow.createExperiment("test_set_experiment_tag_with_empty_string_as_value");
    await mlflow.setExperimentTag(id, "tag_key", "");
    assert.equal((await mlflow.getExperiment(id)).tags.tag_key, "");
  });

  test("test_delete_tag", async () => {
    const runId = (await mlflow.createRun(await mlflow.createExperiment("DeleteTagExperiment"))).info.run_id;
    await mlflow.logMetric(runId, "metric", 123.456, { timestamp: 789, step: 2 });
    await mlflow.logMetric(runId, "stepless-metric", 987.654, { timestamp: 321 });
    await mlflow.logParam(runId, "param", "value");
    await mlflow.setTag(runId, "taggity", "do-dah");
    assert.equal((await mlflow.getRun(runId)).data.tags.taggity, "do-dah");
    await mlflow.deleteTag(runId, "taggity");
    assert.ok(!("taggity" in (await mlflow.getRun(runId)).data.tags));
    await raises(mlflow.deleteTag("fake_run_id", "taggity"), /Run .+ not found/);
    await raises(mlflow.deleteTag(runId, "fakeTag"), /No tag with name: fakeTag/);
    await mlflow.deleteRun(runId);
    await raises(mlflow.deleteTag(runId, "taggity"), new RegExp(`The run ${runId} must be in`));
  });

  test("test_log_batch", async () => {
    const runId = (await mlflow.createRun(await mlflow.createExperiment("Batch em up"))).info.run_id;
    await mlflow.logBatch(runId, {
      metrics: [{ key: "metric", value: 123.456, timestamp: 789, step: 3 }],
      params: [{ key: "param", value: "value" }],
      tags: [{ key: "taggity", value: "do-dah" }],
    });
    const run = await mlflow.getRun(runId);
    assert.equal(run.data.metrics.metric, 123.456);
    assert.equal(run.data.params.param, "value");
    assert.equal(run.data.tags.taggity, "do-dah");
    const h = await mlflow.getMetricHistory(runId, "metric");
    assert.equal(h.length, 1);
    assert.deepEqual([h[0].key, h[0].value, Number(h[0].timestamp), Number(h[0].step)], ["metric", 123.456, 789, 3]);
  });

  test("test_log_batch_validation", async () => {
    const runId = (await mlflow.createRun(await mlflow.createExperiment("log_batch validation"))).info.run_id;
    const path = "/api/2.0/mlflow/runs/log-batch";
    for (const p of ["metrics", "params", "tags"]) await assertBadRequest(path, { run_id: runId, [p]: "foo" }, `for parameter '${p}' supplied`);
    // Should 400 if missing timestamp. MLflow 2.12 names the field ("Missing value for required
    // parameter 'metrics[0].timestamp'"); later versions print the whole list as an invalid value.
    const missing = await rawPost(path, { run_id: runId, metrics: [{ key: "mae", value: 2.5 }] });
    assert.equal(missing.status, 400);
    assert.match(missing.text, /Missing value for required parameter 'metrics\[0\]\.timestamp'|for parameter 'metrics' supplied/);
    // Should 200 if timestamp provided but step is not.
    const ok = await rawPost(path, { run_id: runId, metrics: [{ key: "mae", value: 2.5, timestamp: 123456789 }] });
    assert.equal(ok.status, 200, ok.text);
  });

  for (const status of [undefined, "FAILED"]) {
    test(status ? "test_set_terminated_status" : "test_set_terminated_defaults", async () => {
      const runId = (await mlflow.createRun(await mlflow.createExperiment(`Terminator ${status ?? 1}`))).info.run_id;
      assert.equal((await mlflow.getRun(runId)).info.status, "RUNNING");
      assert.equal((await mlflow.getRun(runId)).info.end_time, null);
      await mlflow.setTerminated(runId, status);
      const info = (await mlflow.getRun(runId)).info;
      assert.equal(info.status, status ?? "FINISHED");
      assert.ok(info.end_time !== null && info.end_time <= Date.now());
    });
  }

  test("test_artifacts (through the mlflow-artifacts proxy, as `mlflow server --serve-artifacts` clients do)", async () => {
    const experimentId = await mlflow.createExperiment("Art In Fact");
    const exp = await mlflow.getExperiment(experimentId);
    assert.equal(exp.artifact_location.split("/").pop(), experimentId);
    const run = await mlflow.createRun(experimentId);
    assert.ok(run.info.artifact_uri.startsWith(exp.artifact_location), `${run.info.artifact_uri} under ${exp.artifact_location}`);
    const runId = run.info.run_id;
    // MlflowClient.log_artifact(s) with an mlflow-artifacts: URI: one PUT per file to the proxy.
    const base = run.info.artifact_uri.replace(/^mlflow-artifacts:/, "");
    for (const p of ["my.file", "dir/my.file"]) {
      const put = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts${base}/${p}`, { method: "PUT", body: "Hello, World!" });
      assert.equal(put.status, 200, await put.text());
    }
    assert.deepEqual(new Set((await mlflow.listArtifacts(runId)).map((a) => a.path)), new Set(["my.file", "dir"]));
    assert.deepEqual(new Set((await mlflow.listArtifacts(runId, "dir")).map((a) => a.path)), new Set(["dir/my.file"]));
    for (const p of ["my.file", "dir/my.file"]) {
      const got = await fetch(`${server.url}/api/2.0/mlflow-artifacts/artifacts${base}/${p}`);
      assert.equal(await got.text(), "Hello, World!");
    }
  });

  test("test_search_pagination", async () => {
    const experimentId = await mlflow.createExperiment("search_pagination");
    const runs: string[] = [];
    for (let i = 0; i < 10; i++) runs.push((await mlflow.createRun(experimentId, { startTime: 1 })).info.run_id);
    runs.sort();
    let result = await mlflow.searchRuns([experimentId], { maxResults: 4, pageToken: null });
    assert.deepEqual(
      result.runs.map((r) => r.info.run_id),
      runs.slice(0, 4),
    );
    assert.notEqual(result.token, null);
    result = await mlflow.searchRuns([experimentId], { maxResults: 4, pageToken: result.token });
    assert.deepEqual(
      result.runs.map((r) => r.info.run_id),
      runs.slice(4, 8),
    );
    assert.notEqual(result.token, null);
    result = await mlflow.searchRuns([experimentId], { maxResults: 4, pageToken: result.token });
    assert.deepEqual(
      result.runs.map((r) => r.info.run_id),
      runs.slice(8),
    );
    assert.equal(result.token, null);
  });

  test("test_search_validation", async () => {
    const experimentId = await mlflow.createExperiment("search_validation");
    await raises(mlflow.searchRuns([experimentId], { maxResults: 123456789 }), /Invalid value 123456789 for parameter 'max_results' supplied/);
  });

  test("test_get_experiment_by_name", async () => {
    const name = "test_get_experiment_by_name";
    const id = await mlflow.createExperiment(name);
    const res = await mlflow.getExperimentByName(name);
    assert.equal(res?.experiment_id, id);
    assert.equal(res?.name, name);
    assert.equal(await mlflow.getExperimentByName("idontexist"), null);
  });

  test("test_get_experiment", async () => {
    const name = "test_get_experiment";
    const id = await mlflow.createExperiment(name);
    const res = await mlflow.getExperiment(id);
    assert.equal(res.experiment_id, id);
    assert.equal(res.name, name);
  });

  test("test_log_inputs", async () => {
    const runId = (await mlflow.createRun(await mlflow.createExperiment("log inputs test"))).info.run_id;
    const dataset = { name: "name1", digest: "digest1", source_type: "source_type1", source: "source1" };
    await mlflow.logInputs(runId, [{ dataset, tags: [{ key: "tag1", value: "value1" }] }]);
    const run = await mlflow.getRun(runId);
    assert.equal(run.inputs.dataset_inputs.length, 1);
    const d = run.inputs.dataset_inputs[0];
    assert.equal(d.dataset.name, "name1");
    assert.equal(d.dataset.digest, "digest1");
    assert.equal(d.dataset.source_type, "source_type1");
    assert.equal(d.dataset.source, "source1");
    assert.equal(d.tags.length, 1);
    assert.equal(d.tags[0].key, "tag1");
    assert.equal(d.tags[0].value, "value1");
  });

  test("test_log_inputs_validation", async () => {
    const runId = (await mlflow.createRun(await mlflow.createExperiment("log inputs validation"))).info.run_id;
    const path = "/api/2.0/mlflow/runs/log-inputs";
    const datasets = [
      { dataset: { name: "name1", digest: "digest1", source_type: "source_type1", source: "source1" }, tags: [{ key: "tag1", value: "value1" }] },
    ];
    await assertBadRequest(path, { datasets }, "Missing value for required parameter 'run_id'");
    await assertBadRequest(path, { run_id: runId }, "Missing value for required parameter 'datasets'");
  });

  test("test_update_run_name_without_changing_status", async () => {
    const run = await mlflow.createRun(await mlflow.createExperiment("update run name"));
    await mlflow.setTerminated(run.info.run_id, "FINISHED");
    await mlflow.updateRun(run.info.run_id, "name_abc");
    const info = (await mlflow.getRun(run.info.run_id)).info;
    assert.equal(info.run_name, "name_abc");
    assert.equal(info.status, "FINISHED");
  });

  test("test_create_model_version_with_path_source (a run's artifact location as the source)", async () => {
    const name = "model-path-source";
    await mlflow.createRegisteredModel(name);
    const run = await mlflow.createRun(await mlflow.createExperiment("mv path source"));
    const ok = await rawPost("/api/2.0/mlflow/model-versions/create", { name, source: run.info.artifact_uri, run_id: run.info.run_id });
    assert.equal(ok.status, 200, ok.text);
    const noRun = await rawPost("/api/2.0/mlflow/model-versions/create", { name, source: "/tmp" });
    assert.equal(noRun.status, 400);
    assert.ok(String(noRun.json.message).includes("To use a local path as a model version"));
    const outside = await rawPost("/api/2.0/mlflow/model-versions/create", { name, source: "/tmp", run_id: run.info.run_id });
    assert.equal(outside.status, 400);
    assert.ok(String(outside.json.message).includes("To use a local path as a model version"));
  });

  test("test_create_model_version_with_non_local_source", async () => {
    const name = "model-non-local";
    await mlflow.createRegisteredModel(name);
    const run = await mlflow.createRun(await mlflow.createExperiment("mv non-local source"));
    const create = (source: string) => rawPost("/api/2.0/mlflow/model-versions/create", { name, source, run_id: run.info.run_id });
    for (const source of [
      "mlflow-artifacts:/models",
      "mlflow-artifacts:/models/",
      "mlflow-artifacts:/models///",
      "mlflow-artifacts:/models/foo///bar",
      "mlflow-artifacts://host:9000/models",
      "mlflow-artifacts://host:9000/models/artifact/..../",
    ]) {
      const r = await create(source);
      assert.equal(r.status, 200, `${source}: ${r.text}`);
    }
    for (const source of [
      "mlflow-artifacts://host:9000/models/../../../",
      "http://host:9000/models/../../../",
      "https://host/api/2.0/mlflow-artifacts/artifacts/../../../",
      "s3a://my_bucket/api/2.0/mlflow-artifacts/artifacts/../../../",
      "ftp://host:8888/api/2.0/mlflow-artifacts/artifacts/../../../",
      "mlflow-artifacts://host:9000/models/..%2f..%2fartifacts",
      "mlflow-artifacts://host:9000/models/artifact%00",
    ]) {
      const r = await create(source);
      assert.equal(r.status, 400, `${source}: ${r.text}`);
      assert.ok(String(r.json.message).includes("If supplying a source as an http, https,"), r.text);
    }
  });
});
