/**
 * The worker of PredictionPool: adopts the model once from its binary form in workerData
 * (views of the pool's SharedArrayBuffer, already validated by the thread that wrote it), then
 * answers each request by running the same `SentimentModel.predictProba` as the main thread
 * on its chunk of texts and writing the rows straight into the shared output array.
 */
import { parentPort, workerData } from "node:worker_threads";
import { SentimentModel } from "../sentiment-model.js";
import { workerFailure, type WorkerFailure } from "./predict-pool.js";

export interface PredictWorkerData {
  /** SentimentModel.toBinary({shared: true}) of the pool's model. */
  binary: Uint8Array;
}

export interface PredictRequest {
  id: number;
  /** The chunk's texts packed by SentimentModel.packTexts: one string and the texts' starts. */
  joined: string;
  starts: Int32Array;
  /** The whole n × k output (shared); this chunk's rows start at row `offset`. */
  out: Float64Array;
  offset: number;
}

export type PredictReply = { type: "ready" } | { type: "done"; id: number } | { type: "failed"; id: number | null; error: WorkerFailure };

const port = parentPort;
if (port === null) throw new Error("predict-worker must run in a worker thread (started by PredictionPool)");
let model: SentimentModel | null = null;
try {
  model = SentimentModel.fromBinary((workerData as PredictWorkerData).binary, { trusted: true });
  port.postMessage({ type: "ready" } satisfies PredictReply);
} catch (e) {
  port.postMessage({ type: "failed", id: null, error: workerFailure(e) } satisfies PredictReply);
}

port.on("message", (req: PredictRequest) => {
  try {
    if (model === null) throw new Error("the model could not be loaded");
    // Rows go straight into the shared output; texts are read in place from the packed string.
    model.predictProbaPacked(req.joined, req.starts, req.out, req.offset);
    port.postMessage({ type: "done", id: req.id } satisfies PredictReply);
  } catch (e) {
    port.postMessage({ type: "failed", id: req.id, error: workerFailure(e) } satisfies PredictReply);
  }
});
