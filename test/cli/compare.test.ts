import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TrackingClient } from "../../src/tracking/client.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("polarity compare", { timeout: 400_000 }, () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "polarity-compare-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("six models × {BoW, TF-IDF}: a sorted table, 12 child runs under one parent, an offline HTML page with the parallel-coordinates plot", async () => {
    const html = join(dir, "out", "compare.html");
    const db = join(dir, "mlruns.db");
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli/main.ts",
        "compare",
        "--folds",
        "2",
        "--trees",
        "5",
        "--jobs",
        "0",
        "--html",
        html,
        "--tracking-uri",
        `sqlite:///${db}`,
        "--json",
      ],
      { cwd: root, encoding: "utf8", timeout: 360_000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.trials.length, 12);
    assert.deepEqual(new Set(out.trials.map((t: { model: string }) => t.model)), new Set(["logreg", "nb", "nbsvm", "svm", "rf", "gbdt"]));
    for (let i = 1; i < out.trials.length; i++) assert.ok(out.trials[i - 1].mean.accuracy >= out.trials[i].mean.accuracy);
    const page = readFileSync(html, "utf8");
    assert.match(page, /type: "parallel"/);
    assert.ok(page.length > 500_000, "echarts is inlined");
    assert.doesNotMatch(page, /<script[^>]+src=|<link[^>]+href=/, "no external assets");
    const client = TrackingClient.open({ trackingUri: `sqlite:///${db}` });
    try {
      const exp = await client.getExperimentByName("polarity-compare");
      assert.ok(exp);
      const runs = await client.searchAllRuns({ experimentIds: [exp.experiment_id] });
      assert.equal(runs.filter((run) => run.data.tags?.some((t) => t.key === "mlflow.parentRunId" && t.value === out.parentRunId)).length, 12);
    } finally {
      await client.close();
    }
  });
});
