import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cleanLabelledData } from "../../src/data/clean.js";
import { formatDatasetCsv, readDatasetCsv } from "../../src/data/files.js";
import { ingestDataset, type IngestOptions } from "../../src/data/ingest.js";
import { lengthStats } from "../../src/data/report.js";
import { parseTable, sniffFormat } from "../../src/data/table.js";
import { DataError, NotFoundError } from "../../src/util/errors.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");

function options(over: Partial<IngestOptions>): IngestOptions {
  return {
    source: "x.csv",
    format: "auto",
    header: true,
    encoding: "utf-8",
    http: { timeoutMs: 5000, maxBytes: 10 * 1024 * 1024, sha256: null },
    baseDir: FIXTURES,
    textColumn: "text",
    labelColumn: "label",
    labelMap: null,
    testSize: 0.25,
    seed: 42,
    minRows: 10,
    ...over,
  };
}

describe("table parsing", () => {
  test("CSV with quoted commas, newlines and doubled quotes parses into records", () => {
    const t = parseTable('text,label\n"Good, really good",1\n"He said ""meh""\nthen left",0\n', { format: "csv", where: "t.csv" });
    assert.deepEqual(t.columns, ["text", "label"]);
    assert.deepEqual(t.rows, [
      { text: "Good, really good", label: "1" },
      { text: 'He said "meh"\nthen left', label: "0" },
    ]);
  });

  test("a CSV row with too many fields fails naming the row and the expected columns", () => {
    assert.throws(
      () => parseTable("text,label\ngood,1\nbad, really bad,0\n", { format: "csv", where: "t.csv" }),
      (err: unknown) => err instanceof DataError && /t\.csv: malformed CSV: row 3 has 3 fields, expected 2 \(text, label\)/.test(err.message),
    );
  });

  test("an unterminated quote is reported as malformed CSV", () => {
    assert.throws(() => parseTable('text,label\n"good,1\nbad,0\n', { format: "csv", where: "t.csv" }), /t\.csv: malformed CSV: .*quote/i);
  });

  test("TSV without a header gets pandas-style column names 0, 1", () => {
    const t = parseTable("Great phone\t1\nAwful\t0\n", { format: "tsv", header: false, where: "u.tsv" });
    assert.deepEqual(t.columns, ["0", "1"]);
    assert.equal(t.rows[1]["0"], "Awful");
  });

  test("JSON arrays, {data: [...]} and JSONL all give records; bad JSONL names the line", () => {
    assert.equal(parseTable('[{"text":"a","label":1}]', { format: "json", where: "j" }).rows.length, 1);
    assert.equal(parseTable('{"data":[{"text":"a","label":1},{"text":"b","label":0}]}', { format: "json", where: "j" }).rows.length, 2);
    const jl = parseTable('{"text":"a","label":1}\n\n{"text":"b","label":0,"extra":true}\n', { format: "jsonl", where: "j" });
    assert.deepEqual(jl.columns, ["text", "label", "extra"]);
    assert.throws(() => parseTable('{"text":"a"}\n{"text":\n', { format: "jsonl", where: "j.jsonl" }), /j\.jsonl: malformed JSONL at line 2/);
  });

  test("an HTML page is refused instead of being parsed as one odd column", () => {
    assert.throws(
      () => parseTable("<!DOCTYPE html><html><head><title>Sign in</title></head></html>", { format: "csv", where: "page" }),
      /got an HTML page, not CSV data/,
    );
  });

  test("format sniffing: '[' is JSON, '{' lines are JSONL, tab-only header is TSV, else CSV", () => {
    assert.equal(sniffFormat(' [{"a":1}]'), "json");
    assert.equal(sniffFormat('{"a":1}\n{"a":2}'), "jsonl");
    assert.equal(sniffFormat("text\tlabel\nx\t1"), "tsv");
    assert.equal(sniffFormat("text,label\nx,1"), "csv");
  });
});

