/**
 * A worker of `polarity predict` reading a file (predict-file.ts): adopts the model from its
 * binary form, then for each chunk the main thread assigns (a byte range [start, limit) of the
 * input) reads the bytes itself, decodes and parses them (parseCsvBytes / parseJsonlChunk, a
 * record that runs past `limit` is read on to its end), reports the record count and the
 * chunk's true end at once, scores the texts (SentimentModel.predictProbaPacked) and, when the
 * main thread has sent the chunk's first row number, formats the rows into bytes that it
 * transfers back. Work goes in this order of priority, one step per macrotask so the main
 * thread's messages are read between steps: format a chunk whose row number is known, parse an
 * assigned chunk, score a parsed one.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { SentimentModel } from "../models/sentiment-model.js";
import { workerFailure, type WorkerFailure } from "../models/parallel/predict-pool.js";
import {
  PackedTexts,
  formatCsvRowsBytes,
  formatRows,
  parseCsvBytes,
  parseJsonlChunk,
  type ChunkProblem,
  type InputFormat,
  type PackedSegment,
  type RowFormat,
} from "./predict-rows.js";

export interface FileWorkerData {
  /** SentimentModel.toBinary({shared: true}). */
  binary: Uint8Array;
  path: string;
  fileSize: number;
  format: InputFormat;
  /** CSV/TSV: the text column's index in the header; JSONL: unused. */
  column: number;
  textColumn: string;
  where: string;
  rowFormat: RowFormat;
  /** A chunk whose start is not yet known to be a record boundary gives up after reading this many bytes past its limit. */
  speculativeOverrun: number;
}

/** main → worker */
export type FileWorkerRequest =
  | { type: "chunk"; job: number; start: number; limit: number; verified: boolean }
  | { type: "offset"; job: number; firstRow: number }
  | { type: "drop"; job: number }
  /** An output's buffer back, once written, for the worker to format into again. */
  | { type: "recycle"; buffer: ArrayBuffer };

/** worker → main */
export type FileWorkerReply =
  | { type: "ready" }
  | {
      type: "parsed";
      job: number;
      /** Byte after the chunk's last record (≥ limit; the file's size at its end). */
      end: number;
      rows: number;
      /** JSONL: lines in the chunk, blank ones included. */
      lines: number;
      problem: ChunkProblem | null;
      /** Not verified and its last record ran more than speculativeOverrun bytes past the limit. */
      gaveUp: boolean;
    }
  | { type: "output"; job: number; bytes: Uint8Array }
  | { type: "failed"; error: WorkerFailure };

interface Job {
  job: number;
  start: number;
  limit: number;
  verified: boolean;
  texts: string[] | null;
  /** CSV/TSV whose texts are only scored: the texts packed (PackedTexts.finish, its side texts apart), instead of `texts`. */
  packed: { segments: PackedSegment[]; rows: number; sideRows: number[]; sideTexts: string[] } | null;
  P: Float64Array | null;
}

const port = parentPort;
if (port === null) throw new Error("predict-file-worker must run in a worker thread (started by predict-file.ts)");
const data = workerData as FileWorkerData;
let model: SentimentModel | null = null;
try {
  model = SentimentModel.fromBinary(data.binary, { trusted: true });
  port.postMessage({ type: "ready" } satisfies FileWorkerReply);
} catch (e) {
  port.postMessage({ type: "failed", error: workerFailure(e) } satisfies FileWorkerReply);
}

const fd = openSync(data.path, "r");
const delimiterCode = data.format === "tsv" ? 9 : 44; // tab or comma
const k = data.rowFormat.classes.length;
const keepTexts = data.rowFormat.topWords > 0 || data.rowFormat.outputFormat !== "csv";
let bytes = Buffer.allocUnsafe(1 << 20);
const packer = new PackedTexts();
// Buffers used again rather than allocated per chunk: on this kind of VM the first touch of
// every page of a fresh large buffer is a page fault, which cost more than the formatting
// itself (~100 ns per output row). Scores: free P arrays; outputs: buffers the main thread
// has written and sent back (recycle).
const freeScores: Float64Array[] = [];
const freeOutputs: ArrayBuffer[] = [];
const MAX_FREE = 4;

/** Texts per packed block on the string path. */
const TEXT_BLOCK = 256;

/** bytes[0, n) ← the file's [position, position + n); fewer at its end. */
function readAt(position: number, n: number): number {
  if (bytes.length < n) bytes = Buffer.allocUnsafe(Math.max(n, bytes.length * 2));
  let got = 0;
  while (got < n) {
    const r = readSync(fd, bytes, got, n - got, position + got);
    if (r === 0) break;
    got += r;
  }
  return got;
}

const toParse: Job[] = [];
const toScore: Job[] = [];
const waiting = new Map<number, Job>();
const offsets = new Map<number, number>();
const dropped = new Set<number>();
let scheduled = false;

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(step);
}

function step(): void {
  scheduled = false;
  try {
    // 1. Format a scored chunk whose first row number has come.
    for (const [id, job] of waiting) {
      const firstRow = offsets.get(id);
      if (firstRow === undefined) continue;
      waiting.delete(id);
      offsets.delete(id);
      emit(job, firstRow);
      return schedule();
    }
    // 2. Parse an assigned chunk (its counts let the main thread number the rows of later chunks).
    const next = toParse.shift();
    if (next) {
      if (!dropped.has(next.job)) parse(next);
      return schedule();
    }
    // 3. Score a parsed chunk.
    const job = toScore.shift();
    if (job) {
      if (!dropped.has(job.job)) {
        score(job);
        waiting.set(job.job, job);
      }
      return schedule();
    }
  } catch (e) {
    port!.postMessage({ type: "failed", error: workerFailure(e) } satisfies FileWorkerReply);
  }
}

