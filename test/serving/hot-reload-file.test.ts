import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { join } from "node:path";
import type { RunningServer } from "../../src/serving/server.js";
import { postJson, startLocal, tempDir, trainModelJson, writeJsonAtomic } from "./fixtures.js";

const metricValue = (text: string, series: string): number => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : NaN;
};

describe("hot reload from a local model file", { timeout: 120_000 }, () => {
  const dir = tempDir();
  const file = join(dir.path, "model.json");
  let server: RunningServer;
  let base: string;

  before(async () => {
    writeJsonAtomic(file, trainModelJson(0));
    server = await startLocal(file);
    base = server.url;
  });
  after(async () => {
    await server.close();
    dir.cleanup();
  });

  test("replacing the file atomically under load swaps the model without a failed request", async () => {
    const holder = server.app.polarity.holder;
    const v1 = holder.current!.version;
    let stop = false;
    const seen: string[][] = [];
    let failures = 0;
    // 8 clients predicting continuously; each records the versions it was answered by.
    const clients = Array.from({ length: 8 }, async (_, c) => {
      seen[c] = [];
      while (!stop) {
        const res = await postJson(`${base}/predict`, { text: "a great film, I love it" });
        if (res.status !== 200) failures++;
        else seen[c].push(res.body.model.version);
      }
    });
    // Let every client complete a request on v1 before swapping.
    while (seen.filter((s) => s?.length > 0).length < 8) await new Promise((r) => setImmediate(r));
    writeJsonAtomic(file, trainModelJson(1));
    const outcome = await holder.check();
    assert.equal(outcome.kind, "swapped");
    const v2 = holder.current!.version;
    assert.notEqual(v2, v1);
    // Keep the load going until every client has been answered by the new version.
    while (seen.some((s) => s[s.length - 1] !== v2)) await new Promise((r) => setImmediate(r));
    stop = true;
    await Promise.all(clients);
    assert.equal(failures, 0);
    for (const versions of seen) {
      // Each client sees v1 then v2, never going back: the swap is atomic.
      const firstV2 = versions.indexOf(v2);
      assert.ok(firstV2 > 0);
      assert.ok(versions.slice(0, firstV2).every((v) => v === v1));
      assert.ok(versions.slice(firstV2).every((v) => v === v2));
    }
  });

  test("a corrupt new file is refused and counted; the old model keeps serving; a good file is then accepted", async () => {
    const holder = server.app.polarity.holder;
    const serving = holder.current!.version;
    const metricsBefore = await (await fetch(`${base}/metrics`)).text();
    const failuresBefore = metricValue(metricsBefore, 'model_reload_total{result="failure"}');

    writeJsonAtomic(file, '{"format": "polarity.sentiment-model", "version": 1, "classifier": ');
    const refused = await holder.check();
    assert.equal(refused.kind, "refused");
    assert.match((refused as { error: string }).error, /not valid JSON/);
    assert.equal(holder.current!.version, serving);
    const res = await postJson(`${base}/predict`, { text: "I love it" });
    assert.equal(res.status, 200);
    assert.equal(res.body.model.version, serving);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);

    // The same bad version is not retried (nor counted again) on the next poll.
    assert.equal((await holder.check()).kind, "skipped-known-bad");
    const metricsAfter = await (await fetch(`${base}/metrics`)).text();
    assert.equal(metricValue(metricsAfter, 'model_reload_total{result="failure"}'), failuresBefore + 1);

    // Valid JSON that is not a model is refused too.
    writeJsonAtomic(file, { format: "something-else" });
    assert.equal((await holder.check()).kind, "refused");
    assert.equal(holder.current!.version, serving);

    writeJsonAtomic(file, trainModelJson(2));
    assert.equal((await holder.check()).kind, "swapped");
    assert.notEqual(holder.current!.version, serving);
  });

  test("polling picks up a replaced file by itself", async () => {
    const holder = server.app.polarity.holder;
    const before = holder.current!.version;
    const swapped = once(holder, "swap");
    holder.startPolling(25);
    writeJsonAtomic(file, trainModelJson(3));
    const [next] = (await swapped) as [{ version: string }];
    holder.stopPolling();
    assert.notEqual(next.version, before);
    const res = await postJson(`${base}/predict`, { text: "terrible" });
    assert.equal(res.body.model.version, next.version);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.ok(metrics.includes(`model_info{name="model",version="${next.version}",alias=""} 1`));
    assert.ok(!metrics.includes(`version="${before}"`), "the old model_info series is removed");
  });
});
