import { Worker } from "node:worker_threads";
import { SentimentModel, type SentimentModelJSON } from "../sentiment-model.js";
import { DataError, InvalidParameterError, PolarityError, type ErrorCode } from "../../util/errors.js";
import { rejectUnknownOptions, requireInteger } from "../../util/validate.js";
import type { PredictReply, PredictRequest, PredictWorkerData } from "./predict-worker.js";
import { startModuleWorker } from "../../util/module-worker.js";

/**
 * Batches below this many texts are scored on the calling thread: posting the texts to a
 * worker and waiting for its reply costs more than it saves on a few thousand short texts.
 */
export const PARALLEL_MIN_TEXTS = 2_000;

export interface PredictionPoolOptions {
  /** Worker threads (default 1: with the calling thread's share, both cores of a 2-core machine). */
  workers?: number;
  /**
   * Whether the calling thread scores one chunk itself after handing the others to the workers
   * (default true). On the 2-core bench machine main + 1 worker beat 2 workers with an idle
   * main thread (e.g. uci model: ~720–880k vs ~650–830k texts/s; serial ~450–490k): one
   * fewer copy of the texts and of the model, no third thread competing for two cores.
   * Workers are already running when a batch arrives, so this cannot block their start-up.
   */
  useCallingThread?: boolean;
}

interface Pending {
  worker: Worker;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** predict-worker.js from dist/, or predict-worker.ts under tsx (src/util/module-worker.ts). */
function startWorker(workerData: PredictWorkerData): Worker {
  return startModuleWorker(import.meta.url, "predict-worker", { workerData });
}

const ERROR_CLASSES: Partial<Record<ErrorCode, new (message: string) => PolarityError>> = {
  DATA_ERROR: DataError,
  INVALID_PARAMETER_VALUE: InvalidParameterError,
};

/** An error as a worker posts it (structured clone keeps neither the class nor the code of an Error). */
export interface WorkerFailure {
  name: string;
  code: string | null;
  message: string;
}

/** A worker's error for postMessage; rebuildError turns it back into an error on the other side. */
export function workerFailure(e: unknown): WorkerFailure {
  if (e instanceof PolarityError) return { name: e.name, code: e.code, message: e.message };
  if (e instanceof Error) return { name: e.name, code: null, message: e.message };
  return { name: "Error", code: null, message: String(e) };
}

/** A worker's error as the same Polarity error class (a DataError stays a DataError). */
export function rebuildError(f: WorkerFailure): Error {
  const code = f.code as ErrorCode | null;
  if (code !== null) {
    const Cls = ERROR_CLASSES[code];
    return Cls ? new Cls(f.message) : new PolarityError(code, f.message);
  }
  return new PolarityError("INTERNAL_ERROR", `prediction worker failed: ${f.name}: ${f.message}`);
}

/**
 * Contiguous chunk boundaries [0 = b_0 < … < b_parts = n] with about equal total text length
 * per chunk (length is what preprocessing and vectorizing cost scales with).
 */
function splitByLength(texts: readonly string[], parts: number): number[] {
  let total = 0;
  for (const t of texts) total += t.length + 1;
  const bounds = [0];
  let acc = 0;
  let i = 0;
  for (let p = 1; p < parts; p++) {
    const target = (total * p) / parts;
    while (i < texts.length && acc < target) acc += texts[i++].length + 1;
    bounds.push(i);
  }
  bounds.push(texts.length);
  return bounds;
}

/**
 * Batch prediction over worker threads: `await pool.predictProba(texts)` equals
 * `model.predictProba(texts)` exactly (every worker runs the same code on the same model,
 * adopted from its binary form) and keeps the input order. Texts are split by total length into one
 * contiguous chunk per worker (+ one for the calling thread, see useCallingThread); workers
 * write their rows directly into one shared output array. Batches below PARALLEL_MIN_TEXTS
 * run on the calling thread only.
 *
 * Idle workers are unref'd (an open, idle pool never keeps the process alive); close() terminates them.
 */
export class PredictionPool {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  /** Why the pool can no longer be used (a worker died), or null. */
  private broken: Error | null = null;
  private local: SentimentModel;

  private constructor(
    private readonly workers: Worker[],
    local: SentimentModel,
    readonly classes: readonly SentimentModel["classes"][number][],
    private readonly useCallingThread: boolean,
  ) {
    this.local = local;
    for (const w of workers) {
      w.on("message", (m: PredictReply) => this.onReply(m));
      w.on("error", (e) => this.fail(new PolarityError("INTERNAL_ERROR", `prediction worker crashed: ${e.message}`)));
      w.on("exit", (code) => {
        if (!this.closed) this.fail(new PolarityError("INTERNAL_ERROR", `prediction worker exited unexpectedly (code ${code})`));
      });
    }
  }

