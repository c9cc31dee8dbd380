/**
 * `polarity predict` from a file (predict-file.ts: workers parse, score and format their own
 * byte ranges) against the streamed path (predictStream: the calling thread reads records with
 * DelimitedRecordReader, the reference), byte for byte on seeded files: quoted multi-line
 * fields, CRLF, a BOM, blank lines, unicode and invalid UTF-8, cuts inside quoted fields (tiny
 * ranges), TSV, JSONL, top words and JSONL output; the same errors for bad input; the chunk
 * parser against DelimitedRecordReader on random bytes, its packed output against packTexts of
 * its strings; the byte formatter against formatRows.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { loadUciSentences } from "../../src/data/builtin.js";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import { Random } from "../../src/util/random.js";
import { predictStream } from "../../src/cli/predict.js";
import { predictFile } from "../../src/cli/predict-file.js";
import {
  DelimitedRecordReader,
  PackedTexts,
  delimitedRecordEnd,
  formatCsvRowsBytes,
  formatRows,
  parseCsvBytes,
  parseJsonlChunk,
  problemMessage,
  type InputFormat,
  type RowFormat,
} from "../../src/cli/predict-rows.js";

class Sink extends Writable {
  parts: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.parts.push(Buffer.from(chunk));
    cb();
  }
  get bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

type Outcome = { ok: true; bytes: Buffer; rows: number } | { ok: false; message: string };

const { texts: uci, labels } = loadUciSentences();

/** Seeded odd texts: UCI sentences with quotes, delimiters, newlines (LF and CRLF), unicode, emoji. */
function oddText(rng: Random): string {
  const base = uci[rng.nextInt(uci.length)];
  const extras = ['"', '""', ",", "\t", "\n", "\r\n", "é", "日本語", "😀👍🏽", "\u200d", "'", " ", "not good", ":)", "<b>", "&amp;", "http://x.io/a"];
  let t = base;
  const m = rng.nextInt(4);
  for (let j = 0; j < m; j++) {
    const at = rng.nextInt(t.length + 1);
    t = t.slice(0, at) + extras[rng.nextInt(extras.length)] + t.slice(at);
  }
  return rng.nextFloat() < 0.03 ? "" : t;
}

function quote(t: string): string {
  return `"${t.replace(/"/g, '""')}"`;
}

/** A seeded delimited file (as bytes): header with the text column among others, odd rows, blank lines, CRLF. */
function delimitedFile(seed: number, rows: number, delimiter: string, opts: { bom?: boolean; crlf?: boolean } = {}): Buffer {
  const rng = new Random(seed);
  const eol = opts.crlf ? "\r\n" : "\n";
  let s = (opts.bom ? "\uFEFF" : "") + ["id", "text", "extra"].join(delimiter) + eol;
  for (let i = 0; i < rows; i++) {
    const t = oddText(rng);
    const needsQuote = t.includes('"') || t.includes(delimiter) || t.includes("\n") || t.includes("\r");
    const field = needsQuote || rng.nextFloat() < 0.3 ? quote(t) : t;
    const tail = rng.nextFloat() < 0.2 ? `${delimiter}${quote("x\ny")}` : rng.nextFloat() < 0.5 ? `${delimiter}z` : "";
    s += `${i}${delimiter}${field}${tail}${rng.nextFloat() < 0.5 ? eol : "\n"}`;
    if (rng.nextFloat() < 0.05) s += rng.nextFloat() < 0.5 ? "\n" : "\r\n";
  }
  return Buffer.from(s, "utf8");
}

