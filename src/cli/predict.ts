import { createReadStream, statSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import type { Command } from "commander";
import type { Label } from "../models/estimator.js";
import type { SentimentModel } from "../models/sentiment-model.js";
import { DataError, InvalidParameterError } from "../util/errors.js";
import { createReporter } from "../util/progress.js";
import { requireInteger, requireOneOf } from "../util/validate.js";
import { action } from "./run-command.js";
import {
  DelimitedRecordReader,
  formatRows,
  outputHeader,
  parseJsonlChunk,
  problemMessage,
  writeChunk,
  type InputFormat,
  type OutputFormat,
  type RowFormat,
} from "./predict-rows.js";

/**
 * `polarity predict`: batch scoring of a CSV/TSV/JSONL file (or stdin) with a model file or a
 * registry model. A regular file goes to predict-file.ts, whose `--workers` threads read, parse,
 * score and format byte ranges of it; stdin (or any other stream) takes predictStream below.
 */

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
  chunkBytes?: string;
  quiet?: boolean;
}

function formatFromPath(path: string): InputFormat | undefined {
  if (/\.csv$/i.test(path)) return "csv";
  if (/\.(tsv|tab)$/i.test(path)) return "tsv";
  if (/\.(jsonl|ndjson)$/i.test(path)) return "jsonl";
  return undefined;
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
  // Whole lines go to parseJsonlChunk (the file path's parser); a partial last line waits for the next chunk.
  const takeJsonLines = (chunk: string, final: boolean): void => {
    const text = jsonRest + chunk;
    const cut = final ? text.length : text.lastIndexOf("\n") + 1;
    const before = batch.length;
    const r = parseJsonlChunk(cut === text.length ? text : text.slice(0, cut), textColumn, where, final, batch);
    if (r.problem !== null) throw new DataError(problemMessage(r.problem, lineNo));
    lineNo += r.lines;
    rows += batch.length - before;
    jsonRest = text.slice(cut);
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

export function register(program: Command): void {
  const cmd = program
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
    .option("--batch-size <n>", "texts per batch when reading stdin (a file is read in byte ranges by the workers)", "20000")
    .option(
      "--workers <n>",
      "worker threads (a file: each reads, scores and formats its own ranges; stdin: they score, the calling thread reads and writes)",
      "2",
    );
  // Bytes per range of a file (tests use tiny ranges to put cuts inside quoted fields).
  cmd.addOption(cmd.createOption("--chunk-bytes <n>", "bytes per range of an input file").hideHelp());
  cmd.option("--quiet", "no progress on stderr").action(
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
      const chunkBytes = o.chunkBytes === undefined ? undefined : requireInteger("--chunk-bytes", Number(o.chunkBytes), 1, 1 << 30);
      let totalBytes = 0;
      let regularFile = false;
      if (!fromStdin) {
        try {
          const st = statSync(inputArg);
          totalBytes = st.size;
          regularFile = st.isFile();
        } catch {
          throw new DataError(`input file ${inputArg} does not exist`);
        }
        if (totalBytes === 0) throw new DataError(`input file ${inputArg} is empty`);
      }
      const model = await loadSentimentModel(o.model, o.trackingUri);
      const rowFormat: RowFormat = { outputFormat, classes: model.classes, names: parseClassNames(o.classNames, model.classes), topWords };
      const reporter = createReporter({ stream: process.stderr, quiet: o.quiet === true });
      const tmpPath = o.output ? `${o.output}.tmp-${process.pid}` : null;
      const handle = tmpPath ? await open(tmpPath, "w") : null;
      const out: Writable = handle ? handle.createWriteStream() : process.stdout;
      const where = fromStdin ? "stdin" : inputArg;
      let rows = 0;
      const t0 = performance.now();
      try {
        if (regularFile) {
          const { predictFile } = await import("./predict-file.js");
          rows = await predictFile({
            path: inputArg,
            size: totalBytes,
            format,
            textColumn: o.textColumn,
            where,
            model,
            rowFormat,
            workers,
            ...(chunkBytes !== undefined ? { chunkBytes } : {}),
            out,
            onProgress: (bytes, total) => reporter.progress("predict", bytes, total),
          });
        } else {
          const input: Readable = fromStdin ? process.stdin : createReadStream(inputArg, { highWaterMark: 1 << 20 });
          rows = await predictStream(input, format, o.textColumn, batchSize, where, model, rowFormat, workers, out, (done, bytes) =>
            totalBytes > 0 ? reporter.progress("predict", bytes, totalBytes) : reporter.progress("predict", done, done),
          );
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
 * The streamed path (stdin, or a file that is not a regular file): records are read on the
 * calling thread in batches of `batchSize` texts and scored by a PredictionPool of `workers`
 * threads, pipelined: while the workers score batch b, the calling thread parses batch b + 1
 * and formats and writes batch b − 1 (at most two batches in flight, the writer's backpressure
 * awaited), so memory stays flat whatever the input size. Slower than the file path, whose
 * workers also read and format. Resolves with the number of rows written.
 */
export async function predictStream(
  input: Readable,
  format: InputFormat,
  textColumn: string,
  batchSize: number,
  where: string,
  model: SentimentModel,
  rowFormat: RowFormat,
  workers: number,
  out: Writable,
  /** After each batch is written: the rows and input bytes done so far. */
  onProgress: (rows: number, bytes: number) => void,
): Promise<number> {
  const { PredictionPool } = await import("../models/parallel/predict-pool.js");
  const pool = await PredictionPool.create(model, { workers, useCallingThread: false });
  let rows = 0;
  try {
    const header = outputHeader(rowFormat);
    if (header) await writeChunk(out, header);
    const explain = rowFormat.topWords ? (t: string, k: number) => model.explain(t, k).words : null;
    const emit = async ({ texts, bytes, P }: { texts: string[]; bytes: number; P: Float64Array }): Promise<void> => {
      const chunk = formatRows(texts, P, rows, rowFormat, explain);
      rows += texts.length;
      await writeChunk(out, chunk);
      onProgress(rows, bytes);
    };
    // One batch scored by the workers while the next is read and the previous written.
    let inFlight: Promise<{ texts: string[]; bytes: number; P: Float64Array }> | null = null;
    try {
      for await (const { texts, bytes } of readTextBatches(input, format, textColumn, batchSize, where)) {
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
  } finally {
    await pool.close();
  }
  return rows;
}
