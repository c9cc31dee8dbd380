import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildServer } from "../../src/serving/app.js";
import { LocalFileModelSource } from "../../src/serving/model-source.js";
import { parseModel, postJson, tempDir, trainModelJson, writeJsonAtomic } from "./fixtures.js";

test("before a model is loaded: live but not ready, predictions 503 TEMPORARILY_UNAVAILABLE; ready once the model appears", async () => {
  const dir = tempDir();
  const file = join(dir.path, "model.json");
  const app = await buildServer({ source: new LocalFileModelSource(file, parseModel), config: { logLevel: "silent" } });
  try {
    await app.listen({ host: "127.0.0.1", port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    // The model file does not exist yet: the first check fails to resolve and nothing is served.
    assert.equal((await app.polarity.holder.check()).kind, "resolve-failed");
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { status: "loading" });
    assert.equal((await fetch(`${base}/ping`)).status, 404);
    assert.equal((await fetch(`${base}/v2/health/ready`)).status, 503);
    const res = await postJson(`${base}/predict`, { text: "hello" });
    assert.equal(res.status, 503);
    assert.equal(res.body.error_code, "TEMPORARILY_UNAVAILABLE");
    assert.equal((await postJson(`${base}/invocations`, { inputs: ["hello"] })).status, 503);
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /No model loaded yet/);

    writeJsonAtomic(file, trainModelJson());
    assert.equal((await app.polarity.holder.check()).kind, "swapped");
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    assert.equal((await postJson(`${base}/predict`, { text: "hello" })).status, 200);
  } finally {
    await app.close();
    dir.cleanup();
  }
});
