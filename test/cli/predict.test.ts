import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DelimitedRecordReader } from "../../src/cli/predict-rows.js";
import { loadUciSentences } from "../../src/data/builtin.js";
import { LogisticRegression } from "../../src/models/logistic-regression.js";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import { csrFromDense } from "../../src/features/csr.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
function polarity(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: root, encoding: "utf8", timeout: 120_000, input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("polarity predict", { timeout: 300_000 }, () => {
  let dir = "";
  let modelPath = "";
  let model: SentimentModel;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "polarity-predict-"));
    const { texts, labels } = loadUciSentences();
    model = SentimentModel.train(texts, labels, { features: { kind: "tfidf", ngramRange: [1, 2] }, model: { kind: "logreg" } });
    modelPath = join(dir, "model.json");
    writeFileSync(modelPath, JSON.stringify(model.toJSON()));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("scores a CSV file (quoted commas, quotes and newlines) into a CSV with label, class name and the model's probabilities", () => {
    const texts = ["I love this phone, really", 'It said "broken"\non arrival', "Terrible battery.", "great"];
    const csv = "id,text\n" + texts.map((t, i) => `${i},"${t.replace(/"/g, '""')}"`).join("\r\n") + "\n";
    writeFileSync(join(dir, "in.csv"), csv);
    const out = join(dir, "out.csv");
    const r = polarity(["predict", join(dir, "in.csv"), "--model", modelPath, "-o", out, "--quiet"]);
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    assert.equal(lines[0], "row,label,class_name,p_0,p_1");
    assert.equal(lines.length, 5);
    const P = model.predictProba(texts);
    lines.slice(1).forEach((line, i) => {
      const [row, label, name, p0, p1] = line.split(",");
      assert.equal(Number(row), i);
      const expected = P[2 * i + 1] > P[2 * i] ? 1 : 0;
      assert.equal(Number(label), expected);
      assert.equal(name, expected === 1 ? "positive" : "negative");
      assert.ok(Math.abs(Number(p1) - P[2 * i + 1]) < 1e-6 && Math.abs(Number(p0) - P[2 * i]) < 1e-6);
    });
  });

  test("pipelined batches (workers scoring batch b while b − 1 is written): every row in order, equal to the model's probabilities; a bad row mid-stream fails cleanly", () => {
    const { texts } = loadUciSentences();
    const rows = Array.from({ length: 9000 }, (_, i) => texts[i % texts.length]);
    writeFileSync(join(dir, "many.csv"), "text\n" + rows.map((t) => `"${t.replace(/"/g, '""')}"`).join("\n") + "\n");
    const out = join(dir, "many-out.csv");
    // 2,500-row batches: above the pool's parallel threshold, so both workers score each batch.
    const r = polarity(["predict", join(dir, "many.csv"), "--model", modelPath, "-o", out, "--quiet", "--batch-size", "2500"]);
    assert.equal(r.status, 0, r.stderr);
    const lines = readFileSync(out, "utf8").trim().split("\n").slice(1);
    assert.equal(lines.length, rows.length);
    const P = model.predictProba(rows);
    lines.forEach((line, i) => {
      const [row, , , p0, p1] = line.split(",");
      assert.equal(Number(row), i);
      assert.ok(Math.abs(Number(p1) - P[2 * i + 1]) < 1e-6 && Math.abs(Number(p0) - P[2 * i]) < 1e-6, `row ${i}`);
    });
    // Row 6001 (third batch) lacks the text column: exit non-zero, clear message, no output file.
    const bad = "id,text\n" + rows.map((t, i) => (i === 6000 ? "6000" : `${i},"${t.replace(/"/g, '""')}"`)).join("\n") + "\n";
    writeFileSync(join(dir, "bad.csv"), bad);
    const badOut = join(dir, "bad-out.csv");
    const b = polarity(["predict", join(dir, "bad.csv"), "--model", modelPath, "-o", badOut, "--quiet", "--batch-size", "2500"]);
    assert.notEqual(b.status, 0);
    assert.match(b.stderr, /row 6001 has 1 fields/);
    assert.ok(!/\n\s+at /.test(b.stderr), "no stack trace");
    assert.ok(!existsSync(badOut));
  });

  test("a file read in 50-byte ranges by the workers prints what stdin's streamed path prints", () => {
    const texts = ['It said "broken"\non arrival', "I love this phone, really", "Terrible battery.", "great\r\nfine", "日本語 😀"];
    const csv = "\uFEFFid,text\r\n" + Array.from({ length: 60 }, (_, i) => `${i},"${texts[i % texts.length].replace(/"/g, '""')}"`).join("\r\n") + "\n\n";
    writeFileSync(join(dir, "cuts.csv"), csv);
    const a = polarity(["predict", join(dir, "cuts.csv"), "--model", modelPath, "--chunk-bytes", "50", "--quiet"]);
    const b = polarity(["predict", "-", "--format", "csv", "--model", modelPath, "--quiet"], csv);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    assert.equal(a.stdout.split("\n").length, 62);
    assert.equal(a.stdout, b.stdout);
  });

  test("reads JSONL from stdin and writes JSONL with top words", () => {
    const r = polarity(
      ["predict", "-", "--model", modelPath, "--output-format", "jsonl", "--top-words", "2", "--quiet"],
      '{"text":"I love it"}\n{"text":"awful, just awful"}\n',
    );
    assert.equal(r.status, 0, r.stderr);
    const recs = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(recs.length, 2);
    assert.equal(recs[0].class_name, "positive");
    assert.equal(recs[1].label, 0);
    assert.ok(Math.abs(recs[0].probabilities["0"] + recs[0].probabilities["1"] - 1) < 1e-5);
    assert.ok(Array.isArray(recs[0].top_words) && recs[0].top_words.length >= 1);
  });

  test("bad input: missing column, empty file, no rows, a bare classifier, a missing model — clear errors, exit codes, no output file", () => {
    writeFileSync(join(dir, "nocol.csv"), "id,body\n1,hello\n");
    const out = join(dir, "never.csv");
    let r = polarity(["predict", join(dir, "nocol.csv"), "--model", modelPath, "-o", out]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^error: .*no column 'text' \(columns: 'id', 'body'\).*--text-column/m);
    assert.equal(existsSync(out), false);
    assert.ok(!/\n\s+at /.test(r.stderr), "no stack trace");

    writeFileSync(join(dir, "empty.csv"), "");
    r = polarity(["predict", join(dir, "empty.csv"), "--model", modelPath]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^error: input file .*empty\.csv is empty/m);

    writeFileSync(join(dir, "header.csv"), "text\n");
    r = polarity(["predict", join(dir, "header.csv"), "--model", modelPath]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /has no rows to score/);

    r = polarity(["predict", "-", "--model", modelPath], '{"body":"x"}\n');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /line 1 has no field 'text' \(fields: 'body'\)/);

    const bare = new LogisticRegression().fit(
      csrFromDense([
        [1, 0],
        [0, 1],
      ]),
      [0, 1],
    );
    writeFileSync(join(dir, "bare.json"), JSON.stringify(bare.toJSON()));
    writeFileSync(join(dir, "ok.csv"), "text\nhello\n");
    r = polarity(["predict", join(dir, "ok.csv"), "--model", join(dir, "bare.json")]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bare classifier \(kind "logreg"\); predict needs a model bundle/);

    r = polarity(["predict", join(dir, "ok.csv"), "--model", join(dir, "missing.json")]);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /does not exist/);
  });
});

