import { test } from "node:test";
import assert from "node:assert/strict";
import { csrFromDense } from "../../src/features/csr.js";
import { LinearSVC } from "../../src/models/linear-svc.js";
import { LogisticRegression } from "../../src/models/logistic-regression.js";
import { MultinomialNB } from "../../src/models/naive-bayes.js";
import { classifierFromJSON, createClassifier, linearContributions } from "../../src/models/serialization.js";
import { DataError, InvalidParameterError } from "../../src/util/errors.js";
import { randomProblem } from "./helpers.js";

const binary = randomProblem(21, 60, 8, 3, ["neg", "pos"]);
const multi = randomProblem(22, 90, 8, 3, [0, 1, "x"]);

test("every kind round-trips through JSON text with identical predictions and probabilities", () => {
  const cases = [
    [new LogisticRegression({ C: 2 }), binary],
    [new LogisticRegression({ penalty: "l1", classWeight: "balanced" }), multi],
    [new LogisticRegression({ multiClass: "ovr" }), multi],
    [new MultinomialNB({ alpha: 0.3 }), multi],
    [new MultinomialNB(), binary],
    [new LinearSVC({ classWeight: { neg: 2 } }), binary],
    [new LinearSVC(), multi],
  ] as const;
  for (const [model, data] of cases) {
    model.fit(data.X, data.y);
    const json = JSON.parse(JSON.stringify(model.toJSON()));
    assert.equal(json.format, "polarity.model");
    assert.equal(json.version, 1);
    const back = classifierFromJSON(json);
    assert.equal(back.constructor, model.constructor);
    assert.deepEqual(back.classes, model.classes);
    assert.deepEqual(back.predict(data.X), model.predict(data.X));
    assert.deepEqual(Array.from(back.predictProba(data.X)), Array.from(model.predictProba(data.X)));
    assert.deepEqual(back.toJSON(), model.toJSON());
  }
});

test("the JSON layout: kind, options without callbacks, row-major coef", () => {
  const m = new LogisticRegression({ C: 3, onProgress: () => {} }).fit(binary.X, binary.y);
  const json = m.toJSON();
  assert.equal(json.kind, "logreg");
  assert.deepEqual(json.options, { penalty: "l2", C: 3, fitIntercept: true, classWeight: null, tol: 1e-4, maxIter: 100, multiClass: "auto" });
  assert.equal(json.coef.length, 8);
  assert.equal(json.intercept.length, 1);
  assert.equal(json.nFeatures, 8);
  assert.equal(json.fitReport?.converged, true);
  const nb = new MultinomialNB().fit(multi.X, multi.y).toJSON();
  assert.equal(nb.kind, "multinomial_nb");
  assert.deepEqual(nb.classes, [0, 1, "x"]);
  assert.equal(nb.coef.length, 24);
});

test("classifierFromJSON rejects unknown kinds, versions and wrong lengths with clear errors", () => {
  const good = new LogisticRegression().fit(binary.X, binary.y).toJSON();
  assert.throws(
    () => classifierFromJSON({ ...good, kind: "forest" }),
    (e: unknown) => e instanceof DataError && /unknown kind "forest"/.test(e.message),
  );
  assert.throws(() => classifierFromJSON({ ...good, version: 2 }), /unsupported version 2/);
  assert.throws(() => classifierFromJSON({ ...good, format: "other" }), /format must be "polarity.model"/);
  assert.throws(() => classifierFromJSON({ ...good, coef: good.coef.slice(1) }), /coef has 7 entries, expected 8/);
  assert.throws(() => classifierFromJSON({ ...good, intercept: [0, 0] }), /intercept has 2 entries, expected 1/);
  assert.throws(() => classifierFromJSON({ ...good, classes: ["pos", "neg"] }), /sorted and distinct/);
  assert.throws(() => classifierFromJSON({ ...good, options: { C: -1 } }), /bad options: C must be > 0/);
  assert.throws(() => classifierFromJSON({ ...good, coef: [...good.coef.slice(1), null] }), /coef\[7\] is not a finite number/);
  assert.throws(() => classifierFromJSON(null), DataError);
});

test("createClassifier builds each kind and names the known ones on a typo", () => {
  assert.ok(createClassifier("logreg", { C: 2 }) instanceof LogisticRegression);
  assert.ok(createClassifier("nb") instanceof MultinomialNB);
  assert.ok(createClassifier("svm", { loss: "hinge" }) instanceof LinearSVC);
  assert.throws(
    () => createClassifier("tree" as never),
    (e: unknown) => e instanceof InvalidParameterError && /'logreg', 'nb', 'svm'/.test(e.message),
  );
});

test("linear contributions add up to the decision score (binary: towards classes[1])", () => {
  const X = csrFromDense([[0.5, 0, 2, 0, 0, 0, 0, 1]]);
  const row = { indices: X.indices, values: X.data };
  for (const model of [
    new LogisticRegression().fit(binary.X, binary.y),
    new MultinomialNB().fit(binary.X, binary.y),
    new LinearSVC().fit(binary.X, binary.y),
  ]) {
    const c = linearContributions(model, row.indices, row.values);
    assert.equal(c.label, "pos");
    const total = c.contributions.reduce((a, b) => a + b, 0) + c.intercept;
    assert.ok(Math.abs(total - model.decisionFunction(X)[0]) < 1e-12);
    const toNeg = linearContributions(model, row.indices, row.values, 0);
    assert.ok(Math.abs(toNeg.contributions[1] + c.contributions[1]) < 1e-15);
  }
  // Multi-class: defaults to the predicted class, contributions = value × that class's coefficients.
  const m = new LogisticRegression().fit(multi.X, multi.y);
  const c = linearContributions(m, row.indices, row.values);
  assert.equal(c.label, m.predict(X)[0]);
  const scores = m.decisionFunction(X);
  assert.ok(Math.abs(c.contributions.reduce((a, b) => a + b, 0) + c.intercept - scores[c.classIndex]) < 1e-12);
  assert.throws(() => linearContributions(m, [99], [1]), /feature index 99 out of range/);
});
