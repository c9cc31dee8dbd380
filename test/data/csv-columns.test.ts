import { test } from "node:test";
import assert from "node:assert/strict";
import Papa from "papaparse";
import { parseCsvColumns } from "../../src/data/csv-columns.js";
import { formatDatasetCsv } from "../../src/data/files.js";
import { Random } from "../../src/util/random.js";

test("parseCsvColumns reads what formatDatasetCsv (papaparse) writes, for texts with quotes, delimiters and line breaks", () => {
  const rng = new Random(5);
  const pieces = ["good", "bad", ",", '"', "\n", "\r\n", " ", "é", "😀", "''", '""', "a,b"];
  const texts = Array.from({ length: 500 }, () => Array.from({ length: 1 + rng.nextInt(8) }, () => pieces[rng.nextInt(pieces.length)]).join(""));
  const labels = texts.map((_, i) => (i % 3 === 0 ? "pos" : "neg"));
  const csv = formatDatasetCsv(texts, labels);
  const { header, values } = parseCsvColumns(csv, ["label", "text"], { where: "t.csv" });
  assert.deepEqual(header, ["text", "label"]);
  assert.deepEqual(values[1], texts);
  assert.deepEqual(values[0], labels);
  // The same rows papaparse reads.
  const papa = Papa.parse<string[]>(csv, { header: false, skipEmptyLines: "greedy" }).data.slice(1);
  assert.deepEqual(
    values[1],
    papa.map((r) => r[0]),
  );
});

test("parseCsvColumns: mixed line ends, blank lines, a BOM, and only the wanted columns", () => {
  const { header, values } = parseCsvColumns('\uFEFFid,text,label\r\n1,hi there,1\n\n2,"a, b",0\r3,x,1\n', ["text", "label"], { where: "m.csv" });
  assert.deepEqual(header, ["id", "text", "label"]);
  assert.deepEqual(values, [
    ["hi there", "a, b", "x"],
    ["1", "0", "1"],
  ]);
});

test("parseCsvColumns names the line of a malformed row and the columns found", () => {
  assert.throws(() => parseCsvColumns("text,label\na,1\nb\n", ["text"], { where: "f.csv" }), /f\.csv: line 3 has 1 fields, the header 2/);
  assert.throws(() => parseCsvColumns('text,label\n"open,1\n', ["text"], { where: "f.csv" }), /quoted field opened on line 2 is never closed/);
  assert.throws(
    () => parseCsvColumns("review,sentiment\na,1\n", ["text"], { where: "f.csv" }),
    /column "text" not found; columns found: "review", "sentiment"/,
  );
  assert.throws(() => parseCsvColumns("\n\n", ["text"], { where: "f.csv" }), /the file is empty/);
});
