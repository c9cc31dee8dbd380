import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { TrackingClient } from "../../src/tracking/client.js";
import { HttpTransport } from "../../src/tracking/transport.js";
import { parseModelUri, parseRunsUri, parseTrackingUri, resolveTrackingUri } from "../../src/tracking/uri.js";
import { rejectsWith } from "./helpers.js";

/** A scripted HTTP server: each request gets the next handler; records what it saw. */
async function scripted(handlers: Array<(req: IncomingMessage, res: ServerResponse) => void>) {
  const seen: Array<{ method: string; url: string; auth?: string; body: string }> = [];
  let i = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      handlers[Math.min(i++, handlers.length - 1)](req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const experimentReply = (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(200, { "content-type": "application/json" });
  // as a real MLflow server answers: empty tags omitted, int64 as strings
  res.end(
    JSON.stringify({
      experiment: { experiment_id: "7", name: "e", artifact_location: "x", lifecycle_stage: "active", creation_time: "5", last_update_time: "6" },
    }),
  );
};

test("HTTP transport retries 503/429 and network timeouts, then succeeds", async () => {
  const unavailable = (_: IncomingMessage, res: ServerResponse) => {
    res.writeHead(503);
    res.end("busy");
  };
  const limited = (_: IncomingMessage, res: ServerResponse) => {
    res.writeHead(429, { "content-type": "application/json" });
    res.end('{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"}');
  };
  const hang = () => {}; // never answers: the client's timeout must fire
  const s = await scripted([unavailable, limited, hang, experimentReply]);
  try {
    const client = new TrackingClient(new HttpTransport({ baseUrl: s.url, maxRetries: 3, backoffMs: 1, timeoutMs: 2000 }), s.url);
    const exp = await client.getExperiment("7");
    assert.deepEqual(exp, {
      experiment_id: "7",
      name: "e",
      artifact_location: "x",
      lifecycle_stage: "active",
      creation_time: 5,
      last_update_time: 6,
      tags: [],
    });
    assert.equal(s.seen.length, 4);
    assert.ok(s.seen.every((r) => r.method === "GET" && r.url === "/api/2.0/mlflow/experiments/get?experiment_id=7"));
  } finally {
    await s.close();
  }
});

test("HTTP transport gives up after maxRetries with a clear error, and does not retry 4xx", async () => {
  const s = await scripted([
    (_, res) => {
      res.writeHead(503);
      res.end();
    },
  ]);
  try {
    const client = new TrackingClient(new HttpTransport({ baseUrl: s.url, maxRetries: 2, backoffMs: 1 }), s.url);
    await rejectsWith(client.getExperiment("1"), "INTERNAL_ERROR");
    assert.equal(s.seen.length, 3);
  } finally {
    await s.close();
  }
  const t = await scripted([
    (_, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"No Experiment with id=1 exists"}');
    },
  ]);
  try {
    const client = new TrackingClient(new HttpTransport({ baseUrl: t.url, maxRetries: 5, backoffMs: 1 }), t.url);
    await rejectsWith(client.getExperiment("1"), "RESOURCE_DOES_NOT_EXIST", /id=1/);
    assert.equal(t.seen.length, 1);
  } finally {
    await t.close();
  }
});

test("TrackingClient.open honours MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN and MLFLOW_TRACKING_USERNAME/PASSWORD", async () => {
  const s = await scripted([experimentReply]);
  const saved = { ...process.env };
  try {
    process.env.MLFLOW_TRACKING_URI = s.url;
    process.env.MLFLOW_TRACKING_TOKEN = "tok";
    const client = TrackingClient.open();
    assert.equal(client.transport.kind, "http");
    await client.getExperiment("7");
    assert.equal(s.seen[0].auth, "Bearer tok");
    delete process.env.MLFLOW_TRACKING_TOKEN;
    process.env.MLFLOW_TRACKING_USERNAME = "u";
    process.env.MLFLOW_TRACKING_PASSWORD = "p";
    await TrackingClient.open().getExperiment("7");
    assert.equal(s.seen[1].auth, `Basic ${Buffer.from("u:p").toString("base64")}`);
    // POST bodies are JSON with non-finite numbers in protobuf-JSON form
    await TrackingClient.open()
      .logMetric("r1", "loss", NaN, { timestamp: 1, step: 2 })
      .catch(() => undefined);
    assert.deepEqual(JSON.parse(s.seen[2].body), { run_id: "r1", key: "loss", value: "NaN", timestamp: 1, step: 2 });
    assert.equal(s.seen[2].url, "/api/2.0/mlflow/runs/log-metric");
  } finally {
    process.env = saved;
    await s.close();
  }
});

test("tracking URI resolution: explicit, then MLFLOW_TRACKING_URI, then the embedded sqlite:///mlruns.db", () => {
  assert.equal(resolveTrackingUri("http://x", { MLFLOW_TRACKING_URI: "http://y" }), "http://x");
  assert.equal(resolveTrackingUri(undefined, { MLFLOW_TRACKING_URI: "http://y" }), "http://y");
  assert.equal(resolveTrackingUri(undefined, {}), "sqlite:///mlruns.db");
  assert.deepEqual(parseTrackingUri("sqlite:///mlruns.db"), { kind: "local", dbPath: resolve("mlruns.db"), artifactsDir: resolve("mlartifacts") });
  assert.deepEqual(parseTrackingUri("sqlite:////tmp/t/x.db"), { kind: "local", dbPath: "/tmp/t/x.db", artifactsDir: "/tmp/t/mlartifacts" });
  assert.deepEqual(parseTrackingUri("/tmp/track"), { kind: "local", dbPath: join("/tmp/track", "mlruns.db"), artifactsDir: "/tmp/track/mlartifacts" });
  assert.deepEqual(parseTrackingUri("https://dagshub.com/u/r.mlflow/"), { kind: "http", baseUrl: "https://dagshub.com/u/r.mlflow" });
  assert.throws(() => parseTrackingUri("databricks://profile"), /Unsupported tracking URI/);
});

test("model and runs URIs parse into their forms", () => {
  assert.deepEqual(parseModelUri("models:/sentiment/3"), { kind: "version", name: "sentiment", version: "3" });
  assert.deepEqual(parseModelUri("models:/sentiment@champion"), { kind: "alias", name: "sentiment", alias: "champion" });
  assert.deepEqual(parseModelUri("models:/sentiment/Production"), { kind: "stage", name: "sentiment", stage: "Production" });
  assert.deepEqual(parseModelUri("models:/sentiment/latest"), { kind: "latest", name: "sentiment" });
  assert.throws(() => parseModelUri("models:/sentiment/gold"), /not a version number/);
  assert.throws(() => parseModelUri("models:/sentiment"), /Invalid model URI/);
  assert.deepEqual(parseRunsUri("runs:/abc/model/x.json"), { runId: "abc", path: "model/x.json" });
  assert.deepEqual(parseRunsUri("runs:/abc"), { runId: "abc", path: "" });
  assert.throws(() => parseRunsUri("runs://abc"), /Invalid runs URI/);
});
