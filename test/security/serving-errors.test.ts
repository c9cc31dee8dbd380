import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import Fastify, { type FastifyInstance } from "fastify";
import { pino } from "pino";
import { installErrorHandler, quoteClientString } from "../../src/http/errors.js";
import { installJsonParser, jsonNestingExceeds } from "../../src/http/limits.js";
import { PolarityError, UnavailableError } from "../../src/util/errors.js";

/** A fastify app on 127.0.0.1 with the shared error path and JSON parser, logging into `lines`. */
async function app(lines: string[]) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(l);
      done();
    },
  });
  const a = Fastify({ loggerInstance: pino({ level: "info" }, sink), bodyLimit: 8 * 1024 * 1024 }) as unknown as FastifyInstance;
  installJsonParser(a);
  installErrorHandler(a, { bodyLimitHint: "--body-limit" });
  a.post("/boom", async () => {
    throw new Error("ENOENT: /srv/secret/path/store.db");
  });
  a.post("/busy", async () => {
    throw new UnavailableError("work budget exceeded", { retryAfterSeconds: 2 });
  });
  a.post("/refuse", async (request) => {
    const name = (request.body as { name: string }).name;
    throw new PolarityError("BAD_REQUEST", `unknown name ${quoteClientString(name)}`);
  });
  a.post("/echo", { bodyLimit: 2048 }, async (request) => request.body);
  await a.listen({ host: "127.0.0.1", port: 0 });
  const address = a.server.address();
  return { a, url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}` };
}

const post = async (url: string, body: string) => {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  return { status: res.status, headers: res.headers, text: await res.text() };
};

describe("shared HTTP error path (src/http): attacks replayed", () => {
  test("a 500 never returns the internal message; the log has it under exactly one msg key", async () => {
    const lines: string[] = [];
    const { a, url } = await app(lines);
    try {
      const res = await post(`${url}/boom`, "{}");
      assert.equal(res.status, 500);
      assert.deepEqual(JSON.parse(res.text), { error_code: "INTERNAL_ERROR", message: "internal server error (logged with the request id)" });
      assert.ok(!res.text.includes("/srv/secret"));
      const line = lines.find((l) => l.includes("request failed"));
      assert.ok(line && line.includes("/srv/secret"), "the cause is logged");
      for (const l of lines) assert.equal(l.match(/"msg":/g)?.length ?? 0, 1, `one msg key per line: ${l}`);
    } finally {
      await a.close();
    }
  });

  test("a refused request logs its reason in the one msg (issue 11: two msg keys lost it)", async () => {
    const lines: string[] = [];
    const { a, url } = await app(lines);
    try {
      const res = await post(`${url}/refuse`, JSON.stringify({ name: "x".repeat(3_000_000) }));
      assert.equal(res.status, 400);
      // A 3 MB client string is echoed clipped, in the body and the log line.
      assert.ok(res.text.length < 1000, `error body is ${res.text.length} bytes`);
      assert.match(JSON.parse(res.text).message, /more characters/);
      const line = lines.find((l) => l.includes("request refused"))!;
      assert.ok(line.length < 2000, `log line is ${line.length} bytes`);
      assert.equal(line.match(/"msg":/g)?.length, 1);
      assert.match(JSON.parse(line).msg, /^request refused: unknown name/);
    } finally {
      await a.close();
    }
  });

  test("deep nesting is refused before JSON.parse recurses (60 MB of '[' is not a stack overflow)", async () => {
    const lines: string[] = [];
    const { a, url } = await app(lines);
    try {
      assert.equal(jsonNestingExceeds(Buffer.from('{"a":"[[[[[[[[","b":[[1]]}'), 3), -1, "brackets inside strings do not count");
      const escaped = Buffer.from('{"a":"\\"[[[","b":[[[1]]]}');
      assert.equal(jsonNestingExceeds(escaped, 4), -1, "an escaped quote does not end the string");
      assert.equal(jsonNestingExceeds(escaped, 3), escaped.indexOf("[[[1") + 2);
      const res = await post(`${url}/echo`, `${"[".repeat(1500)}${"]".repeat(1500)}`);
      assert.equal(res.status, 413, "over the route's body limit");
      assert.match(JSON.parse(res.text).message, /--body-limit/);
      const deep = await post(`${url}/echo`, `${"[".repeat(100)}${"]".repeat(100)}`);
      assert.equal(deep.status, 400);
      assert.match(JSON.parse(deep.text).message, /nests JSON deeper than 64 levels/);
      const ok = await post(`${url}/echo`, JSON.stringify({ a: [[["fine"]]] }));
      assert.equal(ok.status, 200);
    } finally {
      await a.close();
    }
  });

  test("an unavailable error is a 503 with Retry-After", async () => {
    const lines: string[] = [];
    const { a, url } = await app(lines);
    try {
      const res = await post(`${url}/busy`, "{}");
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "2");
      assert.equal(JSON.parse(res.text).error_code, "TEMPORARILY_UNAVAILABLE");
    } finally {
      await a.close();
    }
  });
});
