import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { postJson, tempDir, trainModelJson, writeJsonAtomic } from "../serving/fixtures.js";
import { ServeProcess, get } from "../serving/serve-process.js";

/**
 * Issue 9 items 10, 13 and 14, replayed against `polarity serve` as a real process on
 * 127.0.0.1 (one server with auth on, one without).
 */
describe("bounded work, bounded echoes, auth and headers", { timeout: 240_000 }, () => {
  const dir = tempDir();
  const model = join(dir.path, "model.json");
  let open: ServeProcess;
  let locked: ServeProcess;
  let url = "";
  let lockedUrl = "";
  before(async () => {
    writeJsonAtomic(model, trainModelJson());
    open = new ServeProcess(["--model", model, "--port", "0", "--max-inflight-chars", "300000"]);
    locked = new ServeProcess(["--model", model, "--port", "0"], {
      POLARITY_SERVE_TOKEN: "t0ken-s3cret",
      POLARITY_SERVE_USERNAME: "ops",
      POLARITY_SERVE_PASSWORD: "pw",
    });
    [url, lockedUrl] = await Promise.all([open.url(), locked.url()]);
  });
  after(() => {
    open.child.kill("SIGKILL");
    locked.child.kill("SIGKILL");
    dir.cleanup();
  });

  test("item 10: 209 texts × 20,000 characters with explain and top_k 1000 is refused at once, not 6 s and 67 MB", async () => {
    const res = await postJson(`${url}/predict`, { texts: Array.from({ length: 209 }, () => "good ".repeat(4000)), explain: true, top_k: 1000 });
    assert.equal(res.status, 413);
    assert.match(res.body.message, /explain is limited to|characters in all/);
    assert.ok(JSON.stringify(res.body).length < 1000, "a short error, not 67 MB of explanations");
    const chars = await postJson(`${url}/predict`, { texts: Array.from({ length: 150 }, () => "bad ".repeat(5000)) });
    assert.equal(chars.status, 413);
    assert.match(chars.body.message, /--max-batch-chars/);
  });

  test("item 10: empty and whitespace-only texts are a 400 naming the index", async () => {
    const res = await postJson(`${url}/predict`, { texts: ["fine", " \n\t "] });
    assert.equal(res.status, 400);
    assert.equal(res.body.message, "text 1 is empty or only whitespace");
    assert.equal((await postJson(`${url}/predict`, { text: "" })).status, 400);
    assert.equal((await postJson(`${url}/invocations`, { inputs: ["ok", ""] })).status, 400);
  });

  test("item 10: large batches beyond the in-flight work budget are shed with 503 + Retry-After; the rest are answered", async () => {
    // 4 × 2,500 texts × 100 characters = 250,000 characters each, off the event loop; budget 300,000.
    const batch = {
      texts: Array.from({ length: 2500 }, (_, i) => `review ${i}: the product was fine, delivery quick, would maybe buy again ok`.padEnd(100, ".")),
    };
    let shed = 0;
    // The pool starts in the background after the model loads: retry until it scores off the loop.
    for (let attempt = 0; attempt < 10 && shed === 0; attempt++) {
      const results = await Promise.all(Array.from({ length: 4 }, () => postJson(`${url}/predict`, batch)));
      for (const r of results) {
        if (r.status === 503) {
          shed++;
          assert.equal(r.headers.get("retry-after"), "1");
          assert.equal(r.body.error_code, "TEMPORARILY_UNAVAILABLE");
        } else {
          assert.equal(r.status, 200);
          assert.equal(r.body.predictions.length, 2500);
        }
      }
    }
    assert.ok(shed > 0, "some requests were shed");
    assert.match((await get(`${url}/metrics`)).body, /^app_load_shed_total [1-9]\d*$/m);
  });

  test("item 13: a 3 MB V2 model name is echoed clipped; an oversized x-request-id is replaced", async () => {
    const name = "n".repeat(3_000_000);
    const res = await postJson(`${url}/v2/models/model/infer`, {
      inputs: [
        { name, shape: [1], datatype: "BYTES", data: ["hi"] },
        { name: "b", shape: [1], datatype: "BYTES", data: ["x"] },
      ],
    });
    assert.equal(res.status, 400);
    assert.ok(JSON.stringify(res.body).length < 2000, `error body of ${JSON.stringify(res.body).length} bytes`);
    const longId = "i".repeat(10_000);
    const echoed = await fetch(`${url}/healthz`, { headers: { "x-request-id": longId } });
    const id = echoed.headers.get("x-request-id")!;
    assert.ok(id.length <= 128 && id !== longId);
    const kept = await fetch(`${url}/healthz`, { headers: { "x-request-id": "trace-42.a" } });
    assert.equal(kept.headers.get("x-request-id"), "trace-42.a");
    for (const line of open.logLines) assert.ok(JSON.stringify(line).length < 4096, "no log line carries the 3 MB string");
  });

  test("item 14: with a token or Basic credentials set, prediction routes need them (strictly parsed); probes do not", async () => {
    const body = JSON.stringify({ text: "great" });
    const call = (path: string, authorization?: string) =>
      fetch(`${lockedUrl}${path}`, { method: "POST", headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) }, body });
    const none = await call("/predict");
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /Bearer/);
    assert.equal((await call("/predict", "Bearer t0ken-s3cret")).status, 200);
    assert.equal((await call("/predict", "Bearer t0ken-s3cret junk")).status, 401);
    assert.equal((await call("/predict", "Bearer wrong")).status, 401);
    assert.equal((await call("/predict", `Basic ${Buffer.from("ops:pw").toString("base64")}`)).status, 200);
    assert.equal((await call("/predict", `Basic ${Buffer.from("ops:pw").toString("base64")} junk`)).status, 401);
    assert.equal((await call("/invocations")).status, 401);
    assert.equal((await fetch(`${lockedUrl}/metrics`)).status, 401);
    assert.equal((await fetch(`${lockedUrl}/healthz`)).status, 200);
    const ready = await fetch(`${lockedUrl}/readyz`);
    assert.equal(ready.status, 200);
    const readyText = await ready.text();
    assert.ok(!readyText.includes(dir.path) && !/source|tracking|file /.test(readyText), `readyz says ${readyText}`);
  });

  test("item 14: the page carries CSP (frame-ancestors 'none'), X-Frame-Options and nosniff", async () => {
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    const csp = page.headers.get("content-security-policy") ?? "";
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
    assert.doesNotMatch(csp, /script-src[^;]*unsafe-inline/);
    assert.equal(page.headers.get("x-frame-options"), "DENY");
    assert.equal(page.headers.get("x-content-type-options"), "nosniff");
    const docs = await fetch(`${url}/docs`);
    assert.match(docs.headers.get("content-security-policy") ?? "", /frame-ancestors 'none'/);
    assert.equal((await fetch(`${url}/favicon.ico`)).status, 204);
  });
});
