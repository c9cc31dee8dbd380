import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { idTails, PredictionIds } from "../../src/monitoring/prediction-ids.js";

const ID_RE = /^([0-9a-f]{8})-([0-9a-z]{1,11})-([0-9]{1,4})$/;

describe("PredictionIds", { timeout: 60_000 }, () => {
  it("equals prefix + seq.toString(36) + -cls for 10^6 values, across every carry", () => {
    const prefix = "0a1b2c3d-";
    const ids = new PredictionIds(prefix);
    const tails = [idTails(0), idTails(1), idTails(2)];
    for (let seq = 0; seq < 1_000_000; seq++) {
      const cls = seq % 3;
      assert.equal(ids.next, seq);
      const id = ids.take(cls, tails[cls]);
      if (id !== `${prefix}${seq.toString(36)}-${cls}`) assert.fail(`seq ${seq}: ${id}`);
    }
    // 10^6 covers the carries to 2, 3 and 4 base-36 digits (36, 1296, 46656); parse as /feedback does.
    const m = ID_RE.exec(ids.take(1, tails[1]));
    assert.ok(m);
    assert.equal(parseInt(m[2], 36), 1_000_000);
    assert.equal(m[3], "1");
  });

  it("falls back to the plain form for a class without tails", () => {
    const ids = new PredictionIds("deadbeef-");
    for (let i = 0; i < 40; i++) ids.take(0, idTails(0));
    assert.equal(ids.take(7, undefined), `deadbeef-${(40).toString(36)}-7`);
    assert.equal(ids.take(0, idTails(0)), `deadbeef-${(41).toString(36)}-0`);
  });
});
