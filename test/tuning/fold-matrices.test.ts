import assert from "node:assert/strict";
import { test } from "node:test";
import { loadUciSentences } from "../../src/data/builtin.js";
import type { CsrMatrix } from "../../src/features/csr.js";
import { createVectorizer } from "../../src/features/factory.js";
import { createPreprocessor } from "../../src/text/preprocess.js";
import { expandSpace } from "../../src/tuning/space.js";
import { countsFeaturesOf, FoldScorer } from "../../src/tuning/trials.js";

const { texts, labels } = loadUciSentences();
const sub = { texts: texts.slice(0, 900), labels: labels.slice(0, 900) };

function assertSameMatrix(actual: CsrMatrix, expected: CsrMatrix, what: string): void {
  assert.equal(actual.rows, expected.rows, `${what}: rows`);
  assert.equal(actual.cols, expected.cols, `${what}: cols`);
  const nnz = expected.indptr[expected.rows];
  assert.deepEqual(actual.indptr, expected.indptr, `${what}: indptr`);
  assert.deepEqual(actual.indices.subarray(0, nnz), expected.indices.subarray(0, nnz), `${what}: indices`);
  // Bit-identical values, not just close ones: a trial must score what `polarity cv` scores.
  assert.deepEqual(actual.data.subarray(0, nnz), expected.data.subarray(0, nnz), `${what}: data`);
}

test("FoldScorer's fold matrices (BoW cut from the corpus's counts, TF-IDF weighted from them) are bit-identical to the vectorizers' fit and transform on the fold", () => {
  const configs = expandSpace({
    preprocess: ["light", "default", { base: "light", negation_scope: true }],
    features: [
      { kind: "tfidf", ngram_range: [1, 2], sublinear_tf: true },
      { kind: "tfidf", ngram_range: [1, 1], norm: "l1", smooth_idf: false },
      { kind: "tfidf", ngram_range: [1, 2], use_idf: false, binary: true },
      { kind: "tfidf", ngram_range: [1, 3], min_df: 2, max_features: 500 },
      { kind: "bow", ngram_range: [1, 2] },
      { kind: "bow", ngram_range: [1, 3], binary: true },
      { kind: "bow", ngram_range: [1, 1], min_df: 2 },
    ],
    model: [{ kind: "nb" }],
  });
  const folds = 3;
  const scorer = new FoldScorer(sub.texts, sub.labels, folds, 11, 32);
  for (const c of configs) {
    const tokenize = createPreprocessor(c.preprocess);
    const tokens = sub.texts.map((t) => tokenize(t));
    for (let f = 0; f < folds; f++) {
      const { train, test } = scorer.splits[f];
      const v = createVectorizer(c.features, c.preprocess);
      const expected = { train: v.fitTransform(Array.from(train, (i) => tokens[i])), test: v.transform(Array.from(test, (i) => tokens[i])) };
      const got = scorer.foldMatrices(c, f);
      const what = `${c.preprocessName} ${JSON.stringify(c.features)} fold ${f}`;
      assertSameMatrix(got.train, expected.train, `${what} train`);
      assertSameMatrix(got.test, expected.test, `${what} test`);
    }
  }
});

test("countsFeaturesOf: the BoW twin of a TF-IDF config keeps its count options; BoW and lexicon configs have none", () => {
  assert.deepEqual(
    countsFeaturesOf({ kind: "tfidf", ngramRange: [1, 2], sublinearTf: true, norm: "l1", useIdf: true, smoothIdf: false, binary: true, minDf: 2 }),
    {
      kind: "bow",
      ngramRange: [1, 2],
      binary: true,
      minDf: 2,
    },
  );
  assert.equal(countsFeaturesOf({ kind: "bow", ngramRange: [1, 2] }), null);
  assert.equal(countsFeaturesOf({ kind: "tfidf", lexicon: "vader" }), null);
});

test("a FoldScorer that adopts another's whole-corpus counts counts nothing itself and gives the same fold matrices and scores", () => {
  const configs = expandSpace({
    preprocess: ["light", "default"],
    features: [
      { kind: "tfidf", ngram_range: [1, 2], sublinear_tf: true },
      { kind: "bow", ngram_range: [1, 2] },
    ],
    model: [
      { kind: "logreg", C: [1, 10] },
      { kind: "nbsvm", C: 1 },
    ],
  });
  const counter = new FoldScorer(sub.texts, sub.labels, 3, 5);
  const shared: [string, CsrMatrix][] = [];
  counter.onCorpusCounts = (group, counts) => shared.push([group, counts]);
  for (const c of configs) counter.foldMatrices(c, 0);
  assert.equal(shared.length, 2, "one corpus per preprocessing (TF-IDF weighs the BoW counts)");
  const adopter = new FoldScorer(sub.texts, sub.labels, 3, 5);
  for (const [group, counts] of shared) adopter.adoptCorpusCounts(group, counts);
  // Scored in the same order as the adopter, so the warm-start chains are the same.
  const reference = new FoldScorer(sub.texts, sub.labels, 3, 5);
  for (const c of configs)
    for (let f = 0; f < 3; f++) {
      const ours = adopter.foldMatrices(c, f);
      const theirs = reference.foldMatrices(c, f);
      assertSameMatrix(ours.train, theirs.train, `train fold ${f}`);
      assertSameMatrix(ours.test, theirs.test, `test fold ${f}`);
      const { fitSeconds: _a, ...mine } = adopter.scoreFold(c, f);
      const { fitSeconds: _b, ...expected } = reference.scoreFold(c, f);
      assert.deepEqual(mine, expected);
    }
  assert.equal(adopter.corporaCounted, 0);
  assert.equal(reference.corporaCounted, 2);
});