function parse(job: Job): void {
  const texts: string[] = [];
  const len = readAt(job.start, job.limit - job.start);
  const final = job.start + len >= data.fileSize;
  let end = job.start + len;
  let lines = 0;
  let problem: ChunkProblem | null = null;
  let gaveUp = false;
  if (data.format === "jsonl") {
    // latin1: one char per byte, so positions are byte positions; values with bytes ≥ 0x80 are decoded as UTF-8 from `bytes`.
    const r = parseJsonlChunk(bytes.toString("latin1", 0, len), data.textColumn, data.where, final, texts, bytes);
    lines = r.lines;
    problem = r.problem;
  } else {
    // Parsed from the bytes into one packed string (SentimentModel.packTexts's layout), with no
    // string of the chunk nor of each text; texts that are kept become strings at the end.
    packer.reset();
    const r = parseCsvBytes(bytes, 0, len, len, delimiterCode, data.column, data.textColumn, data.where, final, packer);
    problem = r.problem;
    if (problem === null && r.needMore) {
      // Rare (a quoted newline across the limit): the last record runs on past the limit; it is
      // read from its start, more each time, until it ends (into the same packer, which holds
      // copies of the texts so far, so the read buffer may be reused).
      const from = job.start + r.next;
      let want = Math.max(2 * (len - r.next), 1 << 16);
      for (;;) {
        if (!job.verified && from + want - job.limit > data.speculativeOverrun + (1 << 16)) {
          gaveUp = true;
          break;
        }
        const got = readAt(from, want);
        const atEnd = from + got >= data.fileSize || got < want;
        const r2 = parseCsvBytes(bytes, 0, 1, got, delimiterCode, data.column, data.textColumn, data.where, atEnd, packer);
        if (r2.problem) {
          problem = r2.problem;
          break;
        }
        if (!r2.needMore) {
          end = from + r2.next;
          break;
        }
        want *= 2;
      }
    }
    if (keepTexts) packer.toStrings(texts);
  }
  const packed = data.format !== "jsonl" && !keepTexts;
  const rows = packed ? packer.length : texts.length;
  const reply: FileWorkerReply = { type: "parsed", job: job.job, end, rows, lines, problem, gaveUp };
  port!.postMessage(reply);
  if (problem !== null || gaveUp) return;
  if (packed) job.packed = { segments: packer.finish(), rows, sideRows: packer.side.rows.slice(), sideTexts: packer.side.texts.slice() };
  else job.texts = texts;
  toScore.push(job);
}

function score(job: Job): void {
  const m = model as SentimentModel;
  const texts = job.texts;
  const packed = job.packed;
  const n = packed !== null ? packed.rows : texts !== null ? texts.length : 0;
  // Every entry is written below (each row's k probabilities), so a used array will do.
  let base = freeScores.pop();
  if (base === undefined || base.length < n * k) base = new Float64Array(Math.max(n * k, 1 << 15));
  const P = base.subarray(0, n * k);
  if (packed !== null) {
    let row = 0;
    for (const { joined, starts } of packed.segments) {
      m.predictProbaPacked(joined, starts, P, row);
      row += starts.length - 1;
    }
    // Texts with non-ASCII bytes were packed empty: their own rows replace those scores.
    for (let j = 0; j < packed.sideRows.length; j++) m.predictProbaInto(packed.sideTexts, j, j + 1, P, packed.sideRows[j]);
  } else if (texts !== null) {
    // Packed a block at a time: each joined string stays small (see PackedTexts.finish).
    for (let b = 0; b < n; b += TEXT_BLOCK) {
      const e = Math.min(n, b + TEXT_BLOCK);
      const block = SentimentModel.packTexts(texts, b, e);
      m.predictProbaPacked(block.joined, block.starts, P, b);
    }
  }
  job.P = P;
  job.packed = null;
  job.texts = keepTexts ? texts : null;
}

const encoder = new TextEncoder();

function emit(job: Job, firstRow: number): void {
  const P = job.P as Float64Array;
  const n = P.length / k;
  const out = keepTexts
    ? encoder.encode(formatRows(job.texts as string[], P, firstRow, data.rowFormat, (t, kk) => (model as SentimentModel).explain(t, kk).words))
    : formatCsvRowsBytes(P, n, firstRow, data.rowFormat, freeOutputs.pop());
  job.texts = null;
  job.P = null;
  if (freeScores.length < MAX_FREE) freeScores.push(new Float64Array(P.buffer));
  port!.postMessage({ type: "output", job: job.job, bytes: out } satisfies FileWorkerReply, [out.buffer as ArrayBuffer]);
}

port.on("message", (m: FileWorkerRequest) => {
  if (m.type === "chunk") {
    if (model === null) return;
    toParse.push({ job: m.job, start: m.start, limit: m.limit, verified: m.verified, texts: null, packed: null, P: null });
  } else if (m.type === "offset") {
    offsets.set(m.job, m.firstRow);
  } else if (m.type === "recycle") {
    if (freeOutputs.length < MAX_FREE) freeOutputs.push(m.buffer);
    return;
  } else if (m.type === "drop") {
    dropped.add(m.job);
    waiting.delete(m.job);
    offsets.delete(m.job);
  }
  schedule();
});

process.on("exit", () => closeSync(fd));