describe("polarity predict from a file equals the streamed path", { timeout: 600_000 }, () => {
  let dir = "";
  let model: SentimentModel;
  const fmt = (f: Partial<RowFormat> = {}): RowFormat => ({
    outputFormat: "csv",
    classes: model.classes,
    names: ["negative", "positive"],
    topWords: 0,
    ...f,
  });
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "polarity-predict-file-"));
    model = SentimentModel.train(uci, labels, { features: { kind: "tfidf", ngramRange: [1, 2] }, model: { kind: "logreg" } });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  let fileNo = 0;
  function put(bytes: Buffer | string): string {
    const path = join(dir, `in-${fileNo++}`);
    writeFileSync(path, bytes);
    return path;
  }

  async function viaFile(path: string, format: InputFormat, f: RowFormat, chunkBytes: number, workers = 2, textColumn = "text"): Promise<Outcome> {
    const out = new Sink();
    try {
      const rows = await predictFile({ path, size: statSync(path).size, format, textColumn, where: "IN", model, rowFormat: f, workers, chunkBytes, out });
      return { ok: true, bytes: out.bytes, rows };
    } catch (e) {
      return { ok: false, message: (e as Error).message };
    }
  }

  async function viaStream(path: string, format: InputFormat, f: RowFormat, textColumn = "text"): Promise<Outcome> {
    const out = new Sink();
    try {
      const rows = await predictStream(createReadStream(path, { highWaterMark: 4096 }), format, textColumn, 2500, "IN", model, f, 1, out, () => {});
      return { ok: true, bytes: out.bytes, rows };
    } catch (e) {
      return { ok: false, message: (e as Error).message };
    }
  }

  function same(a: Outcome, b: Outcome, what: string): void {
    assert.equal(a.ok, b.ok, `${what}: ${a.ok ? "" : a.message} / ${b.ok ? "" : b.message}`);
    if (a.ok && b.ok) {
      assert.equal(a.rows, b.rows, what);
      assert.ok(a.bytes.equals(b.bytes), `${what}: outputs differ`);
    } else if (!a.ok && !b.ok) assert.equal(a.message, b.message, what);
  }

  test("CSV and TSV with quoted multi-line fields, CRLF, BOM, blank lines and unicode, cut every few bytes: byte-identical", async () => {
    const cases: [Buffer, InputFormat][] = [
      [delimitedFile(1, 1500, ",", { bom: true }), "csv"],
      [delimitedFile(2, 1500, ",", { crlf: true }), "csv"],
      [delimitedFile(3, 1500, "\t"), "tsv"],
    ];
    for (const [bytes, format] of cases) {
      const path = put(bytes);
      const ref = await viaStream(path, format, fmt());
      assert.ok(ref.ok && ref.rows === 1500 - 0, "reference scored every row");
      // Tiny ranges put most cuts inside quoted fields (the speculative parse is wrong and redone).
      for (const chunkBytes of [61, 997, 20_000, 1 << 20]) same(await viaFile(path, format, fmt(), chunkBytes), ref, `${format} chunkBytes ${chunkBytes}`);
    }
  });

  test("a cut inside a quoted field longer than the speculation bound (gives up, re-parsed from the true boundary)", async () => {
    const rng = new Random(9);
    const long = Array.from({ length: 30_000 }, () => uci[rng.nextInt(uci.length)].slice(0, 40)).join("\n"); // ~1.2 MB of lines in one field
    const body = uci.slice(0, 200).map((t, i) => `${i},${quote(t)}`);
    body.splice(100, 0, `100x,${quote(long)}`);
    const path = put("id,text\n" + body.join("\n") + "\n");
    const ref = await viaStream(path, "csv", fmt());
    assert.ok(ref.ok);
    same(await viaFile(path, "csv", fmt(), 50_000), ref, "long field");
  });

  test("invalid UTF-8 bytes and a last line without a newline", async () => {
    const head = Buffer.from("text,n\n");
    const rows: Buffer[] = [];
    const rng = new Random(4);
    for (let i = 0; i < 800; i++) {
      const t = Buffer.from(oddText(rng).replace(/[",\r\n]/g, " "));
      const bad = [Buffer.from([0xff]), Buffer.from([0xe2, 0x82]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80])][i % 4];
      rows.push(Buffer.concat([t, bad, Buffer.from(`,${i}`), Buffer.from(i === 799 ? "" : "\n")]));
    }
    const path = put(Buffer.concat([head, ...rows]));
    const ref = await viaStream(path, "csv", fmt());
    assert.ok(ref.ok);
    for (const chunkBytes of [37, 4096]) same(await viaFile(path, "csv", fmt(), chunkBytes), ref, `invalid utf-8, ${chunkBytes}`);
  });

  test("JSONL in, JSONL out with top words, and CSV out with top words and renamed classes", async () => {
    const rng = new Random(5);
    let s = "";
    for (let i = 0; i < 600; i++) {
      s += JSON.stringify({ id: i, text: oddText(rng) }) + (i % 7 === 0 ? "\r\n" : "\n");
      if (i % 50 === 0) s += "\n  \n";
    }
    const path = put(s);
    for (const f of [fmt({ outputFormat: "jsonl", topWords: 3 }), fmt({ topWords: 2, names: ['bad, "really"', "good"] }), fmt()]) {
      const ref = await viaStream(path, "jsonl", f);
      assert.ok(ref.ok);
      same(await viaFile(path, "jsonl", f, 333, 2), ref, `jsonl ${f.outputFormat} top ${f.topWords}`);
    }
  });

  test("bad input gives the streamed path's error, the first in file order", async () => {
    const rows = uci.slice(0, 3000).map((t, i) => `${i},${quote(t)}`);
    const cases: { what: string; text: string; format: InputFormat; column?: string }[] = [
      { what: "too few fields deep in the file", text: "id,text\n" + rows.map((r, i) => (i === 2500 ? "2500" : r)).join("\n") + "\n", format: "csv" },
      {
        what: "two bad rows: the first counts",
        text: "id,text\n" + rows.map((r, i) => (i === 2900 || i === 1700 ? `${i}` : r)).join("\n") + "\n",
        format: "csv",
      },
      { what: "unclosed quote at the end", text: "id,text\n" + rows.slice(0, 500).join("\n") + '\n9,"never closed\nmore\n', format: "csv" },
      { what: "missing column", text: "id,body\n1,hello\n", format: "csv" },
      { what: "only blank lines", text: "\n\r\n\n", format: "csv" },
      { what: "header only", text: "\uFEFFtext\n\n", format: "csv" },
      { what: "other column", text: "a,b\n1,2\n3,4\n", format: "csv", column: "b" },
      {
        what: "JSONL bad line",
        text:
          rows
            .slice(0, 900)
            .map((t) => JSON.stringify({ text: t }))
            .join("\n") + "\n\n{oops\n",
        format: "jsonl",
      },
      { what: "JSONL not an object", text: '{"text":"a"}\n[1]\n', format: "jsonl" },
      { what: "JSONL missing field", text: '{"text":"a"}\n\n{"body":"x","n":1}\n', format: "jsonl" },
      { what: "JSONL non-string field", text: '{"text":"a"}\n{"text":3}\n', format: "jsonl" },
      { what: "JSONL blank", text: "\n \n", format: "jsonl" },
    ];
    for (const c of cases) {
      const path = put(c.text);
      const ref = await viaStream(path, c.format, fmt(), c.column);
      same(await viaFile(path, c.format, fmt(), 500, 2, c.column), ref, c.what);
      if (c.what.startsWith("too few")) assert.ok(!ref.ok && /row 2501 has 1 fields/.test(ref.message));
    }
  });

  test("into a file stream, whose written chunks' buffers go back to the workers to format into again: equal to the streamed path", async () => {
    const path = put(delimitedFile(7, 20_000, ","));
    const ref = await viaStream(path, "csv", fmt());
    assert.ok(ref.ok);
    for (const chunkBytes of [4096, 65_536]) {
      const outPath = join(dir, `out-${chunkBytes}.csv`);
      const out = createWriteStream(outPath);
      const rows = await predictFile({
        path,
        size: statSync(path).size,
        format: "csv",
        textColumn: "text",
        where: "IN",
        model,
        rowFormat: fmt(),
        workers: 2,
        chunkBytes,
        out,
      });
      await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
      assert.equal(rows, ref.rows);
      assert.ok(readFileSync(outPath).equals(ref.bytes), `range size ${chunkBytes}: outputs differ`);
    }
  });

  test("bounded large file: 60,000 rows at the default range size, equal to the streamed path", async () => {
    const rng = new Random(11);
    const lines = ["id,text"];
    for (let i = 0; i < 60_000; i++) lines.push(`${i},${quote(uci[rng.nextInt(uci.length)])}`);
    const path = put(lines.join("\n") + "\n");
    const ref = await viaStream(path, "csv", fmt());
    assert.ok(ref.ok);
    same(await viaFile(path, "csv", fmt(), 1 << 20), ref, "60k rows");
  });
});

