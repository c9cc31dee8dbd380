import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { join } from "node:path";
import { BULK_INTERVAL_LIMITS, metricHistoryBulkInterval, sampleSteps } from "../../src/tracking/history-bulk.js";
import { openSqliteStores } from "../../src/tracking/store/open.js";
import { genericMetricHistorySampler, sqlMetricHistorySampler } from "../../src/tracking/store/sql/metric-history-sample.js";
import { makeTempDir } from "../support/temp-dir.js";
import { httpHarness, type Harness } from "./helpers.js";

/**
 * MLflow's sampled history endpoint (GET …/metrics/get-history-bulk-interval) against a real
 * server on 127.0.0.1: the sampling MLflow's handler does, the response shape, and bad input
 * answered with a 400/404 naming the problem (never a 500).
 */

describe("sampleSteps is MLflow's _get_sampled_steps_from_steps", () => {
  // Expected values printed by mlflow/server/handlers.py's function (copied into
  // /usr/bin/python3) for the same arguments.
  const range = (n: number, by = 1) => Float64Array.from({ length: n }, (_, i) => i * by);
  test("evenly spaced samples plus the last step", () => {
    assert.deepEqual(sampleSteps(range(100), 0, 99, 7), [0, 14, 28, 42, 57, 71, 85, 99]);
    assert.deepEqual(sampleSteps(Float64Array.from([0, 1, 2, 3, 5, 8, 13, 21, 34, 55]), 0, 1000, 4), [0, 2, 8, 21, 55]);
    const big = sampleSteps(range(5000), 0, 4999, 100);
    assert.equal(new Set(big).size, 101);
    assert.deepEqual(big.slice(0, 5), [0, 50, 100, 150, 200]);
  });
  test("a window inside the steps keeps MLflow's index bound (idx < num_steps)", () => {
    assert.deepEqual(sampleSteps(range(50, 2), 10, 40, 7), [10, 14, 18, 22, 28, 40]);
    assert.deepEqual(sampleSteps(range(100), 50, 99, 6), [99]);
  });
  test("every step when there are no more than max_results, none outside the window", () => {
    assert.deepEqual(sampleSteps(range(5), 0, 10, 2500), [0, 1, 2, 3, 4]);
    assert.deepEqual(sampleSteps(range(10), 3, 5, 2500), [3, 4, 5]);
    assert.deepEqual(sampleSteps(range(10), 20, 30, 2500), []);
    assert.deepEqual(sampleSteps(new Float64Array(0), 0, 0, 2500), []);
  });
});