test("the delimited reader handles records split across chunks, doubled quotes and CRLF", () => {
  const reader = new DelimitedRecordReader(",");
  const parts = ['a,b\r\n1,"x, ""y', '""\nz"\r\n2,', "plain\n3,last"];
  const records = [...reader.push(parts[0]), ...reader.push(parts[1]), ...reader.push(parts[2]), ...reader.push("", true)];
  assert.deepEqual(records, [
    ["a", "b"],
    ["1", 'x, "y"\nz'],
    ["2", "plain"],
    ["3", "last"],
  ]);
});

test("formatProb writes exactly what String(Math.round(p·1e6) / 1e6) writes", async () => {
  const { formatProb } = await import("../../src/cli/predict-rows.js");
  const { Random } = await import("../../src/util/random.js");
  const rng = new Random(17);
  const values = [0, 1, 1e-7, 4.9e-7, 5e-7, 1e-6, 0.5, 0.1, 0.123456, 0.9999994, 0.9999995, 0.999999, 1e-300, Number.NaN];
  for (let i = 0; i < 20000; i++) values.push(rng.nextFloat(), rng.nextFloat() * 1e-4, 1 - rng.nextFloat() * 1e-4);
  for (const p of values) assert.equal(formatProb(p), String(Math.round(p * 1e6) / 1e6), `p = ${p}`);
});