/**
 * The text column's values of DelimitedRecordReader's records of `text` (final), up to the
 * first problem: a record with too few fields, or the reader's error (a quoted field left open).
 */
function readerColumn(text: string, delimiter: string, column: number): { texts: string[]; problem: string | null } {
  const reader = new DelimitedRecordReader(delimiter);
  // As the streamed path reads: records complete before the end first, then the final push (which may throw).
  const records: string[][] = reader.push(text);
  let error: string | null = null;
  try {
    records.push(...reader.push("", true));
  } catch (e) {
    error = (e as Error).message;
  }
  const texts: string[] = [];
  for (const rec of records) {
    if (rec.length <= column) return { texts, problem: `IN: row ${texts.length + 1} has ${rec.length} fields, fewer than the header's column 'text'` };
    texts.push(rec[column]);
  }
  return { texts, problem: error };
}

/**
 * What parseCsvBytes(bytes, pos, limit, n, …, final) must give, from DelimitedRecordReader (the
 * streamed path's reader) and delimitedRecordEnd: the records that start before `limit` and end
 * by `n`, one by one, each decoded as UTF-8 on its own; the text column's values, then where it
 * stopped, whether the last record needs more input, and the first problem (too few fields, or
 * a quoted field left open at the end). The reader throws on the latter.
 */
