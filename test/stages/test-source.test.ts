import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ingestDataset, type IngestOptions } from "../../src/data/ingest.js";
import { parseParams } from "../../src/stages/params.js";
import { DataError } from "../../src/util/errors.js";
import { cli, makeProject, read, writeFiles } from "../pipeline/helpers.js";

// Issue 13: `ingest.test_source`, a separately supplied test split, and dvc.yaml's
// path_params making an edit of it rerun ingest.

const ROOT = path.resolve(import.meta.dirname, "../..");
const rows = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix} text number ${i},${i % 2}`).join("\n");
const TRAIN_CSV = `text,label\n${rows("train", 20)}\n`;
const TEST_CSV = `text,label\n${rows("test", 6)}\n`;

function options(dir: string, over: Partial<IngestOptions>): IngestOptions {
  const p = parseParams({}).ingest;
  return { ...p, source: "train.csv", testSource: "test.csv", baseDir: dir, textColumn: "text", labelColumn: "label", ...over };
}

describe("ingest.test_source", { timeout: 120_000 }, () => {
  it("the source is all training data, the test file is the test split (no split, test_size unused)", async () => {
    const dir = makeProject({ "train.csv": TRAIN_CSV, "test.csv": TEST_CSV });
    const r = await ingestDataset(options(dir, { testSize: 0.5 }));
    assert.equal(r.train.texts.length, 20);
    assert.deepEqual(
      r.test.texts,
      Array.from({ length: 6 }, (_, i) => `test text number ${i}`),
    );
    assert.deepEqual(r.test.labels, [0, 1, 0, 1, 0, 1]);
    assert.equal((r.report.source as { test: { name: string } }).test.name, "test.csv");
  });

  it("the label map applies to the test split too; a class the training data lacks is a clear error", async () => {
    const dir = makeProject({
      "train.csv": "text,label\na one,pos\nb two,neg\nc three,pos\nd four,neg\n",
      "test.csv": "text,label\ne five,pos\nf six,neg\ng seven,meh\n",
      "bad.csv": "text,label\ne five,pos\nf six,2\n",
    });
    const r = await ingestDataset(options(dir, { labelMap: { pos: 1, neg: 0 }, minRows: 2 }));
    assert.deepEqual(r.test.labels, [1, 0], "the unmapped 'meh' row is dropped like in the source");
    await assert.rejects(
      ingestDataset(options(dir, { testSource: "bad.csv", minRows: 2 })),
      (e: unknown) => e instanceof DataError && /ingest\.test_source bad\.csv: label "2" not in the training data train\.csv/.test((e as Error).message),
    );
    await assert.rejects(ingestDataset(options(dir, { testSource: "missing.csv", minRows: 2 })), /missing\.csv/);
  });

  it("the real pipeline: `polarity repro ingest` writes data/raw/test.csv from it, and editing it reruns ingest", () => {
    const dir = makeProject({
      "dvc.yaml": fs.readFileSync(path.join(ROOT, "dvc.yaml"), "utf8"),
      "params.yaml": "ingest:\n  source: train.csv\n  test_source: test.csv\ntrain:\n  cv_folds: 2\n",
      "train.csv": TRAIN_CSV,
      "test.csv": TEST_CSV,
    });
    let r = cli(dir, ["repro", "ingest"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /test 6 rows from test\.csv \(ingest\.test_source; test_size not used\)/);
    assert.equal(read(dir, "data/raw/test.csv").trim().split("\n").length, 7);
    assert.match(read(dir, "dvc.lock"), /- path: test\.csv\n/);
    writeFiles(dir, { "test.csv": `text,label\n${rows("test", 8)}\n` });
    assert.match(cli(dir, ["status"]).stdout, /modified: +test\.csv/);
    r = cli(dir, ["repro", "ingest"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Running stage 'ingest'/);
    assert.equal(read(dir, "data/raw/test.csv").trim().split("\n").length, 9);
  });
});
