import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Random, shuffledIndices } from "../../src/util/random.js";
import { InvalidParameterError } from "../../src/util/errors.js";

describe("Random (mulberry32)", () => {
  it("gives the same sequence for the same seed and a different one for another seed", () => {
    const seq = (seed: number) =>
      Array.from(
        { length: 8 },
        (
          (r) => () =>
            r.nextUint32()
        )(new Random(seed)),
      );
    assert.deepEqual(seq(42), seq(42));
    assert.notDeepEqual(seq(42), seq(43));
  });
  it("matches the reference mulberry32 output for seed 0", () => {
    // First outputs of the published mulberry32 with state 0.
    const r = new Random(0);
    assert.deepEqual([r.nextUint32(), r.nextUint32()], [1144304738, 1416247]);
  });
  it("nextFloat is in [0, 1) with mean ≈ 0.5; nextInt covers [0, n) uniformly", () => {
    const r = new Random(7);
    let sum = 0;
    const hits = new Array(5).fill(0);
    for (let i = 0; i < 50000; i++) {
      const f = r.nextFloat();
      assert.ok(f >= 0 && f < 1);
      sum += f;
      hits[r.nextInt(5)]++;
    }
    assert.ok(Math.abs(sum / 50000 - 0.5) < 0.01);
    for (const h of hits) assert.ok(Math.abs(h / 50000 - 0.2) < 0.01);
  });
  it("shuffle is a seeded permutation", () => {
    const a = shuffledIndices(100, 1);
    assert.deepEqual(
      Array.from(a).sort((x, y) => x - y),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.deepEqual(shuffledIndices(100, 1), a);
    assert.notDeepEqual(shuffledIndices(100, 2), a);
  });
  it("nextGaussian has mean ≈ 0 and variance ≈ 1", () => {
    const r = new Random(3);
    const xs = Array.from({ length: 40000 }, () => r.nextGaussian());
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    assert.ok(Math.abs(mean) < 0.02 && Math.abs(variance - 1) < 0.03, `${mean} ${variance}`);
  });
  it("rejects bad seeds and bounds", () => {
    assert.throws(() => new Random(Number.NaN), InvalidParameterError);
    assert.throws(() => new Random(1).nextInt(0), InvalidParameterError);
    assert.throws(() => new Random(1).nextInt(2.5), InvalidParameterError);
  });
});
