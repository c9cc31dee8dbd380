/**
 * TextWindow keeps running sums so the drift tick does not rescan capacity × terms flags:
 * its totals must equal a recount of the rows it holds, through wrap-around and clear().
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TextWindow } from "../../src/monitoring/window.js";

/** Σ over the rows held, recounted from the window's own arrays (what totals() computed before). */
function recount(w: TextWindow): { tokens: number; oov: number; docs: number; df: number[] } {
  const df = new Array<number>(w.terms).fill(0);
  let tokens = 0;
  let oov = 0;
  for (let i = 0; i < w.size; i++) {
    tokens += w.tokens[i];
    oov += w.oov[i];
    for (let j = 0; j < w.terms; j++) df[j] += w.termPresence[i * w.terms + j];
  }
  return { tokens, oov, docs: w.size, df };
}

describe("TextWindow running totals", { timeout: 30_000 }, () => {
  test("equal a recount after every push, across wrap-around and clear (seeded)", () => {
    let seed = 12345;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const terms = 17;
    const w = new TextWindow(50, terms);
    const scratch = new Float64Array(terms);
    const out = new Float64Array(terms);
    for (let step = 0; step < 400; step++) {
      if (step === 180) w.clear();
      for (let j = 0; j < terms; j++) scratch[j] = rand() < 0.3 ? 1 + Math.floor(rand() * 3) : 0;
      const tokens = Math.floor(rand() * 40);
      w.push(tokens, Math.floor(rand() * (tokens + 1)), scratch);
      const got = w.totals(out);
      const want = recount(w);
      assert.deepEqual({ ...got, df: [...out] }, want, `step ${step}`);
    }
    assert.equal(w.size, 50);
  });
});
