import assert from "node:assert/strict";
import { test } from "node:test";
import { logisticRows } from "../../src/models/logistic-rows.js";
import { binaryLossGradientRows } from "../../src/models/parallel/binary-logistic-kernel.js";
import { Random } from "../../src/util/random.js";
import { randomProblem } from "./helpers.js";

test("the WebAssembly row pass gives binaryLossGradientRows' loss, gradient and intercept gradient bit for bit (rows at an offset, large margins of both signs, a smaller problem after a bigger one)", () => {
  for (const [seed, n, d, nnz] of [
    [31, 400, 60, 6],
    [32, 90, 300, 12],
    [33, 25, 8, 3],
  ] as const) {
    const { X: full, y } = randomProblem(seed, n + 1, d, nnz);
    // Drop the first row by moving indptr: the stored values then start at an offset.
    const X = { rows: n, cols: d, indptr: full.indptr.subarray(1), indices: full.indices, data: full.data };
    const ySign = Float64Array.from(y.slice(1), (v) => (v === 1 ? 1 : -1));
    const rng = new Random(seed);
    const sw = Float64Array.from({ length: n }, () => 0.5 + rng.nextFloat());
    const invS = 1 / sw.reduce((a, b) => a + b, 0);
    const rows = logisticRows(X, ySign, sw, invS);
    assert.ok(rows !== null, "WebAssembly is available on Node 20+");
    for (const scale of [0, 0.3, 40]) {
      // The iterate as L-BFGS passes it: d weights, then the intercept.
      const x = Float64Array.from({ length: d + 1 }, () => scale * rng.nextGaussian());
      const b = x[d];
      const jsGrad = new Float64Array(d);
      const jsOut = new Float64Array(1);
      const jsLoss = binaryLossGradientRows({ ...X, ySign, sw, invS }, x, b, jsGrad, 0, n, jsOut);
      const grad = new Float64Array(d).fill(7); // evaluate overwrites it
      const out = new Float64Array(1);
      const loss = rows.evaluate(x, b, grad, out);
      assert.equal(loss, jsLoss, `seed ${seed}, scale ${scale}: loss`);
      assert.deepEqual(Array.from(grad), Array.from(jsGrad), `seed ${seed}, scale ${scale}: gradient`);
      assert.equal(out[0], jsOut[0]);
    }
  }
});
