/**
 * `polarity predict` from a file: the main thread stays out of the data path. It reads the
 * header (CSV/TSV) itself, cuts the rest of the file into byte ranges of about `chunkBytes`
 * that start after a newline, and hands them to worker threads (predict-file-worker.ts), which
 * read, decode, parse, score and format their ranges and send back output bytes; the main
 * thread numbers the rows and writes the outputs in input order.
 *
 * Record boundaries. A newline inside a quoted CSV field is not a record boundary, so a range
 * that starts after a newline may start inside a record. Each range is therefore parsed
 * speculatively from its start, and checked in file order: range c's start is right when range
 * c − 1 (itself checked) ended exactly there — its last record, read on past its limit to its
 * end, ends at c's start. If not, range c is dropped and parsed again from the true boundary
 * (rare: only a quoted newline straddling a cut). The records are therefore exactly those of
 * the streamed reader, as are row numbers and error messages (a problem found in a range
 * counts only once the range is checked, so the first problem in file order is the one
 * reported). JSONL has no quoting across lines: every cut is a boundary.
 *
 * Memory: at most `perWorker` ranges per worker are in flight and at most `window` ranges
 * between the oldest unwritten one and the newest assigned, so it does not grow with the file.
 */
import { closeSync, openSync, readSync } from "node:fs";
import type { Writable } from "node:stream";
import type { Worker } from "node:worker_threads";
import type { SentimentModel } from "../models/sentiment-model.js";
import { rebuildError } from "../models/parallel/predict-pool.js";
import { DataError, PolarityError } from "../util/errors.js";
import { startModuleWorker } from "../util/module-worker.js";
import type { FileWorkerData, FileWorkerReply, FileWorkerRequest } from "./predict-file-worker.js";
import { DelimitedRecordReader, delimitedRecordEnd, outputHeader, problemMessage, writeChunk, type InputFormat, type RowFormat } from "./predict-rows.js";

export interface PredictFileOptions {
  path: string;
  /** The file's size in bytes (already checked to be > 0). */
  size: number;
  format: InputFormat;
  textColumn: string;
  /** How errors name the input. */
  where: string;
  model: SentimentModel;
  rowFormat: RowFormat;
  workers: number;
  /** Target bytes per range (default 1 MiB). */
  chunkBytes?: number;
  /**
   * Where the output goes. A chunk's buffer is handed back to its worker and written over once
   * the write's callback has run, so `out` must be done with a chunk by then (file, pipe and
   * socket streams are; one that keeps chunks, such as a PassThrough, must copy them).
   */
  out: Writable;
  /** After each range is written: the bytes of the input done so far. */
  onProgress?: (bytes: number, total: number) => void;
}

export const DEFAULT_CHUNK_BYTES = 1 << 20;

interface Chunk {
  /** Current assignment's id (messages of a dropped assignment are ignored). */
  job: number;
  start: number;
  limit: number;
  worker: number;
  /** The assignment's start is known to be a record boundary. */
  verified: boolean;
  parsed: Extract<FileWorkerReply, { type: "parsed" }> | null;
  end: number;
  output: Uint8Array | null;
}

/** Reads the file's [position, position + n) into a fresh buffer (fewer bytes at its end). */
function readBytes(fd: number, position: number, n: number): Buffer {
  const buf = Buffer.allocUnsafe(n);
  let got = 0;
  while (got < n) {
    const r = readSync(fd, buf, got, n - got, position + got);
    if (r === 0) break;
    got += r;
  }
  return buf.subarray(0, got);
}

/**
 * The header record (the first non-empty one) and the byte where the data starts, or null for a
 * file without any record. Errors as the streamed reader's (missing column, unclosed quote).
 */
function readHeader(fd: number, size: number, format: InputFormat, textColumn: string, where: string): { column: number; dataStart: number } {
  const delimiter = format === "tsv" ? "\t" : ",";
  let pos = 0;
  let window = 1 << 16;
  while (pos < size) {
    const buf = readBytes(fd, pos, Math.min(window, size - pos));
    const final = pos + buf.length >= size;
    const end = delimitedRecordEnd(buf, 0, buf.length, delimiter.charCodeAt(0), final);
    if (end < 0) {
      window *= 4; // the record is longer than the window
      continue;
    }
    const records = new DelimitedRecordReader(delimiter).push(buf.toString("utf8", 0, end), true);
    pos += end;
    if (records.length === 0) continue; // an empty record is skipped
    const rec = records[0];
    if (rec.length > 0) rec[0] = rec[0].replace(/^\uFEFF/, "");
    const column = rec.indexOf(textColumn);
    if (column < 0) throw new DataError(`${where}: no column '${textColumn}' (columns: ${rec.map((c) => `'${c}'`).join(", ")}); pick one with --text-column`);
    return { column, dataStart: pos };
  }
  throw new DataError(`${where} is empty: expected a header line with a '${textColumn}' column`);
}

