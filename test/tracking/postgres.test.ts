import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createServer, connect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";
import { TrackingClient } from "../../src/tracking/client.js";
import { startTrackingServer, type RunningServer } from "../../src/tracking/server.js";
import { PolarityError } from "../../src/util/errors.js";
import { freshPostgresDatabase, skipUnlessPostgres, type TestDatabase } from "../support/postgres.js";
import { tempDir } from "./helpers.js";

/**
 * What only a shared database shows: server replicas over one PostgreSQL database behaving as
 * one server, races between clients, a database outage, and the migration of an embedded
 * store. The rest of the tracking suite runs on PostgreSQL too (POLARITY_TEST_STORE=postgresql
 * in .ci/run: one suite, two backends).
 */
const WORKER = fileURLToPath(new URL("./fixtures/log-metrics-http-worker.ts", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const run = promisify(execFile);

function worker(url: string, runId: string, index: number, count: number, batch: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", WORKER, url, runId, String(index), String(count), String(batch)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`worker ${index} exited ${code}: ${stderr}`))));
  });
}

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

describe("tracking on PostgreSQL", { skip: skipUnlessPostgres(), timeout: 300_000 }, () => {
  const t = tempDir("polarity-pg-");
  let db: TestDatabase;
  let a: RunningServer;
  let b: RunningServer;
  let ca: TrackingClient;
  let cb: TrackingClient;

  before(async () => {
    db = await freshPostgresDatabase();
    const artifacts = join(t.dir, "artifacts");
    a = await startTrackingServer({ host: "127.0.0.1", port: 0, backendStoreUri: db.url, artifactsDestination: artifacts });
    b = await startTrackingServer({ host: "127.0.0.1", port: 0, backendStoreUri: db.url, artifactsDestination: artifacts });
    ca = TrackingClient.open({ trackingUri: a.url, maxRetries: 0 });
    cb = TrackingClient.open({ trackingUri: b.url, maxRetries: 0 });
  });
  after(async () => {
    await ca?.close();
    await cb?.close();
    await a?.close();
    await b?.close();
    await db?.drop();
    t.cleanup();
  });

  test("2 replicas × 8 client processes × 1,000 metrics: all 16,000 present with exact values", async () => {
    const exp = await ca.createExperiment("replicas");
    const runs: string[] = [];
    for (let k = 0; k < 16; k++) runs.push((await (k % 2 ? cb : ca).createRun(exp)).info.run_id);
    await Promise.all(runs.map((id, k) => worker(k % 2 ? b.url : a.url, id, k, 1000, 25)));
    for (let k = 0; k < 16; k++) {
      const history = await (k % 2 ? ca : cb).getMetricHistory(runs[k], "m"); // read through the OTHER replica
      assert.equal(history.length, 1000, `run of worker ${k}`);
      history.sort((x, y) => x.step - y.step);
      for (let j = 0; j < 1000; j++) {
        assert.equal(history[j].value, k * 100_000 + j * 0.25);
        assert.equal(history[j].timestamp, 1_000 + j);
      }
      const latest = (await ca.getRun(runs[k])).data.metrics.find((m) => m.key === "m");
      assert.equal(latest?.step, 999);
    }
  });

  test("two clients racing to create the same experiment or model through different replicas: one wins, the other gets RESOURCE_ALREADY_EXISTS", async () => {
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all([settle(ca.createExperiment(`race-${round}`)), settle(cb.createExperiment(`race-${round}`))]);
      assert.equal(results.filter((r) => r.ok).length, 1, `round ${round}: exactly one create wins`);
      const loser = results.find((r) => !r.ok) as { error: unknown };
      assert.ok(loser.error instanceof PolarityError && loser.error.code === "RESOURCE_ALREADY_EXISTS", String(loser.error));

      const models = await Promise.all([settle(ca.createRegisteredModel(`model-${round}`)), settle(cb.createRegisteredModel(`model-${round}`))]);
      assert.equal(models.filter((r) => r.ok).length, 1);
      const lost = models.find((r) => !r.ok) as { error: unknown };
      assert.ok(lost.error instanceof PolarityError && lost.error.code === "RESOURCE_ALREADY_EXISTS", String(lost.error));
    }
  });

  test("versions created concurrently through both replicas get distinct consecutive numbers", async () => {
    await ca.createRegisteredModel("concurrent");
    const exp = await ca.createExperiment("versions");
    const runId = (await ca.createRun(exp)).info.run_id;
    const source = `mlflow-artifacts:/${exp}/${runId}/artifacts/model`;
    const made = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? cb : ca).createModelVersion("concurrent", source, { runId })));
    assert.deepEqual(
      made.map((v) => Number(v.version)).sort((x, y) => x - y),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
  });

  test("an alias moved through one replica is seen through the other on the next read", async () => {
    await ca.setRegisteredModelAlias("concurrent", "champion", 3);
    assert.equal((await cb.getModelVersionByAlias("concurrent", "champion")).version, "3");
    await cb.setRegisteredModelAlias("concurrent", "champion", 7);
    assert.equal((await ca.getModelVersionByAlias("concurrent", "champion")).version, "7");
  });
});