describe("cleaning and label mapping", () => {
  const table = {
    columns: ["review", "sentiment"],
    rows: [
      { review: "Loved it", sentiment: "happiness" },
      { review: "  ", sentiment: "happiness" },
      { review: "Hated it", sentiment: "sadness" },
      { review: "Meh", sentiment: "boredom" },
      { review: "Loved  it ", sentiment: "happiness" },
      { review: "Hated it", sentiment: "happiness" },
      { review: "Fine", sentiment: null },
      { review: "Whatever", sentiment: "boredom" },
    ],
  };

  test("mapping happiness → positive and sadness → negative drops and counts every other label, empties and duplicates", () => {
    const out = cleanLabelledData(table, {
      textColumn: "review",
      labelColumn: "sentiment",
      labelMap: { happiness: "positive", sadness: "negative" },
      where: "f.csv",
    });
    assert.deepEqual(out.texts, ["Loved it", "Hated it"]);
    assert.deepEqual(out.labels, ["positive", "negative"]);
    assert.deepEqual(out.stats, {
      rowsRead: 8,
      rowsKept: 2,
      emptyText: 1,
      missingLabel: 1,
      otherLabels: { boredom: 2 },
      otherLabelRows: 2,
      duplicates: 2,
      conflictingDuplicates: 1,
    });
  });

  test("unmapped integer-literal labels become numbers; other labels stay strings", () => {
    const nums = cleanLabelledData(
      {
        columns: ["text", "label"],
        rows: [
          { text: "a", label: "1" },
          { text: "b", label: "0" },
        ],
      },
      { textColumn: "text", labelColumn: "label", labelMap: null, where: "x" },
    );
    assert.deepEqual(nums.labels, [1, 0]);
    const strs = cleanLabelledData(
      {
        columns: ["text", "label"],
        rows: [
          { text: "a", label: "1" },
          { text: "b", label: "pos" },
        ],
      },
      { textColumn: "text", labelColumn: "label", labelMap: null, where: "x" },
    );
    assert.deepEqual(strs.labels, ["1", "pos"]);
  });

  test("a missing column fails naming it, the param to set and the columns found", () => {
    assert.throws(
      () => cleanLabelledData(table, { textColumn: "text", labelColumn: "sentiment", labelMap: null, where: "f.csv" }),
      (err: unknown) =>
        err instanceof DataError &&
        err.message.includes('column "text" not found; columns found: "review", "sentiment"') &&
        err.message.includes("ingest.text_column"),
    );
  });
});

describe("ingestDataset (local files)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "polarity-ingest-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("the seed's data shape (review,sentiment with positive/negative) ingests with a label map", async () => {
    const r = await ingestDataset(
      options({ source: "seed-reviews.csv", textColumn: "review", labelColumn: "sentiment", labelMap: { positive: 1, negative: 0 } }),
    );
    assert.equal(r.report.rowsRead, 44);
    assert.equal(r.report.rowsKept, 40);
    assert.deepEqual(r.report.dropped, { emptyText: 1, missingLabel: 0, otherLabel: 2, otherLabels: { neutral: 2 }, duplicate: 1, conflictingDuplicate: 0 });
    assert.deepEqual(r.report.classes, [0, 1]);
    // Stratified: 25% of each class of 20 goes to test.
    assert.deepEqual(r.report.test.classCounts, { "0": 5, "1": 5 });
    assert.deepEqual(r.report.train.classCounts, { "0": 15, "1": 15 });
    assert.equal(r.report.overlap.exact, 0);
    assert.equal(r.source.type, "local");
    assert.match(r.source.sha256, /^[0-9a-f]{64}$/);
  });

  test("the split is determined by the seed", async () => {
    const opts = options({ source: "seed-reviews.csv", textColumn: "review", labelColumn: "sentiment", labelMap: { positive: 1, negative: 0 } });
    const a = await ingestDataset(opts);
    const b = await ingestDataset(opts);
    const c = await ingestDataset({ ...opts, seed: 7 });
    assert.deepEqual(a.test.texts, b.test.texts);
    assert.notDeepEqual(a.test.texts, c.test.texts);
  });

  test("three labels from JSONL ingest as a multi-class data set", async () => {
    const r = await ingestDataset(options({ source: "emotions.jsonl", labelColumn: "emotion" }));
    assert.deepEqual(r.report.classes, ["anger", "joy", "sadness"]);
    for (const c of ["anger", "joy", "sadness"]) assert.ok(r.report.test.classCounts[c] >= 1);
  });

  test("data with one class fails with a clear message", async () => {
    const path = join(dir, "one.csv");
    await writeFile(path, "text,label\n" + Array.from({ length: 20 }, (_, i) => `text number ${i},pos`).join("\n"));
    await assert.rejects(ingestDataset(options({ source: path })), /only one class \("pos", 20 rows\)/);
  });

  test("too few rows fails, naming the threshold param", async () => {
    const path = join(dir, "few.csv");
    await writeFile(path, "text,label\na,1\nb,0\nc,1\nd,0\n");
    await assert.rejects(ingestDataset(options({ source: path })), /too few rows: 4 usable \(need at least 10, ingest\.min_rows\)/);
  });

  test("a class with a single row fails naming the class", async () => {
    const path = join(dir, "rare.csv");
    await writeFile(path, "text,label\n" + Array.from({ length: 12 }, (_, i) => `t${i},${i % 2}`).join("\n") + "\nlonely,2\n");
    await assert.rejects(ingestDataset(options({ source: path })), /class "2" \(1 row\) too small/);
  });

  test("a missing file is NotFound and lists the built-in sources", async () => {
    await assert.rejects(
      ingestDataset(options({ source: "nope.csv" })),
      (err: unknown) => err instanceof NotFoundError && /nope\.csv not found.*uci-sentences/.test(err.message),
    );
  });

  test("a Latin-1 file is refused as UTF-8 with a hint, and reads with encoding latin1", async () => {
    const path = join(dir, "latin1.csv");
    const body = "text,label\n" + Array.from({ length: 12 }, (_, i) => `caf\u00e9 ${i},${i % 2}`).join("\n") + "\n";
    await writeFile(path, Buffer.from(body, "latin1"));
    await assert.rejects(ingestDataset(options({ source: path })), /not valid UTF-8.*ingest\.encoding: latin1/);
    const r = await ingestDataset(options({ source: path, encoding: "latin1" }));
    assert.ok(r.train.texts.every((t) => t.startsWith("café")));
  });
});

