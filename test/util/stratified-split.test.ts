import { test } from "node:test";
import assert from "node:assert/strict";
import { stratifiedKFold, stratifiedTrainTestSplit } from "../../src/util/stratified-split.js";
import { DataError, InvalidParameterError } from "../../src/util/errors.js";
import { Random } from "../../src/util/random.js";

function labelsWith(counts: Record<string, number>, seed: number): string[] {
  const out: string[] = [];
  for (const [label, n] of Object.entries(counts)) for (let i = 0; i < n; i++) out.push(label);
  return new Random(seed).shuffle(out);
}

function assertPartition(train: Int32Array, test: Int32Array, n: number): void {
  const seen = new Array<number>(n).fill(0);
  for (const i of train) seen[i]++;
  for (const i of test) seen[i]++;
  assert.ok(
    seen.every((c) => c === 1),
    "train and test partition the samples",
  );
}

test("train/test split preserves class proportions, partitions the data and is seeded", () => {
  const y = labelsWith({ pos: 600, neg: 300, neu: 100 }, 1);
  const { train, test: testIdx } = stratifiedTrainTestSplit(y, { testSize: 0.2, seed: 7 });
  assert.equal(testIdx.length, 200);
  assert.equal(train.length, 800);
  assertPartition(train, testIdx, y.length);
  const count = (idx: Int32Array, l: string): number => Array.from(idx).filter((i) => y[i] === l).length;
  assert.deepEqual([count(testIdx, "pos"), count(testIdx, "neg"), count(testIdx, "neu")], [120, 60, 20]);
  const again = stratifiedTrainTestSplit(y, { testSize: 0.2, seed: 7 });
  assert.deepEqual(Array.from(again.test), Array.from(testIdx));
  const other = stratifiedTrainTestSplit(y, { testSize: 0.2, seed: 8 });
  assert.notDeepEqual(Array.from(other.test), Array.from(testIdx));
});

test("train/test split: every class on both sides, counts as testSize, clear errors when impossible", () => {
  const y = labelsWith({ big: 40, small: 2 }, 2);
  const s = stratifiedTrainTestSplit(y, { testSize: 0.1, seed: 1 });
  assert.equal(s.test.length, 5); // ceil(0.1 · 42)
  assert.ok(Array.from(s.test).some((i) => y[i] === "small"));
  assert.ok(Array.from(s.train).some((i) => y[i] === "small"));
  assert.equal(stratifiedTrainTestSplit(y, { testSize: 10, seed: 1 }).test.length, 10);
  assert.throws(
    () => stratifiedTrainTestSplit(labelsWith({ a: 5, b: 1 }, 1), { testSize: 0.5, seed: 1 }),
    (e: unknown) => e instanceof DataError && /class 'b' has only 1 sample/.test(e.message),
  );
  assert.throws(
    () => stratifiedTrainTestSplit(labelsWith({ a: 5, b: 5, c: 5 }, 1), { testSize: 2, seed: 1 }),
    /test set would have 2 samples, fewer than the 3 classes/,
  );
  assert.throws(() => stratifiedTrainTestSplit(y, { testSize: 1.5, seed: 1 }), InvalidParameterError);
  assert.throws(() => stratifiedTrainTestSplit(y, { testSize: 42, seed: 1 }), /leaves no training samples/);
});

test("k-fold: folds partition the data, sizes differ by at most 1, each class spread evenly", () => {
  const y = labelsWith({ a: 23, b: 11, c: 7 }, 3);
  for (const shuffle of [false, true]) {
    const folds = stratifiedKFold(y, { k: 5, shuffle, seed: 4 });
    assert.equal(folds.length, 5);
    const testCount = new Array<number>(y.length).fill(0);
    for (const f of folds) {
      assertPartition(f.train, f.test, y.length);
      for (const i of f.test) testCount[i]++;
    }
    assert.ok(
      testCount.every((c) => c === 1),
      "each sample is tested exactly once",
    );
    const sizes = folds.map((f) => f.test.length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes}`);
    for (const label of ["a", "b", "c"]) {
      const per = folds.map((f) => Array.from(f.test).filter((i) => y[i] === label).length);
      assert.ok(Math.max(...per) - Math.min(...per) <= 1, `${label}: ${per}`);
    }
  }
});

test("k-fold without shuffle matches sklearn's StratifiedKFold; with shuffle it is seeded", () => {
  // sklearn: [list(te) for _, te in StratifiedKFold(3).split(np.zeros(8), y)] with y below
  // → [[0, 1, 2], [3, 4, 6], [5, 7]]
  const y = ["a", "b", "a", "b", "a", "a", "b", "b"];
  assert.deepEqual(
    stratifiedKFold(y, { k: 3 }).map((f) => Array.from(f.test)),
    [
      [0, 1, 2],
      [3, 4, 6],
      [5, 7],
    ],
  );
  const big = labelsWith({ a: 30, b: 30 }, 5);
  const s1 = stratifiedKFold(big, { k: 4, shuffle: true, seed: 9 }).map((f) => Array.from(f.test));
  const s2 = stratifiedKFold(big, { k: 4, shuffle: true, seed: 9 }).map((f) => Array.from(f.test));
  const s3 = stratifiedKFold(big, { k: 4, shuffle: true, seed: 10 }).map((f) => Array.from(f.test));
  assert.deepEqual(s1, s2);
  assert.notDeepEqual(s1, s3);
});

test("k-fold rejects k larger than the smallest class, naming the counts", () => {
  assert.throws(
    () => stratifiedKFold(["a", "a", "a", "b", "b"], { k: 3 }),
    (e: unknown) =>
      e instanceof DataError && /k = 3 is greater than the number of samples in the smallest class \(2\); class counts: 'a': 3, 'b': 2/.test(e.message),
  );
  assert.throws(() => stratifiedKFold(["a", "b"], { k: 1 }), InvalidParameterError);
});
