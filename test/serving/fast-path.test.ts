import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { buildServer } from "../../src/serving/app.js";
import { startServing, type RunningServer } from "../../src/serving/server.js";
import { FAST_MAX_BODY_BYTES } from "../../src/serving/fast-path.js";
import { LocalFileModelSource } from "../../src/serving/model-source.js";
import { loadUciSentences } from "../../src/data/builtin.js";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import { parseModel, startLocal, tempDir, trainModelJson, writeJsonAtomic } from "./fixtures.js";

/**
 * The hot route's own path (src/serving/fast-path.ts) against fastify's: every body is sent
 * over real HTTP (which the fast path may answer) and through app.inject (fastify only, the
 * fast path never sees it); status, body bytes and headers must be the same, except the
 * request id (a series) and the monitoring id of each prediction.
 */

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const VOLATILE = ["date", "x-request-id", "connection", "keep-alive", "transfer-encoding"];

function normalise(a: Answer): Answer {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(a.headers)) if (!VOLATILE.includes(k.toLowerCase())) headers[k.toLowerCase()] = v;
  // Monitoring ids vary in length (a base-36 sequence): the length is checked against the body instead.
  if (headers["content-length"] !== undefined) {
    assert.equal(Number(headers["content-length"]), Buffer.byteLength(a.body), "content-length is the body's byte length");
    headers["content-length"] = "<length>";
  }
  // Monitoring ids are `<boot>-<sequence>-<class>`: the sequence differs between two calls.
  return { status: a.status, headers, body: a.body.replace(/"id":"[^"]*-[0-9a-z]+-(\d+)"/g, '"id":"<id>-$1"') };
}

function overHttp(url: string, body: string | Buffer, headers: Record<string, string>): Promise<Answer & { requestId: string }> {
  return new Promise((resolve, reject) => {
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    const req = httpRequest(`${url}/predict`, { method: "POST", headers: { "content-length": String(bytes.length), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h[k] = v;
        resolve({ status: res.statusCode ?? 0, headers: h, body: Buffer.concat(chunks).toString("utf8"), requestId: h["x-request-id"] ?? "" });
      });
    });
    req.on("error", reject);
    req.end(bytes);
  });
}

async function viaFastify(server: RunningServer, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
  const res = await server.app.inject({ method: "POST", url: "/predict", headers, payload: body });
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string" || typeof v === "number") h[k] = String(v);
  return { status: res.statusCode, headers: h, body: res.body };
}

const JSON_TYPE = { "content-type": "application/json" };

