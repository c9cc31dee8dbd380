import { test } from "node:test";
import assert from "node:assert/strict";
import {
  EXPERIMENT_FILTER,
  MODEL_VERSION_FILTER,
  REGISTERED_MODEL_FILTER,
  RUN_FILTER,
  parseOrderBy,
  parseSearchFilter,
} from "../../src/tracking/search-filter.js";
import { PolarityError } from "../../src/util/errors.js";

const valid: Array<[string, unknown]> = [
  ["metrics.accuracy > 0.9", [{ type: "metric", key: "accuracy", comparator: ">", value: 0.9 }]],
  ["metrics.loss <= -1.5e-3", [{ type: "metric", key: "loss", comparator: "<=", value: -0.0015 }]],
  ["metric.loss != 2", [{ type: "metric", key: "loss", comparator: "!=", value: 2 }]],
  ["metrics.acc>=1", [{ type: "metric", key: "acc", comparator: ">=", value: 1 }]],
  ["params.model = 'logreg'", [{ type: "parameter", key: "model", comparator: "=", value: "logreg" }]],
  ['params.model = "logreg"', [{ type: "parameter", key: "model", comparator: "=", value: "logreg" }]],
  ["param.C != '1.0'", [{ type: "parameter", key: "C", comparator: "!=", value: "1.0" }]],
  ["params.model LIKE 'log%'", [{ type: "parameter", key: "model", comparator: "LIKE", value: "log%" }]],
  ["params.model ilike '%REG'", [{ type: "parameter", key: "model", comparator: "ILIKE", value: "%REG" }]],
  ["tags.mlflow.runName = 'r1'", [{ type: "tag", key: "mlflow.runName", comparator: "=", value: "r1" }]],
  ["tags.\"my tag\" = 'x'", [{ type: "tag", key: "my tag", comparator: "=", value: "x" }]],
  ["tags.`my-tag` = 'x'", [{ type: "tag", key: "my-tag", comparator: "=", value: "x" }]],
  ["metrics.`f1-score` < 0.5", [{ type: "metric", key: "f1-score", comparator: "<", value: 0.5 }]],
  ['metrics."error rate" = 0', [{ type: "metric", key: "error rate", comparator: "=", value: 0 }]],
  ["`metrics`.acc > 0", [{ type: "metric", key: "acc", comparator: ">", value: 0 }]],
  ["attributes.status = 'FINISHED'", [{ type: "attribute", key: "status", comparator: "=", value: "FINISHED" }]],
  ["attribute.start_time >= 100", [{ type: "attribute", key: "start_time", comparator: ">=", value: 100 }]],
  ["status != 'FAILED'", [{ type: "attribute", key: "status", comparator: "!=", value: "FAILED" }]],
  ["created > 5", [{ type: "attribute", key: "start_time", comparator: ">", value: 5 }]],
  ["attributes.run_name LIKE 'base%'", [{ type: "attribute", key: "run_name", comparator: "LIKE", value: "base%" }]],
  ["attributes.run_id IN ('a', 'b')", [{ type: "attribute", key: "run_id", comparator: "IN", value: ["a", "b"] }]],
  ["run.run_id NOT IN ('a')", [{ type: "attribute", key: "run_id", comparator: "NOT IN", value: ["a"] }]],
  ["datasets.name = 'imdb'", [{ type: "dataset", key: "name", comparator: "=", value: "imdb" }]],
  ["dataset.context IN ('training', 'eval')", [{ type: "dataset", key: "context", comparator: "IN", value: ["training", "eval"] }]],
  [
    "metrics.acc > 0.8 AND params.model = 'svm' and tags.team LIKE 'nlp%'",
    [
      { type: "metric", key: "acc", comparator: ">", value: 0.8 },
      { type: "parameter", key: "model", comparator: "=", value: "svm" },
      { type: "tag", key: "team", comparator: "LIKE", value: "nlp%" },
    ],
  ],
  ["   ", []],
  ["", []],
];

