import { test } from "node:test";
import assert from "node:assert/strict";
import { LbfgsMemory, minimizeLbfgs } from "../../src/models/optim/lbfgs.js";
import { borrowLbfgsArena, createLbfgsArena, returnLbfgsArena } from "../../src/models/optim/lbfgs-simd.js";
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

test("L-BFGS with the iterates in the caller's memory (allocate) returns one of them, uncopied, at the solution it finds in its arena (to rounding: the arena sums in SIMD lanes)", () => {
  // A preconditioned, ill-conditioned quadratic: f(x) = ½Σ c_j (x_j − a_j)².
  const n = 101;
  const c = Float64Array.from({ length: n }, (_, j) => 1 + (j % 10) ** 3);
  const a = Float64Array.from({ length: n }, (_, j) => Math.sin(j));
  const fg = (x: Float64Array, g: Float64Array): number => {
    let f = 0;
    for (let j = 0; j < n; j++) {
      g[j] = c[j] * (x[j] - a[j]);
      f += 0.5 * c[j] * (x[j] - a[j]) ** 2;
    }
    return f;
  };
  const options = { maxIter: 200, gtol: 1e-6, preconditioner: (out: Float64Array) => out.fill(0.5) };
  const inArena = minimizeLbfgs(fg, new Float64Array(n), options);
  const allocated: Float64Array[] = [];
  const outside = minimizeLbfgs(fg, new Float64Array(n), {
    ...options,
    allocate: (length) => {
      const v = new Float64Array(length);
      allocated.push(v);
      return v;
    },
  });
  assert.equal(allocated.length, 2);
  assert.ok(allocated.includes(outside.x), "the solution is one of the caller's buffers");
  assert.equal(inArena.reason, "gtol");
  assert.equal(outside.reason, "gtol");
  for (let j = 0; j < n; j++)
    assert.ok(Math.abs(outside.x[j] - a[j]) < 1e-6 && Math.abs(outside.x[j] - inArena.x[j]) < 1e-6, `j ${j}: ${outside.x[j]} ${inArena.x[j]} ${a[j]}`);
});

test("L-BFGS in an arena the caller made beforehand (shared memory) gives exactly the result of its own arena; an arena made for another problem is refused", () => {
  const n = 77;
  const c = Float64Array.from({ length: n }, (_, j) => 1 + (j % 7) ** 3);
  const a = Float64Array.from({ length: n }, (_, j) => Math.cos(j));
  const fg = (x: Float64Array, g: Float64Array): number => {
    let f = 0;
    for (let j = 0; j < n; j++) {
      g[j] = c[j] * (x[j] - a[j]) + 0.1 * Math.sin(x[j]);
      f += 0.5 * c[j] * (x[j] - a[j]) ** 2 - 0.1 * Math.cos(x[j]);
    }
    return f;
  };
  const options = { maxIter: 200, gtol: 1e-8, m: 4, preconditioner: (out: Float64Array) => out.fill(0.25) };
  const own = minimizeLbfgs(fg, new Float64Array(n), options);
  const arena = createLbfgsArena(n, 4, true);
  assert.ok(arena !== null, "WebAssembly SIMD is available on Node 20+");
  assert.ok(arena.buffer instanceof SharedArrayBuffer, "the arena's memory is shared (another thread may fault it in)");
  const given = minimizeLbfgs(fg, new Float64Array(n), { ...options, arena });
  assert.equal(given.iterations, own.iterations);
  assert.equal(given.f, own.f);
  assert.deepEqual(Array.from(given.x), Array.from(own.x));
  assert.ok(own.iterations > 4, "the history ring wrapped");
  assert.throws(() => minimizeLbfgs(fg, new Float64Array(n), { ...options, m: 5, arena }), /arena was made for n = 77, m = 4/);
  assert.throws(() => minimizeLbfgs(fg, new Float64Array(n + 1), { ...options, arena }), /arena was made for/);
  assert.throws(() => minimizeLbfgs(fg, new Float64Array(n), { maxIter: 10, gtol: 1e-8, m: 4, arena }), /with a preconditioner/);
});