describe("dataset files and statistics", () => {
  test("the labelled-text CSV round-trips texts with commas, quotes and newlines, and numeric labels", async () => {
    const dir = await mkdtemp(join(tmpdir(), "polarity-ds-"));
    try {
      const texts = ['a, "quoted" text', "line\nbreak", "plain"];
      const path = join(dir, "d.csv");
      await writeFile(path, formatDatasetCsv(texts, [1, 0, 1]));
      assert.deepEqual(await readDatasetCsv(path), { texts, labels: [1, 0, 1] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("length statistics use numpy's linear-interpolation percentiles", () => {
    assert.deepEqual(lengthStats(Float64Array.from([1, 2, 3, 4, 10])), { min: 1, max: 10, mean: 4, median: 3, p95: 8.8 });
  });
});

describe("pinning a local file", () => {
  test("an expected sha256 that matches passes; a stale one fails naming both digests", async () => {
    const good = createHash("sha256")
      .update(await readFile(join(FIXTURES, "emotions.jsonl")))
      .digest("hex");
    const base = options({ source: "emotions.jsonl", labelColumn: "emotion" });
    await ingestDataset({ ...base, http: { ...base.http, sha256: good } });
    await assert.rejects(ingestDataset({ ...base, http: { ...base.http, sha256: "f".repeat(64) } }), new RegExp(`expected sha256 f{64}, got ${good}`));
  });
});

test("class names come from the label map (numeric ids named by their raw label) or from the built-in data", async () => {
  const { classNamesOf } = await import("../../src/data/ingest.js");
  const { UCI_CLASS_NAMES } = await import("../../src/data/builtin.js");
  assert.deepEqual(classNamesOf({ positive: 1, negative: 0, neutral: 2 }, null, [0, 1, 1, 0]), { "1": "positive", "0": "negative" });
  assert.deepEqual(classNamesOf({ good: 1, great: 1, bad: 0 }, null, [0, 1]), { "1": "good", "0": "bad" });
  assert.equal(classNamesOf({ happiness: "positive", sadness: "negative" }, null, ["positive", "negative"]), null);
  assert.deepEqual(classNamesOf(null, UCI_CLASS_NAMES, [0, 1]), { "0": "negative", "1": "positive" });
  assert.equal(classNamesOf(null, null, [0, 1]), null);
});

test("a CSV with mixed CRLF and LF line ends (and a lone CR) parses row by row", () => {
  const t = parseTable('text,label\r\ngood one,1\nbad one,0\r\n"quoted, with comma",1\rlast,0\n', { format: "csv", where: "mixed.csv" });
  assert.deepEqual(t.columns, ["text", "label"]);
  assert.deepEqual(
    t.rows.map((r) => [r.text, r.label]),
    [
      ["good one", "1"],
      ["bad one", "0"],
      ["quoted, with comma", "1"],
      ["last", "0"],
    ],
  );
});
