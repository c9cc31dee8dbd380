import { test } from "node:test";
import assert from "node:assert/strict";
import { csrFromDense } from "../../src/features/csr.js";
import { classifierFromJSON, createClassifier } from "../../src/models/serialization.js";
import { binMatrix } from "../../src/models/trees/binning.js";
import { GradientBoostingClassifier } from "../../src/models/trees/boosting.js";
import { RandomForestClassifier } from "../../src/models/trees/forest.js";
import { InvalidParameterError, DataError } from "../../src/util/errors.js";
import { randomProblem } from "./helpers.js";

test("binning: one bin per distinct value (zero included) and midpoint thresholds", () => {
  const X = csrFromDense([
    [0, 1],
    [2, 1],
    [4, 3],
    [2, 0],
  ]);
  const { rows, thresholds } = binMatrix(X, 32);
  // Feature 0: values 0, 2, 4 → thresholds 1, 3; feature 1: 0, 1, 3 → 0.5, 2.
  assert.deepEqual(Array.from(rows.nBins), [3, 3]);
  assert.deepEqual(Array.from(thresholds.subarray(0, 2)), [1, 3]);
  assert.deepEqual(Array.from(thresholds.subarray(3, 5)), [0.5, 2]);
  assert.deepEqual(Array.from(rows.zeroBin), [0, 0]);
  // Stored values in CSR order: (0:1) → bin 1 of f1; (0:2, 1:1) → bins 1, 1; (0:4, 1:3) → 2, 2; (0:2) → 1.
  assert.deepEqual(Array.from(rows.codes), [1, 1, 1, 2, 2, 1]);
  // More distinct values than bins: at most maxBins bins, thresholds increasing.
  const many = csrFromDense(Array.from({ length: 50 }, (_, i) => [i + 1]));
  const b = binMatrix(many, 8);
  assert.ok(b.rows.nBins[0] <= 8);
  for (let q = 1; q < b.rows.nBins[0] - 1; q++) assert.ok(b.thresholds[q] > b.thresholds[q - 1]);
});

test("a depth-1 tree finds the exact best split on tiny data (threshold = midpoint, as sklearn)", () => {
  // Only feature 1 separates the classes: x1 ≤ 2.5 → 'neg', else 'pos'. Feature 0 is noise.
  const X = csrFromDense([
    [1, 1],
    [0, 2],
    [1, 2],
    [0, 3],
    [1, 4],
    [0, 5],
  ]);
  const y = ["neg", "neg", "neg", "pos", "pos", "pos"];
  const rf = new RandomForestClassifier({ nEstimators: 1, bootstrap: false, maxFeatures: null, maxDepth: 1, nJobs: 1 }).fit(X, y);
  const tree = rf.trees[0];
  assert.equal(tree.feature[0], 1);
  assert.equal(tree.threshold[0], 2.5);
  assert.deepEqual(Array.from(tree.value.subarray(2, 6)), [1, 0, 0, 1]);
  assert.deepEqual(rf.predict(X), y);
  assert.deepEqual(Array.from(rf.featureImportances), [0, 1]);
  // Boosting: the first tree splits at the same place; one Newton step per leaf from the prior 0.
  const gb = new GradientBoostingClassifier({ nEstimators: 1, maxDepth: 1, learningRate: 1 }).fit(X, y);
  assert.equal(gb.trees[0].feature[0], 1);
  assert.equal(gb.trees[0].threshold[0], 2.5);
  // Left leaf: residuals −0.5 ×3, hessians 0.25 ×3 → −2; right leaf +2.
  assert.deepEqual(Array.from(gb.trees[0].value.subarray(1, 3)), [-2, 2]);
  assert.ok(Math.abs(gb.decisionFunction(csrFromDense([[0, 5]]))[0] - 2) < 1e-12);
});

test("fully grown trees fit separable training data; boosting drives the training loss down", () => {
  const { X, y } = randomProblem(11, 200, 40, 6);
  const rf = new RandomForestClassifier({ nEstimators: 30, seed: 1, nJobs: 1 }).fit(X, y);
  const acc = rf.predict(X).filter((p, i) => p === y[i]).length / y.length;
  assert.ok(acc > 0.95, `forest training accuracy ${acc}`);
  const gb = new GradientBoostingClassifier({ nEstimators: 60, seed: 1 }).fit(X, y);
  const accGb = gb.predict(X).filter((p, i) => p === y[i]).length / y.length;
  assert.ok(accGb > 0.9, `boosting training accuracy ${accGb}`);
  const P = gb.predictProba(X);
  for (let i = 0; i < X.rows; i++) assert.ok(Math.abs(P[2 * i] + P[2 * i + 1] - 1) < 1e-12);
});

