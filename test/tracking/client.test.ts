import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import type { TrackingClient } from "../../src/tracking/client.js";
import type { Run } from "../../src/tracking/types.js";
import { httpHarness, inProcessHarness, rejectsWith, type Harness } from "./helpers.js";

/**
 * The client suite, written once and run against both transports: in-process (embedded SQLite)
 * and HTTP (a real Polarity server on 127.0.0.1). A final test replays one scenario on both
 * and checks the transcripts are identical.
 */
const transports: Array<[string, () => Promise<Harness>]> = [
  ["in-process", inProcessHarness],
  ["http", () => httpHarness()],
];

for (const [name, makeHarness] of transports) {
  describe(`TrackingClient over ${name}`, () => {
    let h: Harness;
    let c: TrackingClient;
    before(async () => {
      h = await makeHarness();
      c = h.client;
    });
    after(async () => h.close());

    test("experiments: create, get by id and name, duplicate, rename, tag, delete and restore", async () => {
      const id = await c.createExperiment("exp-a", { tags: { team: "nlp" } });
      const exp = await c.getExperiment(id);
      assert.equal(exp.name, "exp-a");
      assert.equal(exp.lifecycle_stage, "active");
      assert.equal(exp.artifact_location, `mlflow-artifacts:/${id}`);
      assert.deepEqual(exp.tags, [{ key: "team", value: "nlp" }]);
      assert.equal((await c.getExperimentByName("exp-a"))?.experiment_id, id);
      assert.equal(await c.getExperimentByName("missing"), undefined);
      assert.equal((await c.getExperiment("0")).name, "Default");
      await rejectsWith(c.createExperiment("exp-a"), "RESOURCE_ALREADY_EXISTS", /exp-a/);
      await rejectsWith(c.getExperiment("999"), "RESOURCE_DOES_NOT_EXIST");
      await rejectsWith(c.createExperiment(""), "INVALID_PARAMETER_VALUE");
      await rejectsWith(c.createExperiment("x".repeat(501)), "INVALID_PARAMETER_VALUE", /500/);
      await c.renameExperiment(id, "exp-a2");
      await c.setExperimentTag(id, "stage", "dev");
      assert.deepEqual((await c.getExperiment(id)).tags, [
        { key: "stage", value: "dev" },
        { key: "team", value: "nlp" },
      ]);
      assert.equal(await c.getOrCreateExperiment("exp-a2"), id);
      await c.deleteExperiment(id);
      assert.equal((await c.getExperiment(id)).lifecycle_stage, "deleted");
      assert.ok(!(await c.searchExperiments()).experiments.some((e) => e.experiment_id === id));
      assert.ok((await c.searchExperiments({ viewType: "DELETED_ONLY" })).experiments.some((e) => e.experiment_id === id));
      await c.restoreExperiment(id);
      assert.equal((await c.getExperiment(id)).lifecycle_stage, "active");
    });

    test("experiments: search filters by name and tags, orders and pages", async () => {
      for (const n of ["srch-1", "srch-2", "srch-3"]) await c.createExperiment(n, { tags: { kind: n === "srch-2" ? "b" : "a" } });
      const all = await c.searchExperiments({ filter: "name LIKE 'srch-%'", orderBy: ["name DESC"] });
      assert.deepEqual(
        all.experiments.map((e) => e.name),
        ["srch-3", "srch-2", "srch-1"],
      );
      const tagged = await c.searchExperiments({ filter: "name LIKE 'srch-%' AND tags.kind = 'b'" });
      assert.deepEqual(
        tagged.experiments.map((e) => e.name),
        ["srch-2"],
      );
      const p1 = await c.searchExperiments({ filter: "name LIKE 'srch-%'", orderBy: ["name ASC"], maxResults: 2 });
      assert.deepEqual(
        p1.experiments.map((e) => e.name),
        ["srch-1", "srch-2"],
      );
      assert.ok(p1.nextPageToken);
      const p2 = await c.searchExperiments({ filter: "name LIKE 'srch-%'", orderBy: ["name ASC"], maxResults: 2, pageToken: p1.nextPageToken });
      assert.deepEqual(
        p2.experiments.map((e) => e.name),
        ["srch-3"],
      );
      assert.equal(p2.nextPageToken, undefined);
      await rejectsWith(c.searchExperiments({ pageToken: "!!!" }), "INVALID_PARAMETER_VALUE", /page token/);
    });

    test("runs: params are immutable, tags overwrite, metrics keep full history", async () => {
      const exp = await c.createExperiment("runs-basic");
      const run = await c.createRun(exp, { runName: "first", tags: { note: "a" } });
      assert.equal(run.info.status, "RUNNING");
      assert.equal(run.info.run_name, "first");
      assert.equal(run.info.artifact_uri, `mlflow-artifacts:/${exp}/${run.info.run_id}/artifacts`);
      const id = run.info.run_id;
      await c.logParam(id, "lr", 0.1);
      await c.logParam(id, "lr", "0.1");
      await rejectsWith(c.logParam(id, "lr", 0.2), "INVALID_PARAMETER_VALUE", /Changing param values is not allowed.*lr/);
      await rejectsWith(c.logParam(id, "bad/../key", 1), "INVALID_PARAMETER_VALUE", /would resolve to/);
      await rejectsWith(c.logParam(id, "big", "x".repeat(6001)), "INVALID_PARAMETER_VALUE", /6000/);
      await c.setTag(id, "note", "b");
      await c.logMetric(id, "loss", 0.9, { step: 0, timestamp: 1000 });
      await c.logMetric(id, "loss", 0.5, { step: 2, timestamp: 1002 });
      await c.logMetric(id, "loss", 0.7, { step: 1, timestamp: 1003 });
      const got = await c.getRun(id);
      assert.deepEqual(got.data.params, [{ key: "lr", value: "0.1" }]);
      assert.equal(got.data.tags.find((t) => t.key === "note")?.value, "b");
      // the latest metric is the one with the greatest step, not the last logged
      assert.deepEqual(got.data.metrics, [{ key: "loss", value: 0.5, timestamp: 1002, step: 2 }]);
      assert.deepEqual(
        (await c.getMetricHistory(id, "loss")).map((m) => [m.step, m.value]),
        [
          [0, 0.9],
          [1, 0.7],
          [2, 0.5],
        ],
      );
      await c.deleteTag(id, "note");
      assert.ok(!(await c.getRun(id)).data.tags.some((t) => t.key === "note"));
      await rejectsWith(c.deleteTag(id, "note"), "RESOURCE_DOES_NOT_EXIST");
      await rejectsWith(c.getRun("0123456789abcdef0123456789abcdef"), "RESOURCE_DOES_NOT_EXIST", /not found/);
    });

    test("runs: non-finite metric values round-trip", async () => {
      const exp = await c.createExperiment("runs-nonfinite");
      const { info } = await c.createRun(exp);
      await c.logBatch(info.run_id, {
        metrics: [
          { key: "nan", value: NaN, timestamp: 1, step: 0 },
          { key: "inf", value: Infinity, timestamp: 1, step: 0 },
          { key: "ninf", value: -Infinity, timestamp: 1, step: 0 },
        ],
      });
      const metrics = Object.fromEntries((await c.getRun(info.run_id)).data.metrics.map((m) => [m.key, m.value]));
      assert.ok(Number.isNaN(metrics.nan));
      assert.equal(metrics.inf, Infinity);
      assert.equal(metrics.ninf, -Infinity);
    });

    test("runs: log-batch enforces MLflow's limits; the client splits large batches", async () => {
      const exp = await c.createExperiment("runs-batch");
      const { info } = await c.createRun(exp);
      const metrics = Array.from({ length: 2500 }, (_, i) => ({ key: `m${i % 5}`, value: i, timestamp: 10 + i, step: i }));
      const params = Array.from({ length: 150 }, (_, i) => ({ key: `p${i}`, value: String(i) }));
      await c.logBatch(info.run_id, { metrics, params });
      const run = await c.getRun(info.run_id);
      assert.equal(run.data.params.length, 150);
      assert.equal((await c.getMetricHistory(info.run_id, "m3")).length, 500);
      assert.deepEqual(
        run.data.metrics.find((m) => m.key === "m4"),
        { key: "m4", value: 2499, timestamp: 2509, step: 2499 },
      );
      const over = Array.from({ length: 1001 }, (_, i) => ({ key: "x", value: i, timestamp: i, step: i }));
      await rejectsWith(c.transport.call("logBatch", { run_id: info.run_id, metrics: over }), "INVALID_PARAMETER_VALUE", /at most 1000 metrics/);
      const tooManyParams = Array.from({ length: 101 }, (_, i) => ({ key: `q${i}`, value: "v" }));
      await rejectsWith(c.transport.call("logBatch", { run_id: info.run_id, params: tooManyParams }), "INVALID_PARAMETER_VALUE", /at most 100 params/);
      await rejectsWith(
        c.transport.call("logBatch", {
          run_id: info.run_id,
          params: [
            { key: "d", value: "1" },
            { key: "d", value: "2" },
          ],
        }),
        "INVALID_PARAMETER_VALUE",
        /Duplicate parameter keys/,
      );
    });

    test("runs: update, delete, restore; a deleted run refuses writes", async () => {
      const exp = await c.createExperiment("runs-lifecycle");
      const { info } = await c.createRun(exp);
      const updated = await c.updateRun(info.run_id, { status: "KILLED", endTime: info.start_time + 5, runName: "renamed" });
      assert.equal(updated.status, "KILLED");
      assert.equal(updated.end_time, info.start_time + 5);
      assert.equal(updated.run_name, "renamed");
      assert.equal((await c.getRun(info.run_id)).data.tags.find((t) => t.key === "mlflow.runName")?.value, "renamed");
      await c.deleteRun(info.run_id);
      assert.equal((await c.getRun(info.run_id)).info.lifecycle_stage, "deleted");
      await rejectsWith(c.logMetric(info.run_id, "x", 1), "INVALID_PARAMETER_VALUE", /must be in the 'active' state/);
      assert.equal((await c.searchRuns({ experimentIds: [exp] })).runs.length, 0);
      assert.equal((await c.searchRuns({ experimentIds: [exp], viewType: "ALL" })).runs.length, 1);
      await c.restoreRun(info.run_id);
      await c.logMetric(info.run_id, "x", 1);
      await rejectsWith(c.transport.call("updateRun", { run_id: info.run_id, status: "DONE" }), "INVALID_PARAMETER_VALUE");
    });

    test("withRun ends the run FINISHED, or FAILED when the body throws", async () => {
      const exp = await c.createExperiment("scoped");
      const okId = await c.withRun({ experimentId: exp }, async (run) => {
        await run.logParams({ C: 1, penalty: "l2" });
        await run.logMetrics({ acc: 0.8 }, 3);
        await run.setTags({ stage: "train" });
        return run.runId;
      });
      const ok = await c.getRun(okId);
      assert.equal(ok.info.status, "FINISHED");
      assert.ok(ok.info.end_time! >= ok.info.start_time);
      assert.deepEqual(ok.data.params, [
        { key: "C", value: "1" },
        { key: "penalty", value: "l2" },
      ]);
      let failedId = "";
      await assert.rejects(
        c.withRun({ experimentName: "scoped-by-name" }, async (run) => {
          failedId = run.runId;
          throw new Error("training diverged");
        }),
        /training diverged/,
      );
      const failed = await c.getRun(failedId);
      assert.equal(failed.info.status, "FAILED");
      assert.equal((await c.getExperiment(failed.info.experiment_id)).name, "scoped-by-name");
      await c.deleteExperiment(failed.info.experiment_id);
      await rejectsWith(
        c.withRun({ experimentName: "scoped-by-name" }, async () => 1),
        "INVALID_PARAMETER_VALUE",
        /is deleted; restore it/,
      );
    });

    test("search runs: metric/param/tag/attribute/dataset filters, order_by and page tokens", async () => {
      const exp = await c.createExperiment("search-runs");
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const run = await c.createRun(exp, { runName: `r${i}`, startTime: 1_000 + i, tags: { parity: i % 2 ? "odd" : "even" } });
        ids.push(run.info.run_id);
        await c.logParams(run.info.run_id, { model: i < 3 ? "LogReg" : "svm", i });
        if (i !== 6) await c.logMetric(run.info.run_id, "acc", i / 10, { timestamp: 5 });
        if (i === 2) await c.logDatasetInput(run.info.run_id, { name: "imdb", digest: "d1", source_type: "local", source: "data/imdb.csv" }, "training");
        if (i === 5) await c.updateRun(run.info.run_id, { status: "FAILED" });
      }
      const names = (runs: Run[]) => runs.map((r) => r.info.run_name);
      const q = (filter?: string, orderBy?: string[]) => c.searchRuns({ experimentIds: [exp], filter, orderBy }).then((r) => names(r.runs));
      assert.deepEqual(await q(), ["r6", "r5", "r4", "r3", "r2", "r1", "r0"], "default order is start_time DESC");
      assert.deepEqual(await q("metrics.acc > 0.35", ["metrics.acc ASC"]), ["r4", "r5"]);
      assert.deepEqual(await q("metrics.acc <= 0.1"), ["r1", "r0"]);
      assert.deepEqual(await q("metrics.acc != 0.3 AND metrics.acc >= 0.2"), ["r5", "r4", "r2"]);
      assert.deepEqual(await q(undefined, ["metrics.acc DESC"]), ["r5", "r4", "r3", "r2", "r1", "r0", "r6"], "runs without the metric sort last");
      assert.deepEqual(await q(undefined, ["metrics.acc ASC"]), ["r0", "r1", "r2", "r3", "r4", "r5", "r6"]);
      assert.deepEqual(await q("params.model = 'svm'", ["params.i ASC"]), ["r3", "r4", "r5", "r6"]);
      assert.deepEqual(await q("params.model LIKE 'log%'"), [], "LIKE is case-sensitive");
      assert.deepEqual(await q("params.model ILIKE 'log%'"), ["r2", "r1", "r0"]);
      assert.deepEqual(await q("params.model != 'svm'"), ["r2", "r1", "r0"]);
      assert.deepEqual(await q("tags.parity = 'odd' AND attributes.status = 'RUNNING'"), ["r3", "r1"]);
      assert.deepEqual(await q("attributes.status = 'FAILED'"), ["r5"]);
      assert.deepEqual(await q("attributes.start_time >= 1005"), ["r6", "r5"]);
      assert.deepEqual(await q("attributes.run_name LIKE 'r%' AND attributes.run_name != 'r0'", ["attributes.run_name DESC"]), [
        "r6",
        "r5",
        "r4",
        "r3",
        "r2",
        "r1",
      ]);
      assert.deepEqual(await q(`attributes.run_id IN ('${ids[1]}', '${ids[4]}')`), ["r4", "r1"]);
      assert.deepEqual(await q("datasets.name = 'imdb' AND datasets.context = 'training'"), ["r2"]);
      assert.deepEqual(await q("tags.`mlflow.runName` = 'r3'"), ["r3"]);

      const seen: string[] = [];
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const page = await c.searchRuns({ experimentIds: [exp], maxResults: 3, pageToken, orderBy: ["attributes.start_time ASC"] });
        seen.push(...names(page.runs));
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken);
      assert.equal(pages, 3);
      assert.deepEqual(seen, ["r0", "r1", "r2", "r3", "r4", "r5", "r6"]);
      assert.equal((await c.searchAllRuns({ experimentIds: [exp], maxResults: 2 })).length, 7);

      const e1 = await rejectsWith(c.searchRuns({ experimentIds: [exp], filter: "metrics.acc >> 1" }), "INVALID_PARAMETER_VALUE");
      assert.match(e1.message, />>/);
      await rejectsWith(c.searchRuns({ experimentIds: [exp], filter: "params.model = svm" }), "INVALID_PARAMETER_VALUE", /'svm'/);
      await rejectsWith(c.searchRuns({ experimentIds: [exp], orderBy: ["metrics.acc UP"] }), "INVALID_PARAMETER_VALUE", /'UP'/);
      await rejectsWith(
        c.searchRuns({ experimentIds: [exp], maxResults: 50001 }),
        "INVALID_PARAMETER_VALUE",
        /^Invalid value 50001 for parameter 'max_results' supplied/,
      );
    });

    test("dataset inputs are logged with their context tag and deduplicated", async () => {
      const exp = await c.createExperiment("inputs");
      const { info } = await c.createRun(exp);
      const ds = { name: "imdb-train", digest: "3f2a", source_type: "local", source: "data/train.csv", schema: '{"text":"string"}' };
      await c.logDatasetInput(info.run_id, ds, "training");
      await c.logDatasetInput(info.run_id, ds, "training");
      await c.logDatasetInput(info.run_id, { ...ds, name: "imdb-test", digest: "77aa" }, "eval");
      const inputs = (await c.getRun(info.run_id)).inputs.dataset_inputs;
      assert.deepEqual(inputs, [
        { tags: [{ key: "mlflow.data.context", value: "training" }], dataset: ds },
        { tags: [{ key: "mlflow.data.context", value: "eval" }], dataset: { ...ds, name: "imdb-test", digest: "77aa" } },
      ]);
      await rejectsWith(c.logDatasetInput(info.run_id, { ...ds, digest: "x".repeat(37) }), "INVALID_PARAMETER_VALUE", /36/);
    });

    test("artifacts: log a file and a directory, list them, download by runs:/ URI", async () => {
      const exp = await c.createExperiment("artifacts");
      const { info } = await c.createRun(exp);
      const src = join(h.dir, "src");
      mkdirSync(join(src, "model", "sub"), { recursive: true });
      writeFileSync(join(src, "notes.txt"), "hello");
      writeFileSync(join(src, "model", "model.json"), '{"w":[1,2]}');
      writeFileSync(join(src, "model", "sub", "vocab.txt"), "a\nb\n");
      await c.logArtifact(info.run_id, join(src, "notes.txt"));
      await c.logArtifacts(info.run_id, join(src, "model"), "model");
      assert.deepEqual(await c.listArtifacts(info.run_id), [
        { path: "model", is_dir: true },
        { path: "notes.txt", is_dir: false, file_size: 5 },
      ]);
      assert.deepEqual(await c.listArtifacts(info.run_id, "model"), [
        { path: "model/model.json", is_dir: false, file_size: 11 },
        { path: "model/sub", is_dir: true },
      ]);
      const dst = join(h.dir, "dl");
      const modelDir = await c.downloadArtifacts(`runs:/${info.run_id}/model`, dst);
      assert.equal(readFileSync(join(modelDir, "model.json"), "utf8"), '{"w":[1,2]}');
      assert.equal(readFileSync(join(modelDir, "sub", "vocab.txt"), "utf8"), "a\nb\n");
      const notes = await c.downloadArtifacts(`runs:/${info.run_id}/notes.txt`, join(h.dir, "dl2"));
      assert.equal(readFileSync(notes, "utf8"), "hello");
      await rejectsWith(c.downloadArtifacts(`runs:/${info.run_id}/missing.bin`, join(h.dir, "dl3")), "RESOURCE_DOES_NOT_EXIST");
      await rejectsWith(c.listArtifacts(info.run_id, "../../etc"), "INVALID_PARAMETER_VALUE");
    });

    test("artifacts: an experiment with a file: artifact location stores run artifacts there", async () => {
      // A server only accepts locations inside its artifacts destination (issue 9 item 3).
      const location = name === "http" ? join(h.dir, "artifacts", "custom-root") : join(h.dir, "custom-root");
      const exp = await c.createExperiment("file-location", { artifactLocation: `file://${location}` });
      const { info } = await c.createRun(exp);
      assert.equal(info.artifact_uri, `file://${location}/${info.run_id}/artifacts`);
      const f = join(h.dir, "report.txt");
      writeFileSync(f, "metrics");
      await c.logArtifact(info.run_id, f, "reports");
      assert.equal(readFileSync(join(location, info.run_id, "artifacts", "reports", "report.txt"), "utf8"), "metrics");
      assert.deepEqual(await c.listArtifacts(info.run_id, "reports"), [{ path: "reports/report.txt", is_dir: false, file_size: 7 }]);
      const back = await c.downloadArtifacts(`runs:/${info.run_id}/reports/report.txt`, join(h.dir, "file-dl"));
      assert.equal(readFileSync(back, "utf8"), "metrics");
    });

    test("registry: versions number 1, 2, … and compare as numbers; aliases, stages and model URIs resolve to files", async () => {
      const exp = await c.createExperiment("registry");
      const sources: string[] = [];
      for (let i = 1; i <= 11; i++) {
        const { info } = await c.createRun(exp);
        const f = join(h.dir, `weights-${i}.json`);
        writeFileSync(f, JSON.stringify({ version: i }));
        await c.logArtifact(info.run_id, f, "model");
        const mv = await c.registerModel(`runs:/${info.run_id}/model`, "sentiment", { tags: { i: String(i) } });
        assert.equal(mv.version, String(i));
        assert.equal(mv.run_id, info.run_id);
        assert.equal(mv.source, `${info.artifact_uri}/model`);
        sources.push(mv.source);
      }
      await rejectsWith(c.createRegisteredModel("sentiment"), "RESOURCE_ALREADY_EXISTS");
      const read = async (uri: string) => {
        const dir = await c.downloadArtifacts(uri, join(h.dir, "resolve", uri.replace(/[^\w]/g, "_")));
        const files = (await import("node:fs")).readdirSync(dir);
        return JSON.parse(readFileSync(join(dir, files[0]), "utf8")).version as number;
      };
      assert.equal((await c.resolveModelUri("models:/sentiment/latest")).modelVersion.version, "11", "11 > 9 numerically");
      assert.equal(await read("models:/sentiment/latest"), 11);
      assert.equal(await read("models:/sentiment/3"), 3);

      await c.setRegisteredModelAlias("sentiment", "champion", 9);
      await c.setRegisteredModelAlias("sentiment", "challenger", "10");
      assert.equal((await c.getModelVersionByAlias("sentiment", "champion")).version, "9");
      assert.deepEqual((await c.getModelVersion("sentiment", 9)).aliases, ["champion"]);
      assert.equal(await read("models:/sentiment@champion"), 9);
      await c.setRegisteredModelAlias("sentiment", "champion", 10);
      assert.equal((await c.getModelVersionByAlias("sentiment", "champion")).version, "10", "an alias moves");
      assert.deepEqual((await c.getRegisteredModel("sentiment")).aliases, [
        { alias: "challenger", version: "10" },
        { alias: "champion", version: "10" },
      ]);
      await c.deleteRegisteredModelAlias("sentiment", "challenger");
      await rejectsWith(c.getModelVersionByAlias("sentiment", "challenger"), "RESOURCE_DOES_NOT_EXIST");
      await rejectsWith(c.setRegisteredModelAlias("sentiment", "latest", 1), "INVALID_PARAMETER_VALUE", /reserved/);
      await rejectsWith(c.setRegisteredModelAlias("sentiment", "v3", 1), "INVALID_PARAMETER_VALUE", /reserved/);
      await rejectsWith(c.setRegisteredModelAlias("sentiment", "bad alias", 1), "INVALID_PARAMETER_VALUE");
      await rejectsWith(c.setRegisteredModelAlias("sentiment", "x", 99), "RESOURCE_DOES_NOT_EXIST");

      await c.transitionModelVersionStage("sentiment", 2, "Production");
      await c.transitionModelVersionStage("sentiment", 4, "production");
      assert.equal(await read("models:/sentiment/Production"), 4, "the newest version in the stage");
      const promoted = await c.transitionModelVersionStage("sentiment", 5, "Production", true);
      assert.equal(promoted.current_stage, "Production");
      assert.equal((await c.getModelVersion("sentiment", 2)).current_stage, "Archived");
      assert.equal((await c.getModelVersion("sentiment", 4)).current_stage, "Archived");
      assert.deepEqual(
        (await c.getLatestVersions("sentiment", ["Production"])).map((v) => v.version),
        ["5"],
      );
      await rejectsWith(c.transitionModelVersionStage("sentiment", 5, "Live"), "INVALID_PARAMETER_VALUE", /stage/);
      await rejectsWith(c.transitionModelVersionStage("sentiment", 5, "Archived", true), "INVALID_PARAMETER_VALUE");
      await rejectsWith(c.resolveModelUri("models:/sentiment/Staging"), "RESOURCE_DOES_NOT_EXIST");
      assert.equal(await c.getModelVersionDownloadUri("sentiment", 5), sources[4]);

      const rm = await c.getRegisteredModel("sentiment");
      assert.deepEqual(
        rm.latest_versions.map((v) => [v.version, v.current_stage]),
        [
          ["4", "Archived"],
          ["5", "Production"],
          ["11", "None"],
        ],
      );
      const updated = await c.updateModelVersion("sentiment", 5, "best so far");
      assert.equal(updated.description, "best so far");
      await c.setModelVersionTag("sentiment", 5, "validated", "yes");
      assert.ok((await c.getModelVersion("sentiment", 5)).tags.some((t) => t.key === "validated"));
      await c.deleteModelVersionTag("sentiment", 5, "validated");
      await c.deleteModelVersion("sentiment", 1);
      await rejectsWith(c.getModelVersion("sentiment", 1), "RESOURCE_DOES_NOT_EXIST");
      await rejectsWith(c.getModelVersion("sentiment", "one"), "INVALID_PARAMETER_VALUE");
      const v12 = await c.createModelVersion("sentiment", sources[0]);
      assert.equal(v12.version, "12");
      const search = await c.searchModelVersions({ filter: "name = 'sentiment' AND tags.i = '7'" });
      assert.deepEqual(
        search.modelVersions.map((v) => v.version),
        ["7"],
      );
    });

    test("registry: create, search, describe, tag, rename and delete registered models", async () => {
      await c.createRegisteredModel("alpha", { description: "first", tags: { owner: "me" } });
      await c.createRegisteredModel("beta");
      await c.createRegisteredModel("Alphabet");
      const found = await c.searchRegisteredModels({ filter: "name LIKE 'alpha%'" });
      assert.deepEqual(
        found.registeredModels.map((m) => m.name),
        ["alpha"],
      );
      const ci = await c.searchRegisteredModels({ filter: "name ILIKE 'alpha%'", orderBy: ["name DESC"] });
      assert.deepEqual(
        ci.registeredModels.map((m) => m.name),
        ["alpha", "Alphabet"],
      );
      const byTag = await c.searchRegisteredModels({ filter: "tags.owner = 'me'" });
      assert.deepEqual(
        byTag.registeredModels.map((m) => m.name),
        ["alpha"],
      );
      assert.equal((await c.updateRegisteredModel("beta", "second")).description, "second");
      await c.setRegisteredModelTag("beta", "k", "v");
      await c.deleteRegisteredModelTag("beta", "k");
      assert.deepEqual((await c.getRegisteredModel("beta")).tags, []);
      const exp = await c.createExperiment("rename-src");
      const { info } = await c.createRun(exp);
      await c.createModelVersion("beta", `${info.artifact_uri}/model`, { runId: info.run_id });
      await c.setRegisteredModelAlias("beta", "prod", 1);
      const renamed = await c.renameRegisteredModel("beta", "gamma");
      assert.equal(renamed.name, "gamma");
      assert.deepEqual(renamed.aliases, [{ alias: "prod", version: "1" }]);
      assert.equal((await c.getModelVersion("gamma", 1)).name, "gamma");
      await rejectsWith(c.getRegisteredModel("beta"), "RESOURCE_DOES_NOT_EXIST");
      await rejectsWith(c.renameRegisteredModel("gamma", "alpha"), "RESOURCE_ALREADY_EXISTS");
      await c.deleteRegisteredModel("gamma");
      await rejectsWith(c.getModelVersion("gamma", 1), "RESOURCE_DOES_NOT_EXIST");
      await rejectsWith(c.createModelVersion("alpha", "x", { runId: "0123456789abcdef0123456789abcdef" }), "RESOURCE_DOES_NOT_EXIST");
    });
  });
}