/** Where a chunk parse starts and stops, on what: parseCsvBytes's arguments but the bytes and builder. */
interface CsvCase {
  pos: number;
  limit: number;
  n: number;
  delimiter: string;
  column: number;
  final: boolean;
}

type CsvOutcome = { texts: string[]; next: number; needMore: boolean; problem: string | null };

function expectedCsv(bytes: Uint8Array, { pos, limit, n, delimiter, column, final }: CsvCase): CsvOutcome {
  const texts: string[] = [];
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  while (pos < limit && pos < n) {
    const end = delimitedRecordEnd(buf, pos, n, delimiter.charCodeAt(0), final);
    if (end < 0) return { texts, next: pos, needMore: true, problem: null };
    let records: string[][];
    try {
      records = new DelimitedRecordReader(delimiter).push(buf.toString("utf8", pos, end), true);
    } catch (e) {
      return { texts, next: pos, needMore: false, problem: (e as Error).message };
    }
    assert.ok(records.length <= 1);
    for (const rec of records) {
      if (rec.length <= column)
        return { texts, next: pos, needMore: false, problem: `IN: row ${texts.length + 1} has ${rec.length} fields, fewer than the header's column 'text'` };
      texts.push(rec[column]);
    }
    pos = end;
  }
  return { texts, next: pos, needMore: false, problem: null };
}

/** parseCsvBytes into `packed` (reset first), its texts as strings. */
function parsedCsv(src: Uint8Array, { pos, limit, n, delimiter, column, final }: CsvCase, packed: PackedTexts): CsvOutcome {
  packed.reset();
  const r = parseCsvBytes(src, pos, limit, n, delimiter.charCodeAt(0), column, "text", "IN", final, packed);
  const texts: string[] = [];
  packed.toStrings(texts);
  return { texts, next: r.next, needMore: r.needMore, problem: r.problem === null ? null : problemMessage(r.problem, 0) };
}

