/**
 * Worker thread that checks a candidate model version before the server touches it on its
 * event loop: JSON.parse and SentimentModel.fromJSON of the bytes it is handed (transferred,
 * not copied). A corrupt or malformed 160 MB file is refused here while the main thread
 * keeps answering requests (issue 9 item 9).
 */
import { parentPort, workerData } from "node:worker_threads";
import { SentimentModel } from "../models/sentiment-model.js";
import { errorMessage } from "../util/errors.js";

export interface ValidateWorkerData {
  bytes: Uint8Array;
}
export type ValidateReply = { ok: true } | { ok: false; stage: "json" | "model"; message: string };

const port = parentPort;
if (port === null) throw new Error("validate-worker must run in a worker thread");
const { bytes } = workerData as ValidateWorkerData;
let reply: ValidateReply;
let json: unknown;
try {
  json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  try {
    SentimentModel.fromJSON(json);
    reply = { ok: true };
  } catch (err) {
    reply = { ok: false, stage: "model", message: errorMessage(err) };
  }
} catch (err) {
  reply = { ok: false, stage: "json", message: errorMessage(err) };
}
port.postMessage(reply);
