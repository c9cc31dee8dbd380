/**
 * The gradient worker of SplitBinaryObjective, started from source text (`eval: true`) with
 * no execArgv: the same code runs from dist/ and under tsx, and a worker that needs no module
 * loader can boot while the main thread is blocked in a synchronous fit (a worker importing
 * a .ts file through tsx's loader cannot: it waits for the blocked main thread).
 *
 * The worker evaluates the binary logistic loss and gradient over its fixed row range
 * whenever the main thread bumps the request counter. Everything it touches lives in
 * SharedArrayBuffers handed over once in workerData; the handshake is Atomics only.
 */
import type { MessagePort } from "node:worker_threads";
import { binaryLossGradientRows, type BinaryLogisticData } from "./binary-logistic-kernel.js";

/** Slots of the control Int32Array. */
export const CTRL_REQUEST = 0; // main: the number of the evaluation it asks for (STOP to quit)
export const CTRL_DONE = 1; // worker: the number of the last evaluation it finished
export const CTRL_STATE = 2; // worker: STATE_*
export const STATE_BOOTING = 0;
export const STATE_READY = 1;
export const STATE_FAILED = 2;
export const STOP = -1;

export interface GradientWorkerData extends BinaryLogisticData {
  /**
   * Receives, in order, every shared weight vector the main thread will evaluate at (the
   * optimiser's own iterate buffers, or a copy buffer); scalars[3] names the one to read.
   */
  port: MessagePort;
  /** The worker's partial gradient (its rows only). */
  grad: Float64Array;
  control: Int32Array;
  /** [0] intercept b (in), [1] loss (out), [2] Σ residuals (out), [3] index of the weight vector (in). */
  scalars: Float64Array;
  start: number;
  end: number;
  protocol: { request: number; done: number; state: number; ready: number; failed: number; stop: number };
}

type Kernel = typeof binaryLossGradientRows;
type Receive = (port: MessagePort) => { message: unknown } | undefined;

/** The worker's loop. Self-contained (it is serialised with toString): it may use only its arguments. */
function gradientWorkerMain(w: GradientWorkerData, kernel: Kernel, receive: Receive): void {
  const { control, scalars, grad, start, end, port, protocol: P } = w;
  const vectors: Float64Array[] = [];
  const sumR = new Float64Array(1);
  Atomics.store(control, P.state, P.ready);
  Atomics.notify(control, P.state);
  let seen = 0;
  for (;;) {
    Atomics.wait(control, P.request, seen);
    const request = Atomics.load(control, P.request);
    if (request === P.stop) break;
    if (request === seen) continue;
    seen = request;
    try {
      const k = scalars[3];
      while (vectors.length <= k) {
        const m = receive(port);
        if (m === undefined) throw new Error("weight vector not received");
        vectors.push(m.message as Float64Array);
      }
      grad.fill(0);
      scalars[1] = kernel(w, vectors[k], scalars[0], grad, start, end, sumR);
      scalars[2] = sumR[0];
    } catch {
      Atomics.store(control, P.state, P.failed);
    }
    Atomics.store(control, P.done, request);
    Atomics.notify(control, P.done);
  }
}

export const PROTOCOL: GradientWorkerData["protocol"] = { request: CTRL_REQUEST, done: CTRL_DONE, state: CTRL_STATE, ready: STATE_READY, failed: STATE_FAILED, stop: STOP };

/** CommonJS source of the worker: the loop above applied to workerData and the shared kernel. */
export function gradientWorkerSource(): string {
  return `"use strict";\nconst { workerData, receiveMessageOnPort } = require("node:worker_threads");\n(${gradientWorkerMain.toString()})(workerData, ${binaryLossGradientRows.toString()}, receiveMessageOnPort);\n`;
}
