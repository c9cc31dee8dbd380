// A port of MLflow's own model registry REST suite (mlflow/mlflow tests/tracking/
// test_model_registry.py) against `polarity server`: one test per MLflow test (parametrised ones
// once per case), each on a fresh server as MLflow's fixture gives, with the HTTP calls MLflow's
// Python `MlflowClient` makes and the same assertions. See mlflow-rest-suite.test.ts for why it
// is a port.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startTrackingServer } from "../../src/tracking/server.js";
import { testStoreUri } from "../support/postgres.js";
import { tempDir } from "./helpers.js";

type Json = Record<string, unknown>;

class MlflowException extends Error {}

interface ModelVersion {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  current_stage: string;
  description: string;
  source: string;
  run_id: string;
  tags: Record<string, string>;
  aliases: string[];
}
interface RegisteredModel {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  description: string;
  latest_versions: ModelVersion[];
  tags: Record<string, string>;
  aliases: Record<string, string>;
}

const kv = (list: unknown): Record<string, string> =>
  Object.fromEntries(((list as Array<{ key: string; value?: string }> | undefined) ?? []).map((t) => [t.key, t.value ?? ""]));
const toMv = (m: Json): ModelVersion => ({
  name: String(m.name),
  version: String(m.version),
  creation_timestamp: Number(m.creation_timestamp),
  last_updated_timestamp: Number(m.last_updated_timestamp),
  current_stage: String(m.current_stage ?? "None"),
  description: String(m.description ?? ""),
  source: String(m.source ?? ""),
  run_id: String(m.run_id ?? ""),
  tags: kv(m.tags),
  aliases: ((m.aliases as string[] | undefined) ?? []).slice(),
});
const toRm = (m: Json): RegisteredModel => ({
  name: String(m.name),
  creation_timestamp: Number(m.creation_timestamp),
  last_updated_timestamp: Number(m.last_updated_timestamp),
  description: String(m.description ?? ""),
  latest_versions: ((m.latest_versions as Json[] | undefined) ?? []).map(toMv),
  tags: kv(m.tags),
  aliases: Object.fromEntries(((m.aliases as Array<{ alias: string; version: string }> | undefined) ?? []).map((a) => [a.alias, String(a.version)])),
});
const tagList = (tags?: Record<string, string | number>) => Object.entries(tags ?? {}).map(([key, value]) => ({ key, value: String(value) }));