test("parseCsvBytes and delimitedRecordEnd find DelimitedRecordReader's records on random text, from any record start", () => {
  const rng = new Random(21);
  const alphabet = ['"', '"', ",", "\n", "\r", "a", "b", " ", "é", "\t"];
  const packed = new PackedTexts();
  for (let trial = 0; trial < 3000; trial++) {
    const len = rng.nextInt(40);
    let s = "";
    for (let i = 0; i < len; i++) s += alphabet[rng.nextInt(alphabet.length)];
    const delimiter = trial % 2 ? "," : "\t";
    // As the streamed path reads: records complete before the end first, then the final push (which may throw).
    const reader = new DelimitedRecordReader(delimiter);
    const expected: string[][] = reader.push(s);
    try {
      expected.push(...reader.push("", true));
    } catch (e) {
      expected.push(["ERROR", (e as Error).message]);
    }
    const bytes = Buffer.from(s);
    for (const column of [0, 1]) {
      const got = parsedCsv(bytes, { pos: 0, limit: bytes.length, n: bytes.length, delimiter, column, final: true }, packed);
      const want = readerColumn(s, delimiter, column);
      const what = `${JSON.stringify(s)} col ${column}`;
      assert.equal(got.problem, want.problem, what);
      assert.deepEqual(got.texts, want.texts, what);
      assert.equal(got.needMore, false, what);
      if (want.problem === null) assert.equal(got.next, bytes.length, what);
    }
    // Record ends on bytes: records split there, parsed one by one, give the reader's records.
    let pos = 0;
    const pieces: string[][] = [];
    let err = "";
    try {
      while (pos < bytes.length) {
        const end = delimitedRecordEnd(bytes, pos, bytes.length, delimiter.charCodeAt(0), true);
        assert.ok(end > pos);
        // Every proper prefix that stops before the end says "needs more" (never a wrong boundary).
        if (end < bytes.length) assert.equal(delimitedRecordEnd(bytes, pos, end - 1, delimiter.charCodeAt(0), false), -1);
        pieces.push(...new DelimitedRecordReader(delimiter).push(bytes.toString("utf8", pos, end), true));
        pos = end;
      }
    } catch (e) {
      err = (e as Error).message;
    }
    const last = expected[expected.length - 1];
    if (last?.[0] === "ERROR" && last.length === 2 && last[1].startsWith("input:")) assert.equal(err, last[1]);
    else assert.deepEqual(pieces, expected, JSON.stringify(s));
  }
});

test("formatCsvRowsBytes writes what formatRows writes", () => {
  const rng = new Random(3);
  const n = 5000;
  for (const k of [2, 3]) {
    const P = new Float64Array(n * k);
    const edge = [0, 1, 1e-7, 5e-7, 4.9e-7, 0.5, 0.9999995, 0.999999, 0.1, 0.123456, Number.NaN];
    for (let i = 0; i < P.length; i++) P[i] = i < edge.length ? edge[i] : rng.nextFloat() < 0.1 ? rng.nextFloat() * 1e-5 : rng.nextFloat();
    const classes = k === 2 ? [0, 1] : ["neg", "neu", 'p,"s"'];
    const f: RowFormat = { outputFormat: "csv", classes, names: classes.map((c) => `n${String(c)}é`), topWords: 0 };
    for (const first of [0, 7, 999_999_995, 2 ** 40, Number.MAX_SAFE_INTEGER - 2]) {
      // Into a fresh buffer, or into a used one (holding stale bytes) that is big enough or has to grow.
      // (k = 2: a buffer of 34 bytes a row is taken, 3/4 of the first guess, and 13-digit row numbers outgrow it.)
      const scratch = first === 7 ? new Uint8Array(n * 100).fill(57).buffer : first === 2 ** 40 ? new Uint8Array(n * 34).fill(57).buffer : undefined;
      const bytes = formatCsvRowsBytes(P, n, first, f, scratch);
      assert.equal(
        Buffer.from(bytes).toString("utf8"),
        formatRows(
          Array.from({ length: n }, () => ""),
          P,
          first,
          f,
          null,
        ),
        `k ${k} first ${first}`,
      );
    }
  }
});

