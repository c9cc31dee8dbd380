import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { TrackingClient } from "../../src/tracking/client.js";
import { FIXTURES, makeProject, polarityBinDir, readJson, runCli } from "./helpers.js";

/**
 * Other data through the real CLI: the seed's CSV shape served over HTTP, a 404 and a
 * malformed CSV (clear errors, no partial outputs), and a three-class data set. Independent
 * projects, so the tests run concurrently.
 */
describe("pipeline sources through the CLI", { concurrency: true, timeout: 300_000 }, () => {
  let server: Server;
  let base: string;
  let path: string;
  const dirs: string[] = [];

  before(async () => {
    const csv = await readFile(join(FIXTURES, "seed-reviews.csv"));
    server = createServer((req, res) => {
      if (req.url === "/data/reviews.csv") res.writeHead(200, { "content-type": "text/csv" }).end(csv);
      else if (req.url === "/data/broken.csv")
        res.writeHead(200, { "content-type": "text/csv" }).end('review,sentiment\n"great movie,positive\nawful,negative\n');
      else res.writeHead(404, "Not Found").end("not here");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    path = `${await polarityBinDir()}:${process.env.PATH ?? ""}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  const seedShape = (source: string) => (p: Record<string, Record<string, unknown>>) => {
    p.ingest = { ...p.ingest, source, text_column: "review", label_column: "sentiment", label_map: { positive: 1, negative: 0 } };
  };

  test("the seed's data shape (review,sentiment; positive/negative) from a URL trains and registers with only a params change", async () => {
    const dir = await makeProject("url", seedShape(`${base}/data/reviews.csv`));
    dirs.push(dir);
    const r = await runCli(["repro"], dir, { PATH: path });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /\[ingest\] kept 40 rows; dropped 1 empty text, 0 missing label, 2 other label \(neutral: 2\), 1 duplicate/);
    const report = await readJson<{ source: { type: string; uri: string }; classCounts: Record<string, number> }>(join(dir, "reports", "data_validation.json"));
    assert.equal(report.source.type, "http");
    assert.deepEqual(report.classCounts, { "0": 20, "1": 20 });
    const client = TrackingClient.open({ trackingUri: `sqlite:///${join(dir, "mlruns.db")}` });
    try {
      const v1 = await client.getModelVersionByAlias("sentiment", "staging");
      assert.equal(v1.version, "1");
      const run = await client.getRun(v1.run_id);
      assert.equal(run.inputs.dataset_inputs[0].dataset.source_type, "http");
    } finally {
      await client.close();
    }
  });

  test("a 404 URL fails the ingest stage with a clear message and leaves no outputs and no lock", async () => {
    const dir = await makeProject("404", seedShape(`${base}/data/missing.csv`));
    dirs.push(dir);
    const r = await runCli(["repro"], dir, { PATH: path });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, new RegExp(`\\[ingest\\] error: download failed: ${base}/data/missing\\.csv returned HTTP 404 Not Found`));
    assert.equal(existsSync(join(dir, "data", "raw")) && existsSync(join(dir, "data", "raw", "train.csv")), false);
    assert.equal(existsSync(join(dir, "reports", "data_validation.json")), false);
    assert.equal(existsSync(join(dir, "dvc.lock")), false);
  });

  test("a malformed CSV fails with the row and the expected columns named, and writes nothing", async () => {
    const dir = await makeProject("malformed", seedShape(`${base}/data/broken.csv`));
    dirs.push(dir);
    const r = await runCli(["stage", "ingest"], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^error: .*broken\.csv: malformed CSV: .*quote/m);
    assert.equal(existsSync(join(dir, "data")), false, "no data directory");
    assert.equal(existsSync(join(dir, "reports")), false, "no report");
  });

  test("a three-class data set trains, evaluates with macro metrics and one-vs-rest AUC, and registers", async () => {
    const dir = await makeProject("multiclass", (p) => {
      p.ingest = { ...p.ingest, source: "emotions.jsonl", label_column: "emotion", test_size: 0.25 };
    });
    dirs.push(dir);
    await copyFile(join(FIXTURES, "emotions.jsonl"), join(dir, "emotions.jsonl"));
    const r = await runCli(["repro"], dir, { PATH: path });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const m = await readJson<{ average: string; roc_auc: number | null; f1: number; f1_macro: number; n_test: number }>(join(dir, "reports", "metrics.json"));
    assert.equal(m.average, "macro");
    assert.equal(m.f1, m.f1_macro);
    assert.equal(typeof m.roc_auc, "number");
    assert.equal(m.n_test, 9);
    const roc = await readJson<{ roc: Array<{ class: string }> }>(join(dir, "reports", "plots", "roc.json"));
    assert.deepEqual([...new Set(roc.roc.map((p) => p.class))].sort(), ["anger", "joy", "sadness"]);
    const model = await readJson<{ classes: string[] }>(join(dir, "models", "model.json"));
    assert.deepEqual(model.classes, ["anger", "joy", "sadness"]);
    const reg = await readJson<{ name: string; version: string; alias: string }>(join(dir, "reports", "registration.json"));
    assert.deepEqual([reg.name, reg.version, reg.alias], ["sentiment", "1", "staging"]);
  });
});