/** The REST calls MLflow's Python MlflowClient makes for the registry, with its client-side defaults. */
function clientFor(url: string) {
  async function call(method: "GET" | "POST" | "PATCH" | "DELETE", endpoint: string, body: Json = {}): Promise<Json> {
    const u = new URL(`${url}/api/2.0/mlflow/${endpoint}`);
    let init: RequestInit = { method };
    if (method === "GET" || method === "DELETE") {
      for (const [k, v] of Object.entries(body))
        if (v !== undefined && v !== null) for (const item of Array.isArray(v) ? v : [v]) u.searchParams.append(k, String(item));
      if (method === "DELETE") init = { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
    } else init = { method, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
    const res = await fetch(u, init);
    const json = (await res.json()) as Json;
    if (res.status !== 200) throw new MlflowException(`${String(json.error_code)}: ${String(json.message)}`);
    return json;
  }
  async function paged<T>(first: (token: string | undefined) => Promise<{ items: T[]; token: string | undefined }>): Promise<T[]> {
    const out: T[] = [];
    let token: string | undefined;
    do {
      const page = await first(token);
      out.push(...page.items);
      token = page.token;
    } while (token);
    return out;
  }
  const c = {
    createRegisteredModel: async (name: string, tags?: Record<string, string | number>) =>
      toRm((await call("POST", "registered-models/create", { name, tags: tagList(tags) })).registered_model as Json),
    getRegisteredModel: async (name: string) => toRm((await call("GET", "registered-models/get", { name })).registered_model as Json),
    renameRegisteredModel: (name: string, newName: string) => call("POST", "registered-models/rename", { name, new_name: newName }),
    updateRegisteredModel: (name: string, description: string) => call("PATCH", "registered-models/update", { name, description }),
    deleteRegisteredModel: (name: string) => call("DELETE", "registered-models/delete", { name }),
    setRegisteredModelTag: (name: string, key: string, value: string | number) =>
      call("POST", "registered-models/set-tag", { name, key, value: String(value) }),
    deleteRegisteredModelTag: (name: string, key: string) => call("DELETE", "registered-models/delete-tag", { name, key }),
    async searchRegisteredModelsPage(filter: string | undefined, maxResults = 100, token?: string) {
      const r = await call("GET", "registered-models/search", { filter, max_results: maxResults, page_token: token });
      return { items: ((r.registered_models as Json[] | undefined) ?? []).map(toRm), token: (r.next_page_token as string | undefined) || undefined };
    },
    searchRegisteredModels: (filter?: string) => c.searchRegisteredModelsPage(filter).then((p) => p.items),
    createModelVersion: async (name: string, source: string, runId: string, tags?: Record<string, string | number>, description?: string) =>
      toMv((await call("POST", "model-versions/create", { name, source, run_id: runId, tags: tagList(tags), description })).model_version as Json),
    getModelVersion: async (name: string, version: string | number) =>
      toMv((await call("GET", "model-versions/get", { name, version: String(version) })).model_version as Json),
    updateModelVersion: (name: string, version: string | number, description: string) =>
      call("PATCH", "model-versions/update", { name, version: String(version), description }),
    transition: (name: string, version: string | number, stage: string) =>
      call("POST", "model-versions/transition-stage", { name, version: String(version), stage, archive_existing_versions: false }),
    deleteModelVersion: (name: string, version: string | number) => call("DELETE", "model-versions/delete", { name, version: String(version) }),
    setModelVersionTag: (name: string, version: string, key: string, value: string | number) =>
      call("POST", "model-versions/set-tag", { name, version, key, value: String(value) }),
    deleteModelVersionTag: (name: string, version: string, key: string) => call("DELETE", "model-versions/delete-tag", { name, version, key }),
    async searchModelVersionsPage(opts: { filter?: string; maxResults?: number; orderBy?: string[]; token?: string }) {
      const r = await call("GET", "model-versions/search", {
        filter: opts.filter,
        max_results: opts.maxResults ?? 10000,
        order_by: opts.orderBy,
        page_token: opts.token,
      });
      return { items: ((r.model_versions as Json[] | undefined) ?? []).map(toMv), token: (r.next_page_token as string | undefined) || undefined };
    },
    searchModelVersions: (filter?: string) => c.searchModelVersionsPage({ filter }).then((p) => p.items),
    getLatestVersions: async (name: string, stages?: string[]) =>
      (((await call("POST", "registered-models/get-latest-versions", { name, stages })).model_versions as Json[] | undefined) ?? []).map(toMv),
    getDownloadUri: async (name: string, version: string | number) =>
      String((await call("GET", "model-versions/get-download-uri", { name, version: String(version) })).artifact_uri),
    setAlias: (name: string, alias: string, version: string) => call("POST", "registered-models/alias", { name, alias, version }),
    deleteAlias: (name: string, alias: string) => call("DELETE", "registered-models/alias", { name, alias }),
    getByAlias: async (name: string, alias: string) => toMv((await call("GET", "registered-models/alias", { name, alias })).model_version as Json),
    /** MlflowClient.copy_model_version: resolve the source, then create a version whose source is `models:/<name>/<version>`. */
    async copyModelVersion(srcUri: string, dst: string) {
      const m = /^models:\/([^@/]+)@(.+)$/.exec(srcUri)!;
      const src = await c.getByAlias(m[1], m[2]);
      return c.createModelVersion(dst, `models:/${src.name}/${src.version}`, src.run_id, src.tags, src.description);
    },
    paged,
  };
  return c;
}
type Client = ReturnType<typeof clientFor>;

/** MLflow's `client` fixture: a fresh server on a fresh store for each test. */
function withClient(name: string, body: (client: Client) => Promise<void>): void {
  test(name, { timeout: 60_000 }, async () => {
    const t = tempDir("polarity-mlflow-registry-");
    const store = await testStoreUri(join(t.dir, "registry.db"));
    const server = await startTrackingServer({ host: "127.0.0.1", port: 0, backendStoreUri: store.uri, artifactsDestination: join(t.dir, "artifacts") });
    try {
      await body(clientFor(server.url));
    } finally {
      await server.close();
      await store.drop();
      t.cleanup();
    }
  });
}

const between = (start: number, end: number, t: number) => assert.ok(t >= start && t <= end, `${t} not in [${start}, ${end}]`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function raises(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof MlflowException, String(err));
    assert.match(err.message, pattern);
    return true;
  });
}