test("a borrowed L-BFGS arena reuses the memory given back before it (M zeroed, views for the new n): fits in a row give exactly the results of fresh arenas", () => {
  const problem = (n: number, shift: number) => {
    const c = Float64Array.from({ length: n }, (_, j) => 1 + ((j + shift) % 5) ** 3);
    const a = Float64Array.from({ length: n }, (_, j) => Math.sin(j + shift));
    return (x: Float64Array, g: Float64Array): number => {
      let f = 0;
      for (let j = 0; j < n; j++) {
        g[j] = c[j] * (x[j] - a[j]) + 0.1 * Math.sin(x[j]);
        f += 0.5 * c[j] * (x[j] - a[j]) ** 2 - 0.1 * Math.cos(x[j]);
      }
      return f;
    };
  };
  // The preconditioner accumulates into the slot it is given, as LogisticRegression's does: a stale M would change the result.
  const options = { maxIter: 200, gtol: 1e-9, m: 3, preconditioner: (out: Float64Array) => out.forEach((_, j) => (out[j] += 0.2 + (j % 3) * 0.05)) };
  const sizes = [301, 64, 301, 1000, 7];
  const fresh = sizes.map((n, k) => {
    const arena = createLbfgsArena(n, 3, true);
    assert.ok(arena !== null);
    return minimizeLbfgs(problem(n, k), new Float64Array(n), { ...options, arena });
  });
  const inRow = sizes.map((n, k) => minimizeLbfgs(problem(n, k), new Float64Array(n), options));
  inRow.forEach((r, k) => {
    assert.equal(r.iterations, fresh[k].iterations, `fit ${k}`);
    assert.equal(r.f, fresh[k].f, `fit ${k}`);
    assert.deepEqual(Array.from(r.x), Array.from(fresh[k].x), `fit ${k}`);
    assert.ok(r.iterations > 3, "the history ring wrapped");
  });
  const owlqn = sizes.map((n, k) => minimizeOwlqn(problem(n, k), new Float64Array(n), 0.05, n, options));
  const owlqnFresh = sizes.map((n, k) => minimizeOwlqn(problem(n, k), new Float64Array(n), 0.05, n, options));
  owlqn.forEach((r, k) => assert.deepEqual(Array.from(r.x), Array.from(owlqnFresh[k].x), `OWL-QN fit ${k}`));

  const big = borrowLbfgsArena(500, 3, true);
  assert.ok(big !== null);
  big.M?.fill(7);
  returnLbfgsArena(big);
  const small = borrowLbfgsArena(100, 3, true);
  assert.ok(small !== null);
  assert.equal(small.buffer, big.buffer, "the memory given back serves a smaller problem");
  assert.equal(small.n, 100);
  assert.deepEqual(Array.from(small.M ?? []), new Array(100).fill(0));
  const other = borrowLbfgsArena(100, 3, true);
  assert.notEqual(other?.buffer, small.buffer, "a memory is lent to one borrower at a time");
  returnLbfgsArena(small);
  if (other) returnLbfgsArena(other);
});

test("L-BFGS stops at maxIter and reports it as not converged", () => {
  const res = minimizeLbfgs(
    (x, g) => {
      g[0] = 4 * x[0] ** 3;
      return x[0] ** 4;
    },
    Float64Array.of(3),
    { maxIter: 3, gtol: 1e-30, ftol: 0 },
  );
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

test("LbfgsMemory: the WebAssembly SIMD push and two-loop give the plain-JS direction (odd and even n, with and without a preconditioner, a full ring)", () => {
  for (const n of [1, 2, 7, 1000, 1001]) {
    for (const withM of [false, true]) {
      const M = withM ? Float64Array.from({ length: n }, (_, i) => 0.5 + (i % 7) / 7) : null;
      const simd = new LbfgsMemory(n, 4, M);
      const plain = new LbfgsMemory(n, 4, M, false);
      assert.ok(simd.simd, `WebAssembly SIMD is available on Node 20+ (n ${n}, M ${withM})`);
      assert.ok(!plain.simd);
      let x = new Float64Array(n);
      let g = new Float64Array(n);
      for (let k = 0; k < 6; k++) {
        // Pairs with positive curvature: y = D·s for a positive diagonal D, plus a little noise.
        const x2 = x.map((v, i) => v + Math.sin(i * 0.37 + k));
        const g2 = g.map((v, i) => v + Math.sin(i * 0.37 + k) * (1 + (i % 5)) + 0.01 * Math.cos(i + k));
        // The SIMD memory gets its inputs in its own arena (so push runs in WebAssembly too).
        const w = simd.workVectors();
        w.xNew.set(x2);
        w.x.set(x);
        w.gNew.set(g2);
        w.g.set(g);
        assert.equal(simd.push(w.xNew, w.x, w.gNew, w.g), plain.push(x2, x, g2, g));
        x = x2;
        g = g2;
        const q = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 1.3 + k));
        const a = new Float64Array(n);
        const b = new Float64Array(n);
        simd.direction(q, a);
        assert.ok(Math.abs(simd.dot(w.gNew, w.xNew) - plain.dot(g, x)) <= 1e-12 * Math.max(1, Math.abs(plain.dot(g, x))));
        plain.direction(q, b);
        let scale = 0;
        for (const v of b) scale = Math.max(scale, Math.abs(v));
        for (let i = 0; i < n; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-12 * Math.max(1, scale), `n ${n}, M ${withM}, pair ${k}, i ${i}: ${a[i]} vs ${b[i]}`);
      }
    }
  }
});

test("LbfgsMemory: a preconditioner given as a function that writes it gives the direction of the same values given as an array (SIMD and plain JS)", () => {
  const n = 1001;
  const values = Float64Array.from({ length: n }, (_, i) => 0.5 + (i % 7) / 7);
  for (const simd of [true, false]) {
    let calls = 0;
    const asArray = new LbfgsMemory(n, 3, values, simd);
    const asFunction = new LbfgsMemory(
      n,
      3,
      (out) => {
        calls++;
        assert.equal(out.length, n);
        assert.ok(out.every((v) => v === 0));
        out.set(values);
      },
      simd,
    );
    assert.equal(calls, 1);
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
    const g = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * (1 + (i % 5)));
    const zeros = new Float64Array(n);
    assert.equal(asArray.push(x, zeros, g, zeros), asFunction.push(x, zeros, g, zeros));
    for (const pushed of [false, true]) {
      const memoryA = pushed ? asArray : new LbfgsMemory(n, 3, values, simd);
      const memoryB = pushed ? asFunction : new LbfgsMemory(n, 3, (out) => out.set(values), simd);
      const q = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 1.3));
      const a = new Float64Array(n);
      const b = new Float64Array(n);
      memoryA.direction(q, a);
      memoryB.direction(q, b);
      assert.deepEqual(b, a);
    }
  }
});
