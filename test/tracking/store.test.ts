import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SqliteTrackingStore, sqlitePathFromUri } from "../../src/tracking/sqlite-store.js";
import { tempDir } from "./helpers.js";

test("a new store is migrated to the current schema version, in WAL mode, with experiment 0 'Default'", () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "nested", "t.db");
    const store = new SqliteTrackingStore(path);
    assert.equal(store.schemaVersion, 1);
    assert.equal(store.db.pragma("journal_mode", { simple: true }), "wal");
    assert.equal(store.getExperiment("0").name, "Default");
    store.createExperiment("kept");
    store.close();
    // reopening applies nothing twice and keeps the data
    const again = new SqliteTrackingStore(path);
    assert.equal(again.schemaVersion, 1);
    assert.equal(again.getExperimentByName("kept").experiment_id, "1");
    assert.equal((again.db.prepare("SELECT COUNT(*) AS n FROM schema_version").get() as { n: number }).n, 1);
    again.close();
  } finally {
    cleanup();
  }
});

test("a database written by a newer Polarity is refused with a clear message", () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "future.db");
    new SqliteTrackingStore(path).close();
    const db = new Database(path);
    db.prepare("UPDATE schema_version SET version = 99").run();
    db.close();
    assert.throws(() => new SqliteTrackingStore(path), /schema version 99 is newer/);
  } finally {
    cleanup();
  }
});

test("the latest metric is the greatest (step, timestamp, value), whatever the logging order", () => {
  const { dir, cleanup } = tempDir();
  const store = new SqliteTrackingStore(join(dir, "m.db"));
  try {
    const runId = store.createRun({ experimentId: "0" }).info.run_id;
    const log = (value: number, timestamp: number, step: number) => store.logBatch(runId, [{ key: "m", value, timestamp, step }], [], []);
    log(1, 10, 5);
    log(2, 99, 4); // older step: not latest even though newer timestamp
    assert.equal(store.getRun(runId).data.metrics[0].value, 1);
    log(3, 11, 5); // same step, newer timestamp
    assert.equal(store.getRun(runId).data.metrics[0].value, 3);
    log(0.5, 11, 5); // same step and timestamp, smaller value
    assert.equal(store.getRun(runId).data.metrics[0].value, 3);
    log(7, 11, 5); // same step and timestamp, larger value
    assert.equal(store.getRun(runId).data.metrics[0].value, 7);
    log(7, 11, 5); // exact duplicate is ignored in the history
    assert.equal(store.getMetricHistory(runId, "m").items.length, 5);
  } finally {
    store.close();
    cleanup();
  }
});

test("sqlite URIs: three slashes relative, four absolute", () => {
  assert.equal(sqlitePathFromUri("sqlite:///mlruns.db"), "mlruns.db");
  assert.equal(sqlitePathFromUri("sqlite:////tmp/x.db"), "/tmp/x.db");
  assert.equal(sqlitePathFromUri("/plain/path.db"), "/plain/path.db");
  assert.throws(() => sqlitePathFromUri("sqlite://host/x.db"), /sqlite:\/\/\/relative/);
});