  /**
   * Starts the workers. They adopt the model's binary form (SentimentModel.toBinary) from one
   * SharedArrayBuffer: no copy per worker and no rebuild of the n-gram lookup, so a pool of a
   * 2 M-feature model is ready in well under a second. Resolves when all are ready.
   */
  static async create(model: SentimentModel | SentimentModelJSON, options: PredictionPoolOptions = {}): Promise<PredictionPool> {
    rejectUnknownOptions("prediction pool options", options, ["workers", "useCallingThread"]);
    const n = requireInteger("workers", options.workers ?? 1, 1);
    const useCallingThread = options.useCallingThread ?? true;
    if (typeof useCallingThread !== "boolean") throw new InvalidParameterError(`useCallingThread must be a boolean, got ${String(useCallingThread)}`);
    if (!(model instanceof SentimentModel) && (typeof model !== "object" || model === null || !Array.isArray(model.classes))) {
      throw new DataError("prediction pool: expected a SentimentModel or its JSON (format 'polarity.sentiment-model')");
    }
    const local = model instanceof SentimentModel ? model : SentimentModel.fromJSON(model);
    const workerData: PredictWorkerData = { binary: local.toBinary({ shared: true }) };
    const workers = Array.from({ length: n }, () => startWorker(workerData));
    // The pool's own listeners are attached before any worker can fail, so no error goes unhandled.
    const pool = new PredictionPool(workers, local, [...local.classes], useCallingThread);
    try {
      await Promise.all(workers.map(workerReady));
    } catch (e) {
      await pool.close();
      throw e;
    }
    // unref() after the last listener is attached: adding a 'message' listener refs the worker again.
    for (const w of workers) w.unref();
    return pool;
  }

  /** Number of worker threads. */
  get size(): number {
    return this.workers.length;
  }

  /** n × k row-major probabilities, columns in `classes` order: exactly `model.predictProba(texts)`. */
  async predictProba(texts: readonly string[]): Promise<Float64Array> {
    this.assertUsable();
    if (!Array.isArray(texts)) throw new DataError("expected an array of texts");
    for (let i = 0; i < texts.length; i++) {
      if (typeof texts[i] !== "string") throw new DataError(`texts[${i}] must be a string, got ${texts[i] === null ? "null" : typeof texts[i]}`);
    }
    if (texts.length < PARALLEL_MIN_TEXTS) return this.localModel().predictProba(texts);
    const k = this.classes.length;
    const out = new Float64Array(new SharedArrayBuffer(texts.length * k * 8));
    const nw = this.workers.length;
    const bounds = splitByLength(texts, nw + (this.useCallingThread ? 1 : 0));
    const jobs: Promise<void>[] = [];
    for (let w = 0; w < nw; w++) {
      if (bounds[w + 1] > bounds[w]) jobs.push(this.send(this.workers[w], SentimentModel.packTexts(texts, bounds[w], bounds[w + 1]), out, bounds[w]));
    }
    if (this.useCallingThread && bounds[nw + 1] > bounds[nw]) {
      try {
        this.localModel().predictProbaInto(texts, bounds[nw], bounds[nw + 1], out, bounds[nw]);
      } catch (e) {
        // The workers' replies must still be consumed (and their rejections handled).
        await Promise.allSettled(jobs);
        throw e;
      }
    }
    await Promise.all(jobs);
    return out;
  }

  /** Terminates the workers; later calls reject. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new InvalidParameterError("the prediction pool was closed while predicting");
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private assertUsable(): void {
    if (this.closed) throw new InvalidParameterError("the prediction pool is closed; create a new one with PredictionPool.create()");
    if (this.broken) throw this.broken;
  }

  private localModel(): SentimentModel {
    return this.local;
  }

  private send(worker: Worker, packed: { joined: string; starts: Int32Array }, out: Float64Array, offset: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const id = this.nextId++;
      // Ref'd while a batch is in flight, so an awaiting caller is not left without a live handle.
      if (this.pending.size === 0) for (const w of this.workers) w.ref();
      this.pending.set(id, { worker, resolve, reject });
      // One string and one transferred Int32Array per chunk instead of one cloned string per text.
      worker.postMessage({ id, joined: packed.joined, starts: packed.starts, out, offset } satisfies PredictRequest, [packed.starts.buffer as ArrayBuffer]);
    });
  }

  private onReply(m: PredictReply): void {
    if (m.type === "ready" || m.id === null) return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) for (const w of this.workers) w.unref();
    if (m.type === "done") p.resolve();
    else p.reject(rebuildError(m.error));
  }

  /** A worker died: every request in flight and every later call fails with `error`. */
  private fail(error: Error): void {
    if (this.closed || this.broken) return;
    this.broken = error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    for (const w of this.workers) w.unref();
  }
}

/** Resolves when the worker has rebuilt its model; rejects with the reason it could not. */
function workerReady(w: Worker): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onMessage = (m: PredictReply): void => {
      cleanup();
      if (m.type === "ready") resolve();
      else if (m.type === "failed") reject(rebuildError(m.error));
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(new PolarityError("INTERNAL_ERROR", `prediction worker failed to start: ${e.message}`));
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new PolarityError("INTERNAL_ERROR", `prediction worker exited during start-up (code ${code})`));
    };
    const cleanup = (): void => {
      w.off("message", onMessage);
      w.off("error", onError);
      w.off("exit", onExit);
    };
    w.on("message", onMessage);
    w.on("error", onError);
    w.on("exit", onExit);
  });
}