for (const [filter, expected] of valid) {
  test(`run filter parses: ${JSON.stringify(filter)}`, () => {
    assert.deepEqual(parseSearchFilter(filter, RUN_FILTER), expected);
  });
}

/** [filter, text the error must contain: the offending token or a reason]. */
const invalid: Array<[string, string]> = [
  ["metrics.acc >> 0.5", "'>>'"],
  ["metrics.acc = 'high'", "'high'"],
  ["params.model = logreg", "'logreg'"],
  ["params.model > 'a'", "'>'"],
  ["tags.t < 'a'", "'<'"],
  ["metrics.acc > 0.5 OR metrics.acc < 0.1", "'OR'"],
  ["metrics.acc > 0.5 metrics.f1 > 0.1", "'metrics.f1'"],
  ["metrics.acc > 0.5 AND", "<end of filter>"],
  ["foo.bar = 'x'", "invalid entity type 'foo'"],
  ["attributes.colour = 'red'", "invalid attribute key 'colour'"],
  ["attributes.start_time = 'yesterday'", "'yesterday'"],
  ["attributes.status IN ('A')", "'IN'"],
  ["params.x = 'unterminated", "unterminated quote"],
  ["metrics.acc > 0.5 ;", "';'"],
  ["metrics. > 1", "no key"],
  ["datasets.size = 'x'", "invalid dataset key 'size'"],
  ["= 3", "'='"],
  ["metrics.acc", "<end of filter>"],
  ["attributes.run_id IN 'a'", "'a'"],
];

for (const [filter, mentions] of invalid) {
  test(`run filter rejects ${JSON.stringify(filter)} naming ${mentions}`, () => {
    assert.throws(
      () => parseSearchFilter(filter, RUN_FILTER),
      (err: unknown) => err instanceof PolarityError && err.code === "INVALID_PARAMETER_VALUE" && err.message.includes(mentions),
    );
  });
}

test("experiment, model and version filters accept their own attributes and refuse run ones", () => {
  assert.deepEqual(parseSearchFilter("name LIKE 'exp%'", EXPERIMENT_FILTER), [{ type: "attribute", key: "name", comparator: "LIKE", value: "exp%" }]);
  assert.deepEqual(parseSearchFilter("creation_time > 10", EXPERIMENT_FILTER), [{ type: "attribute", key: "creation_time", comparator: ">", value: 10 }]);
  assert.deepEqual(parseSearchFilter("name = 'm' AND tags.k = 'v'", REGISTERED_MODEL_FILTER).length, 2);
  assert.deepEqual(parseSearchFilter("run_id IN ('a','b')", MODEL_VERSION_FILTER), [{ type: "attribute", key: "run_id", comparator: "IN", value: ["a", "b"] }]);
  assert.throws(() => parseSearchFilter("metrics.acc > 1", EXPERIMENT_FILTER), /metric keys cannot be used to search experiments/);
  assert.throws(() => parseSearchFilter("params.x = 'a'", REGISTERED_MODEL_FILTER), /parameter keys cannot be used/);
});

test("order_by clauses parse with direction, quoting and validation", () => {
  assert.deepEqual(parseOrderBy("metrics.accuracy DESC", RUN_FILTER), { type: "metric", key: "accuracy", ascending: false });
  assert.deepEqual(parseOrderBy("params.`learning rate`", RUN_FILTER), { type: "parameter", key: "learning rate", ascending: true });
  assert.deepEqual(parseOrderBy("attributes.start_time asc", RUN_FILTER), { type: "attribute", key: "start_time", ascending: true });
  assert.deepEqual(parseOrderBy("last_updated_timestamp DESC", REGISTERED_MODEL_FILTER), {
    type: "attribute",
    key: "last_updated_timestamp",
    ascending: false,
  });
  assert.throws(() => parseOrderBy("metrics.acc SIDEWAYS", RUN_FILTER), /expected ASC or DESC but found 'SIDEWAYS'/);
  assert.throws(() => parseOrderBy("metrics.acc DESC extra", RUN_FILTER), /unexpected 'extra'/);
  assert.throws(() => parseOrderBy("attributes.colour", RUN_FILTER), /colour/);
});
