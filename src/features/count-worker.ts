/**
 * The counting worker of CountVectorizer.fitTransformAsync (parallel-count.ts): builds a
 * vectorizer with the caller's resolved options, counts its part of the documents with
 * CountVectorizer.countPart — the same code the calling thread runs — and sends back the
 * n-gram index as typed arrays and the rows as CSR of its gram ids.
 */
import { parentPort } from "node:worker_threads";
import { DataError } from "../util/errors.js";
import type { NgramTables } from "./ngram-index.js";
import { CountVectorizer, type ResolvedCountOptions } from "./vectorizer.js";

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
  | { type: "counts"; tables: NgramTables; rows: number; indptr: Int32Array; indices: Int32Array; data: Float64Array }
  | { type: "error"; message: string; dataError: boolean };

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
  const { index, builder } = new CountVectorizer(req.options).countPart(docs, req.offset, docs.length);
  const X = builder.build(index.size);
  const tables = index.exportTables();
  const transfer: ArrayBuffer[] = [];
  for (const a of [X.indptr, X.indices, X.data, tables.prefix, tables.last, tables.length, tables.atomLengths]) {
    if (a.buffer instanceof ArrayBuffer && !transfer.includes(a.buffer)) transfer.push(a.buffer);
  }
  return { reply: { type: "counts", tables, rows: X.rows, indptr: X.indptr, indices: X.indices, data: X.data }, transfer };
}

const port = parentPort;
if (port !== null) {
  port.on("message", (req: CountWorkerRequest) => {
    try {
      const { reply, transfer } = count(req);
      port.postMessage(reply, transfer);
    } catch (err) {
      const reply: CountWorkerReply = { type: "error", message: err instanceof Error ? err.message : String(err), dataError: err instanceof DataError };
      port.postMessage(reply);
    }
  });
  port.postMessage({ type: "ready" } satisfies CountWorkerReply);
}