test("parseCsvBytes and parseJsonlChunk on bytes with UTF-8 in them give the UTF-8 text's records, invalid bytes included", () => {
  const rng = new Random(23);
  const alphabet = [0x22, 0x22, 0x2c, 0x0a, 0x0d, 0x61, 0x20, 0xc3, 0xa9, 0xff, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0x09];
  const packed = new PackedTexts();
  for (let trial = 0; trial < 3000; trial++) {
    const bytes = Buffer.from(Array.from({ length: rng.nextInt(40) }, () => alphabet[rng.nextInt(alphabet.length)]));
    const delimiter = trial % 2 ? "," : "\t";
    for (const column of [0, 1]) {
      // The whole text's records, decoded at once, are the reader's on the UTF-8 string.
      const got = parsedCsv(bytes, { pos: 0, limit: bytes.length, n: bytes.length, delimiter, column, final: true }, packed);
      const want = readerColumn(bytes.toString("utf8"), delimiter, column);
      const what = JSON.stringify([...bytes]);
      assert.deepEqual({ texts: got.texts, problem: got.problem }, want, what);
    }
    // JSONL: lines whose strings hold the same bytes.
    const jsonBytes = Buffer.concat([
      Buffer.from('{"text":"'),
      bytes.filter((x) => x !== 0x22 && x !== 0x0a && x !== 0x0d && x !== 0x09 && x !== 0x5c),
      Buffer.from('"}\n'),
    ]);
    const ja: string[] = [];
    const jb: string[] = [];
    const pa = parseJsonlChunk(jsonBytes.toString("utf8"), "text", "IN", true, ja);
    const pb = parseJsonlChunk(jsonBytes.toString("latin1"), "text", "IN", true, jb, jsonBytes);
    assert.deepEqual(jb, ja);
    assert.deepEqual(pb, pa);
  }
});

test("parseCsvBytes stops, needs more and fails where the reader's records say, from any start and limit, and packs them in packTexts's layout (non-ASCII ones aside)", () => {
  const rng = new Random(29);
  // Bytes: ASCII, UTF-8 sequences, broken ones.
  const alphabet = [0x22, 0x22, 0x2c, 0x0a, 0x0d, 0x61, 0x62, 0x20, 0x3a, 0x29, 0x09, 0x78, 0xc3, 0xa9, 0xff, 0xe2, 0x82, 0xac];
  const packed = new PackedTexts(); // one builder for every trial, as the worker reuses it
  for (let trial = 0; trial < 4000; trial++) {
    // Now and then a long text, past the builder's first buffer and starts.
    const len = trial % 500 === 7 ? 70_000 : rng.nextInt(40);
    const bytes = Buffer.from(Array.from({ length: len }, () => alphabet[rng.nextInt(trial % 3 === 0 ? 12 : alphabet.length)]));
    // Stray quotes and newlines past the chunk's end, which the parser must not read.
    const src = Buffer.concat([bytes, Buffer.from('""\n\r"\n')]);
    const delimiter = trial % 2 ? "," : "\t";
    for (const column of [0, 1]) {
      for (const final of [true, false]) {
        const limit = rng.nextInt(len + 1);
        // From a record's start: the first one, or the one after the first record end.
        const first = delimitedRecordEnd(bytes, 0, len, delimiter.charCodeAt(0), final);
        const pos = trial % 4 === 1 && first > 0 && first <= limit ? first : 0;
        const at: CsvCase = { pos, limit, n: len, delimiter, column, final };
        const want = expectedCsv(bytes, at);
        const got = parsedCsv(src, at, packed);
        const what = `${JSON.stringify(bytes.toString("latin1").slice(0, 200))} col ${column} final ${final} from ${pos} limit ${limit}`;
        assert.deepEqual(got, want, what);
        // Texts with a byte ≥ 0x80 are packed empty and kept aside, decoded.
        const high = want.texts.flatMap((t, i) => ([...t].some((ch) => ch.charCodeAt(0) > 0x7f) ? [i] : []));
        assert.deepEqual(packed.side.rows, high, what);
        assert.deepEqual(
          packed.side.texts,
          high.map((i) => want.texts[i]),
          what,
        );
        // Segments of at most 16 bytes (or one longer text), each in packTexts's layout, in order.
        const ascii = want.texts.map((t, i) => (high.includes(i) ? "" : t));
        let row = 0;
        for (const segment of packed.finish(16)) {
          const rows = segment.starts.length - 1;
          assert.ok(rows >= 1 && (rows === 1 || segment.joined.length <= 16), what);
          assert.deepEqual(segment, SentimentModel.packTexts(ascii, row, row + rows), what);
          row += rows;
        }
        assert.equal(row, want.texts.length, what);
      }
    }
  }
});
