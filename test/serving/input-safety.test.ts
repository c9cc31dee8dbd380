import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import type { RunningServer } from "../../src/serving/server.js";
import { postJson, startLocal, tempDir, trainModelJson, writeJsonAtomic } from "./fixtures.js";

/** Sends raw bytes (fetch would re-encode invalid UTF-8) and returns status + parsed JSON body. */
function rawPost(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; body: { error_code?: string; message?: string } }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers: { ...headers, "content-length": String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("input safety: every bad input gets a clear JSON error, never a 500 or a crash", () => {
  const dir = tempDir();
  let server: RunningServer;
  let base: string;
  const limits = { maxTextLength: 500, maxBatchSize: 20, bodyLimitBytes: 16 * 1024 };

  before(async () => {
    const file = join(dir.path, "model.json");
    writeJsonAtomic(file, trainModelJson());
    server = await startLocal(file, limits);
    base = server.url;
  });
  after(async () => {
    await server.close();
    dir.cleanup();
  });

  const expectError = (res: { status: number; body: { error_code?: string; message?: string } }, status: number, code: string, message?: RegExp) => {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.error_code, code);
    assert.equal(typeof res.body.message, "string");
    if (message) assert.match(res.body.message!, message);
  };

  test("a body over the size limit is 413 PAYLOAD_TOO_LARGE", async () => {
    const res = await postJson(`${base}/predict`, { texts: Array.from({ length: 10 }, () => "x".repeat(4000)) });
    expectError(res, 413, "PAYLOAD_TOO_LARGE", /body is larger/);
  });

  test("a text over maxTextLength is 413 on /predict, /invocations and V2", async () => {
    const long = "good ".repeat(101);
    expectError(await postJson(`${base}/predict`, { text: long }), 413, "PAYLOAD_TOO_LARGE", /500 characters/);
    expectError(await postJson(`${base}/predict`, { texts: ["ok", long] }), 413, "PAYLOAD_TOO_LARGE");
    expectError(await postJson(`${base}/invocations`, { inputs: ["ok", long] }), 413, "PAYLOAD_TOO_LARGE", /text 1 has 505 characters/);
    const name = server.app.polarity.holder.current!.name;
    expectError(
      await postJson(`${base}/v2/models/${name}/infer`, { inputs: [{ name: "text", shape: [1], datatype: "BYTES", data: [long] }] }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    const form = await fetch(`${base}/predict`, { method: "POST", body: new URLSearchParams({ text: long }) });
    assert.equal(form.status, 413);
  });

  test("text length is counted in UTF-16 code units (String.length) on every route", async () => {
    const emoji = "😀".repeat(250); // 250 characters, 500 code units: exactly the limit
    assert.equal((await postJson(`${base}/predict`, { text: emoji })).status, 200);
    assert.equal((await postJson(`${base}/invocations`, { inputs: [emoji] })).status, 200);
    expectError(await postJson(`${base}/predict`, { text: `${emoji}!` }), 413, "PAYLOAD_TOO_LARGE");
    expectError(await postJson(`${base}/invocations`, { inputs: [`${emoji}!`] }), 413, "PAYLOAD_TOO_LARGE", /501 characters/);
  });

  test("a batch over maxBatchSize is 413", async () => {
    const texts = Array.from({ length: 21 }, (_, i) => `text ${i}`);
    expectError(await postJson(`${base}/predict`, { texts }), 413, "PAYLOAD_TOO_LARGE", /20/);
    expectError(await postJson(`${base}/invocations`, { dataframe_records: texts.map((text) => ({ text })) }), 413, "PAYLOAD_TOO_LARGE");
    expectError(await postJson(`${base}/invocations`, { inputs: { text: texts } }), 413, "PAYLOAD_TOO_LARGE", /batch of 21 texts/);
  });

  test("a content type a route does not take is 415 UNSUPPORTED_MEDIA_TYPE", async () => {
    for (const [path, type] of [
      ["/predict", "text/plain"],
      ["/predict", "application/xml"],
      ["/predict", "text/csv"],
      ["/invocations", "text/plain"],
      ["/invocations", "application/x-www-form-urlencoded"],
      ["/v2/models/m/infer", "text/csv"],
    ]) {
      const res = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": type }, body: "text=hello" });
      assert.equal(res.status, 415, `${path} ${type}`);
      assert.equal(((await res.json()) as { error_code: string }).error_code, "UNSUPPORTED_MEDIA_TYPE");
    }
  });

  test("a body without a content type is 415", async () => {
    const res = await rawPost(`${base}/predict`, Buffer.from('{"text":"hi"}'), {});
    expectError(res, 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  test("invalid JSON, an empty body and invalid UTF-8 are 400 BAD_REQUEST", async () => {
    expectError(await postJson(`${base}/predict`, '{"text": "unterminated'), 400, "BAD_REQUEST", /not valid JSON/);
    expectError(await rawPost(`${base}/predict`, Buffer.alloc(0), { "content-type": "application/json" }), 400, "BAD_REQUEST", /empty/);
    const invalidUtf8 = Buffer.concat([Buffer.from('{"text":"caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    expectError(await rawPost(`${base}/predict`, invalidUtf8, { "content-type": "application/json" }), 400, "BAD_REQUEST", /UTF-8/);
    expectError(
      await rawPost(`${base}/invocations`, Buffer.from([0x74, 0x65, 0x78, 0x74, 0x0a, 0xff, 0xfe]), { "content-type": "text/csv" }),
      400,
      "BAD_REQUEST",
      /UTF-8/,
    );
    expectError(
      await rawPost(`${base}/predict`, Buffer.from([0x74, 0x65, 0x78, 0x74, 0x3d, 0xff]), { "content-type": "application/x-www-form-urlencoded" }),
      400,
      "BAD_REQUEST",
      /UTF-8/,
    );
  });

  test("JSON that does not match the schema is 400 with the offending field named", async () => {
    expectError(await postJson(`${base}/predict`, { text: 42 }), 400, "BAD_REQUEST", /text must be string/);
    expectError(await postJson(`${base}/predict`, { texts: "not a list" }), 400, "BAD_REQUEST", /texts must be array/);
    expectError(await postJson(`${base}/predict`, { texts: [] }), 400, "BAD_REQUEST", /texts must NOT have fewer than 1 items/);
    expectError(await postJson(`${base}/predict`, { text: "a", texts: ["b"] }), 400, "BAD_REQUEST", /exactly one of/);
    expectError(await postJson(`${base}/predict`, {}), 400, "BAD_REQUEST", /exactly one of/);
    expectError(await postJson(`${base}/predict`, { text: "a", extra: 1 }), 400, "BAD_REQUEST", /additional properties/);
    expectError(await postJson(`${base}/predict`, [1, 2]), 400, "BAD_REQUEST", /must be object/);
    expectError(await postJson(`${base}/predict`, { text: "a", top_k: 0 }), 400, "BAD_REQUEST", /top_k/);
    const name = server.app.polarity.holder.current!.name;
    expectError(await postJson(`${base}/v2/models/${name}/infer`, { inputs: "x" }), 400, "BAD_REQUEST", /inputs must be array/);
  });

  test("deeply nested JSON is a 400, not a stack overflow", async () => {
    const name = server.app.polarity.holder.current!.name;
    const deep = (n: number) => `${"[".repeat(n)}"x"${"]".repeat(n)}`;
    for (const n of [3, 5000]) {
      const body = `{"inputs":[{"name":"text","shape":[1,1],"datatype":"BYTES","data":[${deep(n)}]}]}`;
      // Shallow: the route's own check; deep: refused by the parser's nesting guard before JSON.parse.
      expectError(
        await postJson(`${base}/v2/models/${name}/infer`, body),
        400,
        "BAD_REQUEST",
        n < 64 ? /nested deeper than its shape allows/ : /nests JSON deeper than 64 levels/,
      );
      expectError(
        await postJson(`${base}/invocations`, `{"inputs":[${deep(n)}]}`),
        400,
        "BAD_REQUEST",
        n < 64 ? /must be a string/ : /nests JSON deeper than 64 levels/,
      );
    }
    const nested = await postJson(`${base}/v2/models/${name}/infer`, {
      inputs: [{ name: "text", shape: [2, 1], datatype: "BYTES", data: [["good"], ["bad"]] }],
    });
    assert.equal(nested.status, 200);
  });

  test("JSON prototype-poisoning payloads are refused", async () => {
    expectError(await postJson(`${base}/predict`, '{"text":"a","__proto__":{"polluted":true}}'), 400, "BAD_REQUEST");
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  });

  test("unknown routes are 404 ENDPOINT_NOT_FOUND as JSON", async () => {
    const res = await fetch(`${base}/predictions`);
    assert.equal(res.status, 404);
    assert.deepEqual(Object.keys((await res.json()) as object).sort(), ["error_code", "message"]);
  });

  test("after all of the above the server still answers and no response was a 500", async () => {
    const res = await postJson(`${base}/predict`, { text: "I love it" });
    assert.equal(res.status, 200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.doesNotMatch(metrics, /status_code="5\d\d"/);
    assert.match(metrics, /app_error_count_total\{status_code="413"\} \d+/);
    assert.match(metrics, /app_error_count_total\{status_code="415"\} \d+/);
  });
});
