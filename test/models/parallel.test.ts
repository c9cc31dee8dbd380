import assert from "node:assert/strict";
import { test } from "node:test";
import { LogisticRegression } from "../../src/models/logistic-regression.js";
import { binaryLossGradientRows } from "../../src/models/parallel/binary-logistic-kernel.js";
import { ColumnBinaryObjective } from "../../src/models/parallel/split-objective.js";
import { createColumnArena } from "../../src/models/parallel/binary-logistic-kernel.js";
import type { CsrMatrix } from "../../src/features/csr.js";
import { InvalidParameterError } from "../../src/util/errors.js";
import { Random } from "../../src/util/random.js";
import { randomProblem } from "./helpers.js";

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** X with its values rounded to single precision: what the column objective computes with. */
function roundedValues(X: CsrMatrix): CsrMatrix {
  return { ...X, data: Float64Array.from(X.data, Math.fround) };
}

for (const [threads, wasm] of [
  [1, true],
  [2, true],
  [1, false],
  [2, false],
] as const) {
  test(`the by-column loss and gradient (${threads} thread${threads > 1 ? "s" : ""}, ${wasm ? "WebAssembly" : "plain-JS"} kernels) equal the row-wise kernel's on X's float32 values to 1e-12`, () => {
    const { X, y } = randomProblem(11, 400, 60, 6);
    const ySign = Float64Array.from(y, (v) => (v === 1 ? 1 : -1));
    const rng = new Random(5);
    const sw = Float64Array.from({ length: X.rows }, () => 0.5 + rng.nextFloat());
    let S = 0;
    for (const s of sw) S += s;
    const data = { ...roundedValues(X), ySign, sw, invS: 1 / S };
    const arena = createColumnArena(X, wasm);
    assert.equal(arena.module !== null, wasm, "WebAssembly is available on Node 20+");
    const objective = new ColumnBinaryObjective(arena, threads);
    try {
      for (let trial = 0; trial < 3; trial++) {
        const x = Float64Array.from({ length: X.cols + 1 }, () => rng.nextGaussian());
        if (trial === 2) for (let j = 0; j < X.cols; j += 3) x[j] = 0; // zero weights are skipped in the scores pass
        const b = x[X.cols];
        const serialGrad = new Float64Array(X.cols);
        const serialOut = new Float64Array(1);
        const serialLoss = binaryLossGradientRows(data, x, b, serialGrad, 0, X.rows, serialOut);
        const grad = new Float64Array(X.cols).fill(123); // evaluate must overwrite it
        const out = new Float64Array(1);
        objective.setRows(ySign, sw);
        const loss = objective.evaluate(x, b, 1 / S, grad, out);
        assert.equal(objective.parallel, threads > 1, "the worker thread started and answered");
        assert.ok(Math.abs(loss - serialLoss) <= 1e-12 * Math.abs(serialLoss), `loss ${loss} vs ${serialLoss}`);
        assert.ok(maxAbsDiff(grad, serialGrad) <= 1e-12, `gradient differs by ${maxAbsDiff(grad, serialGrad)}`);
        assert.ok(Math.abs(out[0] - serialOut[0]) <= 1e-12);
      }
    } finally {
      objective.close();
    }
    assert.equal(objective.parallel, false);
  });
}

test("createColumnArena holds X by columns: every entry once, rows ascending within a column, values rounded to float32", () => {
  const { X } = randomProblem(15, 200, 50, 7);
  const csc = createColumnArena(X).X;
  assert.equal(csc.colPtr[X.cols], X.indptr[X.rows]);
  const seen = new Map<string, number>();
  for (let j = 0; j < X.cols; j++) {
    for (let q = csc.colPtr[j]; q < csc.colPtr[j + 1]; q++) {
      if (q > csc.colPtr[j]) assert.ok(csc.rowIdx[q] > csc.rowIdx[q - 1]);
      seen.set(`${csc.rowIdx[q]},${j}`, csc.vals[q]);
    }
  }
  assert.equal(seen.size, X.indptr[X.rows]);
  for (let i = 0; i < X.rows; i++) for (let p = X.indptr[i]; p < X.indptr[i + 1]; p++) assert.equal(seen.get(`${i},${X.indices[p]}`), Math.fround(X.data[p]));
  assert.ok(csc.rowIdx.buffer instanceof SharedArrayBuffer);
});