/**
 * One deterministic scenario with explicit timestamps. Server-assigned values (ids, creation
 * times) are replaced by stable placeholders before comparing.
 */
async function scenario(c: TrackingClient, dir: string): Promise<unknown[]> {
  const out: unknown[] = [];
  const record = async (label: string, fn: () => Promise<unknown>) => {
    try {
      out.push([label, await fn()]);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      out.push([label, "error", e.code, e.message]);
    }
  };
  const exp = await c.createExperiment("same");
  await record("dup", () => c.createExperiment("same"));
  await record("exp", () => c.getExperiment(exp));
  const runs: string[] = [];
  for (let i = 0; i < 4; i++) {
    const run = await c.createRun(exp, { runName: `run-${i}`, startTime: 100 + i, userId: "tester", tags: { "mlflow.user": "tester", i: String(i) } });
    runs.push(run.info.run_id);
    await c.logBatch(run.info.run_id, {
      metrics: [0, 1, 2].map((s) => ({ key: "acc", value: (i + s) / 10, timestamp: 1000 + s, step: s })),
      params: [{ key: "C", value: String(i) }],
      tags: [{ key: "group", value: i % 2 ? "b" : "a" }],
    });
  }
  await record("param-change", () => c.logParam(runs[0], "C", "9"));
  await record("missing-run", () => c.getRun("ffffffffffffffffffffffffffffffff"));
  await record("bad-filter", () => c.searchRuns({ experimentIds: [exp], filter: "metrics.acc => 1" }));
  await record("search", () => c.searchRuns({ experimentIds: [exp], filter: "metrics.acc >= 0.3 AND tags.group = 'a'", orderBy: ["metrics.acc DESC"] }));
  await record("page1", () => c.searchRuns({ experimentIds: [exp], maxResults: 3 }));
  await record("history", () => c.getMetricHistory(runs[2], "acc"));
  await record("end", () => c.updateRun(runs[1], { status: "FINISHED", endTime: 500 }));
  const f = join(dir, "scenario-model.json");
  writeFileSync(f, "{}");
  await c.logArtifact(runs[3], f, "model");
  await record("list", () => c.listArtifacts(runs[3], "model"));
  await record("register", () => c.registerModel(`runs:/${runs[3]}/model`, "m"));
  await record("alias", async () => {
    await c.setRegisteredModelAlias("m", "prod", 1);
    return c.getModelVersionByAlias("m", "prod");
  });
  await record("stage", () => c.transitionModelVersionStage("m", 1, "Staging"));
  await record("model", () => c.getRegisteredModel("m"));
  await record("resolve", () => c.resolveModelUri("models:/m@prod"));
  const local = await c.downloadArtifacts("models:/m/1", join(dir, "scenario-dl"));
  out.push(["downloaded", existsSync(join(local, "scenario-model.json"))]);

  const ids = new Map<string, string>(runs.map((r, i) => [r, `<run-${i}>`]));
  const volatile = new Set(["creation_time", "last_update_time", "creation_timestamp", "last_updated_timestamp"]);
  return JSON.parse(
    JSON.stringify(out, (k, v) => {
      if (volatile.has(k)) return "<time>";
      if (typeof v === "number" && Number.isNaN(v)) return "NaN";
      if (typeof v === "string") {
        let s = v;
        for (const [id, alias] of ids) s = s.split(id).join(alias);
        return s;
      }
      return v;
    }),
  );
}

test("in-process and HTTP transports give identical results for the same calls", async () => {
  const a = await inProcessHarness();
  const b = await httpHarness();
  try {
    const viaInProcess = await scenario(a.client, a.dir);
    const viaHttp = await scenario(b.client, b.dir);
    assert.deepEqual(viaHttp, viaInProcess);
    // the transcript really exercised errors and data, not just empty answers
    assert.ok(JSON.stringify(viaInProcess).includes("RESOURCE_ALREADY_EXISTS"));
    assert.ok(JSON.stringify(viaInProcess).includes("Changing param values is not allowed"));
    assert.ok(JSON.stringify(viaInProcess).includes('"downloaded",true'));
  } finally {
    await a.close();
    await b.close();
  }
});