/** Scores a file; resolves with the number of rows written (after the output header). */
export async function predictFile(o: PredictFileOptions): Promise<number> {
  const fd = openSync(o.path, "r");
  let workers: Worker[] = [];
  try {
    const jsonl = o.format === "jsonl";
    const { column, dataStart } = jsonl ? { column: -1, dataStart: 0 } : readHeader(fd, o.size, o.format, o.textColumn, o.where);
    const chunkBytes = Math.max(1, Math.floor(o.chunkBytes ?? DEFAULT_CHUNK_BYTES));
    const workerData: FileWorkerData = {
      binary: o.model.toBinary({ shared: true }),
      path: o.path,
      fileSize: o.size,
      format: o.format,
      column,
      textColumn: o.textColumn,
      where: o.where,
      rowFormat: o.rowFormat,
      speculativeOverrun: Math.max(4 * chunkBytes, 1 << 20),
    };
    workers = Array.from({ length: o.workers }, () => startModuleWorker(import.meta.url, "predict-file-worker", { workerData }));
    const header = outputHeader(o.rowFormat);
    if (header) await writeChunk(o.out, header);
    return await new Coordinator(fd, o, workers, dataStart, chunkBytes).run();
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    closeSync(fd);
  }
}

class Coordinator {
  private readonly chunks: Chunk[] = [];
  /** Assignment id → its range (ids of dropped assignments are removed). */
  private readonly byJob = new Map<number, Chunk>();
  /** Range boundaries found so far: bounds[c] is range c's nominal start. */
  private readonly bounds: number[];
  /** Ranges [0, checked) have a verified start and parse. */
  private checked = 0;
  private written = 0;
  private rowsBefore = 0;
  private linesBefore = 0;
  private nextJob = 1;
  private readonly outstanding: number[];
  private ready = 0;
  private total = -1;
  private writing = false;
  private failed = false;
  private resolve!: (rows: number) => void;
  private reject!: (e: Error) => void;
  private readonly perWorker = 3;
  private readonly window: number;

  constructor(
    private readonly fd: number,
    private readonly o: PredictFileOptions,
    private readonly workers: Worker[],
    private readonly dataStart: number,
    private readonly chunkBytes: number,
  ) {
    this.bounds = [dataStart];
    this.outstanding = workers.map(() => 0);
    this.window = workers.length * (this.perWorker + 1);
  }

  run(): Promise<number> {
    const done = new Promise<number>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.workers.forEach((w, i) => {
      w.on("message", (m: FileWorkerReply) => {
        try {
          this.onMessage(i, m);
        } catch (e) {
          this.fail(e as Error);
        }
      });
      w.on("error", (e) => this.fail(new PolarityError("INTERNAL_ERROR", `prediction worker crashed: ${e.message}`)));
      w.on("exit", (code) => this.fail(new PolarityError("INTERNAL_ERROR", `prediction worker exited unexpectedly (code ${code})`)));
    });
    return done;
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.reject(e);
  }

  private send(w: number, m: FileWorkerRequest, transfer?: ArrayBuffer[]): void {
    this.workers[w].postMessage(m, transfer);
  }

  private onMessage(w: number, m: FileWorkerReply): void {
    if (this.failed) return;
    if (m.type === "ready") {
      if (++this.ready === this.workers.length) this.schedule();
      return;
    }
    if (m.type === "failed") {
      this.fail(rebuildError(m.error));
      return;
    }
    const ch = this.byJob.get(m.job);
    if (!ch) return; // a dropped assignment
    if (m.type === "parsed") {
      ch.parsed = m;
      this.check();
    } else {
      ch.output = m.bytes;
      this.byJob.delete(m.job);
      this.outstanding[w]--;
      void this.flush();
    }
    this.schedule();
  }

  /** Range c's nominal start: after the first newline at or after dataStart + c·chunkBytes − 1. */
  private bound(c: number): number {
    while (this.bounds.length <= c) {
      const prev = this.bounds[this.bounds.length - 1];
      const nominal = Math.max(prev, this.dataStart + this.bounds.length * this.chunkBytes - 1);
      let b = this.o.size;
      for (let at = nominal; at < this.o.size;) {
        const buf = readBytes(this.fd, at, 1 << 16);
        if (buf.length === 0) break;
        const nl = buf.indexOf(10);
        if (nl >= 0) {
          b = at + nl + 1;
          break;
        }
        at += buf.length;
      }
      this.bounds.push(b);
    }
    return this.bounds[c];
  }

