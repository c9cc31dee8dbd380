import { test } from "node:test";
import assert from "node:assert/strict";
import { minimizeLbfgs } from "../../src/models/optim/lbfgs.js";
import { minimizeOwlqn } from "../../src/models/optim/owlqn.js";

test("L-BFGS finds the Rosenbrock minimum (1, 1) with a strong-Wolfe line search", () => {
  const res = minimizeLbfgs(
    (x, g) => {
      const a = 1 - x[0];
      const b = x[1] - x[0] * x[0];
      g[0] = -2 * a - 400 * x[0] * b;
      g[1] = 200 * b;
      return a * a + 100 * b * b;
    },
    Float64Array.of(-1.2, 1),
    { maxIter: 200, gtol: 1e-10, ftol: 0 },
  );
  assert.equal(res.reason, "gtol");
  assert.ok(Math.abs(res.x[0] - 1) < 1e-8 && Math.abs(res.x[1] - 1) < 1e-8, `x = ${Array.from(res.x)}`);
});

test("L-BFGS stops at maxIter and reports it as not converged", () => {
  const res = minimizeLbfgs((x, g) => {
    g[0] = 4 * x[0] ** 3;
    return x[0] ** 4;
  }, Float64Array.of(3), { maxIter: 3, gtol: 1e-30, ftol: 0 });
  assert.equal(res.iterations, 3);
  assert.equal(res.converged, false);
  assert.equal(res.reason, "maxIter");
});

test("OWL-QN solves a separable lasso exactly: soft-thresholding", () => {
  // f(x) = ½Σ(x_j − a_j)², λ = 1 → x_j = sign(a_j)·max(|a_j| − 1, 0); the last coordinate is unpenalised.
  const a = [3, -0.5, 0.2, -2.5, 0.7];
  const res = minimizeOwlqn(
    (x, g) => {
      let f = 0;
      for (let j = 0; j < a.length; j++) {
        g[j] = x[j] - a[j];
        f += 0.5 * g[j] * g[j];
      }
      return f;
    },
    new Float64Array(5),
    1,
    4,
    { maxIter: 100, gtol: 1e-12 },
  );
  const expected = [2, 0, 0, -1.5, 0.7];
  for (let j = 0; j < 5; j++) assert.ok(Math.abs(res.x[j] - expected[j]) < 1e-9, `x = ${Array.from(res.x)}`);
  assert.equal(res.x[1], 0);
  assert.equal(res.x[2], 0);
});
