import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { TrackingClient } from "../../src/tracking/client.js";
import { startTrackingServer } from "../../src/tracking/server.js";
import { startServing, type RunningServer } from "../../src/serving/server.js";
import { postJson, tempDir, trainModelJson, writeJsonAtomic } from "./fixtures.js";

const metricValue = (text: string, series: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : NaN;
};

/**
 * The hot-reload story against a REAL tracking store: the embedded SQLite store and artifact
 * directory in a temp dir, written through the TrackingClient as the pipeline does.
 */
describe("serving from the model registry (embedded SQLite tracking store)", { timeout: 120_000 }, () => {
  const dir = tempDir("polarity-serving-registry-");
  const trackingUri = dir.path;
  let client: TrackingClient;
  let experimentId: string;

  /** Logs `modelJson` as a run's `model/model.json` and registers it as the next version of `name`. */
  async function registerVersion(name: string, modelJson: unknown): Promise<string> {
    const run = await client.createRun(experimentId);
    const local = join(dir.path, `upload-${run.info.run_id}`);
    mkdirSync(local);
    writeJsonAtomic(join(local, "model.json"), modelJson);
    await client.logArtifact(run.info.run_id, join(local, "model.json"), "model");
    await client.endRun(run.info.run_id);
    return (await client.registerModel(`runs:/${run.info.run_id}/model`, name)).version;
  }

  const serve = (modelUri: string): Promise<RunningServer> =>
    startServing({ modelUri, trackingUri, host: "127.0.0.1", port: 0, pollIntervalMs: 0, logLevel: "silent", handleSignals: false });

  before(async () => {
    client = TrackingClient.open({ trackingUri });
    experimentId = await client.getOrCreateExperiment("serving-tests");
  });
  after(async () => {
    await client.close();
    dir.cleanup();
  });

  test("without @production or @staging the newest version is served, versions compared as numbers", async () => {
    const first = await registerVersion("numbers", trainModelJson(0));
    // Versions 2..10 share the same artifacts; "10" must win over "9".
    const run = (await client.getModelVersion("numbers", first)).run_id;
    for (let i = 2; i <= 10; i++) await client.registerModel(`runs:/${run}/model`, "numbers");
    const server = await serve("models:/numbers@production");
    try {
      const res = await postJson(`${server.url}/predict`, { text: "I love it" });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.model, { name: "numbers", version: "10" });
    } finally {
      await server.close();
    }
  });

  test("@production falls back to @staging, and moves to @production once it is set", async () => {
    const v1 = await registerVersion("fallback", trainModelJson(0));
    const v2 = await registerVersion("fallback", trainModelJson(1));
    await client.setRegisteredModelAlias("fallback", "staging", v1);
    const server = await serve("models:/fallback@production");
    try {
      assert.deepEqual((await postJson(`${server.url}/predict`, { text: "great" })).body.model, { name: "fallback", version: v1, alias: "staging" });
      // @production set to the version already served: no reload, only the alias reported changes.
      await client.setRegisteredModelAlias("fallback", "production", v1);
      assert.equal((await server.app.polarity.holder.check()).kind, "unchanged");
      assert.deepEqual((await postJson(`${server.url}/predict`, { text: "great" })).body.model, { name: "fallback", version: v1, alias: "production" });
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, new RegExp(`^model_info\\{name="fallback",version="${v1}",alias="production"\\} 1$`, "m"));
      assert.doesNotMatch(metrics, /alias="staging"/);
      assert.match(metrics, /^model_reload_total\{result="success"\} 1$/m);
      await client.setRegisteredModelAlias("fallback", "production", v2);
      assert.equal((await server.app.polarity.holder.check()).kind, "swapped");
      assert.deepEqual((await postJson(`${server.url}/predict`, { text: "great" })).body.model, { name: "fallback", version: v2, alias: "production" });
    } finally {
      await server.close();
    }
  });

  test("the same registry served over HTTP by `polarity server`: alias moves are picked up", async () => {
    const v1 = await registerVersion("remote", trainModelJson(0));
    const v2 = await registerVersion("remote", trainModelJson(1));
    await client.setRegisteredModelAlias("remote", "production", v1);
    const tracking = await startTrackingServer({ backendStoreUri: join(dir.path, "mlruns.db"), artifactsDestination: join(dir.path, "mlartifacts"), port: 0 });
    const server = await startServing({
      modelUri: "models:/remote@production",
      trackingUri: tracking.url,
      host: "127.0.0.1",
      port: 0,
      pollIntervalMs: 0,
      logLevel: "silent",
      handleSignals: false,
    });
    try {
      assert.match(server.app.polarity.holder.source.describe(), /tracking http:\/\/127\.0\.0\.1:\d+/);
      assert.deepEqual((await postJson(`${server.url}/predict`, { text: "great" })).body.model, { name: "remote", version: v1, alias: "production" });
      await client.setRegisteredModelAlias("remote", "production", v2);
      assert.equal((await server.app.polarity.holder.check()).kind, "swapped");
      assert.deepEqual((await postJson(`${server.url}/predict`, { text: "great" })).body.model, { name: "remote", version: v2, alias: "production" });
    } finally {
      await server.close();
      await tracking.close();
    }
  });

  test("an explicit version or a missing model: exact resolution, clear startup error", async () => {
    const v1 = await registerVersion("exact", trainModelJson(0));
    const server = await serve(`models:/exact/${v1}`);
    try {
      assert.equal((await postJson(`${server.url}/predict`, { text: "fine" })).body.model.version, v1);
    } finally {
      await server.close();
    }
    await assert.rejects(serve("models:/no-such-model@production"), /cannot load a model from models:\/no-such-model@production.*no-such-model/);
    await assert.rejects(serve("models:/exact@champion"), /no alias 'champion'/);
  });

  test("moving the alias under load: the new version is served without a failed request; a corrupt version is refused and counted", async () => {
    const v1 = await registerVersion("sentiment", trainModelJson(0));
    const v2 = await registerVersion("sentiment", trainModelJson(1));
    await client.setRegisteredModelAlias("sentiment", "production", v1);
    const server = await serve("models:/sentiment@production");
    const base = server.url;
    const holder = server.app.polarity.holder;
    try {
      assert.equal(holder.current!.version, v1);
      let stop = false;
      let failures = 0;
      const seen: string[][] = Array.from({ length: 8 }, () => []);
      const clients = seen.map(async (versions) => {
        while (!stop) {
          const res = await postJson(`${base}/predict`, { texts: ["what a great movie", "awful, boring and too long"] });
          if (res.status !== 200) failures++;
          else versions.push(res.body.model.version);
        }
      });
      while (seen.some((s) => s.length === 0)) await new Promise((r) => setImmediate(r));

      // Move the alias and let the poller notice it (event-driven wait, no sleeps).
      const swapped = once(holder, "swap");
      holder.startPolling(20);
      await client.setRegisteredModelAlias("sentiment", "production", v2);
      await swapped;
      holder.stopPolling();
      assert.equal(holder.current!.version, v2);
      while (seen.some((s) => s[s.length - 1] !== v2)) await new Promise((r) => setImmediate(r));
      stop = true;
      await Promise.all(clients);
      assert.equal(failures, 0, "no request failed during the swap");
      for (const versions of seen) {
        const i = versions.indexOf(v2);
        assert.ok(i > 0 && versions.slice(0, i).every((v) => v === v1) && versions.slice(i).every((v) => v === v2));
      }

      // A corrupt version 3 (truncated JSON) moved to production is refused; v2 keeps serving.
      const v3 = await registerVersion("sentiment", '{"format":"polarity.sentiment-model","version":1,"vectorizer":{');
      await client.setRegisteredModelAlias("sentiment", "production", v3);
      const outcome = await holder.check();
      assert.equal(outcome.kind, "refused");
      assert.match((outcome as { error: string }).error, /not valid JSON/);
      const res = await postJson(`${base}/predict`, { text: "I love this" });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.model, { name: "sentiment", version: v2, alias: "production" });
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.equal(metricValue(metrics, 'model_reload_total{result="failure"}'), 1);
      assert.equal(metricValue(metrics, 'model_reload_total{result="success"}'), 2);
      assert.equal(metricValue(metrics, `model_info{name="sentiment",version="${v2}",alias="production"}`), 1);

      // A model of the wrong shape (valid JSON, not a model) is refused the same way.
      const v4 = await registerVersion("sentiment", { format: "polarity.sentiment-model", version: 99 });
      await client.setRegisteredModelAlias("sentiment", "production", v4);
      const wrong = await holder.check();
      assert.equal(wrong.kind, "refused");
      assert.match((wrong as { error: string }).error, /unsupported version 99/);
      assert.equal(holder.current!.version, v2);

      // Moving the alias back to a good version is picked up again.
      await client.setRegisteredModelAlias("sentiment", "production", v1);
      assert.equal((await holder.check()).kind, "swapped");
      assert.equal(holder.current!.version, v1);
    } finally {
      await server.close();
    }
  });
});
