import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadUciSentences, parseUciFixture, UCI_SOURCES } from "../../src/data/builtin.js";
import { DataError } from "../../src/util/errors.js";

describe("built-in UCI sentences", () => {
  it("loads exactly 3,000 labelled sentences, 500 positive and 500 negative per source", () => {
    const d = loadUciSentences();
    assert.equal(d.texts.length, 3000);
    assert.equal(d.labels.length, 3000);
    assert.equal(d.sources.length, 3000);
    for (const source of UCI_SOURCES) {
      const idx = d.sources.map((s, i) => (s === source ? i : -1)).filter((i) => i >= 0);
      assert.equal(idx.length, 1000, source);
      assert.equal(idx.filter((i) => d.labels[i] === 1).length, 500, source);
      assert.equal(idx.filter((i) => d.labels[i] === 0).length, 500, source);
    }
    assert.ok(d.texts.every((t) => typeof t === "string" && t.trim().length > 0));
  });
  it("keeps file order and the original labels (1 = positive)", () => {
    const d = loadUciSentences();
    assert.equal(d.texts[0], "So there is no way for me to plug it in here in the US unless I go by a converter.");
    assert.equal(d.labels[0], 0);
    assert.equal(d.texts[1], "Good case, Excellent value.");
    assert.equal(d.labels[1], 1);
    assert.deepEqual([d.sources[0], d.sources[1000], d.sources[2999]], ["amazon", "imdb", "yelp"]);
  });
  it("returns fresh arrays each call", () => {
    const a = loadUciSentences();
    a.texts[0] = "changed";
    assert.notEqual(loadUciSentences().texts[0], "changed");
  });
});

describe("parseUciFixture", () => {
  it("drops entries with a null class or empty text", () => {
    const json = JSON.stringify([
      { text: "good", class: 1 },
      { text: "", class: null },
      { text: "  ", class: 0 },
      { text: "bad", class: 0 },
    ]);
    assert.deepEqual(parseUciFixture("x.json", json), { texts: ["good", "bad"], labels: [1, 0] });
  });
  it("names the file in errors about malformed content", () => {
    assert.throws(
      () => parseUciFixture("amazon.json", "{oops"),
      (e: unknown) => e instanceof DataError && /^amazon\.json: not valid JSON/.test(e.message),
    );
    assert.throws(() => parseUciFixture("imdb.json", "{}"), /imdb\.json: expected a JSON array/);
    assert.throws(() => parseUciFixture("yelp.json", JSON.stringify([{ text: "x", class: 2 }])), /yelp\.json: entry 0 has class 2/);
    assert.throws(() => parseUciFixture("yelp.json", JSON.stringify([{ text: 5, class: 1 }])), /yelp\.json: entry 0 has a non-string text/);
  });
});