test("same seed → same forest, on one thread or two; another seed → another forest", () => {
  const { X, y } = randomProblem(5, 300, 60, 8);
  const one = new RandomForestClassifier({ nEstimators: 12, seed: 3, nJobs: 1 }).fit(X, y);
  const two = new RandomForestClassifier({ nEstimators: 12, seed: 3, nJobs: 2 }).fit(X, y);
  assert.deepEqual(two.toJSON(), one.toJSON());
  const other = new RandomForestClassifier({ nEstimators: 12, seed: 4, nJobs: 1 }).fit(X, y);
  assert.notDeepEqual(other.toJSON().trees, one.toJSON().trees);
  const g1 = new GradientBoostingClassifier({ nEstimators: 10, subsample: 0.7, maxFeatures: "sqrt", seed: 9 }).fit(X, y);
  const g2 = new GradientBoostingClassifier({ nEstimators: 10, subsample: 0.7, maxFeatures: "sqrt", seed: 9 }).fit(X, y);
  assert.deepEqual(g2.toJSON(), g1.toJSON());
});

test("three classes: the forest and softmax boosting predict all of them, probabilities sum to 1", () => {
  const { X, y } = randomProblem(8, 240, 30, 6, ["a", "b", "c"]);
  for (const m of [new RandomForestClassifier({ nEstimators: 20, nJobs: 1 }), new GradientBoostingClassifier({ nEstimators: 30 })]) {
    m.fit(X, y);
    const P = m.predictProba(X);
    for (let i = 0; i < X.rows; i++) assert.ok(Math.abs(P[3 * i] + P[3 * i + 1] + P[3 * i + 2] - 1) < 1e-9);
    assert.deepEqual(new Set(m.predict(X)), new Set(["a", "b", "c"]));
  }
});

test("early stopping ends boosting before nEstimators on a problem it has learnt", () => {
  const { X, y } = randomProblem(12, 300, 20, 4);
  const gb = new GradientBoostingClassifier({ nEstimators: 500, nIterNoChange: 5, learningRate: 0.5, seed: 2 }).fit(X, y);
  assert.ok(gb.nRounds < 500, `rounds ${gb.nRounds}`);
  assert.equal(gb.trees.length, gb.nRounds);
});

test("serialisation round trip gives identical predictions; corrupt trees are refused", () => {
  const { X, y } = randomProblem(6, 150, 30, 5);
  for (const m of [createClassifier("rf", { nEstimators: 8, nJobs: 1 }).fit(X, y), createClassifier("gbdt", { nEstimators: 8 }).fit(X, y)]) {
    const json = JSON.parse(JSON.stringify(m.toJSON()));
    const back = classifierFromJSON(json);
    assert.equal(back.constructor, m.constructor);
    assert.deepEqual(Array.from(back.predictProba(X)), Array.from(m.predictProba(X)));
    assert.deepEqual(back.toJSON(), m.toJSON());
    const c = back.linearContributions([0, 3], [0.5, 1]);
    assert.equal(c.contributions.length, 2);
    const bad = JSON.parse(JSON.stringify(json));
    bad.trees[0].left[0] = 0; // a cycle
    assert.throws(() => classifierFromJSON(bad), DataError);
  }
  assert.throws(() => new RandomForestClassifier({ maxFeatures: 0 }), InvalidParameterError);
  assert.throws(() => new GradientBoostingClassifier({ subsample: 1.5 }), InvalidParameterError);
});

test("Saabas contributions add up to the model's output", () => {
  const { X, y } = randomProblem(13, 120, 15, 5);
  const gb = new GradientBoostingClassifier({ nEstimators: 20 }).fit(X, y);
  const rf = new RandomForestClassifier({ nEstimators: 10, nJobs: 1 }).fit(X, y);
  const row = 7;
  const idx = X.indices.subarray(X.indptr[row], X.indptr[row + 1]);
  const val = X.data.subarray(X.indptr[row], X.indptr[row + 1]);
  const one = { rows: 1, cols: X.cols, indptr: Int32Array.of(0, idx.length), indices: Int32Array.from(idx), data: Float64Array.from(val) };
  const g = gb.linearContributions(idx, val);
  assert.ok(Math.abs(g.intercept + g.contributions.reduce((s, v) => s + v, 0) - gb.decisionFunction(one)[0]) < 1e-9);
  const r = rf.linearContributions(idx, val);
  assert.ok(Math.abs(r.intercept + r.contributions.reduce((s, v) => s + v, 0) - rf.predictProba(one)[1]) < 1e-9);
});

