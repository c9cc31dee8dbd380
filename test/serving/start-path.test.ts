import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../../src/serving/app.js";
import { OFF_THREAD_HASH_MIN_BYTES, readWholeFile, sha256Hex, sha256HexAsync } from "../../src/serving/file-hash.js";
import { LocalFileModelSource } from "../../src/serving/model-source.js";
import { HealthBody, ReadyBody } from "../../src/serving/schemas.js";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import { DataError } from "../../src/util/errors.js";
import { parseModel, tempDir, trainModelJson, writeJsonAtomic } from "./fixtures.js";

/**
 * The start → ready path (issue 12): route schemas compiled at first use (lazy-schemas.ts)
 * must answer exactly as fastify's eager compilers; the probes' JSON.stringify answers must be
 * fast-json-stringify's bytes; a model file is read once and hashed off the main thread for
 * its version id, and the first version is built while it is hashed (model-source.ts,
 * file-hash.ts).
 */

describe("route schemas compiled at first use answer as fastify's eager compilers", { timeout: 120_000 }, () => {
  const dir = tempDir();
  const model = join(dir.path, "model.json");
  let lazy: FastifyInstance;
  let eager: FastifyInstance;

  before(async () => {
    writeJsonAtomic(model, trainModelJson());
    const build = async (lazySchemas: boolean) => {
      const app = await buildServer({
        source: new LocalFileModelSource(model, parseModel),
        config: { logLevel: "silent" },
        monitoring: { enabled: false },
        lazySchemas,
      });
      await app.polarity.holder.loadInitial();
      await app.ready();
      return app;
    };
    lazy = await build(true);
    eager = await build(false);
  });
  after(async () => {
    await lazy?.close();
    await eager?.close();
    dir.cleanup();
  });

  test("nothing is compiled by ready(); every pending schema compiles", () => {
    const schemas = lazy.polarity.schemas!;
    assert.equal(schemas.compiled, 0, "no schema compiled during start-up");
    assert.ok(schemas.pendingCount > 20, `${schemas.pendingCount} schemas pending`);
    assert.equal(eager.polarity.schemas, null);
  });

  const requests: Array<{ method: "GET" | "POST"; url: string; payload?: unknown; headers?: Record<string, string> }> = [
    { method: "POST", url: "/predict", payload: { text: "great phone" } },
    { method: "POST", url: "/predict", payload: { texts: ["great", "awful"] } },
    { method: "POST", url: "/predict", payload: { text: "great", explain: true } },
    { method: "POST", url: "/predict", payload: { text: 3 } },
    { method: "POST", url: "/predict", payload: { text: "a", extra: 1 } },
    { method: "POST", url: "/predict", payload: { texts: [] } },
    { method: "POST", url: "/predict", payload: { texts: ["ok", 5] } },
    { method: "POST", url: "/predict", payload: {} },
    { method: "POST", url: "/predict", payload: "not json", headers: { "content-type": "application/json" } },
    { method: "POST", url: "/predict", payload: "text=hi", headers: { "content-type": "application/x-www-form-urlencoded" } },
    { method: "POST", url: "/invocations", payload: { inputs: ["good", "bad"] } },
    { method: "POST", url: "/invocations", payload: { dataframe_split: { columns: ["text"], data: [["good"], ["bad"]] } } },
    { method: "POST", url: "/invocations", payload: { inputs: 7 } },
    { method: "GET", url: "/ping" },
    { method: "GET", url: "/version" },
    { method: "GET", url: "/v2" },
    { method: "GET", url: "/v2/health/live" },
    { method: "GET", url: "/v2/health/ready" },
    { method: "GET", url: "/v2/models/model" },
    { method: "GET", url: "/v2/models/nope/ready" },
    {
      method: "POST",
      url: "/v2/models/model/infer",
      payload: { inputs: [{ name: "text", shape: [2], datatype: "BYTES", data: ["good", "bad"] }] },
    },
    { method: "POST", url: "/v2/models/model/infer", payload: { inputs: [{ name: "text", shape: [1], datatype: "FP32", data: [1] }] } },
    { method: "POST", url: "/v2/models/model/infer", payload: { inputs: "x" } },
    { method: "GET", url: "/healthz" },
    { method: "GET", url: "/readyz" },
    { method: "GET", url: "/no-such-route" },
    { method: "GET", url: "/docs/json" },
  ];

  test("same status, headers and bytes for valid, invalid and unknown requests on every protocol", async () => {
    const strip = (h: Record<string, unknown>) => {
      const { date: _d, "x-request-id": _r, ...rest } = h;
      return rest;
    };
    for (const r of requests) {
      const options = {
        method: r.method,
        url: r.url,
        ...(r.payload !== undefined ? { payload: typeof r.payload === "string" ? r.payload : JSON.stringify(r.payload) } : {}),
        headers: { "content-type": "application/json", ...r.headers },
      };
      const a = await lazy.inject(options);
      const b = await eager.inject(options);
      const what = `${r.method} ${r.url} ${JSON.stringify(r.payload ?? "")}`;
      assert.equal(a.statusCode, b.statusCode, what);
      const body = (s: string) => s.replace(/"pid":\d+/, '"pid":0').replace(/"loaded_at":"[^"]*"/, '"loaded_at":"<t>"');
      assert.equal(body(a.body), body(b.body), what);
      assert.deepEqual(strip(a.headers), strip(b.headers), what);
    }
    assert.ok(lazy.polarity.schemas!.compiled > 0, "the requests compiled what they used");
  });

  test("compileAll compiles every remaining schema without an error", () => {
    const schemas = lazy.polarity.schemas!;
    schemas.compileAll();
    assert.equal(schemas.pendingCount, 0);
  });

  test("the probes' JSON.stringify answers are fast-json-stringify's bytes for their response schemas", () => {
    const fjs = createRequire(createRequire(import.meta.url).resolve("fastify"))("fast-json-stringify") as (schema: unknown) => (data: unknown) => string;
    const health = fjs(HealthBody);
    const ready = fjs(ReadyBody);
    for (const body of [
      { status: "ok", pid: 1 },
      { status: "ok", pid: 2 ** 31 - 1 },
    ])
      assert.equal(JSON.stringify(body), health(body));
    const names = ["model", 'we"ird\\name', "naïve 模型", "line\nbreak", "\u2028", "emoji 🙂", "\ud800 lone"];
    for (const name of names)
      for (const alias of [undefined, "production", name]) {
        const body = {
          status: "ready",
          // The handler's order: required properties first, then the optional alias.
          model: { name, version: "0123456789ab", loaded_at: new Date(0).toISOString(), ...(alias !== undefined ? { alias } : {}) },
        };
        assert.equal(JSON.stringify(body), ready(body), JSON.stringify(body));
      }
    for (const status of ["loading", "draining"]) assert.equal(JSON.stringify({ status }), ready({ status }));
  });
});

