import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TrackingClient } from "../../src/tracking/client.js";

// node:test runs each file in its own process: nothing else has loaded pg here.
const pgLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => /[\\/]node_modules[\\/]pg[\\/]/.test(k));

test("a SQLite tracking store works without loading pg (60-80 ms of every start that logs runs)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "polarity-lazy-pg-"));
  try {
    const client = TrackingClient.open({ trackingUri: `sqlite:///${join(dir, "mlruns.db")}` });
    const experimentId = await client.getOrCreateExperiment("lazy");
    const run = await client.createRun(experimentId, {});
    await client.logMetrics(run.info.run_id, { accuracy: 0.9 });
    await client.endRun(run.info.run_id, "FINISHED");
    await client.close();
    assert.equal(pgLoaded(), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a PostgreSQL store loads pg when it opens", { skip: process.env.POLARITY_TEST_POSTGRES_URL ? false : "POLARITY_TEST_POSTGRES_URL not set" }, async () => {
  const client = TrackingClient.open({ trackingUri: process.env.POLARITY_TEST_POSTGRES_URL as string });
  try {
    assert.equal(pgLoaded(), true);
    await client.getOrCreateExperiment("lazy-pg");
  } finally {
    await client.close();
  }
});
