import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { CsrMatrix } from "../../src/features/csr.js";
import { TfidfTransformer, normalizeRange, normalizeRowsInPlace } from "../../src/features/tfidf.js";
import { CountVectorizer, TfidfVectorizer, type TfidfVectorizerOptions } from "../../src/features/vectorizer.js";
import { generateSyntheticCorpus } from "../../src/data/synthetic.js";
import { LIGHT_PREPROCESS_CONFIG } from "../../src/text/preprocess.js";

/**
 * TfidfVectorizer's fit weights each row while it renumbers the columns (fitWeights): the
 * matrix, idf and fitted state must equal counting first and weighting afterwards (what the
 * fit did before: CountVectorizer + TfidfTransformer, whose idf comes from the count matrix)
 * bit for bit, for every option that changes the weighting, with pruning, on 1 and 2 threads.
 */

function bits(a: Float64Array): string[] {
  return Array.from(a, (v) => (Object.is(v, -0) ? "-0" : v.toString(16)));
}

function assertSameMatrix(a: CsrMatrix, b: CsrMatrix): void {
  assert.equal(a.rows, b.rows);
  assert.equal(a.cols, b.cols);
  assert.deepEqual(Array.from(a.indptr), Array.from(b.indptr));
  const nnz = a.indptr[a.rows];
  assert.deepEqual(Array.from(a.indices.subarray(0, nnz)), Array.from(b.indices.subarray(0, nnz)));
  assert.deepEqual(bits(a.data.subarray(0, nnz)), bits(b.data.subarray(0, nnz)));
}

const CASES: TfidfVectorizerOptions[] = [
  {},
  { norm: "l1" },
  { norm: null },
  { sublinearTf: true },
  { useIdf: false },
  { smoothIdf: false, sublinearTf: true, norm: "l1" },
  { minDf: 2, maxDf: 0.5 },
  { minDf: 3, maxFeatures: 400, sublinearTf: true },
  { binary: true, ngramRange: [1, 3] },
];

describe("TfidfVectorizer: rows weighted during the fit's column remap", { timeout: 120_000 }, () => {
  const texts = generateSyntheticCorpus({ n: 3000, seed: 11 }).texts.slice();
  // An empty document (a zero row stays zero) and one with repeats (counts above 1).
  texts[17] = "";
  texts[42] = "good good good bad good film film";
  const unseen = generateSyntheticCorpus({ n: 300, seed: 12 }).texts;

  for (const options of CASES) {
    it(`equals counting then weighting: ${JSON.stringify(options)}`, async () => {
      const opts: TfidfVectorizerOptions = { ngramRange: [1, 2], preprocess: LIGHT_PREPROCESS_CONFIG, ...options };
      const { norm, useIdf, smoothIdf, sublinearTf, ...countOptions } = opts;
      const counts = new CountVectorizer(countOptions);
      const C = counts.fitTransform(texts);
      const transformer = new TfidfTransformer({ norm, useIdf, smoothIdf, sublinearTf });
      const expected = transformer.fitTransform(C);
      for (const threads of [1, 2]) {
        const v = new TfidfVectorizer(opts);
        const X = threads === 1 ? v.fitTransform(texts) : await v.fitTransformAsync(texts, { threads: 2 });
        assertSameMatrix(X, expected);
        assert.deepEqual(v.getFeatureNames(), counts.getFeatureNames());
        const idf = v.idf;
        if (transformer.idf === null) assert.equal(idf, null);
        else assert.deepEqual(bits(idf as Float64Array), bits(transformer.idf));
        // The fitted state transforms unseen text as before.
        assertSameMatrix(v.transform(unseen), transformer.transform(counts.transform(unseen)));
        // A second fit on the same vectorizer is weighted again (the flag is per fit).
        assertSameMatrix(v.fitTransform(texts), expected);
      }
    });
  }

  it("a fixed vocabulary still weighs after counting", () => {
    const vocabulary = ["good", "bad", "film", "good film", "not"];
    const v = new TfidfVectorizer({ vocabulary, preprocess: LIGHT_PREPROCESS_CONFIG, ngramRange: [1, 2] });
    const X = v.fitTransform(texts);
    const C = new CountVectorizer({ vocabulary, preprocess: LIGHT_PREPROCESS_CONFIG, ngramRange: [1, 2] }).fitTransform(texts);
    assertSameMatrix(X, new TfidfTransformer().fitTransform(C));
  });

  it("normalizeRange is normalizeRowsInPlace's per-row step", () => {
    const X = new TfidfTransformer({ norm: null }).fitTransform(new CountVectorizer({ preprocess: LIGHT_PREPROCESS_CONFIG }).fitTransform(texts));
    for (const l2 of [true, false]) {
      const a: CsrMatrix = { ...X, data: X.data.slice() };
      const b = X.data.slice();
      normalizeRowsInPlace(a, l2 ? "l2" : "l1");
      for (let i = 0; i < X.rows; i++) normalizeRange(b, X.indptr[i], X.indptr[i + 1], l2);
      assert.deepEqual(bits(a.data), bits(b));
    }
  });
});
