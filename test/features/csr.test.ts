import { test } from "node:test";
import assert from "node:assert/strict";
import {
  csrFromDense,
  csrToDense,
  csrMatVec,
  csrTransposeMatVec,
  csrMatMulDense,
  csrTransposeMatMulDense,
  csrSelectRows,
  assertValidCsr,
} from "../../src/features/csr.js";

const dense = [
  [1, 0, 2],
  [0, 0, 0],
  [0, 3, 4],
];

test("csrFromDense round-trips through csrToDense and drops zeros", () => {
  const X = csrFromDense(dense);
  assert.deepEqual(Array.from(X.indptr), [0, 2, 2, 4]);
  assert.deepEqual(Array.from(X.indices), [0, 2, 1, 2]);
  assert.deepEqual(csrToDense(X), dense);
  assertValidCsr(X);
});

test("csrMatVec and csrTransposeMatVec match dense products", () => {
  const X = csrFromDense(dense);
  assert.deepEqual(Array.from(csrMatVec(X, Float64Array.from([1, 2, 3]), new Float64Array(3), 0.5)), [7.5, 0.5, 18.5]);
  assert.deepEqual(Array.from(csrTransposeMatVec(X, Float64Array.from([1, 2, 3]), new Float64Array(3))), [1, 9, 14]);
});

test("csrMatMulDense and its transpose match dense products for k columns", () => {
  const X = csrFromDense(dense);
  const W = Float64Array.from([1, 0, 0, 1, 2, 3]); // 3x2
  assert.deepEqual(Array.from(csrMatMulDense(X, W, 2, new Float64Array(6))), [5, 6, 0, 0, 8, 15]);
  const G = Float64Array.from([1, 1, 0, 0, 1, 0]); // 3x2
  assert.deepEqual(Array.from(csrTransposeMatMulDense(X, G, 2, new Float64Array(6))), [1, 1, 3, 0, 6, 2]);
});

test("csrSelectRows keeps the requested order and rejects out-of-range rows", () => {
  const X = csrFromDense(dense);
  assert.deepEqual(csrToDense(csrSelectRows(X, [2, 0])), [dense[2], dense[0]]);
  assert.throws(() => csrSelectRows(X, [3]), /row 3 out of range/);
});

test("assertValidCsr rejects unsorted column indices", () => {
  const X = { rows: 1, cols: 3, indptr: Int32Array.from([0, 2]), indices: Int32Array.from([2, 1]), data: Float64Array.from([1, 1]) };
  assert.throws(() => assertValidCsr(X), /out of order/);
});