describe("a PostgreSQL outage", { skip: skipUnlessPostgres(), timeout: 120_000 }, () => {
  test("the server answers 503 TEMPORARILY_UNAVAILABLE while the database is unreachable, then recovers without a restart; nothing acknowledged is lost", async () => {
    const db = await freshPostgresDatabase();
    const t = tempDir("polarity-pg-outage-");
    // A real TCP hop between the server and PostgreSQL that the test can cut and restore.
    const upstream = new URL(db.url);
    const sockets = new Set<Socket>();
    let proxy: Server | undefined;
    const listen = (port: number) =>
      new Promise<number>((resolve, reject) => {
        proxy = createServer((client) => {
          const server = connect(Number(upstream.port || 5432), upstream.hostname);
          sockets.add(client).add(server);
          client.pipe(server).pipe(client);
          const drop = () => {
            client.destroy();
            server.destroy();
          };
          client.on("error", drop).on("close", drop);
          server.on("error", drop).on("close", drop);
        });
        proxy.once("error", reject);
        proxy.listen(port, "127.0.0.1", () => resolve((proxy!.address() as { port: number }).port));
      });
    const cut = () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        sockets.clear();
        proxy!.close(() => resolve());
      });
    const port = await listen(0);
    const viaProxy = new URL(db.url);
    viaProxy.port = String(port);
    const server = await startTrackingServer({ host: "127.0.0.1", port: 0, backendStoreUri: viaProxy.toString(), artifactsDestination: join(t.dir, "art") });
    const client = TrackingClient.open({ trackingUri: server.url, maxRetries: 0 });
    try {
      const exp = await client.createExperiment("outage");
      const runId = (await client.createRun(exp)).info.run_id;
      const acknowledged: number[] = [];
      for (let i = 0; i < 20; i++) {
        await client.logMetric(runId, "m", i, { step: i, timestamp: 1000 + i });
        acknowledged.push(i);
      }
      await cut();
      const res = await fetch(`${server.url}/api/2.0/mlflow/runs/log-metric`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ run_id: runId, key: "m", value: 99, timestamp: 5000, step: 99 }),
      });
      assert.equal(res.status, 503);
      const body = (await res.json()) as { error_code: string; message: string };
      assert.equal(body.error_code, "TEMPORARILY_UNAVAILABLE");
      assert.match(body.message, /unavailable; retry later/);
      assert.ok(!body.message.includes("polarity:polarity"), "no credentials in the error");
      await listen(port);
      let recovered = false;
      for (let attempt = 0; attempt < 50 && !recovered; attempt++) {
        const r = await settle(client.logMetric(runId, "m", 20, { step: 20, timestamp: 1020 }));
        recovered = r.ok;
        if (!recovered) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(recovered, "the server recovers once the database is back");
      acknowledged.push(20);
      const history = await client.getMetricHistory(runId, "m");
      const steps = new Set(history.map((m) => m.step));
      for (const i of acknowledged) assert.ok(steps.has(i), `acknowledged step ${i} is stored`);
    } finally {
      await client.close();
      await server.close();
      await cut().catch(() => {});
      await db.drop();
      t.cleanup();
    }
  });
});

