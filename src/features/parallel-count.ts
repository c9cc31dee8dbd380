import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { DataError, InvalidParameterError } from "../util/errors.js";
import { startModuleWorker } from "../util/module-worker.js";
import type { CountWorkerReply, CountWorkerRequest, PrefaultRequest, RemapRequest } from "./count-worker.js";
import type { NgramIndex } from "./ngram-index.js";
import type { CsrBuilder, FitRowWeights, ResolvedCountOptions } from "./vectorizer.js";

/**
 * The two-thread counting pass of CountVectorizer.fitTransformAsync (issue 12): this thread
 * counts the first part of the documents while a worker thread preprocesses, tokenises and
 * counts the rest with the same options; the worker sends back its n-gram index as typed
 * arrays (NgramIndex.exportTables) and its rows as CSR of its own gram ids, and they are
 * merged into this thread's index and builder. Columns are assigned later by sorting the
 * terms, so the merged result does not depend on which thread met a term first.
 *
 * With a `split` finisher (and both threads' rows in shared memory) the worker's rows are not
 * merged here: the finisher gets this thread's rows, the worker's n-grams mapped into this
 * thread's index and their document frequencies, and asks the worker to remap its own rows
 * (SplitCounts.remap) while this thread remaps its own: the column remap then runs on both
 * threads, and the worker's rows are written once, into their final place, by the worker.
 */

/** This thread's counts and the worker's, not merged (see above). */
export interface SplitCounts {
  /** This thread's index, with the worker's n-grams absorbed. */
  index: NgramIndex;
  /** This thread's rows (the first ones), in shared memory. */
  builder: CsrBuilder;
  /** The worker's gram ids → ids in `index`. */
  map: Int32Array;
  /** Per worker gram id: in how many of the worker's rows it is non-zero. */
  workerDf: Int32Array;
  workerRows: number;
  workerNnz: number;
  /** Asks the worker to remap its rows (see RemapRequest); resolves to the end of what it wrote. */
  remap(request: Omit<RemapRequest, "type">): Promise<number>;
}

export type { FitRowWeights };

/** From this many string documents "auto" uses the worker (below, start-up and copying cost more than it saves). */
export const PARALLEL_MIN_DOCS = 20_000;

const MAX_JOINED_CHARS = 2 ** 28;

/** How long to wait for the worker to load before counting everything on this thread. */
const WORKER_READY_TIMEOUT_MS = 20_000;

export function resolveCountThreads(requested: number | "auto", docs: readonly unknown[]): number {
  if (requested === "auto") return Array.isArray(docs) && docs.length >= PARALLEL_MIN_DOCS && availableParallelism() >= 2 ? 2 : 1;
  if (requested !== 1 && requested !== 2) throw new InvalidParameterError(`threads must be 1, 2 or "auto", got ${JSON.stringify(requested)}`);
  return requested;
}

type CountPart = (docs: readonly string[], offset: number, capacityRows: number) => { index: NgramIndex; builder: CsrBuilder };

/** A counting worker and its replies so far (queued from the moment it starts). */
interface Channel {
  worker: Worker;
  /** The next reply, or null if the worker failed or `timeoutMs` passed first. */
  next(timeoutMs: number): Promise<CountWorkerReply | null>;
}

function openChannel(): Channel | null {
  let worker: Worker;
  try {
    worker = startModuleWorker(import.meta.url, "count-worker");
  } catch {
    return null;
  }
  const messages: CountWorkerReply[] = [];
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  worker.on("message", (m: CountWorkerReply) => {
    messages.push(m);
    wake?.();
  });
  worker.on("error", (err: Error) => {
    failure = err;
    wake?.();
  });
  const next = (timeoutMs: number): Promise<CountWorkerReply | null> =>
    new Promise((resolve) => {
      const take = (): boolean => {
        if (messages.length > 0) {
          resolve(messages.shift() ?? null);
          return true;
        }
        if (failure !== null) {
          resolve(null);
          return true;
        }
        return false;
      };
      if (take()) return;
      const timer = setTimeout(() => {
        wake = null;
        resolve(null);
      }, timeoutMs);
      wake = () => {
        if (take()) {
          clearTimeout(timer);
          wake = null;
        }
      };
    });
  return { worker, next };
}

let prestarted: Channel | null = null;

/**
 * Starts the counting worker now, so it loads while the caller does something else (reads the
 * training file) and the next fitTransformAsync that counts on 2 threads takes it instead of
 * starting one: the worker's start-up (~0.1–0.3 s: a thread, a V8 isolate, the module) then
 * no longer delays the count. The worker is unref'd until it is used, so an unused one never
 * keeps the process alive; only one is kept. Safe to call when threads will not be used.
 */