test("a two-thread evaluation is deterministic: repeated calls give bit-identical results", () => {
  const { X, y } = randomProblem(12, 300, 40, 5);
  const ySign = Float64Array.from(y, (v) => (v === 1 ? 1 : -1));
  const sw = new Float64Array(X.rows).fill(1);
  const objective = new ColumnBinaryObjective(createColumnArena(X), 2);
  try {
    const x = Float64Array.from({ length: X.cols }, (_, j) => Math.sin(j));
    const g1 = new Float64Array(X.cols);
    const g2 = new Float64Array(X.cols);
    const out = new Float64Array(1);
    objective.setRows(ySign, sw);
    const l1 = objective.evaluate(x, 0.3, 1 / X.rows, g1, out);
    objective.setRows(ySign, sw);
    const l2 = objective.evaluate(x, 0.3, 1 / X.rows, g2, out);
    assert.equal(l1, l2);
    assert.deepEqual(g1, g2);
  } finally {
    objective.close();
  }
});

test("LogisticRegression with threads: 2 finds the single-thread solution (L2 and L1, weighted)", () => {
  const { X, y } = randomProblem(13, 500, 80, 8);
  for (const options of [{ C: 1 }, { C: 0.5, penalty: "l1" as const }, { C: 2, classWeight: "balanced" as const }]) {
    // Two threads evaluate by columns on X's float32 values: the same problem as one thread on those values.
    const one = new LogisticRegression({ ...options, threads: 1 }).fit(roundedValues(X), y);
    const two = new LogisticRegression({ ...options, threads: 2 }).fit(X, y);
    assert.ok(maxAbsDiff(one.coef, two.coef) <= 1e-6, `${JSON.stringify(options)}: coef differs by ${maxAbsDiff(one.coef, two.coef)}`);
    const f1 = one.fitReport?.objective ?? NaN;
    const f2 = two.fitReport?.objective ?? NaN;
    assert.ok(Math.abs(f1 - f2) <= 1e-9 * Math.abs(f1), `${JSON.stringify(options)}: objective ${f1} vs ${f2}`);
    assert.deepEqual(two.predict(X), one.predict(X));
    // And on X's own values the objective moves by the rounding of X only (6e-8 relative).
    const exact = new LogisticRegression({ ...options, threads: 1 }).fit(X, y);
    const f0 = exact.fitReport?.objective ?? NaN;
    assert.ok(Math.abs(f0 - f2) <= 1e-7 * Math.abs(f0), `${JSON.stringify(options)}: objective ${f0} vs ${f2}`);
  }
});

test("OvR fits (one binary problem per class) run on two threads too", () => {
  const { X, y } = randomProblem(14, 300, 30, 5, ["a", "b", "c"]);
  const one = new LogisticRegression({ multiClass: "ovr", threads: 1 }).fit(X, y);
  const two = new LogisticRegression({ multiClass: "ovr", threads: 2 }).fit(X, y);
  assert.ok(maxAbsDiff(one.coef, two.coef) <= 1e-6);
});

test("threads must be 1, 2 or 'auto'", () => {
  assert.throws(
    () => new LogisticRegression({ threads: 3 }),
    (e: unknown) => e instanceof InvalidParameterError && /threads/.test(e.message),
  );
  assert.throws(
    () => new LogisticRegression({ threads: 0 }),
    (e: unknown) => e instanceof InvalidParameterError,
  );
  assert.doesNotThrow(() => new LogisticRegression({ threads: "auto" }));
});