describe("GET /ajax-api/2.0/mlflow/metrics/get-history-bulk-interval on a real server", { timeout: 120_000 }, () => {
  let h: Harness;
  let long: string;
  let short: string;
  let empty: string;
  const t0 = Date.UTC(2026, 0, 1);

  before(async () => {
    h = await httpHarness();
    const exp = await h.client.createExperiment("bulk-interval");
    long = (await h.client.createRun(exp)).info.run_id;
    short = (await h.client.createRun(exp)).info.run_id;
    empty = (await h.client.createRun(exp)).info.run_id;
    // 6,000 points on steps 0..5999 (two points at step 7), and a short history on even steps 0..98 with a NaN.
    const points = Array.from({ length: 6000 }, (_, step) => ({ key: "loss", value: 1 / (step + 1), timestamp: t0 + step, step }));
    points.push({ key: "loss", value: 0.5, timestamp: t0 + 100_000, step: 7 });
    for (let i = 0; i < points.length; i += 1000) await h.client.logBatch(long, { metrics: points.slice(i, i + 1000) });
    await h.client.logBatch(short, {
      metrics: Array.from({ length: 50 }, (_, i) => ({ key: "loss", value: i === 3 ? NaN : i, timestamp: t0 + i, step: 2 * i })),
    });
  });
  after(async () => h?.close());

  const get = async (query: string, prefix = "/ajax-api/2.0/mlflow/") => {
    const res = await fetch(`${h.server!.url}${prefix}metrics/get-history-bulk-interval?${query}`);
    const body = (await res.json()) as {
      metrics?: Array<{ key: string; value: number | string; timestamp: number; step: number; run_id: string }>;
      error_code?: string;
      message?: string;
    };
    return { status: res.status, body };
  };

  test("samples max_results steps over all runs' steps, adds each run's first and last step, orders by (step, timestamp)", async () => {
    const { status, body } = await get(`run_ids=${long}&run_ids=${short}&metric_key=loss&max_results=100`);
    assert.equal(status, 200);
    const metrics = body.metrics!;
    const ofLong = metrics.filter((m) => m.run_id === long);
    const ofShort = metrics.filter((m) => m.run_id === short);
    assert.equal(ofLong.length + ofShort.length, metrics.length);
    assert.equal(metrics.indexOf(ofShort[0]), ofLong.length, "runs come in request order");
    // The union of steps is 0..5999 (6,000 distinct): 100 samples 60 apart, plus 5999, plus the short run's last step 98.
    const expected = new Set([...Array.from({ length: 100 }, (_, i) => i * 60), 5999, 98]);
    assert.deepEqual(new Set(ofLong.map((m) => m.step)), expected);
    for (let i = 1; i < ofLong.length; i++) assert.ok(ofLong[i - 1].step <= ofLong[i].step, "ordered by step");
    assert.deepEqual(Object.keys(ofLong[0]).sort(), ["key", "run_id", "step", "timestamp", "value"]);
    assert.deepEqual(ofLong[1], { key: "loss", value: 1 / 61, timestamp: t0 + 60, step: 60, run_id: long });
    // The short run has points only at even steps: of the sampled ones, those it logged.
    assert.deepEqual(
      ofShort.map((m) => m.step),
      [...expected].filter((s) => s <= 98 && s % 2 === 0).sort((a, b) => a - b),
    );
  });

  test("every point when a history has no more steps than max_results (default 2500), both points of a repeated step", async () => {
    const { body } = await get(`run_ids=${short}&metric_key=loss`);
    assert.equal(body.metrics!.length, 50);
    assert.equal(body.metrics!.find((m) => m.step === 6)?.value, "NaN", "NaN goes out the protobuf-JSON way");
    const { body: window } = await get(`run_ids=${long}&metric_key=loss&start_step=5&end_step=9`);
    assert.deepEqual(
      window.metrics!.map((m) => [m.step, m.value]),
      [
        [5, 1 / 6],
        [6, 1 / 7],
        [7, 1 / 8],
        [7, 0.5],
        [8, 1 / 9],
        [9, 1 / 10],
      ],
    );
    const { body: none } = await get(`run_ids=${empty}&metric_key=loss`);
    assert.deepEqual(none.metrics, []);
    const { status, body: api } = await get(`run_ids=${short}&metric_key=loss&max_results=10`, "/api/2.0/mlflow/");
    assert.equal(status, 200, "also under /api/2.0/mlflow/ like every other endpoint");
    assert.ok(api.metrics!.length <= 11 + 1);
  });

  test("a 10^5-point history comes back as at most 2,500 sampled points", async () => {
    const exp = await h.client.createExperiment("bulk-interval-large");
    const run = (await h.client.createRun(exp)).info.run_id;
    for (let i = 0; i < 100_000; i += 1000)
      await h.client.logBatch(run, { metrics: Array.from({ length: 1000 }, (_, j) => ({ key: "loss", value: i + j, timestamp: t0 + i + j, step: i + j })) });
    const { status, body } = await get(`run_ids=${run}&metric_key=loss`);
    assert.equal(status, 200);
    assert.equal(body.metrics!.length, BULK_INTERVAL_LIMITS.maxResultsPerRun + 1);
    assert.equal(body.metrics![0].step, 0);
    assert.equal(body.metrics!.at(-1)!.step, 99_999);
  });

  test("bad input gets a 400 (or 404 for an unknown run) that names the problem, never a 500", async () => {
    const many = Array.from({ length: BULK_INTERVAL_LIMITS.maxRuns + 1 }, () => `run_ids=${long}`).join("&");
    const cases: Array<[string, number, RegExp]> = [
      ["metric_key=loss", 400, /required parameter 'run_ids'/],
      [`run_ids=${long}`, 400, /required parameter 'metric_key'/],
      [`run_ids=${long}&metric_key=`, 400, /required parameter 'metric_key'/],
      [`${many}&metric_key=loss`, 400, /at most 100 run_ids\. Received 101/],
      [`run_ids=${encodeURIComponent("' OR 1=1 --")}&metric_key=loss`, 400, /Invalid run ID/],
      [`run_ids=${"a".repeat(300)}&metric_key=loss`, 400, /Invalid run ID/],
      [`run_ids=${long}&metric_key=${encodeURIComponent("loss' OR '1'='1")}`, 400, /Invalid metric name/],
      [`run_ids=${long}&metric_key=..%2F..%2Fetc`, 400, /Invalid metric name/],
      [`run_ids=${long}&metric_key=${"k".repeat(300)}`, 400, /exceeded length limit of 250/],
      [`run_ids=${long}&metric_key=loss&metric_key=acc`, 400, /'metric_key' was given 2 times/],
      [`run_ids=${long}&metric_key=loss&start_step=1`, 400, /both must be specified/],
      [`run_ids=${long}&metric_key=loss&end_step=1`, 400, /both must be specified/],
      [`run_ids=${long}&metric_key=loss&start_step=9&end_step=2`, 400, /end_step must be greater than start_step/],
      [`run_ids=${long}&metric_key=loss&start_step=x&end_step=2`, 400, /'start_step'.*integer/],
      [`run_ids=${long}&metric_key=loss&start_step=0&end_step=1e400`, 400, /'end_step'.*integer/],
      [`run_ids=${long}&metric_key=loss&start_step=0&end_step=99999999999999999999`, 400, /'end_step'.*integer/],
      [`run_ids=${long}&metric_key=loss&max_results=0`, 400, /max_results must be between 1 and 2500/],
      [`run_ids=${long}&metric_key=loss&max_results=2501`, 400, /max_results must be between 1 and 2500/],
      [`run_ids=${long}&metric_key=loss&max_results=-5`, 400, /max_results must be between 1 and 2500/],
      [`run_ids=${long}&metric_key=loss&max_results=2.5`, 400, /'max_results'.*integer/],
      [`run_ids=0123456789abcdef0123456789abcdef&metric_key=loss`, 404, /Run with id=0123456789abcdef0123456789abcdef not found/],
    ];
    for (const [query, status, message] of cases) {
      const res = await get(query);
      assert.equal(res.status, status, query.slice(0, 80));
      assert.equal(res.body.error_code, status === 404 ? "RESOURCE_DOES_NOT_EXIST" : "INVALID_PARAMETER_VALUE", query.slice(0, 80));
      assert.match(res.body.message ?? "", message, query.slice(0, 80));
      assert.ok((res.body.message ?? "").length < 1100, "no unbounded echo");
    }
  });
});