export function prestartCountWorker(): void {
  if (prestarted !== null || availableParallelism() < 2) return;
  prestarted = openChannel();
  prestarted?.worker.unref();
}

/** Whether a prestarted counting worker is waiting to be used. */
export function countWorkerPrestarted(): boolean {
  return prestarted !== null;
}

function takePrestarted(): Channel | null {
  const c = prestarted;
  prestarted = null;
  c?.worker.ref();
  return c;
}

/**
 * Counts `docs` on this thread and one worker; null when that does not apply (fewer than two
 * documents, a non-string document, or the worker did not start), so the caller counts serially.
 */
export async function countInParallel<T>(
  options: Readonly<ResolvedCountOptions>,
  docs: readonly string[],
  countPart: CountPart,
  split: ((counts: SplitCounts) => Promise<T>) | null = null,
): Promise<{ index: NgramIndex; builder: CsrBuilder } | { finished: T } | null> {
  if (!Array.isArray(docs) || docs.length < 2) return null;
  let total = 0;
  for (let d = 0; d < docs.length; d++) {
    const t = docs[d];
    if (typeof t !== "string") return null;
    total += t.length;
  }
  // Split at half the characters: the work is per character (preprocessing) and per token.
  let mid = 0;
  for (let acc = 0; mid < docs.length - 1 && acc < total / 2; mid++) acc += docs[mid].length;
  if (mid === 0) mid = 1;

  const channel = takePrestarted() ?? openChannel();
  if (channel === null) return null;
  const { worker, next } = channel;
  try {
    // Under tsx (tests, benches from source) the worker's module loader needs this thread's
    // event loop, which the synchronous counting below blocks: wait until it has loaded. From
    // compiled JavaScript it loads by itself while this thread counts.
    if (import.meta.url.endsWith(".ts")) {
      const ready = await next(WORKER_READY_TIMEOUT_MS);
      if (ready === null || ready.type !== "ready") return null;
    }
    const part = docs.slice(mid);
    // One string instead of many: structured clone copies it in one piece. Past V8's string
    // length limit (2^29 - 24 code units) the documents go as an array.
    const partChars = total - docs.slice(0, mid).reduce((a, t) => a + t.length, 0);
    const request: CountWorkerRequest =
      partChars < MAX_JOINED_CHARS
        ? { options: { ...options }, text: part.join(""), lengths: Int32Array.from(part, (t) => t.length), offset: mid }
        : { options: { ...options }, docs: part, offset: mid };
    worker.postMessage(request);
    const mine = countPart(docs.slice(0, mid), 0, docs.length);
    let reply = await next(2 ** 31 - 1);
    if (reply !== null && reply.type === "ready") reply = await next(2 ** 31 - 1);
    // The worker died or could not load (a missing worker entry, its own out-of-memory):
    // the caller counts everything on this thread instead.
    if (reply === null) return null;
    if (reply.type === "error") throw reply.dataError ? new DataError(reply.message) : new Error(`counting worker: ${reply.message}`);
    if (reply.type !== "counts") return null;
    const shared = [reply.indptr, reply.indices, reply.data, mine.builder.indices, mine.builder.data].every((a) => a.buffer instanceof SharedArrayBuffer);
    if (split !== null && shared) {
      const workerRows = reply.rows;
      const workerNnz = reply.indptr[workerRows];
      // The worker will write its rows after this thread's: room for them now, and the worker
      // faults those pages in (it is idle until then) while this thread merges the n-grams.
      const builder = mine.builder;
      builder.reserve(builder.nnz + workerNnz);
      worker.postMessage({
        type: "prefault",
        indices: builder.indices,
        data: builder.data,
        from: builder.nnz,
        to: builder.nnz + workerNnz,
      } satisfies PrefaultRequest);
      const map = mine.index.absorb(reply.tables);
      const remap = async (request: Omit<RemapRequest, "type">): Promise<number> => {
        worker.postMessage({ type: "remap", ...request } satisfies RemapRequest);
        const done = await next(2 ** 31 - 1);
        if (done === null) throw new Error("counting worker: stopped before remapping its rows");
        if (done.type === "error") throw new Error(`counting worker: ${done.message}`);
        if (done.type !== "remapped") throw new Error(`counting worker: unexpected reply ${done.type}`);
        return done.end;
      };
      return { finished: await split({ index: mine.index, builder: mine.builder, map, workerDf: reply.df, workerRows, workerNnz, remap }) };
    }
    const map = mine.index.absorb(reply.tables);
    mine.builder.appendMapped(reply.indptr, reply.indices, reply.data, reply.rows, map);
    return mine;
  } finally {
    void worker.terminate();
  }
}