describe("POST /predict fast path (real server on 127.0.0.1, real trained model)", { timeout: 60_000 }, () => {
  const dir = tempDir();
  let server: RunningServer;

  before(async () => {
    const file = join(dir.path, "sentiment.json");
    writeJsonAtomic(file, trainModelJson());
    server = await startLocal(file, { maxTextLength: 200, maxBatchSize: 1500, maxBatchChars: 150_000 });
  });
  after(async () => {
    await server.close();
    dir.cleanup();
  });

  const sentences = ["I love this phone, the screen is great.", "terrible, I hated it", "très bon 😀", "not bad at all"];
  const batchOf = (n: number, len = 0) => JSON.stringify({ texts: Array.from({ length: n }, (_, i) => (len > 0 ? "x".repeat(len) : sentences[i % 4])) });
  const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));
  const cases: Array<{ name: string; body: string | Buffer; headers?: Record<string, string>; fast: boolean }> = [
    { name: "one text", body: '{"text":"I love this phone, the screen is great."}', fast: true },
    { name: "one text with spaces around the JSON", body: ' \n{ "text" : "terrible, I hated it" }\n', fast: true },
    { name: "escapes and non-ASCII", body: JSON.stringify({ text: 'très "bon" \\ produit \u00e9\u4e2d\n\ttab 😀' }), fast: true },
    { name: "\\u escapes, a lone surrogate", body: '{"text":"\\u00e9t\\u00e9 \\ud800 good \\/ \\b"}', fast: true },
    { name: "charset=utf-8 content type", body: '{"text":"good value"}', headers: { "content-type": "application/json; charset=utf-8" }, fast: true },
    { name: "a batch", body: '{"texts":["good","bad"]}', fast: true },
    { name: "a batch with whitespace, escapes and non-ASCII", body: '\t{ "texts" :\r\n[ "good" ,\n"b\\"a\\"d" , "très \\u00e9 😀"\t] } ', fast: true },
    { name: "a batch of 1,000 texts", body: batchOf(1000), fast: true },
    { name: "a batch of one", body: '{"texts":["good"]}', fast: true },
    { name: "explain", body: '{"text":"good","explain":true}', fast: false },
    { name: "a batch with explain", body: '{"texts":["good"],"explain":true}', fast: false },
    { name: "an extra key", body: '{"text":"good","x":1}', fast: false },
    { name: "both text and texts", body: '{"text":"good","texts":["bad"]}', fast: false },
    { name: "a duplicate key (the last wins, as in JSON.parse)", body: '{"text":"good","text":"bad"}', fast: true },
    { name: "an escaped key", body: '{"te\\u0078t":"good"}', fast: true },
    { name: "__proto__", body: '{"text":"good","__proto__":{"polluted":1}}', fast: false },
    { name: "__proto__ after a batch", body: '{"texts":["good"],"__proto__":{"polluted":1}}', fast: false },
    { name: "invalid JSON", body: '{"text":', fast: false },
    { name: "an unterminated string", body: '{"text":"good', fast: false },
    { name: "a truncated batch", body: '{"texts":["good","bad"', fast: false },
    { name: "a trailing comma in a batch", body: '{"texts":["good",]}', fast: false },
    { name: "trailing bytes", body: '{"text":"good"} x', fast: false },
    { name: "two JSON values", body: '{"text":"good"}{"text":"bad"}', fast: false },
    { name: "a raw control character in a text", body: bytes('{"text":"go', [0x01], 'od"}'), fast: false },
    { name: "a raw newline in a batch text", body: '{"texts":["go\nod"]}', fast: false },
    { name: "a bad escape", body: '{"text":"\\x41"}', fast: false },
    { name: "a truncated \\u escape", body: '{"text":"\\u12"}', fast: false },
    { name: "a byte-order mark", body: bytes([0xef, 0xbb, 0xbf], '{"text":"good"}'), fast: false },
    { name: "not an object", body: '["good"]', fast: false },
    { name: "texts not an array", body: '{"texts":"good"}', fast: false },
    { name: "text not a string", body: '{"text":42}', fast: false },
    { name: "text null", body: '{"text":null}', fast: false },
    { name: "a non-string in a batch", body: '{"texts":["good",1]}', fast: false },
    { name: "a nested array in a batch", body: '{"texts":[["good"]]}', fast: false },
    { name: "an empty batch", body: '{"texts":[]}', fast: false },
    { name: "blank text", body: '{"text":"   "}', fast: false },
    { name: "a blank text in a batch", body: '{"texts":["good","  \\n "]}', fast: false },
    { name: "an empty text", body: '{"text":""}', fast: false },
    { name: "a text of non-ASCII spaces only", body: JSON.stringify({ texts: ["good", "\u3000\u00a0\u2028"] }), fast: false },
    {
      name: "texts starting with a space, a tab, a no-break space or a control character",
      body: JSON.stringify({ texts: [" good", "\tfine", "\u00a0great", "\u0001ok", "\u3000bad"] }),
      fast: true,
    },
    { name: "text over --max-text-length", body: JSON.stringify({ text: "a".repeat(201) }), fast: false },
    { name: "a batch text over --max-text-length", body: JSON.stringify({ texts: ["good", "a".repeat(201)] }), fast: false },
    { name: "a batch over --max-batch-size", body: batchOf(1501), fast: false },
    { name: "a batch over --max-batch-chars", body: batchOf(1000, 151), fast: false },
    { name: "invalid UTF-8", body: Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), fast: false },
    { name: "invalid UTF-8 in a batch", body: bytes('{"texts":["good","', [0xc3, 0x28], '"]}'), fast: false },
    { name: "an encoded surrogate (invalid UTF-8)", body: bytes('{"text":"', [0xed, 0xa0, 0x80], '"}'), fast: false },
    { name: "deep nesting", body: `{"text":${"[".repeat(100)}${"]".repeat(100)}}`, fast: false },
    { name: "deep nesting in a batch", body: `{"texts":${"[".repeat(100)}${"]".repeat(100)}}`, fast: false },
    { name: "a form post", body: "text=good", headers: { "content-type": "application/x-www-form-urlencoded" }, fast: false },
    { name: "text/plain", body: '{"text":"good"}', headers: { "content-type": "text/plain" }, fast: false },
  ];

  for (const c of cases) {
    test(`${c.name}: ${c.fast ? "answered by the fast path" : "handed to fastify"}, same answer as fastify's path`, async () => {
      const headers = { ...JSON_TYPE, ...(c.headers ?? {}) };
      const counts = { ...server.app.polarity.fastPath!.counts };
      const fast = await overHttp(server.url, c.body, headers);
      const after = server.app.polarity.fastPath!.counts;
      assert.equal(after.answered - counts.answered, c.fast ? 1 : 0, "answered by the fast path");
      const full = await viaFastify(server, c.body, headers);
      assert.deepEqual(normalise(fast), normalise(full));
      assert.ok(fast.status < 500, `a bad body is a client error, got ${fast.status}`);
      assert.match(fast.requestId, /^req-[0-9a-z]+$/);
    });
  }

  test("concurrent and successive batches (reused response buffers) each get their own answer, as fastify's", async () => {
    // Distinct batches of sizes on both sides of a chunk (64 predictions); the 2,500-text test below grows a buffer.
    const texts = loadUciSentences().texts.filter((t) => t.length <= 200 && t.trim() !== "");
    const sizes = [1, 63, 64, 65, 1000, 1400, 7, 500, 1200, 129, 999, 2];
    const bodies = sizes.map((n, b) => JSON.stringify({ texts: Array.from({ length: n }, (_, i) => texts[(b * 211 + i * 7) % texts.length]) }));
    const counts = { ...server.app.polarity.fastPath!.counts };
    for (let round = 0; round < 2; round++) {
      const fast = await Promise.all(bodies.map((body) => overHttp(server.url, body, JSON_TYPE)));
      for (let b = 0; b < bodies.length; b++) {
        const full = await viaFastify(server, bodies[b], JSON_TYPE);
        assert.equal(fast[b].status, 200);
        assert.deepEqual(normalise(fast[b]), normalise(full), `batch ${b} (${sizes[b]} texts), round ${round}`);
      }
    }
    assert.equal(server.app.polarity.fastPath!.counts.answered - counts.answered, 2 * bodies.length);
  });

  test("a client's x-request-id is echoed by the fast path as by fastify", async () => {
    const res = await overHttp(server.url, '{"text":"good"}', { ...JSON_TYPE, "x-request-id": "abc-123" });
    assert.equal(res.requestId, "abc-123");
    const bad = await overHttp(server.url, '{"text":"good"}', { ...JSON_TYPE, "x-request-id": "no spaces allowed" });
    assert.match(bad.requestId, /^req-/);
  });

  test("fast-path requests are counted in app_request_count_total like the others", async () => {
    const before = server.app.polarity.fastPath!.counts.answered;
    const read = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return Number(/app_request_count_total\{method="POST",endpoint="\/predict"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const n0 = await read();
    for (let i = 0; i < 5; i++) assert.equal((await overHttp(server.url, '{"text":"good"}', JSON_TYPE)).status, 200);
    assert.equal(server.app.polarity.fastPath!.counts.answered - before, 5);
    assert.equal((await read()) - n0, 5);
  });

  test("bodies over FAST_MAX_BODY_BYTES and chunked bodies go to fastify", async () => {
    const counts = { ...server.app.polarity.fastPath!.counts };
    const big = `{"text":"good"${" ".repeat(FAST_MAX_BODY_BYTES)}}`;
    const res = await overHttp(server.url, big, JSON_TYPE);
    assert.equal(res.status, 200);
    const chunked = await fetch(`${server.url}/predict`, {
      method: "POST",
      headers: JSON_TYPE,
      body: new ReadableStream({
        start(ctrl) {
          ctrl.enqueue(new TextEncoder().encode('{"text":"good"}'));
          ctrl.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    assert.equal(chunked.status, 200);
    assert.deepEqual(server.app.polarity.fastPath!.counts, counts, "neither was read by the fast path");
  });
});

describe("POST /predict fast path with --auth-token", { timeout: 60_000 }, () => {
  const dir = tempDir();
  let server: RunningServer;

  before(async () => {
    const file = join(dir.path, "sentiment.json");
    writeJsonAtomic(file, trainModelJson());
    server = await startLocal(file, { authToken: "s3cret-token" });
  });
  after(async () => {
    await server.close();
    dir.cleanup();
  });

  test("without credentials the request goes to fastify and is refused (401); with them the fast path answers", async () => {
    const counts = { ...server.app.polarity.fastPath!.counts };
    const refused = await overHttp(server.url, '{"text":"good"}', JSON_TYPE);
    assert.equal(refused.status, 401);
    const wrong = await overHttp(server.url, '{"text":"good"}', { ...JSON_TYPE, authorization: "Bearer nope" });
    assert.equal(wrong.status, 401);
    assert.equal(server.app.polarity.fastPath!.counts.answered, counts.answered);
    const ok = await overHttp(server.url, '{"text":"good"}', { ...JSON_TYPE, authorization: "Bearer s3cret-token" });
    assert.equal(ok.status, 200);
    assert.equal(server.app.polarity.fastPath!.counts.answered, counts.answered + 1);
  });
});

describe("POST /predict fast path: other label kinds, non-ASCII class names, monitoring off", { timeout: 60_000 }, () => {
  const dir = tempDir();
  const servers: RunningServer[] = [];
  const { texts, labels } = loadUciSentences();
  const sample = texts.slice(0, 600);

  before(async () => {
    // Three numeric classes (-1 is not an array index: its key is listed after "0" and "1"), non-ASCII names.
    const three = SentimentModel.train(
      sample,
      sample.map((_, i) => (i % 3 === 0 ? -1 : Number(labels[i]))),
      {
        features: { kind: "tfidf", ngramRange: [1, 2] },
        model: { kind: "logreg", C: 1 },
        classNames: { "-1": "très négatif", "0": "négatif", "1": "positif 😀" },
      },
    );
    // String classes, one with a quote and a backslash in it.
    const strings = SentimentModel.train(
      sample,
      sample.map((_, i) => (Number(labels[i]) === 1 ? 'go"od\\' : "bad")),
      { features: { kind: "tfidf", ngramRange: [1, 1] }, model: { kind: "logreg", C: 1 } },
    );
    // Two classes -1 and 1: the probabilities object lists "1" before "-1" (the two-class writer's other order), monitoring on.
    const signs = SentimentModel.train(
      sample,
      sample.map((_, i) => (Number(labels[i]) === 1 ? 1 : -1)),
      { features: { kind: "tfidf", ngramRange: [1, 2] }, model: { kind: "logreg", C: 1 } },
    );
    writeJsonAtomic(join(dir.path, "three.json"), three.toJSON());
    writeJsonAtomic(join(dir.path, "strings.json"), strings.toJSON());
    writeJsonAtomic(join(dir.path, "signs.json"), signs.toJSON());
    servers.push(
      await startServing({
        source: new LocalFileModelSource(join(dir.path, "three.json"), parseModel),
        host: "127.0.0.1",
        port: 0,
        pollIntervalMs: 0,
        logLevel: "silent",
        handleSignals: false,
        monitoring: { enabled: false },
      }),
    );
    servers.push(await startLocal(join(dir.path, "strings.json")));
    servers.push(await startLocal(join(dir.path, "signs.json")));
  });
  after(async () => {
    for (const s of servers) await s.close();
    dir.cleanup();
  });

  const bodies = ['{"text":"I love it, wonderful"}', '{"texts":["awful, I hated it","great value","meh"]}', JSON.stringify({ texts: sample.slice(0, 200) })];
  for (const [i, name] of [
    "three numeric classes, non-ASCII names, no monitoring",
    "string classes with a quote and a backslash",
    "two classes -1 and 1 (probabilities listed 1 first), monitoring ids",
  ].entries()) {
    test(`${name}: answered by the fast path, bytes and content-length as fastify's`, async () => {
      const server = servers[i];
      for (const body of bodies) {
        const counts = { ...server.app.polarity.fastPath!.counts };
        const fast = await overHttp(server.url, body, JSON_TYPE);
        assert.equal(server.app.polarity.fastPath!.counts.answered - counts.answered, 1);
        const full = await viaFastify(server, body, JSON_TYPE);
        assert.equal(fast.status, 200);
        assert.deepEqual(normalise(fast), normalise(full));
      }
    });
  }
});

describe("POST /predict fast path and the prediction pool", { timeout: 60_000 }, () => {
  const dir = tempDir();
  const { texts } = loadUciSentences();
  const big = JSON.stringify({ texts: Array.from({ length: 2500 }, (_, i) => texts[i % texts.length]) });
  const apps: FastifyInstance[] = [];

  const serve = async (predictionPool?: boolean): Promise<{ app: FastifyInstance; url: string }> => {
    const app = await buildServer({
      source: new LocalFileModelSource(join(dir.path, "sentiment.json"), parseModel),
      config: { logLevel: "silent", pollIntervalMs: 0 },
      ...(predictionPool === undefined ? {} : { predictionPool }),
    });
    apps.push(app);
    await app.polarity.holder.loadInitial();
    return { app, url: await app.listen({ host: "127.0.0.1", port: 0 }) };
  };

  before(() => writeJsonAtomic(join(dir.path, "sentiment.json"), trainModelJson()));
  after(async () => {
    for (const app of apps) await app.close();
    dir.cleanup();
  });

  test("with a pool (a single process), a batch of 2,500 texts goes to fastify's path and the pool", async () => {
    const { app, url } = await serve();
    assert.equal(app.polarity.predictor.offLoop, true);
    const res = await overHttp(url, big, JSON_TYPE);
    assert.equal(res.status, 200);
    assert.deepEqual(app.polarity.fastPath!.counts, { answered: 0, handedOver: 1 });
  });

  test("without one (a cluster worker's setting), the fast path answers it itself, with fastify's bytes", async () => {
    const { app, url } = await serve(false);
    assert.equal(app.polarity.predictor.offLoop, false);
    const fast = await overHttp(url, big, JSON_TYPE);
    assert.deepEqual(app.polarity.fastPath!.counts, { answered: 1, handedOver: 0 });
    const full = await app.inject({ method: "POST", url: "/predict", headers: JSON_TYPE, payload: big });
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(full.headers)) if (typeof v === "string" || typeof v === "number") h[k] = String(v);
    assert.deepEqual(normalise(fast), normalise({ status: full.statusCode, headers: h, body: full.body }));
    assert.equal((JSON.parse(fast.body) as { predictions: unknown[] }).predictions.length, 2500);
  });
});
