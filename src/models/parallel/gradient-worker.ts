/**
 * The worker thread of ColumnBinaryObjective (split-objective.ts), started from source text
 * (`eval: true`) with no execArgv: the same code runs from dist/, from a bundle and under tsx,
 * and a worker that needs no module loader can boot while the main thread is blocked in a
 * synchronous fit (a worker importing a .ts file through tsx's loader cannot: it waits for the
 * blocked main thread).
 *
 * The worker owns a fixed range of X's columns [c0, c1). Whenever the main thread bumps the
 * request counter it runs one phase over them: PHASE_SCORES adds its columns' part of the
 * scores into its own n-sized buffer, PHASE_GRADIENT writes its columns' gradient entries from
 * the residuals. Everything it touches lives in SharedArrayBuffers handed over once; the
 * handshake is Atomics only.
 */
import type { MessagePort } from "node:worker_threads";
import { columnGradient, columnScores } from "./binary-logistic-kernel.js";

/** Slots of the control Int32Array. */
export const CTRL_REQUEST = 0; // main: the number of the request it makes (STOP to quit)
export const CTRL_DONE = 1; // worker: the number of the last request it finished
export const CTRL_STATE = 2; // worker: STATE_*
export const STATE_BOOTING = 0;
export const STATE_READY = 1;
export const STATE_FAILED = 2;
export const STOP = -1;
export const PHASE_SCORES = 1;
export const PHASE_GRADIENT = 2;

export interface GradientWorkerData {
  colPtr: Int32Array;
  rowIdx: Int32Array;
  vals: Float32Array;
  /**
   * Receives, in order, every shared weight vector the main thread will evaluate at (the
   * optimiser's own iterate buffers, or a copy buffer); scalars[1] names the one to read.
   */
  port: MessagePort;
  /** The worker's part of the scores (n). */
  z: Float64Array;
  /** The residuals (n), written by the main thread before PHASE_GRADIENT. */
  r: Float64Array;
  /** The gradient entries of the worker's columns: grad[j − c0]. */
  grad: Float64Array;
  control: Int32Array;
  /** [0] phase (in), [1] index of the weight vector (in). */
  scalars: Float64Array;
  c0: number;
  c1: number;
  protocol: { request: number; done: number; state: number; ready: number; failed: number; stop: number; scores: number; gradient: number };
}

type Scores = typeof columnScores;
type Gradient = typeof columnGradient;
type Receive = (port: MessagePort) => { message: unknown } | undefined;

/** The worker's loop. Self-contained (it is serialised with toString): it may use only its arguments. */
function gradientWorkerMain(w: GradientWorkerData, scores: Scores, gradient: Gradient, receive: Receive): void {
  const { control, scalars, grad, z, r, c0, c1, port, colPtr, rowIdx, vals, protocol: P } = w;
  const vectors: Float64Array[] = [];
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
      if (scalars[0] === P.scores) {
        const k = scalars[1];
        while (vectors.length <= k) {
          const m = receive(port);
          if (m === undefined) throw new Error("weight vector not received");
          vectors.push(m.message as Float64Array);
        }
        z.fill(0);
        scores(colPtr, rowIdx, vals, vectors[k], z, c0, c1);
      } else {
        gradient(colPtr, rowIdx, vals, r, grad, c0, c1, c0);
      }
    } catch {
      Atomics.store(control, P.state, P.failed);
    }
    Atomics.store(control, P.done, request);
    Atomics.notify(control, P.done);
  }
}

export const PROTOCOL: GradientWorkerData["protocol"] = {
  request: CTRL_REQUEST,
  done: CTRL_DONE,
  state: CTRL_STATE,
  ready: STATE_READY,
  failed: STATE_FAILED,
  stop: STOP,
  scores: PHASE_SCORES,
  gradient: PHASE_GRADIENT,
};

/** CommonJS source of the worker: the loop above applied to workerData and the shared kernels. */
export function gradientWorkerSource(): string {
  return `"use strict";\nconst { workerData, receiveMessageOnPort } = require("node:worker_threads");\n(${gradientWorkerMain.toString()})(workerData, ${columnScores.toString()}, ${columnGradient.toString()}, receiveMessageOnPort);\n`;
}