test("the column-wise sampled tree (max_features < d): leaf values are the bootstrap-weighted class fractions of the rows reaching them, and sklearn's draw rule", async () => {
  const { growForestTree } = await import("../../src/models/trees/grow.js");
  const { X, y } = randomProblem(21, 150, 60, 5, ["a", "b", "c"]);
  const codes = Int32Array.from(y, (v) => ["a", "b", "c"].indexOf(v as string));
  const { rows, thresholds } = binMatrix(X, 4); // few bins: multi-bin features on the general path
  for (const maxFeatures of [1, 7]) {
    const tree = growForestTree(rows, codes, 3, true, { maxDepth: 1 << 30, minSamplesSplit: 2, minSamplesLeaf: 1, maxFeatures, seed: 5 });
    // Re-derive the bootstrap weights (growForestTree's draw) and route every row.
    const w = new Float64Array(X.rows);
    const state = Int32Array.of((5 ^ 0x5bd1e995) | 0);
    const { treeRandom } = await import("../../src/models/trees/grow.js");
    for (let t = 0; t < X.rows; t++) w[Math.floor(treeRandom(state) * X.rows)] += 1;
    const sums = new Map<number, Float64Array>();
    for (let i = 0; i < X.rows; i++) {
      if (w[i] === 0) continue;
      const x = new Float64Array(X.cols);
      for (let p = X.indptr[i]; p < X.indptr[i + 1]; p++) x[X.indices[p]] = X.data[p];
      let node = 0;
      while (tree.feature[node] >= 0) {
        const j = tree.feature[node];
        node = x[j] <= thresholds[rows.binOffset[j] + tree.bin[node]] ? tree.left[node] : tree.right[node];
      }
      const s = sums.get(node) ?? new Float64Array(3);
      s[codes[i]] += w[i];
      sums.set(node, s);
    }
    for (const [leaf, s] of sums) {
      const total = s[0] + s[1] + s[2];
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(tree.value[leaf * 3 + c] - s[c] / total) < 1e-12, `leaf ${leaf}`);
    }
    // Fully grown: every leaf reached is pure unless its rows are identical.
    let impure = 0;
    for (const s of sums.values()) if ([s[0], s[1], s[2]].filter((v) => v > 0).length > 1) impure++;
    assert.ok(impure <= 2, `${impure} impure leaves`);
  }
  // Deterministic for a seed.
  const a = growForestTree(rows, codes, 3, true, { maxDepth: 1 << 30, minSamplesSplit: 2, minSamplesLeaf: 1, maxFeatures: 7, seed: 9 });
  const b = growForestTree(rows, codes, 3, true, { maxDepth: 1 << 30, minSamplesSplit: 2, minSamplesLeaf: 1, maxFeatures: 7, seed: 9 });
  assert.deepEqual(Array.from(a.feature), Array.from(b.feature));
  assert.deepEqual(Array.from(a.bin), Array.from(b.bin));
});

test("boosting with the helper thread (nJobs 2: half of each node's features scanned by a worker) grows the same trees as one thread", () => {
  // Wide enough that the root and its children have ≥ 512 present features (the helper's threshold).
  const { X, y } = randomProblem(17, 500, 3000, 25);
  const one = new GradientBoostingClassifier({ nEstimators: 8, maxDepth: 3, seed: 4, nJobs: 1 }).fit(X, y);
  const two = new GradientBoostingClassifier({ nEstimators: 8, maxDepth: 3, seed: 4, nJobs: 2 }).fit(X, y);
  assert.deepEqual(JSON.stringify(two.toJSON()), JSON.stringify(one.toJSON()));
  assert.deepEqual(Array.from(two.decisionFunction(X)), Array.from(one.decisionFunction(X)));
  // Ties between the two halves go to the first half, as in the serial scan: duplicated columns tie exactly.
  const dense: number[][] = [];
  for (let i = 0; i < X.rows; i++) {
    const row = new Array<number>(1200).fill(0);
    for (let p = X.indptr[i]; p < X.indptr[i + 1]; p++) if (X.indices[p] < 600) row[X.indices[p]] = row[X.indices[p] + 600] = X.data[p];
    dense.push(row);
  }
  const D = csrFromDense(dense);
  const a = new GradientBoostingClassifier({ nEstimators: 3, seed: 1, nJobs: 1 }).fit(D, y);
  const b = new GradientBoostingClassifier({ nEstimators: 3, seed: 1, nJobs: 2 }).fit(D, y);
  assert.deepEqual(JSON.stringify(b.toJSON()), JSON.stringify(a.toJSON()));
  for (const t of a.trees) for (const f of t.feature) assert.ok(f < 600, "a tie is won by the earlier feature");
});

test("the forest worker's source is self-contained: its growForestTree, run in an empty context, grows the trees this thread grows", async () => {
  const vm = await import("node:vm");
  const { forestKernelSource } = await import("../../src/models/trees/forest-worker.js");
  const { growForestTree } = await import("../../src/models/trees/grow.js");
  const context = vm.createContext({ Int32Array, Float64Array, Uint8Array, Math, Atomics, performance });
  const isolated = vm.runInContext(`${forestKernelSource()}\ngrowForestTree`, context) as typeof growForestTree;
  const { X, y } = randomProblem(31, 120, 50, 5);
  const codes = Int32Array.from(y, (v) => (v === 1 ? 1 : 0));
  const { rows } = binMatrix(X, 8);
  // maxFeatures 0 = all (growTree, evalFeature); 7 = the column-wise draw (growTreeSampled).
  for (const maxFeatures of [0, 7]) {
    const params = { maxDepth: 1 << 30, minSamplesSplit: 2, minSamplesLeaf: 1, maxFeatures, seed: 3 };
    const here = growForestTree(rows, codes, 2, true, params);
    const there = isolated(rows, codes, 2, true, params);
    assert.deepEqual(Array.from(there.feature), Array.from(here.feature));
    assert.deepEqual(Array.from(there.value), Array.from(here.value));
  }
});
