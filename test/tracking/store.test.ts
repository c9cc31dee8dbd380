import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { openSqliteStores } from "../../src/tracking/store/open.js";
import { sqliteDialect } from "../../src/tracking/store/sql/dialect.js";
import { MIGRATIONS } from "../../src/tracking/store/sql/schema.js";
import { parseTrackingUri } from "../../src/tracking/uri.js";
import { tempDir } from "./helpers.js";

test("a new store is migrated to the current schema version, in WAL mode, with experiment 0 'Default'", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "nested", "t.db");
    const stores = openSqliteStores(path);
    assert.equal(await stores.backend.schemaVersion(), MIGRATIONS.length);
    assert.equal(stores.driver.db.pragma("journal_mode", { simple: true }), "wal");
    assert.equal((await stores.tracking.getExperiment("0")).name, "Default");
    await stores.tracking.createExperiment("kept");
    await stores.close();
    // reopening applies nothing twice and keeps the data
    const again = openSqliteStores(path);
    assert.equal(await again.backend.schemaVersion(), MIGRATIONS.length);
    assert.equal((await again.tracking.getExperimentByName("kept")).experiment_id, "1");
    assert.equal((again.driver.db.prepare("SELECT COUNT(*) AS n FROM schema_version").get() as { n: number }).n, 1);
    await again.close();
  } finally {
    cleanup();
  }
});

test("a database written by a newer Polarity is refused with a clear message", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "future.db");
    await openSqliteStores(path).close();
    const db = new Database(path);
    db.prepare("UPDATE schema_version SET version = 99").run();
    db.close();
    const stores = openSqliteStores(path);
    await assert.rejects(stores.ready, /schema version 99 is newer/);
    await assert.rejects(stores.tracking.getExperiment("0"), /schema version 99 is newer/);
    await stores.close();
  } finally {
    cleanup();
  }
});

test("the latest metric is the greatest (step, timestamp, value), whatever the logging order", async () => {
  const { dir, cleanup } = tempDir();
  const { tracking: store, close } = openSqliteStores(join(dir, "m.db"));
  try {
    const runId = (await store.createRun({ experimentId: "0" })).info.run_id;
    const log = (value: number, timestamp: number, step: number) => store.logBatch(runId, [{ key: "m", value, timestamp, step }], [], []);
    const latest = async () => (await store.getRun(runId)).data.metrics[0].value;
    await log(1, 10, 5);
    await log(2, 99, 4); // older step: not latest even though newer timestamp
    assert.equal(await latest(), 1);
    await log(3, 11, 5); // same step, newer timestamp
    assert.equal(await latest(), 3);
    await log(0.5, 11, 5); // same step and timestamp, smaller value
    assert.equal(await latest(), 3);
    await log(7, 11, 5); // same step and timestamp, larger value
    assert.equal(await latest(), 7);
    await log(7, 11, 5); // exact duplicate is ignored in the history
    assert.equal((await store.getMetricHistory(runId, "m")).items.length, 5);
  } finally {
    await close();
    cleanup();
  }
});

test("concurrent writers on one connection each get their own transaction (no interleaving, nothing lost)", async () => {
  const { dir, cleanup } = tempDir();
  const { tracking: store, close } = openSqliteStores(join(dir, "c.db"));
  try {
    const runId = (await store.createRun({ experimentId: "0" })).info.run_id;
    const writes = Array.from({ length: 50 }, (_, i) =>
      store.logBatch(runId, [{ key: "m", value: i, timestamp: 1, step: i }], [{ key: `p${i}`, value: String(i) }], []),
    );
    // one failing write in the middle rolls back alone
    writes.push(
      store.logBatch(runId, [], [{ key: "p3", value: "changed" }], []).then(
        () => assert.fail("changed a param"),
        () => undefined,
      ),
    );
    await Promise.all(writes);
    assert.equal((await store.getMetricHistory(runId, "m")).items.length, 50);
    assert.equal((await store.getRun(runId)).data.params.length, 50);
  } finally {
    await close();
    cleanup();
  }
});

test("the SQLite dialect renders the shipped schema unchanged (WITHOUT ROWID tables, INTEGER/REAL/TEXT types)", () => {
  const sql = MIGRATIONS[0](sqliteDialect);
  assert.match(sql, /CREATE TABLE params \([^;]*\) WITHOUT ROWID;/);
  assert.match(sql, /value REAL NOT NULL/);
  assert.doesNotMatch(sql, /BIGINT|DOUBLE|SERIAL/);
});

test("one store-URI parser: sqlite paths, directories, http with credentials, postgresql recognised, other schemes refused", () => {
  assert.deepEqual(parseTrackingUri("sqlite:///mlruns.db"), { kind: "local", dbPath: resolve("mlruns.db"), artifactsDir: resolve("mlartifacts") });
  assert.deepEqual(parseTrackingUri("sqlite:////tmp/x.db"), { kind: "local", dbPath: "/tmp/x.db", artifactsDir: "/tmp/mlartifacts" });
  assert.deepEqual(parseTrackingUri("/plain/path.db"), { kind: "local", dbPath: "/plain/path.db", artifactsDir: "/plain/mlartifacts" });
  assert.throws(() => parseTrackingUri("sqlite://host/x.db"), /sqlite:\/\/\/relative/);
  assert.deepEqual(parseTrackingUri("http://alice:s%3Acret@127.0.0.1:5000/"), {
    kind: "http",
    baseUrl: "http://127.0.0.1:5000",
    username: "alice",
    password: "s:cret",
  });
  const pg = parseTrackingUri("postgresql+psycopg2://u:pw@db:5432/mlflow");
  assert.equal(pg.kind, "postgresql");
  assert.equal(pg.kind === "postgresql" && pg.url, "postgresql://u:pw@db:5432/mlflow");
  assert.throws(
    () => parseTrackingUri("postgresql:/u:pw@db/x"),
    (err: Error) => /Invalid PostgreSQL URI/.test(err.message) && !err.message.includes("pw"),
  );
  assert.throws(
    () => parseTrackingUri("mysql://u:topsecret@db/x"),
    (err: Error) => /Unsupported tracking URI 'mysql:\/\/u:\*\*\*@db\/x'/.test(err.message),
  );
});

test("a PostgreSQL store URI with wrong credentials gives a clear error without the password, and creates no file named after the URL", async () => {
  const { dir, cleanup } = tempDir();
  const cwd = process.cwd();
  try {
    process.chdir(dir);
    const { startTrackingServer } = await import("../../src/tracking/server.js");
    // Port 1 on loopback: nothing listens there, so this fails the same way with or without a PostgreSQL server.
    await assert.rejects(
      startTrackingServer({ backendStoreUri: "postgresql://user:s3cret@127.0.0.1:1/db", port: 0 }),
      (err: Error) => /tracking database postgresql:\/\/user:\*\*\*@127\.0\.0\.1:1\/db/.test(err.message) && !err.message.includes("s3cret"),
    );
    await assert.rejects(startTrackingServer({ backendStoreUri: "http://127.0.0.1:5000", port: 0 }), /is a server URL/);
    assert.equal(existsSync(join(dir, "postgresql:")), false);
  } finally {
    process.chdir(cwd);
    cleanup();
  }
});
