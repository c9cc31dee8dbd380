import { createReadStream, statSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import type { Command } from "commander";
import { round6 } from "../evaluation/held-out.js";
import type { Label } from "../models/estimator.js";
import type { SentimentModel } from "../models/sentiment-model.js";
import { DataError, InvalidParameterError } from "../util/errors.js";
import { createReporter } from "../util/progress.js";
import { requireInteger, requireOneOf } from "../util/validate.js";
import { action } from "./run-command.js";

/**
 * `polarity predict`: batch scoring of a CSV/TSV/JSONL file (or stdin) with a model file or a
 * registry model. The input is read as a stream and scored in batches of `--batch-size` texts
 * by `--workers` worker threads (PredictionPool without the calling thread's share), pipelined:
 * while the workers score batch b, the calling thread parses batch b + 1 and formats and
 * writes batch b − 1 (at most two batches in flight, and the writer's backpressure is
 * awaited), so memory stays flat whatever the input size and neither side waits for the other.
 */

type InputFormat = "csv" | "tsv" | "jsonl";
type OutputFormat = "csv" | "jsonl";

interface PredictFlags {
  model: string;
  trackingUri?: string;
  format?: string;
  textColumn: string;
  output?: string;
  outputFormat?: string;
  topWords?: string;
  batchSize: string;
  workers: string;
  classNames?: string;
  quiet?: boolean;
}

function formatFromPath(path: string): InputFormat | undefined {
  if (/\.csv$/i.test(path)) return "csv";
  if (/\.(tsv|tab)$/i.test(path)) return "tsv";
  if (/\.(jsonl|ndjson)$/i.test(path)) return "jsonl";
  return undefined;
}

/**
 * Splits delimited text into records incrementally (RFC 4180: quoted fields may hold the
 * delimiter, doubled quotes and newlines). Lines without a quote take the fast path (split).
 */
export class DelimitedRecordReader {
  private rest = "";
  constructor(private readonly delimiter: string) {}

  /** Complete records in `chunk` (plus what was left over); an incomplete tail waits for the next chunk. */
  push(chunk: string, final = false): string[][] {
    const text = this.rest + chunk;
    const records: string[][] = [];
    let pos = 0;
    const n = text.length;
    while (pos < n) {
      let nl = text.indexOf("\n", pos);
      if (nl < 0) {
        if (!final) break;
        nl = n;
      }
      let line = text.slice(pos, nl);
      if (line.indexOf('"') < 0) {
        if (line.endsWith("\r")) line = line.slice(0, -1);
        if (line.length > 0) records.push(line.split(this.delimiter));
        pos = nl + 1;
        continue;
      }
      const parsed = this.parseQuoted(text, pos, final);
      if (parsed === null) break; // the record continues in the next chunk
      if (parsed.fields.length > 1 || parsed.fields[0] !== "") records.push(parsed.fields);
      pos = parsed.next;
    }
    this.rest = pos < n ? text.slice(pos) : "";
    return records;
  }

  // Char codes, not one-character strings, and no regex per field: this runs once per input row.
  private parseQuoted(text: string, start: number, final: boolean): { fields: string[]; next: number } | null {
    const fields: string[] = [];
    let field = "";
    let i = start;
    const n = text.length;
    const d = this.delimiter.charCodeAt(0);
    for (;;) {
      if (i < n && text.charCodeAt(i) === 34 /* " */) {
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) {
            if (!final) return null;
            throw new DataError("input: a quoted field is not closed before the end of the file");
          }
          field += text.slice(i, q);
          if (text.charCodeAt(q + 1) === 34) {
            field += '"';
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        if (i >= n && !final) return null;
      }
      // Up to the next delimiter or end of line.
      let j = i;
      while (j < n) {
        const c = text.charCodeAt(j);
        if (c === d || c === 10) break;
        j++;
      }
      if (j >= n && !final) return null;
      const end = j > i && text.charCodeAt(j - 1) === 13 ? j - 1 : j;
      fields.push(end > i ? field + text.slice(i, end) : field);
      field = "";
      if (j >= n) return { fields, next: n };
      if (text.charCodeAt(j) === 10) return { fields, next: j + 1 };
      i = j + 1;
    }
  }
}

/** Yields batches of texts from the input stream, with the bytes read so far. */
export async function* readTextBatches(
  input: Readable,
  format: InputFormat,
  textColumn: string,
  batchSize: number,
  where: string,
): AsyncGenerator<{ texts: string[]; bytes: number }> {
  input.setEncoding("utf8");
  let bytes = 0;
  let batch: string[] = [];
  let column = -1;
  let sawHeader = false;
  let rows = 0;
  const reader = format === "jsonl" ? null : new DelimitedRecordReader(format === "tsv" ? "\t" : ",");
  let jsonRest = "";
  let lineNo = 0;
  const takeRecords = (records: string[][]): void => {
    for (const rec of records) {
      if (!sawHeader) {
        sawHeader = true;
        if (rec.length > 0) rec[0] = rec[0].replace(/^\uFEFF/, "");
        column = rec.indexOf(textColumn);
        if (column < 0)
          throw new DataError(`${where}: no column '${textColumn}' (columns: ${rec.map((c) => `'${c}'`).join(", ")}); pick one with --text-column`);
        continue;
      }
      rows++;
      const v = rec[column];
      if (v === undefined) throw new DataError(`${where}: row ${rows} has ${rec.length} fields, fewer than the header's column '${textColumn}'`);
      batch.push(v);
    }
  };
  const takeJsonLines = (chunk: string, final: boolean): void => {
    const text = jsonRest + chunk;
    let pos = 0;
    for (;;) {
      let nl = text.indexOf("\n", pos);
      if (nl < 0) {
        if (!final || pos >= text.length) break;
        nl = text.length;
      }
      const line = text.slice(pos, nl).trim();
      pos = nl + 1;
      lineNo++;
      if (line === "") continue;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        throw new DataError(`${where}: line ${lineNo} is not valid JSON`);
      }
      if (typeof obj !== "object" || obj === null || Array.isArray(obj)) throw new DataError(`${where}: line ${lineNo} is not a JSON object`);
      const v = (obj as Record<string, unknown>)[textColumn];
      if (typeof v !== "string") {
        const keys = Object.keys(obj);
        throw new DataError(
          v === undefined
            ? `${where}: line ${lineNo} has no field '${textColumn}' (fields: ${keys.map((c) => `'${c}'`).join(", ")}); pick one with --text-column`
            : `${where}: line ${lineNo}: field '${textColumn}' is not a string`,
        );
      }
      rows++;
      batch.push(v);
    }
    jsonRest = pos < text.length ? text.slice(pos) : "";
  };
  for await (const chunk of input as AsyncIterable<string>) {
    bytes += Buffer.byteLength(chunk);
    if (reader) takeRecords(reader.push(chunk));
    else takeJsonLines(chunk, false);
    while (batch.length >= batchSize) {
      const out = batch.slice(0, batchSize);
      batch = batch.slice(batchSize);
      yield { texts: out, bytes };
    }
  }
  if (reader) takeRecords(reader.push("", true));
  else takeJsonLines("", true);
  if (reader && !sawHeader) throw new DataError(`${where} is empty: expected a header line with a '${textColumn}' column`);
  if (rows === 0 && batch.length === 0) throw new DataError(`${where} has no rows to score`);
  if (batch.length > 0) yield { texts: batch, bytes };
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Default class names: 0/1 labels are negative/positive (the UCI convention); otherwise the label itself. */
export function parseClassNames(spec: string | undefined, classes: readonly Label[]): string[] {
  const names = classes.map((c) => (classes.length === 2 && classes[0] === 0 && classes[1] === 1 ? (c === 1 ? "positive" : "negative") : String(c)));
  if (spec === undefined) return names;
  for (const part of spec.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new InvalidParameterError(`--class-names must be 'label=name,...', got '${spec}'`);
    const label = part.slice(0, eq).trim();
    const c = classes.findIndex((x) => String(x) === label);
    if (c < 0) throw new InvalidParameterError(`--class-names: the model has no class '${label}' (classes: ${classes.map(String).join(", ")})`);
    names[c] = part.slice(eq + 1).trim();
  }
  return names;
}

export async function loadSentimentModel(uri: string, trackingUri: string | undefined): Promise<SentimentModel> {
  const [{ createModelSource }, { SentimentModel }] = await Promise.all([import("../serving/sources.js"), import("../models/sentiment-model.js")]);
  const parse = (json: unknown): SentimentModel => {
    const format = (json as { format?: unknown } | null)?.format;
    if (format !== "polarity.sentiment-model") {
      const kind = (json as { kind?: unknown } | null)?.kind;
      throw new DataError(
        format === "polarity.model" || format === "polarity.vectorizer"
          ? `it is a bare ${format === "polarity.model" ? `classifier (kind ${JSON.stringify(kind)})` : "vectorizer"}; predict needs a model bundle (format "polarity.sentiment-model", e.g. models/model.json)`
          : `format ${JSON.stringify(format)} is not "polarity.sentiment-model"`,
      );
    }
    return SentimentModel.fromJSON(json);
  };
  const source = await createModelSource({ modelUri: uri, ...(trackingUri ? { trackingUri } : {}) } as never, parse);
  try {
    const resolved = await source.resolve();
    return (await resolved.load()) as unknown as SentimentModel;
  } finally {
    await source.close?.();
  }
}

async function writeChunk(out: Writable, text: string): Promise<void> {
  if (!out.write(text))
    await new Promise<void>((resolve, reject) => {
      // Both listeners go when either fires: one pair per awaited drain, not one more per batch.
      const onDrain = (): void => {
        out.off("error", onError);
        resolve();
      };
      const onError = (err: Error): void => {
        out.off("drain", onDrain);
        reject(err);
      };
      out.once("drain", onDrain);
      out.once("error", onError);
    });
}

export function register(program: Command): void {
  program
    .command("predict")
    .description("Score a CSV/TSV/JSONL file (or stdin) with a model: label, class name and per-class probabilities per row")
    .argument("[input]", "input file, or - for stdin", "-")
    .option("--model <path|uri>", "model bundle file/directory or registry URI (models:/name@alias)", "models/model.json")
    .option("--tracking-uri <uri>", "tracking store for registry URIs (default: MLFLOW_TRACKING_URI, then sqlite:///mlruns.db)")
    .option("--format <csv|tsv|jsonl>", "input format (default: from the file extension; stdin: jsonl)")
    .option("--text-column <name>", "column (CSV/TSV header) or field (JSONL) holding the text", "text")
    .option("-o, --output <path>", "output file (written atomically); default stdout")
    .option("--output-format <csv|jsonl>", "output format (default: from --output's extension, else csv)")
    .option("--top-words <k>", "add the k words that pushed each decision most (slower)")
    .option("--class-names <spec>", "display names, e.g. 0=negative,1=positive (default for 0/1 labels)")
    .option("--batch-size <n>", "texts per batch", "20000")
    .option("--workers <n>", "worker threads scoring (the calling thread reads and writes)", "2")
    .option("--quiet", "no progress on stderr")
    .action(
      action(async (inputArg: string, o: PredictFlags) => {
        const fromStdin = inputArg === "-";
        const format = requireOneOf("--format", o.format ?? (fromStdin ? "jsonl" : (formatFromPath(inputArg) ?? "csv")), ["csv", "tsv", "jsonl"] as const);
        const outputFormat = requireOneOf("--output-format", o.outputFormat ?? (o.output && /\.jsonl$/i.test(o.output) ? "jsonl" : "csv"), [
          "csv",
          "jsonl",
        ] as const) as OutputFormat;
        const batchSize = requireInteger("--batch-size", Number(o.batchSize), 1, 1_000_000);
        const workers = requireInteger("--workers", Number(o.workers), 1, 16);
        const topWords = o.topWords === undefined ? 0 : requireInteger("--top-words", Number(o.topWords), 1, 100);
        let totalBytes = 0;
        if (!fromStdin) {
          try {
            totalBytes = statSync(inputArg).size;
          } catch {
            throw new DataError(`input file ${inputArg} does not exist`);
          }
          if (totalBytes === 0) throw new DataError(`input file ${inputArg} is empty`);
        }
        const model = await loadSentimentModel(o.model, o.trackingUri);
        const classes = model.classes;
        const names = parseClassNames(o.classNames, classes);
        const { PredictionPool } = await import("../models/parallel/predict-pool.js");
        const pool = await PredictionPool.create(model, { workers, useCallingThread: false });
        const reporter = createReporter({ stream: process.stderr, quiet: o.quiet === true });
        const tmpPath = o.output ? `${o.output}.tmp-${process.pid}` : null;
        const handle = tmpPath ? await open(tmpPath, "w") : null;
        const out: Writable = handle ? handle.createWriteStream() : process.stdout;
        const input: Readable = fromStdin ? process.stdin : createReadStream(inputArg, { highWaterMark: 1 << 20 });
        const where = fromStdin ? "stdin" : inputArg;
        let rows = 0;
        const t0 = performance.now();
        try {
          if (outputFormat === "csv")
            await writeChunk(
              out,
              ["row", "label", "class_name", ...classes.map((c) => csvField(`p_${String(c)}`)), ...(topWords ? ["top_words"] : [])].join(",") + "\n",
            );
          const k = classes.length;
          const labelText = classes.map((c) => csvField(String(c)));
          const nameText = names.map(csvField);
          const emit = async ({ texts, bytes, P }: { texts: string[]; bytes: number; P: Float64Array }): Promise<void> => {
            let chunk = "";
            for (let i = 0; i < texts.length; i++) {
              let best = 0;
              for (let c = 1; c < k; c++) if (P[i * k + c] > P[i * k + best]) best = c;
              const row = rows + i;
              const words = topWords
                ? model
                    .explain(texts[i], topWords)
                    .words.slice()
                    .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight))
                    .slice(0, topWords)
                    .map((w) => w.token)
                : null;
              if (outputFormat === "csv") {
                chunk += `${row},${labelText[best]},${nameText[best]}`;
                for (let c = 0; c < k; c++) chunk += `,${formatProb(P[i * k + c])}`;
                if (words) chunk += `,${csvField(words.join(" "))}`;
                chunk += "\n";
              } else {
                const rec: Record<string, unknown> = {
                  row,
                  label: classes[best],
                  class_name: names[best],
                  probabilities: Object.fromEntries(classes.map((c, j) => [String(c), round6(P[i * k + j])])),
                };
                if (words) rec.top_words = words;
                chunk += JSON.stringify(rec) + "\n";
              }
            }
            rows += texts.length;
            await writeChunk(out, chunk);
            if (totalBytes > 0) reporter.progress("predict", bytes, totalBytes);
            else reporter.progress("predict", rows, rows);
          };
          // One batch scored by the workers while the next is read and the previous written.
          let inFlight: Promise<{ texts: string[]; bytes: number; P: Float64Array }> | null = null;
          try {
            for await (const { texts, bytes } of readTextBatches(input, format, o.textColumn, batchSize, where)) {
              const next = pool.predictProba(texts).then((P) => ({ texts, bytes, P }));
              next.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
              const previous = inFlight;
              inFlight = next;
              if (previous) await emit(await previous);
            }
            if (inFlight) {
              const last = inFlight;
              inFlight = null;
              await emit(await last);
            }
          } finally {
            if (inFlight) await inFlight.catch(() => undefined);
          }
          if (handle) {
            await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
            await rename(tmpPath as string, o.output as string);
          }
        } catch (err) {
          if (handle) {
            out.destroy();
            await unlink(tmpPath as string).catch(() => undefined);
          }
          throw err;
        } finally {
          reporter.close();
          await pool.close();
        }
        const seconds = (performance.now() - t0) / 1000;
        if (o.quiet !== true)
          process.stderr.write(
            `scored ${rows} rows in ${seconds.toFixed(2)} s (${Math.round(rows / Math.max(seconds, 1e-9))} rows/s)${o.output ? ` → ${o.output}` : ""}\n`,
          );
      }),
    );
}

/**
 * String(round6(p)) (6 decimal places: enough for ranking, a third of the bytes of a full double) without the double-to-shortest-string conversion for the common case
 * (it was the CSV output's main cost): for r = round(p·10^6) in 1..999999 the shortest decimal
 * that reads back as r / 10^6 is "0." + r's six digits without trailing zeros (no other decimal
 * of at most six places is that close). Anything else (0, 1, NaN) goes through String.
 */
export function formatProb(p: number): string {
  const r = Math.round(p * 1e6);
  if (r > 0 && r < 1e6) {
    const digits = String(r + 1e6);
    let end = 7;
    while (digits.charCodeAt(end - 1) === 48) end--;
    return "0." + digits.slice(1, end);
  }
  return String(r / 1e6);
}