test("two threads build X by columns (half the rows each, X in shared memory) exactly as one thread does", () => {
  const { X, y } = randomProblem(16, 500, 70, 9);
  const share = <T extends Int32Array | Float64Array>(a: T): T => {
    const out = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
    out.set(a);
    return out;
  };
  const Xs = { rows: X.rows, cols: X.cols, indptr: share(X.indptr), indices: share(X.indices), data: share(X.data) };
  const serial = createColumnArena(X).X;
  for (const wasm of [true, false]) {
    const arena = createColumnArena(Xs, wasm, false);
    const objective = new ColumnBinaryObjective(arena, 2, Xs, false, 0);
    try {
      assert.ok(objective.parallel, "the worker took part");
      assert.deepEqual(arena.X.colPtr, serial.colPtr);
      assert.deepEqual(arena.X.rowIdx, serial.rowIdx);
      assert.deepEqual(arena.X.vals, serial.vals);
      // And it evaluates like the serially built arena.
      const ySign = Float64Array.from(y, (v) => (v === 1 ? 1 : -1));
      const sw = new Float64Array(X.rows).fill(1);
      const x = Float64Array.from({ length: X.cols }, (_, j) => Math.cos(j));
      const g1 = new Float64Array(X.cols);
      const g2 = new Float64Array(X.cols);
      const out = new Float64Array(1);
      const one = new ColumnBinaryObjective(createColumnArena(X, wasm), 1);
      one.setRows(ySign, sw);
      const l1 = one.evaluate(x, 0.1, 1 / X.rows, g1, out);
      objective.setRows(ySign, sw);
      const l2 = objective.evaluate(x, 0.1, 1 / X.rows, g2, out);
      assert.ok(Math.abs(l1 - l2) <= 1e-12 * Math.abs(l1));
      assert.ok(maxAbsDiff(g1, g2) <= 1e-12);
    } finally {
      objective.close();
    }
  }
});

test("the worker faults in the caller's prefault regions once openPrefault is called, without changing their contents, and the evaluations are those of an objective without them", async () => {
  const { X, y } = randomProblem(17, 300, 50, 7);
  const ySign = Float64Array.from(y, (v) => (v === 1 ? 1 : -1));
  const sw = new Float64Array(X.rows).fill(1);
  const x = Float64Array.from({ length: X.cols }, (_, j) => Math.sin(j));
  // A region holding values the main thread wrote, then a fresh one that nothing has written
  // (not resident until faulted in: the process's RSS grows by its size when the worker touches it).
  const written = new Float64Array(new SharedArrayBuffer(1 << 20));
  for (let i = 0; i < written.length; i++) written[i] = i * 0.5 - 7;
  const freshBytes = 96 << 20;
  const fresh = new SharedArrayBuffer(freshBytes);
  const rssBefore = process.memoryUsage().rss;
  const arena = createColumnArena(X, true, false);
  const objective = new ColumnBinaryObjective(arena, 2, X, false, undefined, [
    { buffer: written.buffer as SharedArrayBuffer, start: 8, end: written.byteLength },
    { buffer: fresh, start: 0, end: freshBytes },
  ]);
  // Two threads as well: the same split, so the same sums in the same order.
  const plain = new ColumnBinaryObjective(createColumnArena(X), 2);
  try {
    objective.setRows(ySign, sw);
    plain.setRows(ySign, sw);
    const g1 = new Float64Array(X.cols);
    const g2 = new Float64Array(X.cols);
    const out = new Float64Array(1);
    const before = objective.evaluate(x, 0.2, 1 / X.rows, g1, out);
    assert.equal(before, plain.evaluate(x, 0.2, 1 / X.rows, g2, out));
    assert.deepEqual(g1, g2);
    objective.openPrefault();
    // Wait (up to a generous deadline) until most of the fresh region is resident.
    const deadline = Date.now() + 60_000;
    while (process.memoryUsage().rss - rssBefore < freshBytes * 0.75 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(
      process.memoryUsage().rss - rssBefore >= freshBytes * 0.75,
      `RSS grew by ${(process.memoryUsage().rss - rssBefore) >> 20} MB, expected ~${freshBytes >> 20} MB`,
    );
    for (let i = 0; i < written.length; i++) assert.equal(written[i], i * 0.5 - 7);
    assert.equal(
      new Int32Array(fresh).some((v) => v !== 0),
      false,
    );
    assert.ok(objective.parallel);
    assert.equal(objective.evaluate(x, 0.2, 1 / X.rows, g1, out), before);
    assert.deepEqual(g1, g2);
  } finally {
    objective.close();
    plain.close();
  }
});
