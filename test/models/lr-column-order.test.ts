import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { CsrMatrix } from "../../src/features/csr.js";
import { LogisticRegression, REORDER_MIN_COLUMNS } from "../../src/models/logistic-regression.js";
import { maxAbsDiff } from "./helpers.js";

// A text-like problem wide enough for the fit's column renumbering: Zipf-ish columns spread
// over the whole index range (as sorted-term columns are), labels from a hidden weight vector.
function wideProblem(seed: number, n: number, d: number, classes: number): { X: CsrMatrix; y: number[] } {
  let s = seed >>> 0;
  const rand = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const scatter = (r: number): number => Math.imul(r, 2654435761) >>> 0;
  const hidden = Array.from({ length: classes }, () => Float64Array.from({ length: d }, () => rand() - 0.5));
  const indptr = new Int32Array(n + 1);
  const indices: number[] = [];
  const data: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const cols = new Set<number>();
    const len = 5 + Math.floor(rand() * 20);
    while (cols.size < len) cols.add(scatter(Math.floor(d * rand() ** 3)) % d);
    const sorted = [...cols].sort((a, b) => a - b);
    const scores = hidden.map(() => 0);
    for (const j of sorted) {
      const v = 0.2 + rand();
      indices.push(j);
      data.push(v);
      hidden.forEach((h, c) => (scores[c] += v * h[j]));
    }
    y.push(classes === 2 ? (scores[0] > 0 ? 1 : 0) : scores.indexOf(Math.max(...scores)));
    indptr[i + 1] = indices.length;
  }
  return { X: { rows: n, cols: d, indptr, indices: Int32Array.from(indices), data: Float64Array.from(data) }, y };
}

/** X with column j renamed to d-1-j (rows re-sorted). */
function reversedColumns(X: CsrMatrix): CsrMatrix {
  const indices = new Int32Array(X.indices.length);
  const data = new Float64Array(X.data.length);
  for (let i = 0; i < X.rows; i++) {
    const a = X.indptr[i];
    const b = X.indptr[i + 1];
    for (let p = a; p < b; p++) {
      indices[a + b - 1 - p] = X.cols - 1 - X.indices[p];
      data[a + b - 1 - p] = X.data[p];
    }
  }
  return { rows: X.rows, cols: X.cols, indptr: X.indptr.slice(), indices, data };
}

describe("LogisticRegression on wide matrices (columns renumbered by frequency during the fit)", { timeout: 120_000 }, () => {
  const d = REORDER_MIN_COLUMNS + 5_000;

  it("binary: X is left as it was, and the gradient of C·Σ loss + ½‖w‖² is ~0 in X's own column order", () => {
    const { X, y } = wideProblem(11, 3_000, d, 2);
    const before = X.indices.slice();
    const m = new LogisticRegression({ C: 1, tol: 1e-9, maxIter: 1000, threads: 1 }).fit(X, y);
    assert.deepEqual(X.indices, before);
    const w = m.coef;
    const b = m.intercept[0];
    // Gradient computed here directly, column by column of X as given.
    const g = Float64Array.from(w);
    let gb = 0;
    for (let i = 0; i < X.rows; i++) {
      let z = b;
      for (let p = X.indptr[i]; p < X.indptr[i + 1]; p++) z += X.data[p] * w[X.indices[p]];
      const r = 1 / (1 + Math.exp(-z)) - y[i];
      gb += r;
      for (let p = X.indptr[i]; p < X.indptr[i + 1]; p++) g[X.indices[p]] += r * X.data[p];
    }
    let gmax = Math.abs(gb);
    let wmax = 0;
    for (let j = 0; j < d; j++) {
      gmax = Math.max(gmax, Math.abs(g[j]));
      wmax = Math.max(wmax, Math.abs(w[j]));
    }
    assert.ok(gmax < 1e-4, `max |gradient| ${gmax}`);
    assert.ok(wmax > 0.1, "a non-trivial solution");
  });

  it("the solution does not depend on how the columns are numbered (binary, multinomial; one and two threads)", () => {
    for (const classes of [2, 3]) {
      const { X, y } = wideProblem(5 + classes, 2_500, d, classes);
      const R = reversedColumns(X);
      for (const threads of [1, 2]) {
        const a = new LogisticRegression({ C: 1, tol: 1e-9, maxIter: 1000, threads }).fit(X, y);
        const r = new LogisticRegression({ C: 1, tol: 1e-9, maxIter: 1000, threads }).fit(R, y);
        const rows = a.coef.length / d;
        const back = new Float64Array(a.coef.length);
        for (let row = 0; row < rows; row++) for (let j = 0; j < d; j++) back[row * d + j] = r.coef[row * d + (d - 1 - j)];
        assert.ok(maxAbsDiff(a.coef, back) < 1e-5, `classes ${classes}, threads ${threads}: coefficients differ by ${maxAbsDiff(a.coef, back)}`);
        assert.ok(maxAbsDiff(a.intercept, r.intercept) < 1e-5);
      }
    }
  });
});