async function versionsFor29(client: Client): Promise<ModelVersion[]> {
  const names = Array.from({ length: 29 }, (_, i) => `CreateRMsearchForMV${String(i).padStart(3, "0")}`);
  for (const n of names) await client.createRegisteredModel(n);
  const mvs: ModelVersion[] = [];
  for (const n of [...names, ...names.slice(0, 10)]) {
    await sleep(2); // MLflow sleeps for unique creation times
    mvs.push(await client.createModelVersion(n, "runs:/run_id/model", "run_id"));
  }
  return mvs.reverse();
}

describe("MLflow's test_model_registry.py, ported", () => {
  withClient("test_create_and_query_registered_model_flow", async (client) => {
    const name = "CreateRMTest";
    const tags = { key: "value", "another key": "some other value", "numeric value": 12345 };
    const start = Date.now();
    const rm = await client.createRegisteredModel(name, tags);
    const end = Date.now();
    const expected = { key: "value", "another key": "some other value", "numeric value": "12345" };
    assert.equal(rm.name, name);
    assert.deepEqual(rm.tags, expected);
    const d = await client.getRegisteredModel(name);
    assert.equal(d.name, name);
    assert.deepEqual(d.tags, expected);
    assert.equal(d.description, "");
    assert.deepEqual(d.latest_versions, []);
    between(start, end, d.creation_timestamp);
    between(start, end, d.last_updated_timestamp);
    for (const filter of [undefined, "", "name = 'CreateRMTest'"]) {
      assert.deepEqual(
        (await client.searchRegisteredModels(filter)).filter((m) => m.name === name).map((m) => m.name),
        [name],
      );
    }
  });

  const rmFilters: Array<[string | undefined, (n: string) => boolean]> = [
    [undefined, () => true],
    ["", () => true],
    ["name LIKE '%7'", (n) => n.endsWith("7")],
    ["name ILIKE '%rm%00%'", (n) => n.includes("00")],
    ["name LIKE '%rm%00%'", () => false],
    ["name = 'badname'", () => false],
    ["name = 'CreateRMsearch023'", (n) => n === "CreateRMsearch023"],
  ];
  for (const maxResults of [1, 8, 100])
    for (const [filter, keep] of rmFilters)
      withClient(`test_search_registered_model_flow_paginated[${maxResults}-${filter}]`, async (client) => {
        const names = Array.from({ length: 29 }, (_, i) => `CreateRMsearch${String(i).padStart(3, "0")}`);
        for (const n of names) await client.createRegisteredModel(n);
        const got = await client.paged((token) => client.searchRegisteredModelsPage(filter, maxResults, token));
        assert.deepEqual(
          got.map((m) => m.name),
          names.filter(keep),
        );
      });

  withClient("test_update_registered_model_flow", async (client) => {
    const name = "UpdateRMTest";
    const s1 = Date.now();
    await client.createRegisteredModel(name);
    const e1 = Date.now();
    const d1 = await client.getRegisteredModel(name);
    assert.equal(d1.description, "");
    between(s1, e1, d1.creation_timestamp);
    const newName = "UpdateRMTest 2";
    const s2 = Date.now();
    await client.renameRegisteredModel(name, newName);
    const e2 = Date.now();
    await raises(client.getRegisteredModel(name), /Registered Model with name=UpdateRMTest not found/);
    const d2 = await client.getRegisteredModel(newName);
    between(s1, e1, d2.creation_timestamp);
    between(s2, e2, d2.last_updated_timestamp);
    const s3 = Date.now();
    await client.updateRegisteredModel(newName, "This is a test");
    const e3 = Date.now();
    const d3 = await client.getRegisteredModel(newName);
    assert.equal(d3.description, "This is a test");
    between(s3, e3, d3.last_updated_timestamp);
    const another = "UpdateRMTest 4";
    const s4 = Date.now();
    await client.updateRegisteredModel(newName, "4th update");
    await client.renameRegisteredModel(newName, another);
    const e4 = Date.now();
    const d4 = await client.getRegisteredModel(another);
    assert.equal(d4.description, "4th update");
    between(s1, e1, d4.creation_timestamp);
    between(s4, e4, d4.last_updated_timestamp);
    const last = "UpdateRMTest 5";
    await client.renameRegisteredModel(another, last);
    assert.equal((await client.getRegisteredModel(last)).description, "4th update");
    for (const old of [another, name, newName]) await raises(client.getRegisteredModel(old), /Registered Model with name=UpdateRMTest( \d)? not found/);
  });

  withClient("test_delete_registered_model_flow", async (client) => {
    const name = "DeleteRMTest";
    await client.createRegisteredModel(name);
    assert.deepEqual(
      (await client.searchRegisteredModels()).filter((m) => m.name === name).map((m) => m.name),
      [name],
    );
    await raises(client.createRegisteredModel(name), /Registered Model .+ already exists/);
    await client.deleteRegisteredModel(name);
    await raises(client.getRegisteredModel(name), /Registered Model .+ not found/);
    await raises(client.renameRegisteredModel(name, "something else"), /Registered Model .+ not found/);
    assert.deepEqual(
      (await client.searchRegisteredModels()).filter((m) => m.name === name),
      [],
    );
    const s2 = Date.now();
    await client.createRegisteredModel(name);
    const e2 = Date.now();
    const d2 = await client.getRegisteredModel(name);
    between(s2, e2, d2.creation_timestamp);
    between(s2, e2, d2.last_updated_timestamp);
  });

  withClient("test_set_delete_registered_model_tag_flow", async (client) => {
    const name = "SetDeleteRMTagTest";
    await client.createRegisteredModel(name);
    assert.deepEqual((await client.getRegisteredModel(name)).tags, {});
    await client.setRegisteredModelTag(name, "key", "value");
    await client.setRegisteredModelTag(name, "numeric value", 12345);
    assert.deepEqual((await client.getRegisteredModel(name)).tags, { key: "value", "numeric value": "12345" });
    await client.deleteRegisteredModelTag(name, "key");
    assert.deepEqual((await client.getRegisteredModel(name)).tags, { "numeric value": "12345" });
  });

  withClient("test_set_registered_model_tag_with_empty_string_as_value", async (client) => {
    await client.createRegisteredModel("SetRMTagEmptyValueTest");
    await client.setRegisteredModelTag("SetRMTagEmptyValueTest", "tag_key", "");
    assert.equal((await client.getRegisteredModel("SetRMTagEmptyValueTest")).tags.tag_key, "");
  });

  const mvFilters: Array<[string | undefined, (n: string) => boolean]> = [
    [undefined, () => true],
    ["", () => true],
    ["name LIKE '%2'", (n) => n.endsWith("2")],
    ["name ILIKE '%rm%00%'", (n) => n.includes("00")],
    ["name LIKE '%rm%00%'", () => false],
    ["name = 'badname'", () => false],
    ["name = 'CreateRMsearchForMV03'", (n) => n === "CreateRMsearchForMV03"],
  ];
  for (const [filter, keep] of mvFilters)
    withClient(`test_search_model_versions_filter_string[${filter}]`, async (client) => {
      const mvs = await versionsFor29(client);
      const expected = mvs.filter((m) => keep(m.name)).sort((a, b) => b.last_updated_timestamp - a.last_updated_timestamp);
      const got = await client.paged((token) => client.searchModelVersionsPage({ filter, token }));
      assert.deepEqual(
        got.map((m) => `${m.name}/${m.version}`),
        expected.map((m) => `${m.name}/${m.version}`),
      );
    });

  for (const maxResults of [1, 8, 100])
    withClient(`test_search_model_versions_max_results[${maxResults}]`, async (client) => {
      const mvs = await versionsFor29(client);
      const expected = [...mvs].sort((a, b) => b.last_updated_timestamp - a.last_updated_timestamp);
      const got = await client.paged((token) => client.searchModelVersionsPage({ maxResults, token }));
      assert.deepEqual(
        got.map((m) => `${m.name}/${m.version}`),
        expected.map((m) => `${m.name}/${m.version}`),
      );
    });

  const orders: Array<[string[] | undefined, (a: ModelVersion, b: ModelVersion) => number]> = [
    [undefined, (a, b) => b.last_updated_timestamp - a.last_updated_timestamp || a.name.localeCompare(b.name) || Number(b.version) - Number(a.version)],
    [["name DESC"], (a, b) => (a.name === b.name ? Number(b.version) - Number(a.version) : a.name < b.name ? 1 : -1)],
    [["version_number DESC"], (a, b) => Number(b.version) - Number(a.version) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)],
  ];
  for (const [orderBy, cmp] of orders)
    withClient(`test_search_model_versions_order_by[${orderBy?.join(",") ?? "None"}]`, async (client) => {
      const mvs = await versionsFor29(client);
      const expected = [...mvs].sort(cmp);
      const got = await client.paged((token) => client.searchModelVersionsPage({ orderBy, token }));
      assert.deepEqual(
        got.map((m) => `${m.name}/${m.version}`),
        expected.map((m) => `${m.name}/${m.version}`),
      );
    });

  withClient("test_create_and_query_model_version_flow", async (client) => {
    const name = "CreateMVTest";
    await client.createRegisteredModel(name);
    const mv1 = await client.createModelVersion(name, "runs:/run_id/model", "run_id_1", {
      key: "value",
      "another key": "some other value",
      "numeric value": 12345,
    });
    assert.equal(mv1.version, "1");
    assert.deepEqual(mv1.tags, { key: "value", "another key": "some other value", "numeric value": "12345" });
    const mvd1 = await client.getModelVersion(name, "1");
    assert.deepEqual(mvd1.tags, mv1.tags);
    const latestOf = async () => (await client.searchRegisteredModels()).filter((m) => m.name === name).map((m) => m.latest_versions);
    assert.deepEqual(await latestOf(), [[mvd1]]);
    const mv2 = await client.createModelVersion(name, "runs:/run_id/another_model", "run_id_1");
    assert.equal(mv2.version, "2");
    const mvd2 = await client.getModelVersion(name, "2");
    assert.deepEqual(await latestOf(), [[mvd2]]);
    const byName = await client.searchModelVersions(`name = '${name}'`);
    assert.deepEqual(new Set(byName.map((m) => m.version)), new Set(["1", "2"]));
    const mv3 = await client.createModelVersion(name, "runs:/run_id/another_model", "run_id_2");
    assert.equal(mv3.version, "3");
    assert.deepEqual(await client.searchModelVersions("source_path = 'runs:/run_id/model'"), [mvd1]);
    assert.deepEqual(await client.searchModelVersions("run_id = 'run_id_1'"), [mvd2, mvd1]);
    assert.equal(await client.getDownloadUri(name, "1"), "runs:/run_id/model");
  });

  withClient("test_get_model_version", async (client) => {
    const name = "GetModelVersionTest";
    await client.createRegisteredModel(name);
    await client.createModelVersion(name, "runs:/run_id/model", "run_id_1");
    const mv = await client.getModelVersion(name, "1");
    assert.equal(mv.name, name);
    assert.equal(mv.version, "1");
    // MLflow 2.12 (the reference) says "Model version must be an integer, got '…'"; later
    // versions say "Parameter 'version' must be an integer, got '…'.".
    await raises(
      client.getModelVersion(name, "something not correct"),
      /INVALID_PARAMETER_VALUE: (Parameter 'version'|Model version) must be an integer, got 'something not correct'/,
    );
  });

  withClient("test_update_model_version_flow", async (client) => {
    const name = "UpdateMVTest";
    const s0 = Date.now();
    await client.createRegisteredModel(name);
    const e0 = Date.now();
    const s1 = Date.now();
    const mv1 = await client.createModelVersion(name, "runs:/run_id/model", "run_id_1");
    const e1 = Date.now();
    assert.equal(mv1.version, "1");
    const mvd1 = await client.getModelVersion(name, "1");
    assert.equal(mvd1.description, "");
    between(s1, e1, mvd1.creation_timestamp);
    const rmd2 = await client.getRegisteredModel(name);
    between(s0, e0, rmd2.creation_timestamp);
    between(s1, e1, rmd2.last_updated_timestamp);
    await client.createModelVersion(name, "runs:/run_id/another_model", "run_id_1");
    const s2 = Date.now();
    await client.transition(name, 1, "Staging");
    const e2 = Date.now();
    const mvd1b = await client.getModelVersion(name, 1);
    between(s1, e1, mvd1b.creation_timestamp);
    between(s2, e2, mvd1b.last_updated_timestamp);
    const rmd3 = await client.getRegisteredModel(name);
    between(s2, e2, rmd3.last_updated_timestamp);
    const latest = (await client.searchRegisteredModels()).filter((m) => m.name === name).map((m) => m.latest_versions);
    assert.equal(latest.length, 1);
    assert.deepEqual(new Set(latest[0].map((m) => m.version)), new Set(["1", "2"]));
    const s3 = Date.now();
    await client.updateModelVersion(name, 1, "This is a test model");
    const e3 = Date.now();
    const mvd1c = await client.getModelVersion(name, "1");
    assert.equal(mvd1c.description, "This is a test model");
    between(s3, e3, mvd1c.last_updated_timestamp);
    // a version's description does not touch the model's last_updated_timestamp
    between(s2, e2, (await client.getRegisteredModel(name)).last_updated_timestamp);
  });

  withClient("test_latest_models", async (client) => {
    const mapping: Array<[string, string]> = [
      ["1", "Archived"],
      ["2", "Production"],
      ["3", "Archived"],
      ["4", "Production"],
      ["5", "Staging"],
      ["6", "Staging"],
      ["7", "None"],
    ];
    const name = "LatestVersionTest";
    await client.createRegisteredModel(name);
    for (const [version, stage] of mapping) {
      await sleep(2);
      const mv = await client.createModelVersion(name, "runs:/run_id/model", "run_id");
      assert.equal(mv.version, version);
      if (stage !== "None") await client.transition(name, version, stage);
      assert.equal((await client.getModelVersion(name, version)).current_stage, stage);
    }
    const latest = async (stages?: string[]) => Object.fromEntries((await client.getLatestVersions(name, stages)).map((m) => [m.current_stage, m.version]));
    assert.deepEqual(await latest(["None"]), { None: "7" });
    assert.deepEqual(await latest(["Staging"]), { Staging: "6" });
    assert.deepEqual(await latest(["None", "Staging"]), { None: "7", Staging: "6" });
    assert.deepEqual(await latest(undefined), { Production: "4", Staging: "6", Archived: "3", None: "7" });
    assert.deepEqual(await latest([]), { Production: "4", Staging: "6", Archived: "3", None: "7" });
  });

  withClient("test_delete_model_version_flow", async (client) => {
    const name = "DeleteMVTest";
    await client.createRegisteredModel(name);
    await client.createModelVersion(name, "runs:/run_id/model", "run_id_1");
    await client.createModelVersion(name, "runs:/run_id/another_model", "run_id_1");
    const mv3 = await client.createModelVersion(name, "runs:/run_id_2/a/b/c", "run_id_2");
    assert.equal(mv3.version, "3");
    const latest = (await client.searchRegisteredModels()).filter((m) => m.name === name).map((m) => m.latest_versions);
    assert.equal(latest.length, 1);
    assert.equal(latest[0][0].version, "3");
    const versions = async () => new Set((await client.searchModelVersions(`name = '${name}'`)).map((m) => m.version));
    assert.deepEqual(await versions(), new Set(["1", "2", "3"]));
    const s2 = Date.now();
    await client.deleteModelVersion(name, "1");
    const e2 = Date.now();
    assert.deepEqual(await versions(), new Set(["2", "3"]));
    between(s2, e2, (await client.getRegisteredModel(name)).last_updated_timestamp);
    await raises(client.deleteModelVersion(name, "1"), /Model Version .+ not found/);
    await raises(client.updateModelVersion(name, 1, "Test model"), /Model Version .+ not found/);
    await raises(client.transition(name, 1, "Staging"), /Model Version .+ not found/);
    await client.deleteModelVersion(name, 3);
    assert.deepEqual(await versions(), new Set(["2"]));
    const mv4 = await client.createModelVersion(name, "runs:/run_id_2/a/b/c", "run_id_2");
    assert.equal(mv4.version, "4");
    assert.deepEqual(await versions(), new Set(["2", "4"]));
  });

  withClient("test_set_delete_model_version_tag_flow", async (client) => {
    const name = "SetDeleteMVTagTest";
    await client.createRegisteredModel(name);
    await client.createModelVersion(name, "runs:/run_id/model", "run_id_1");
    assert.deepEqual((await client.getModelVersion(name, "1")).tags, {});
    await client.setModelVersionTag(name, "1", "key", "value");
    await client.setModelVersionTag(name, "1", "numeric value", 12345);
    assert.deepEqual((await client.getModelVersion(name, "1")).tags, { key: "value", "numeric value": "12345" });
    await client.deleteModelVersionTag(name, "1", "key");
    assert.deepEqual((await client.getModelVersion(name, "1")).tags, { "numeric value": "12345" });
  });

  withClient("test_set_model_version_tag_with_empty_string_as_value", async (client) => {
    const name = "SetMVTagEmptyValueTest";
    await client.createRegisteredModel(name);
    await client.createModelVersion(name, "runs:/run_id/model", "run_id_1");
    await client.setModelVersionTag(name, "1", "tag_key", "");
    assert.equal((await client.getModelVersion(name, "1")).tags.tag_key, "");
  });

  withClient("test_set_delete_registered_model_alias_and_get_model_version_by_alias_flow", async (client) => {
    const name = "SetDeleteGetRMAliasTest";
    await client.createRegisteredModel(name);
    await client.createModelVersion(name, "runs:/run_id/model", "run_id_1");
    assert.deepEqual((await client.getRegisteredModel(name)).aliases, {});
    assert.deepEqual((await client.getModelVersion(name, "1")).aliases, []);
    await client.setAlias(name, "test_alias", "1");
    assert.deepEqual((await client.getRegisteredModel(name)).aliases, { test_alias: "1" });
    const mv = await client.getModelVersion(name, "1");
    assert.deepEqual(mv.aliases, ["test_alias"]);
    assert.deepEqual(await client.getByAlias(name, "test_alias"), mv);
    await client.deleteAlias(name, "test_alias");
    assert.deepEqual((await client.getRegisteredModel(name)).aliases, {});
    assert.deepEqual((await client.getModelVersion(name, "1")).aliases, []);
  });

  withClient("test_copy_model_version_flow", async (client) => {
    const name = "CopyMVTest";
    await client.createRegisteredModel(name);
    const src = await client.createModelVersion(name, "runs:/run_id/model", "run_id_1", { hello: "world" }, "dummy");
    await client.setAlias(name, "test_alias", "1");
    const copied = await client.copyModelVersion(`models:/${name}@test_alias`, name);
    assert.equal(copied.version, "2");
    const mv = await client.getModelVersion(name, 2);
    assert.equal(mv.source, `models:/${name}/1`);
    assert.equal(mv.description, "dummy");
    assert.equal(mv.run_id, "run_id_1");
    assert.deepEqual(mv.tags, { hello: "world" });
    assert.equal(await client.getDownloadUri(name, 2), src.source);
  });
});
