/**
 * The counting worker of CountVectorizer.fitTransformAsync (parallel-count.ts): builds a
 * vectorizer with the caller's resolved options, counts its part of the documents with
 * CountVectorizer.countPart — the same code the calling thread runs — and sends back the
 * n-gram index as typed arrays and the rows as CSR of its gram ids.
 */
import { parentPort } from "node:worker_threads";
import { collectGarbage } from "../util/collect-garbage.js";
import { DataError } from "../util/errors.js";
import type { NgramTables } from "./ngram-index.js";
import { CountVectorizer, remapRowsInto, type FitRowWeights, type ResolvedCountOptions } from "./vectorizer.js";

/**
 * After "counts", when the caller finishes the fit split (parallel-count.ts's SplitCounts):
 * remap this worker's rows — gram ids → columns through `columnOfGram` (indexed by this
 * worker's gram ids), each row sorted and weighted — into the caller's shared arrays from
 * entry `at` and row `rowAt` (remapRowsInto). Answered by "remapped".
 */
export interface RemapRequest {
  type: "remap";
  columnOfGram: Int32Array;
  weights: FitRowWeights | null;
  indices: Int32Array;
  data: Float64Array;
  indptr: Int32Array;
  at: number;
  rowAt: number;
}

/**
 * Before a RemapRequest: the entries [from, to) of these arrays, where the remap will write, are
 * written with zeros now, so their pages are faulted in (~4 ms per MB on first write) while the
 * caller is still busy. Nobody else writes there until the remap. No reply.
 */
export interface PrefaultRequest {
  type: "prefault";
  indices: Int32Array;
  data: Float64Array;
  from: number;
  to: number;
}

export type CountWorkerRequest = {
  options: ResolvedCountOptions;
  /** Index of the first document in the whole corpus (for error messages). */
  offset: number;
} & (
  | {
      /** The documents concatenated, and each one's length. */
      text: string;
      lengths: Int32Array;
    }
  | { docs: string[] }
);

export type CountWorkerReply =
  | { type: "ready" }
  | { type: "counts"; tables: NgramTables; rows: number; indptr: Int32Array; indices: Int32Array; data: Float64Array; df: Int32Array }
  | { type: "remapped"; end: number }
  | { type: "error"; message: string; dataError: boolean };

/** From this many non-zeros counted, the worker collects garbage once it has sent its counts. */
const COLLECT_MIN_NNZ = 1 << 20;

/** The last counts' rows (CSR of this worker's gram ids), kept for a RemapRequest. */
let counted: { rows: number; indptr: Int32Array; indices: Int32Array; data: Float64Array } | null = null;

function count(req: CountWorkerRequest): { reply: CountWorkerReply; transfer: ArrayBuffer[] } {
  let docs: string[];
  if ("docs" in req) docs = req.docs;
  else {
    docs = new Array<string>(req.lengths.length);
    let pos = 0;
    for (let d = 0; d < docs.length; d++) {
      docs[d] = req.text.slice(pos, pos + req.lengths[d]);
      pos += req.lengths[d];
    }
  }
  const { index, builder } = new CountVectorizer(req.options).countPart(docs, req.offset, docs.length, true);
  const X = builder.build(index.size);
  const tables = index.exportTables();
  const nnz = X.indptr[X.rows];
  const df = new Int32Array(index.size);
  for (let p = 0; p < nnz; p++) if (X.data[p] !== 0) df[X.indices[p]]++;
  // Shared arrays (big parts) stay readable here for a RemapRequest; others are handed over.
  counted = X.indices.buffer instanceof SharedArrayBuffer ? X : null;
  const transfer: ArrayBuffer[] = [];
  for (const a of [X.indptr, X.indices, X.data, tables.prefix, tables.last, tables.length, tables.atomLengths, df]) {
    if (a.buffer instanceof ArrayBuffer && !transfer.includes(a.buffer)) transfer.push(a.buffer);
  }
  return { reply: { type: "counts", tables, rows: X.rows, indptr: X.indptr, indices: X.indices, data: X.data, df }, transfer };
}

function remap(req: RemapRequest): CountWorkerReply {
  const X = counted;
  if (X === null) throw new Error("no counts to remap");
  counted = null;
  const end = remapRowsInto(X.indptr, X.indices, X.data, 0, X.rows, req.columnOfGram, req.weights, req.indices, req.data, req.indptr, req.at, req.rowAt);
  return { type: "remapped", end };
}

type Request = CountWorkerRequest | RemapRequest | PrefaultRequest;
const isRemap = (req: Request): req is RemapRequest => (req as RemapRequest).type === "remap";
const isPrefault = (req: Request): req is PrefaultRequest => (req as PrefaultRequest).type === "prefault";

const port = parentPort;
if (port !== null) {
  port.on("message", (req: Request) => {
    if (isPrefault(req)) {
      req.indices.fill(0, req.from, req.to);
      req.data.fill(0, req.from, req.to);
      return;
    }
    try {
      if (isRemap(req)) {
        port.postMessage(remap(req));
        return;
      }
      const { reply, transfer } = count(req as CountWorkerRequest);
      port.postMessage(reply, transfer);
      // This worker now waits for a RemapRequest, keeping only its rows: its n-gram index (the
      // hash table alone ~50 MB at 10^6 documents) is garbage, but an idle isolate would not
      // collect it, and it would stay resident through the caller's merge (peak RSS).
      if (reply.type === "counts" && reply.indptr[reply.rows] >= COLLECT_MIN_NNZ) collectGarbage();
    } catch (err) {
      const reply: CountWorkerReply = { type: "error", message: err instanceof Error ? err.message : String(err), dataError: err instanceof DataError };
      port.postMessage(reply);
    }
  });
  port.postMessage({ type: "ready" } satisfies CountWorkerReply);
}