describe("model files: one read, SHA-256 off the main thread, first version built while hashed", { timeout: 60_000 }, () => {
  const dir = tempDir();
  after(() => dir.cleanup());

  test("readWholeFile gives the file's bytes, in shared memory from the threshold on", async () => {
    for (const size of [0, 1, 1000, 65_536 + 3]) {
      const file = join(dir.path, `f${size}`);
      const bytes = Buffer.alloc(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
      writeFileSync(file, bytes);
      for (const threshold of [1, 1000, OFF_THREAD_HASH_MIN_BYTES]) {
        const read = await readWholeFile(file, threshold);
        assert.ok(read.equals(bytes), `size ${size}, threshold ${threshold}`);
        if (size >= threshold) assert.ok(read.buffer instanceof SharedArrayBuffer, `size ${size} ≥ ${threshold} is shared`);
      }
    }
  });

  test("sha256HexAsync equals createHash on and off the thread, shared or not", async () => {
    let seed = 11;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    for (const size of [0, 5, 4096, 300_001]) {
      const plain = Buffer.alloc(size);
      for (let i = 0; i < size; i++) plain[i] = rnd();
      const expected = createHash("sha256").update(plain).digest("hex");
      const shared = Buffer.from(new SharedArrayBuffer(size + 10), 5, size);
      plain.copy(shared);
      assert.equal(sha256Hex(plain), expected);
      for (const min of [0, 1, 4096, OFF_THREAD_HASH_MIN_BYTES]) {
        assert.equal(await sha256HexAsync(plain, min), expected, `plain ${size} ${min}`);
        assert.equal(await sha256HexAsync(shared, min), expected, `shared (offset view) ${size} ${min}`);
      }
    }
  });

  test("the version is the file's SHA-256; the early build is the loaded model; later loads build again; whileServing skips it", async () => {
    const file = join(dir.path, "model.json");
    writeJsonAtomic(file, trainModelJson());
    const source = new LocalFileModelSource(file, parseModel);
    const resolved = await source.resolve();
    assert.equal(resolved.version, createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 12));
    const first = await resolved.load();
    const second = await resolved.load();
    assert.notEqual(first, second, "the early build is handed out once");
    assert.deepEqual(first.predict(["good", "awful"]), second.predict(["good", "awful"]));
    // A binary file, also hashed whole.
    const bin = join(dir.path, "model.bin");
    writeFileSync(bin, SentimentModel.fromJSON(trainModelJson()).toBinary());
    const binResolved = await new LocalFileModelSource(bin, parseModel).resolve();
    assert.equal(binResolved.version, createHash("sha256").update(readFileSync(bin)).digest("hex").slice(0, 12));
    const whileServing = await binResolved.load({ whileServing: true });
    assert.deepEqual(whileServing.predict(["good"]), first.predict(["good"]));
  });

  test("prefetch: the next resolve() takes the early one (same version, built once); a missing file still fails with its message", async () => {
    const file = join(dir.path, "prefetch.json");
    writeJsonAtomic(file, trainModelJson());
    const source = new LocalFileModelSource(file, parseModel);
    source.prefetch();
    source.prefetch(); // a second call does not start another
    const a = await source.resolve();
    const b = await source.resolve();
    assert.equal(a, b, "the unchanged file is not read again");
    assert.equal(a.version, createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 12));
    assert.deepEqual((await a.load()).predict(["good"]), parseModel(trainModelJson()).predict(["good"]));
    const missing = new LocalFileModelSource(join(dir.path, "nope.json"), parseModel);
    missing.prefetch();
    await assert.rejects(missing.resolve(), /does not exist/);
    await assert.rejects(missing.resolve(), /does not exist/);
  });

  test("a corrupt first version is refused with the same error as before (not valid JSON / not a valid model)", async () => {
    const bad = join(dir.path, "bad.json");
    writeFileSync(bad, "{not json");
    const r1 = await new LocalFileModelSource(bad, parseModel).resolve();
    await assert.rejects(r1.load(), (err: unknown) => err instanceof DataError && /is not valid JSON/.test(err.message));
    const notModel = join(dir.path, "not-model.json");
    writeFileSync(notModel, JSON.stringify({ format: "nope" }));
    const r2 = await new LocalFileModelSource(notModel, parseModel).resolve();
    await assert.rejects(r2.load(), (err: unknown) => err instanceof DataError && /is not a valid model/.test(err.message));
    const badBin = join(dir.path, "bad.bin");
    const bytes = Buffer.from(SentimentModel.fromJSON(trainModelJson()).toBinary());
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(badBin, bytes);
    const r3 = await new LocalFileModelSource(badBin, parseModel).resolve();
    await assert.rejects(r3.load(), (err: unknown) => err instanceof DataError && /is not a valid model/.test(err.message));
  });
});

