/**
 * Worker thread that checks a candidate model version before the server touches it on its
 * event loop, and hands back the model in its binary form so that the main thread only adopts
 * ready typed arrays (issue 9 item 9, issue 12): a JSON file is parsed, rebuilt with
 * SentimentModel.fromJSON and re-encoded with toBinary; a binary file is fully validated with
 * fromBinary. The bytes come in transferred and the binary form goes back transferred (no
 * copies). A corrupt or malformed 160 MB file is refused here while the main thread keeps
 * answering requests; a good one costs the main thread one trusted fromBinary.
 */
import { parentPort, workerData } from "node:worker_threads";
import { SentimentModel } from "../models/sentiment-model.js";
import { errorMessage } from "../util/errors.js";

export interface ValidateWorkerData {
  bytes: Uint8Array;
}
export type ValidateReply = { ok: true; binary: Uint8Array } | { ok: false; stage: "json" | "model"; message: string };

const port = parentPort;
if (port === null) throw new Error("validate-worker must run in a worker thread");
const { bytes } = workerData as ValidateWorkerData;
let reply: ValidateReply;
if (SentimentModel.isBinary(bytes)) {
  try {
    SentimentModel.fromBinary(bytes);
    reply = { ok: true, binary: bytes };
  } catch (err) {
    reply = { ok: false, stage: "model", message: errorMessage(err) };
  }
} else {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
    try {
      reply = { ok: true, binary: SentimentModel.fromJSON(json).toBinary() };
    } catch (err) {
      reply = { ok: false, stage: "model", message: errorMessage(err) };
    }
  } catch (err) {
    reply = { ok: false, stage: "json", message: errorMessage(err) };
  }
}
port.postMessage(reply, reply.ok ? [reply.binary.buffer as ArrayBuffer] : []);