describe("polarity db", { skip: skipUnlessPostgres(), timeout: 180_000 }, () => {
  test("migrate-from copies an embedded store into PostgreSQL: runs, metrics and the registry read back identical through the API", async () => {
    const t = tempDir("polarity-pg-migrate-");
    const db = await freshPostgresDatabase();
    const sqliteUri = `sqlite:///${join(t.dir, "mlruns.db")}`;
    const local = TrackingClient.open({ trackingUri: sqliteUri, artifactsDir: join(t.dir, "mlartifacts") });
    const exp = await local.createExperiment("sentiment", { tags: { team: "nlp" } });
    const runIds: string[] = [];
    for (let r = 0; r < 3; r++) {
      const run = await local.createRun(exp, { runName: `run-${r}`, tags: { kind: r % 2 ? "nb" : "logreg" } });
      runIds.push(run.info.run_id);
      await local.logParams(run.info.run_id, { C: r + 1, features: "tfidf" });
      for (let s = 0; s < 30; s++) await local.logMetric(run.info.run_id, "loss", 1 / (s + 1 + r), { step: s, timestamp: 10_000 + s });
      await local.logMetric(run.info.run_id, "accuracy", 0.8 + r / 100, { step: 0, timestamp: 20_000 });
    }
    await local.createRegisteredModel("sentiment", { description: "the model" });
    for (const id of runIds) await local.createModelVersion("sentiment", `mlflow-artifacts:/${exp}/${id}/artifacts/model`, { runId: id });
    await local.setRegisteredModelAlias("sentiment", "production", 2);
    await local.close();

    const { stdout } = await run(process.execPath, ["--import", "tsx", MAIN, "db", "migrate-from", sqliteUri, "--to", db.url, "--json"], { encoding: "utf8" });
    const report = JSON.parse(stdout) as { to: string; tables: Array<{ table: string; rows: number }> };
    assert.ok(!report.to.includes(":polarity@"), "the password is redacted");
    assert.equal(report.tables.find((x) => x.table === "metrics")?.rows, 3 * 31);

    const servers = await Promise.all([
      startTrackingServer({ host: "127.0.0.1", port: 0, backendStoreUri: sqliteUri, artifactsDestination: join(t.dir, "mlartifacts") }),
      startTrackingServer({ host: "127.0.0.1", port: 0, backendStoreUri: db.url, artifactsDestination: join(t.dir, "mlartifacts") }),
    ]);
    try {
      const get = async (s: RunningServer, path: string, body?: unknown) =>
        (await fetch(s.url + path, body ? { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {})).json();
      const same = async (path: string, body?: unknown) => assert.deepEqual(await get(servers[1], path, body), await get(servers[0], path, body), path);
      await same("/api/2.0/mlflow/experiments/search", { max_results: 100 });
      await same("/api/2.0/mlflow/runs/search", { experiment_ids: [exp], order_by: ["metrics.accuracy DESC"] });
      for (const id of runIds) {
        await same(`/api/2.0/mlflow/runs/get?run_id=${id}`);
        await same(`/api/2.0/mlflow/metrics/get-history?run_id=${id}&metric_key=loss`);
      }
      await same("/api/2.0/mlflow/registered-models/get?name=sentiment");
      await same("/api/2.0/mlflow/model-versions/search?filter=name%3D%27sentiment%27");
      await same("/api/2.0/mlflow/registered-models/alias?name=sentiment&alias=production");
      // A second copy into the now non-empty database is refused.
      await assert.rejects(run(process.execPath, ["--import", "tsx", MAIN, "db", "migrate-from", sqliteUri, "--to", db.url]), /not empty/);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
      await db.drop();
      t.cleanup();
    }
  });

  test("a database from a newer Polarity is refused with a clear message; db upgrade reports the current version", async () => {
    const db = await freshPostgresDatabase();
    try {
      const { stdout } = await run(process.execPath, ["--import", "tsx", MAIN, "db", "upgrade", db.url], { encoding: "utf8" });
      assert.match(stdout, /is at schema version \d+ \(current\)/);
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      await c.query("UPDATE schema_version SET version = 999");
      await c.end();
      await assert.rejects(startTrackingServer({ port: 0, backendStoreUri: db.url }), /schema version 999 is newer than this Polarity/);
    } finally {
      await db.drop();
    }
  });
});