describe("the cluster primary's modules", { timeout: 60_000 }, () => {
  test("importing the cluster entry (what `polarity serve --workers N` runs in the primary) loads neither fastify, Ajv nor prom-client", () => {
    const entry = resolve("src/serving/cluster.ts");
    const code = `
      import { createRequire } from "node:module";
      const require = createRequire(import.meta.url);
      await import(${JSON.stringify(entry)});
      const names = Object.keys(require.cache).map((k) => k.replace(/.*node_modules[\\/]/, "").split(/[\\/]/)[0]);
      process.stdout.write(JSON.stringify([...new Set(names)]));
    `;
    const out = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8" });
    assert.equal(out.status, 0, out.stderr);
    const packages = JSON.parse(out.stdout) as string[];
    assert.ok(packages.includes("pino"), `the primary's logger is loaded (sanity): ${packages.join(", ")}`);
    for (const heavy of ["fastify", "ajv", "prom-client", "@fastify", "@opentelemetry"]) assert.ok(!packages.includes(heavy), `${heavy} loaded by the primary`);
  });
});

describe("the server's start-up modules", { timeout: 60_000 }, () => {
  test("building a server and loading its model loads neither TypeBox nor the OpenAPI generator (yaml); GET /docs/json then does", () => {
    const dir = tempDir();
    try {
      const model = join(dir.path, "model.json");
      writeJsonAtomic(model, trainModelJson());
      // ESM packages show only to a loader hook (TypeBox's build is ESM); CommonJS ones in require.cache.
      const hooks = `import { writeSync } from "node:fs";
        export async function resolve(specifier, context, next) { const r = await next(specifier, context); if (r.url.includes("/node_modules/")) writeSync(2, "LOADED " + r.url + "\\n"); return r; }`;
      const code = `
        import { register, createRequire } from "node:module";
        register("data:text/javascript," + encodeURIComponent(${JSON.stringify(hooks)}));
        const require = createRequire(import.meta.url);
        const { buildServer } = await import(${JSON.stringify(resolve("src/serving/app.ts"))});
        const { LocalFileModelSource } = await import(${JSON.stringify(resolve("src/serving/model-source.ts"))});
        const { parseModel } = await import(${JSON.stringify(resolve("test/serving/fixtures.ts"))});
        const packages = () => [...new Set(Object.keys(require.cache).map((k) => k.replace(/.*node_modules[\\\\/]/, "").split(/[\\\\/]/).slice(0, 2).join("/")))];
        const app = await buildServer({ source: new LocalFileModelSource(${JSON.stringify(model)}, parseModel), config: { logLevel: "silent" }, monitoring: { enabled: false } });
        await app.polarity.holder.loadInitial();
        await app.ready();
        (await import("node:fs")).writeSync(2, "READY " + JSON.stringify(packages()) + "\\n");
        const docs = await app.inject({ method: "GET", url: "/docs/json" });
        process.stdout.write(JSON.stringify({ status: docs.statusCode, after: packages() }));
        await app.close();
      `;
      const out = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8" });
      assert.equal(out.status, 0, out.stderr);
      const esm = out.stderr.split("\n").filter((l) => l.startsWith("LOADED ") || l.startsWith("READY "));
      const readyAt = esm.findIndex((l) => l.startsWith("READY "));
      assert.ok(readyAt >= 0, out.stderr);
      const atReady = JSON.parse(esm[readyAt].slice("READY ".length)) as string[];
      const esmBeforeReady = esm.slice(0, readyAt).join("\n");
      assert.ok(
        atReady.some((p) => p.startsWith("fastify/")),
        `fastify is in require.cache (sanity): ${atReady.join(", ")}`,
      );
      assert.ok(esmBeforeReady.includes("/node_modules/fastify/"), "the hook sees fastify's import (sanity)");
      assert.ok(!esmBeforeReady.includes("/node_modules/@sinclair/typebox/"), "TypeBox loaded at start-up");
      for (const lazy of ["yaml/", "json-schema-resolver/", "@fastify/swagger"])
        assert.ok(!atReady.some((p) => p.startsWith(lazy)), `${lazy} loaded at start-up`);
      const after = JSON.parse(out.stdout) as { status: number; after: string[] };
      assert.equal(after.status, 200);
      assert.ok(
        after.after.some((p) => p.startsWith("yaml/")),
        "GET /docs/json loads the OpenAPI generator (sanity: the check above can fail)",
      );
    } finally {
      dir.cleanup();
    }
  });
});
