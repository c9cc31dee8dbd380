import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, renameSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { join } from "node:path";
import { postJson, tempDir, trainModelJson, writeJsonAtomic } from "../serving/fixtures.js";
import { ServeProcess, get } from "../serving/serve-process.js";

/**
 * Issue 9 items 9 and 12, replayed against `polarity serve` as a real process: a large
 * corrupt version, an oversized one and one with ±1e300 coefficients appear while the server
 * is serving. Before the fix the corrupt one was parsed on the event loop (a 160 MB file
 * stalled /healthz for 15 s) and the absurd one was swapped in and answered 0/1 with certainty.
 */
describe("hot reload guards the event loop and refuses absurd versions", { timeout: 240_000 }, () => {
  const dir = tempDir();
  const model = join(dir.path, "model.json");
  let proc: ServeProcess;
  let url = "";
  let servedVersion = "";
  const refusals = () => proc.logLines.filter((l) => typeof l.msg === "string" && l.msg.includes("failed to load and was refused")).length;
  // Bounded: a refusal that never comes fails the test instead of hanging the suite.
  const waitForRefusals = (n: number) =>
    Promise.race([
      proc.waitForLog(() => refusals() >= n),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no refusal #${n} within 60 s`)), 60_000).unref()),
    ]);

  before(async () => {
    writeJsonAtomic(model, trainModelJson());
    proc = new ServeProcess(["--model", model, "--port", "0", "--poll-interval", "100", "--max-model-bytes", "60000000"]);
    url = await proc.url();
    servedVersion = (await postJson(`${url}/predict`, { text: "fine" })).body.model.version;
  });
  after(() => {
    proc.child.kill("SIGKILL");
    dir.cleanup();
  });

  /** Latencies (ms) of back-to-back /healthz calls on one kept-alive connection until `until` resolves. */
  async function healthLatencies(until: Promise<unknown>): Promise<number[]> {
    until.catch(() => {});
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let done = false;
    void until.then(() => (done = true));
    const out: number[] = [];
    const deadline = Date.now() + 60_000;
    while (!done && Date.now() < deadline) {
      const t0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        httpRequest(`${url}/healthz`, { agent }, (res) => {
          res.resume();
          res.on("end", resolve);
        })
          .on("error", reject)
          .end();
      });
      out.push(performance.now() - t0);
    }
    agent.destroy();
    return out.sort((a, b) => a - b);
  }

  test("item 9: a 55 MB corrupt version is checked off the event loop: /healthz p99 stays low, the old model keeps serving", async () => {
    // Valid JSON (so the whole file must be parsed) that is not a model.
    const junk = `{"format":"polarity.sentiment-model","version":1,"vectorizer":{"kind":"tfidf","vocabulary":[${Array.from({ length: 8_000_000 }, (_, i) => i % 9973).join(",")}]}}`;
    assert.ok(junk.length > 20_000_000 && junk.length < 60_000_000);
    // The machine is shared: compare with /healthz measured the same way just before.
    const baseline = await healthLatencies(new Promise((r) => setTimeout(r, 2000)));
    const baseP99 = baseline[Math.min(baseline.length - 1, Math.floor(baseline.length * 0.99))];
    const tmp = `${model}.tmp`;
    writeFileSync(tmp, junk);
    const refused = waitForRefusals(1);
    renameSync(tmp, model);
    const latencies = await healthLatencies(refused);
    const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))];
    assert.ok(latencies.length >= 20, `${latencies.length} health checks during the reload`);
    await refused;
    // Parsing the file on the event loop stalls it for its whole parse (~0.5 s idle, seconds under load).
    assert.ok(p99 < 3 * baseP99 + 150, `/healthz p99 during the reload ${p99.toFixed(1)} ms vs ${baseP99.toFixed(1)} ms before (n=${latencies.length})`);
    const line = proc.logLines.find((l) => typeof l.msg === "string" && l.msg.includes("failed to load and was refused"))!;
    assert.match(String(line.err), /is not a valid model/);
    assert.equal((await postJson(`${url}/predict`, { text: "fine" })).body.model.version, servedVersion);
  });

  test("item 9: a version over --max-model-bytes is refused with the limit named, before it is read", async () => {
    const tmp = `${model}.tmp`;
    writeFileSync(tmp, Buffer.alloc(61_000_000, 0x20));
    const refused = waitForRefusals(2);
    renameSync(tmp, model);
    await refused;
    const line = proc.logLines.filter((l) => typeof l.msg === "string" && l.msg.includes("failed to load and was refused"))[1];
    assert.match(String(line.err), /over the limit of 60000000 \(--max-model-bytes/);
  });

  test("item 12: a version with ±1e300 coefficients fails the canary check, is counted, and is not served", async () => {
    const json = structuredClone(trainModelJson()) as { classifier: { coef: number[]; intercept: number | number[] } };
    json.classifier.coef = json.classifier.coef.map((c) => (c >= 0 ? 1e300 : -1e300));
    const refused = waitForRefusals(3);
    writeJsonAtomic(model, json);
    await refused;
    const line = proc.logLines.filter((l) => typeof l.msg === "string" && l.msg.includes("failed to load and was refused"))[2];
    assert.match(String(line.err), /canary check failed/);
    const metrics = (await get(`${url}/metrics`)).body;
    assert.match(metrics, /^model_canary_refusals_total 1$/m);
    const res = await postJson(`${url}/predict`, { text: "fine" });
    assert.equal(res.body.model.version, servedVersion);
    assert.ok(res.body.score < 0.999, "still the sane model's probabilities");
    // A sane new version is still accepted afterwards.
    const swapped = proc.waitForLog((l) => typeof l.msg === "string" && l.msg.startsWith("model swapped"));
    writeJsonAtomic(model, trainModelJson(1));
    await swapped;
  });
});