describe("the SQL sampler and the generic one (through getMetricHistory) agree", { timeout: 60_000 }, () => {
  test("same points for several runs, windows and limits", async () => {
    const tmp = makeTempDir("polarity-bulk-");
    const stores = openSqliteStores(join(tmp.dir, "s.db"));
    try {
      const exp = await stores.tracking.createExperiment("e");
      const runs: string[] = [];
      for (let r = 0; r < 3; r++) {
        const run = await stores.tracking.createRun({ experimentId: exp, startTime: 1 });
        runs.push(run.info.run_id);
        // Irregular steps (every (r + 2)-th, some twice, one NaN), logged out of order.
        const metrics = [];
        for (let step = 3000; step >= 0; step -= r + 2)
          metrics.push({ key: "m", value: step === 30 ? NaN : Math.sin(step + r), timestamp: 10 + (step % 7), step });
        metrics.push({ key: "m", value: 42, timestamp: 5, step: 60 });
        for (let i = 0; i < metrics.length; i += 1000) await stores.tracking.logBatch(run.info.run_id, metrics.slice(i, i + 1000), [], []);
      }
      const sql = sqlMetricHistorySampler(stores.backend);
      const generic = genericMetricHistorySampler(stores.tracking);
      for (const req of [
        { runIds: runs, metricKey: "m", maxResults: 2500 },
        { runIds: runs, metricKey: "m", maxResults: 37 },
        { runIds: [runs[2], runs[0]], metricKey: "m", maxResults: 100, startStep: 50, endStep: 900 },
        { runIds: [runs[1]], metricKey: "absent", maxResults: 10 },
      ]) {
        const a = await metricHistoryBulkInterval(sql, req);
        const b = await metricHistoryBulkInterval(generic, req);
        assert.deepEqual(a, b, JSON.stringify(req));
        if (req.metricKey === "m") assert.ok(a.length > 0);
      }
    } finally {
      await stores.close();
      tmp.cleanup();
    }
  });
});
