import { Worker } from "node:worker_threads";
import { DataError, PayloadTooLargeError } from "../util/errors.js";
import type { ValidateReply, ValidateWorkerData } from "./validate-worker.js";
import { startModuleWorker } from "../util/module-worker.js";

/**
 * Checks model bytes in a worker thread (see validate-worker.ts): the main thread only
 * waits. Under tsx (tests) the worker registers tsx's loader first, as PredictionPool's does.
 */
function startValidateWorker(data: ValidateWorkerData, transfer: ArrayBuffer[]): Worker {
  return startModuleWorker(import.meta.url, "validate-worker", { workerData: data, transferList: transfer });
}

/** Refuses a model file over `maxBytes` before reading it whole. */
export function checkModelSize(size: number, maxBytes: number, where: string): void {
  if (size > maxBytes) {
    throw new PayloadTooLargeError(`model file ${where} is ${size} bytes, over the limit of ${maxBytes} (--max-model-bytes / MAX_MODEL_BYTES)`);
  }
}

/**
 * Resolves when `bytes` (a JSON or binary model file) make a valid model off the event loop,
 * with the model's binary form (SentimentModel.toBinary) for the main thread to adopt with
 * `fromBinary(…, {trusted: true})`; rejects with a DataError naming `where`.
 */
export async function validateModelBytesOffThread(bytes: Buffer, where: string): Promise<Uint8Array> {
  // A copy the worker owns (transferred): the caller keeps its buffer for the swap.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const worker = startValidateWorker({ bytes: copy }, [copy.buffer]);
  const reply = await new Promise<ValidateReply>((resolve, reject) => {
    worker.once("message", (m: ValidateReply) => resolve(m));
    worker.once("error", (err) => reject(new DataError(`model file ${where} could not be checked: ${err.message}`)));
    worker.once("exit", (code) => reject(new DataError(`model file ${where} could not be checked (validation worker exited with code ${code})`)));
  }).finally(() => void worker.terminate());
  if (!reply.ok) {
    throw new DataError(
      reply.stage === "json" ? `model file ${where} is not valid JSON: ${reply.message}` : `model file ${where} is not a valid model: ${reply.message}`,
    );
  }
  return reply.binary;
}
