import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  accuracyAndF1,
  binCounts,
  binIndex,
  jensenShannon,
  psi,
  quantileEdges,
  termChiSquarePerTerm,
  toProportions,
  totalVariation,
} from "../../src/monitoring/stats.js";
import { buildReferenceProfile, parseReferenceProfile } from "../../src/monitoring/profile.js";
import { Random } from "../../src/util/random.js";
import { profiledModel } from "./fixtures.js";

const close = (a: number, b: number, tol = 1e-9): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe("drift statistics (known values)", () => {
  test("PSI: Σ (q − p) ln(q / p); 0 for identical distributions", () => {
    close(psi([0.5, 0.5], [0.25, 0.75]), 0.25 * Math.log(2) + 0.25 * Math.log(1.5));
    close(psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]), 0);
    // Empty bins are floored at 1e-4 instead of giving Infinity.
    assert.ok(Number.isFinite(psi([1, 0], [0, 1])));
  });

  test("Jensen–Shannon distance (base 2), as scipy.spatial.distance.jensenshannon(p, q, base=2)", () => {
    close(jensenShannon([1, 0], [0, 1]), 1);
    close(jensenShannon([0.5, 0.5], [1, 0]), 0.5579230452841438, 1e-12); // scipy 1.10
    close(jensenShannon([0.3, 0.7], [0.3, 0.7]), 0);
    close(jensenShannon([0.5, 0.5], [1, 0]), jensenShannon([1, 0], [0.5, 0.5]));
  });

  test("total variation and binning", () => {
    close(totalVariation([0.5, 0.5], [0.8, 0.2]), 0.3);
    assert.equal(binIndex([0.1, 0.5], 0.05), 0);
    assert.equal(binIndex([0.1, 0.5], 0.1), 1);
    assert.equal(binIndex([0.1, 0.5], 0.7), 2);
    assert.deepEqual([...toProportions(binCounts([0.05, 0.2, 0.3, 0.9], 4, [0.1, 0.5], new Float64Array(3)))], [0.25, 0.5, 0.25]);
    assert.deepEqual(quantileEdges([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5), [3, 5, 7, 9]);
    assert.deepEqual(quantileEdges([4, 4, 4, 4], 4), [], "ties collapse into one bin");
  });

  test("two-sample top-term chi-square is ≈ 1 per term on samples of the same population and large on a shifted one", () => {
    const rng = new Random(1);
    const df = [0.3, 0.1, 0.05, 0.5];
    const draw = (p: number[], n: number): Float64Array => {
      const counts = new Float64Array(p.length);
      for (let i = 0; i < n; i++) for (let j = 0; j < p.length; j++) if (rng.nextFloat() < p[j]) counts[j]++;
      return counts;
    };
    let sum = 0;
    for (let rep = 0; rep < 200; rep++) {
      const ref = draw(df, 400);
      sum += termChiSquarePerTerm(
        [...ref].map((c) => c / 400),
        draw(df, 1000),
        1000,
        400,
      );
    }
    const mean = sum / 200;
    assert.ok(mean > 0.7 && mean < 1.3, `mean ${mean}`);
    assert.ok(termChiSquarePerTerm(df, draw([0.05, 0.3, 0.2, 0.2], 1000), 1000, 400) > 10);
  });

  test("accuracy and F1 (binary for class 1, macro otherwise) as scikit-learn", () => {
    // sklearn: accuracy_score([0,1,1,0,1],[0,1,0,0,0]) = 0.6, f1_score(...) = 0.5
    const r = accuracyAndF1(Int32Array.from([0, 1, 0, 0, 0]), Int32Array.from([0, 1, 1, 0, 1]), 5, 2);
    close(r.accuracy, 0.6);
    close(r.f1, 0.5);
    // f1_score([0,1,2,2],[0,2,1,2], average="macro") = (1 + 0 + 0.5) / 3
    const m = accuracyAndF1(Int32Array.from([0, 2, 1, 2]), Int32Array.from([0, 1, 2, 2]), 4, 3);
    close(m.f1, 0.5);
    assert.ok(Number.isNaN(accuracyAndF1(new Int32Array(0), new Int32Array(0), 0, 2).accuracy));
  });
});

describe("reference profile", () => {
  test("describes the held-out texts: proportions sum to 1, accuracy and class mix from the labels, JSON round trip", () => {
    const { json, model, stream } = profiledModel("imdb");
    const p = parseReferenceProfile(JSON.parse(JSON.stringify(json.metadata.referenceProfile)));
    for (const d of [p.score.proportions, p.length.proportions, p.classMix])
      close(
        d.reduce((a, b) => a + b, 0),
        1,
        1e-9,
      );
    assert.equal(p.topTerms.terms.length, 50);
    assert.ok(p.topTerms.df.every((d, i) => d > 0 && d <= 1 && (i === 0 || d <= p.topTerms.df[i - 1])));
    assert.ok(p.oovRate > 0 && p.oovRate < 1);
    assert.ok(p.accuracy! > 0.7);
    const again = buildReferenceProfile(model, stream.texts, stream.labels);
    assert.equal(again.rows, stream.texts.length);
    assert.deepEqual(again, buildReferenceProfile(model, stream.texts, stream.labels), "deterministic");
    assert.throws(() => buildReferenceProfile(model, ["a"], ["maybe"]), /not one of the model's classes/);
    assert.throws(() => parseReferenceProfile({ format: "polarity.reference-profile", version: 1 }), /score/);
  });
});