  private schedule(): void {
    if (this.failed || this.ready < this.workers.length) return;
    while (this.total < 0 && this.chunks.length - this.written < this.window) {
      const c = this.chunks.length;
      const start = this.bound(c);
      if (start >= this.o.size) {
        this.total = c;
        break;
      }
      const w = this.leastBusyWorker();
      if (this.outstanding[w] >= this.perWorker) break;
      const ch: Chunk = { job: 0, start, limit: this.bound(c + 1), worker: w, verified: c === 0, parsed: null, end: -1, output: null };
      this.chunks.push(ch);
      this.assign(ch, w);
    }
    this.check();
  }

  /** The worker with the fewest ranges in flight (the first on ties). */
  private leastBusyWorker(): number {
    let w = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.outstanding[i] < this.outstanding[w]) w = i;
    return w;
  }

  private assign(ch: Chunk, w: number): void {
    this.byJob.delete(ch.job);
    ch.job = this.nextJob++;
    ch.worker = w;
    ch.parsed = null;
    ch.output = null;
    if (ch.start >= ch.limit) {
      // No record starts in this range (a long line or record covers it).
      ch.parsed = { type: "parsed", job: ch.job, end: ch.start, rows: 0, lines: 0, problem: null, gaveUp: false };
      ch.output = new Uint8Array(0);
      ch.worker = -1;
      return;
    }
    this.outstanding[w]++;
    this.byJob.set(ch.job, ch);
    this.send(w, { type: "chunk", job: ch.job, start: ch.start, limit: ch.limit, verified: ch.verified });
  }

  /** Verifies ranges in file order; numbers their rows; re-parses a range whose start was wrong. */
  private check(): void {
    while (!this.failed && this.checked < this.chunks.length) {
      const c = this.checked;
      const ch = this.chunks[c];
      const trueStart = c === 0 ? this.dataStart : this.chunks[c - 1].end;
      if (ch.start !== trueStart || (ch.parsed !== null && ch.parsed.gaveUp)) {
        // Parsed from inside a record (or gave up reading on): parse again from the boundary.
        if (ch.worker >= 0) {
          this.send(ch.worker, { type: "drop", job: ch.job });
          this.outstanding[ch.worker]--;
        }
        ch.start = trueStart;
        ch.verified = true;
        this.assign(ch, this.leastBusyWorker());
        if (ch.parsed === null) return;
        continue;
      }
      const p = ch.parsed;
      if (p === null) return;
      if (p.problem !== null) {
        this.fail(new DataError(problemMessage(p.problem, this.o.format === "jsonl" ? this.linesBefore : this.rowsBefore)));
        return;
      }
      ch.end = p.end;
      if (ch.worker >= 0) this.send(ch.worker, { type: "offset", job: ch.job, firstRow: this.rowsBefore });
      this.rowsBefore += p.rows;
      this.linesBefore += p.lines;
      this.checked++;
    }
    void this.flush();
  }

  private recycle(w: number, bytes: Uint8Array): void {
    if (this.failed || !(bytes.buffer instanceof ArrayBuffer)) return;
    try {
      this.send(w, { type: "recycle", buffer: bytes.buffer }, [bytes.buffer]);
    } catch {
      // the worker is gone (the run ended): nothing to give back
    }
  }

  private async flush(): Promise<void> {
    if (this.writing || this.failed) return;
    this.writing = true;
    try {
      while (this.written < this.checked && this.chunks[this.written].output !== null) {
        const ch = this.chunks[this.written];
        const bytes = ch.output as Uint8Array;
        ch.output = new Uint8Array(0);
        const w = ch.worker;
        // Once written, the buffer goes back to the worker that formatted it (it formats into it again).
        if (bytes.length > 0) await writeChunk(this.o.out, bytes, w >= 0 ? () => this.recycle(w, bytes) : undefined);
        this.written++;
        this.o.onProgress?.(ch.end, this.o.size);
        this.schedule();
        if (this.failed) return;
      }
    } catch (e) {
      this.fail(e as Error);
      return;
    } finally {
      this.writing = false;
    }
    if (this.total >= 0 && this.written === this.total && this.checked === this.total) {
      if (this.rowsBefore === 0) this.fail(new DataError(`${this.o.where} has no rows to score`));
      else this.resolve(this.rowsBefore);
    }
  }
}
