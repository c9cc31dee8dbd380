import { csrFromDense, type CsrMatrix } from "../../src/features/csr.js";
import { Random } from "../../src/util/random.js";

/** The fixed 12 × 3 problem whose scikit-learn solutions are embedded in the tests. */
export const FIXED_X = [
  [1, 0, 2],
  [0, 1, 0],
  [2, 1, 0],
  [0, 0, 1],
  [1, 1, 1],
  [3, 0, 0],
  [0, 2, 1],
  [1, 0, 0],
  [0, 3, 0],
  [2, 0, 1],
  [0, 1, 2],
  [1, 2, 0],
];
export const FIXED_Y_BINARY = ["pos", "neg", "pos", "pos", "neg", "pos", "neg", "pos", "neg", "neg", "pos", "neg"];
export const FIXED_Y_MULTI = ["pos", "neg", "pos", "neu", "neu", "pos", "neg", "pos", "neg", "neu", "neu", "neg"];

/**
 * A seeded random sparse problem: rows with ~nnzPerRow entries, values from |N(0,1)| (so
 * usable by naive Bayes too), labels from a sparse true weight vector plus noise.
 */
export function randomProblem(
  seed: number,
  n: number,
  d: number,
  nnzPerRow: number,
  classes: (string | number)[] = [0, 1],
): { X: CsrMatrix; dense: number[][]; y: (string | number)[] } {
  const rng = new Random(seed);
  const k = classes.length;
  const wTrue = Array.from({ length: k }, () => Array.from({ length: d }, () => (rng.nextFloat() < 0.5 ? rng.nextGaussian() * 2 : 0)));
  const dense: number[][] = [];
  const y: (string | number)[] = [];
  for (let i = 0; i < n; i++) {
    const row = new Array<number>(d).fill(0);
    for (let t = 0; t < nnzPerRow; t++) row[rng.nextInt(d)] = Math.abs(rng.nextGaussian());
    dense.push(row);
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < k; c++) {
      let s = rng.nextGaussian() * 0.5;
      for (let j = 0; j < d; j++) s += wTrue[c][j] * row[j];
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    y.push(classes[best]);
  }
  // Make sure every class occurs at least twice.
  for (let c = 0; c < k; c++) {
    y[2 * c] = classes[c];
    y[2 * c + 1] = classes[c];
  }
  return { X: csrFromDense(dense), dense, y };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function norm2(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/**
 * Straightforward dense gradient of the binary objective C·Σ s_i·log(1+exp(−y_i(x_i·w+b))) + (l2 ? ½‖w‖² : 0),
 * y_i = +1 for `positive`. Returns [∂w..., ∂b]. Independent of the library's sparse code.
 */
export function denseBinaryGradient(
  dense: number[][],
  y: (string | number)[],
  positive: string | number,
  w: ArrayLike<number>,
  b: number,
  C: number,
  sw: number[],
  l2: boolean,
): number[] {
  const d = w.length;
  const g = new Array<number>(d + 1).fill(0);
  dense.forEach((row, i) => {
    const yi = y[i] === positive ? 1 : -1;
    let z = b;
    for (let j = 0; j < d; j++) z += row[j] * w[j];
    const r = (C * sw[i] * -yi) / (1 + Math.exp(yi * z));
    for (let j = 0; j < d; j++) g[j] += r * row[j];
    g[d] += r;
  });
  if (l2) for (let j = 0; j < d; j++) g[j] += w[j];
  return g;
}

/** Dense gradient of C·Σ s_i·(−ln softmax_{y_i}) + ½‖W‖² for W (k × d) and b (k); returns [∂W row-major..., ∂b...]. */
export function denseMultinomialGradient(
  dense: number[][],
  y: (string | number)[],
  classes: (string | number)[],
  W: ArrayLike<number>,
  b: ArrayLike<number>,
  C: number,
  sw: number[],
): number[] {
  const k = classes.length;
  const d = W.length / k;
  const g = new Array<number>(k * d + k).fill(0);
  dense.forEach((row, i) => {
    const z = classes.map((_, c) => {
      let s = b[c];
      for (let j = 0; j < d; j++) s += row[j] * W[c * d + j];
      return s;
    });
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, v) => a + v, 0);
    for (let c = 0; c < k; c++) {
      const r = C * sw[i] * (e[c] / sum - (y[i] === classes[c] ? 1 : 0));
      for (let j = 0; j < d; j++) g[c * d + j] += r * row[j];
      g[k * d + c] += r;
    }
  });
  for (let q = 0; q < k * d; q++) g[q] += W[q];
  return g;
}
