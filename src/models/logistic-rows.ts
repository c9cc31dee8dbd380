import type { CsrMatrix } from "../features/csr.js";
import { KERNEL_MAX_BYTES, threadKernel } from "./wasm-kernel.js";

/**
 * The row-wise binary logistic loss and gradient (binaryLossGradientRows, the objective of
 * LogisticRegression's binary problems below the column path's size) in WebAssembly:
 * logistic-rows.wat, the same arithmetic in the same order (Math.exp and Math.log1p imported),
 * so a fit gives the same coefficients bit for bit (tested), in about half the time of the
 * JavaScript pass on tune's 3,000-text folds (no bounds checks on the gathers and scatters).
 */

/** logistic-rows.wat beside this file, assembled by wabt's wat2wasm (base64; test/models/wasm-sources.test.ts checks it). */
const LOGISTIC_ROWS_WASM_BASE64 =
  "AGFzbQEAAAABFQJgAXwBfGALf3x8f39/f39/f38BfAIlAwNlbnYGbWVtb3J5AgABA2VudgNleHAAAANlbnYFbG9nMXAAAAMCAQEHCAEEcm93cwACCuECAd4CAgV/CnwCQANAIAsgAE4NASADIAtBAnRqKAIAIQ0gAyALQQJ0aigCBCEOIAEhECANIQwCQANAIAwgDk4NASAQIAUgDEEDdGorAwAgCCAEIAxBAnRqKAIAQQN0aisDAKKgIRAgDEEBaiEMDAALCyAGIAtBA3RqKwMAIREgESAQoiESIBJEAAAAAAAAAABkBEAgEpoQACETIBMQASEUIBNEAAAAAAAA8D8gE6CjIRUFIBIQACETIBKaIBMQAaAhFEQAAAAAAADwP0QAAAAAAADwPyAToKMhFQsgByALQQN0aisDACEWIBggFiAUoqAhGCAWmiARoiAVoiACoiEXIBkgF6AhGSANIQwCQANAIAwgDk4NASAJIAQgDEECdGooAgBBA3RqIQ8gDyAPKwMAIBcgBSAMQQN0aisDAKKgOQMAIAxBAWohDAwACwsgC0EBaiELDAALCyAKIBk5AwAgGAs=";

interface Kernel {
  rows(n: number, b: number, invS: number, indptr: number, indices: number, data: number, y: number, sw: number, x: number, grad: number, out: number): number;
}

/** The thread's kernel (src/models/wasm-kernel.ts: one memory per thread, reused by every problem after the first; tune fits 90 logistic regressions per run). */
const kernelInstance = threadKernel<Kernel>(LOGISTIC_ROWS_WASM_BASE64, { exp: Math.exp, log1p: Math.log1p });

/** One binary problem's rows in the kernel's memory: evaluate() is binaryLossGradientRows over all rows. */
export interface LogisticRows {
  /** Writes the data term's gradient at (x[0..d), b) into grad[0..d) and Σ r_i into out[0]; returns Σ s_i·loss_i. */
  evaluate(x: Float64Array, b: number, grad: Float64Array, out: Float64Array): number;
}

/**
 * X, the ±1 labels and the sample weights copied into the thread's kernel memory, or null when
 * there is no WebAssembly or the copy would exceed KERNEL_MAX_BYTES. The copy serves one problem
 * at a time: the next call (the thread's next problem) overwrites it.
 */
export function logisticRows(X: CsrMatrix, ySign: Float64Array, sw: Float64Array, invS: number): LogisticRows | null {
  const n = X.rows;
  const d = X.cols;
  const base = X.indptr[0];
  const nnz = X.indptr[n] - base;
  // f64 arrays first (8-byte aligned), then the i32 ones.
  const bytes = 8 * (nnz + 2 * n + 2 * d + 1) + 4 * (n + 1 + nnz);
  if (bytes > KERNEL_MAX_BYTES) return null;
  const k = kernelInstance();
  if (k == null) return null;
  const { f64: f, i32 } = k.layout(bytes);
  const data = f(nnz);
  const y = f(n);
  const w = f(n);
  const x = f(d);
  const grad = f(d);
  const out = f(1);
  const indptr = i32(n + 1);
  const indices = i32(nnz);
  for (let r = 0; r <= n; r++) indptr[r] = X.indptr[r] - base;
  indices.set(X.indices.subarray(base, base + nnz));
  data.set(X.data.subarray(base, base + nnz));
  y.set(ySign);
  w.set(sw);
  const kernel = k.kernel;
  return {
    evaluate(xIn, b, gradOut, sumR) {
      x.set(xIn.length === d ? xIn : xIn.subarray(0, d));
      grad.fill(0);
      const loss = kernel.rows(
        n,
        b,
        invS,
        indptr.byteOffset,
        indices.byteOffset,
        data.byteOffset,
        y.byteOffset,
        w.byteOffset,
        x.byteOffset,
        grad.byteOffset,
        out.byteOffset,
      );
      gradOut.set(grad);
      sumR[0] = out[0];
      return loss;
    },
  };
}
