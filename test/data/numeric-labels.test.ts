import assert from "node:assert/strict";
import { test } from "node:test";
import { numericIfAll } from "../../src/data/clean.js";
import type { Label } from "../../src/util/labels.js";

/** What numericIfAll did with a regular expression and parseInt: its char-code pass must agree on every input. */
function reference(labels: Label[]): Label[] {
  if (labels.length === 0) return labels;
  for (const l of labels) if (typeof l !== "number" && !/^-?\d+$/.test(l)) return labels;
  return labels.map((l) => (typeof l === "number" ? l : Number.parseInt(l, 10)));
}

test("numericIfAll turns all-integer-literal labels into numbers, exactly as /^-?\\d+$/ + parseInt did", () => {
  const cases: Label[][] = [
    [],
    ["0", "1", "1", "0"],
    ["-1", "0", "1"],
    ["-0", "007", "42"],
    ["12345678901234567890", "-98765432109876543210", "9007199254740993", "123456789012345"],
    [1, "2", 3],
    ["1", "one"],
    ["1", ""],
    ["-"],
    ["1.0", "2"],
    [" 1", "2"],
    ["1 ", "2"],
    ["+1", "2"],
    ["1e3"],
    ["٣", "1"],
    ["pos", "neg"],
  ];
  for (const labels of cases) {
    const got = numericIfAll(labels.slice());
    const want = reference(labels.slice());
    assert.equal(got.length, want.length);
    for (let i = 0; i < got.length; i++) assert.ok(Object.is(got[i], want[i]), `${JSON.stringify(labels)}[${i}]: ${String(got[i])} vs ${String(want[i])}`);
  }
  // Not all integers: the very array comes back, untouched.
  const mixed: Label[] = ["1", "x"];
  assert.equal(numericIfAll(mixed), mixed);
});
