import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { scanPredictBody } from "../../src/serving/predict-body.js";

/**
 * The fast path's body scanner (src/serving/predict-body.ts) against JSON.parse: whatever it
 * accepts must be exactly what JSON.parse reads, and every body JSON.parse reads as one of the
 * two shapes (with a plain key) must be accepted. Hostile and malformed bodies give null
 * (the full path answers them), never a throw or a hang.
 */

type Shape = { single: boolean; texts: string[] } | null;

/** What the scanner should answer, from JSON.parse (null: not one of the two shapes). */
function expected(body: Buffer, maxItems: number): Shape {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const keys = Object.keys(value);
  if (keys.length !== 1) return null;
  const v = (value as Record<string, unknown>)[keys[0]];
  if (keys[0] === "text") return typeof v === "string" ? { single: true, texts: [v] } : null;
  if (keys[0] === "texts" && Array.isArray(v) && v.length > 0 && v.length <= maxItems && v.every((t) => typeof t === "string")) {
    return { single: false, texts: v as string[] };
  }
  return null;
}

function check(body: Buffer, maxItems = 100): void {
  const got = scanPredictBody(body, maxItems);
  const want = expected(body, maxItems);
  assert.deepEqual(got, want, `scanned ${JSON.stringify(body.toString("latin1"))}`);
}

describe("scanPredictBody", () => {
  test("the two shapes, whitespace, escapes, non-ASCII", () => {
    assert.deepEqual(scanPredictBody(Buffer.from('{"text":"good"}'), 10), { single: true, texts: ["good"] });
    assert.deepEqual(scanPredictBody(Buffer.from(' \t\r\n{ "texts" : [ "a" , "b\\"c" ] }\n'), 10), { single: false, texts: ["a", 'b"c'] });
    const tricky = ["très bon 😀", "\u4e2d\u6587", 'q"uote', "back\\slash", "nl\nand\ttab", "\ud800 lone", "\u2028\u2029", "", " "];
    for (const t of tricky) {
      assert.deepEqual(scanPredictBody(Buffer.from(JSON.stringify({ text: t })), 10), { single: true, texts: [t] });
    }
    assert.deepEqual(scanPredictBody(Buffer.from(JSON.stringify({ texts: tricky })), 10), { single: false, texts: tricky });
    // A Uint8Array that is not a Buffer (a view into a larger buffer).
    const whole = Buffer.from('xx{"text":"ok"}yy');
    assert.deepEqual(scanPredictBody(new Uint8Array(whole.buffer, whole.byteOffset + 2, whole.length - 4), 10), { single: true, texts: ["ok"] });
    // An escaped key is the same key to JSON.parse, and so to fastify's path.
    assert.deepEqual(scanPredictBody(Buffer.from('{"te\\u0078t":"ok"}'), 10), { single: true, texts: ["ok"] });
    // A duplicate key: the last one wins, as JSON.parse (and so fastify's path) reads it.
    assert.deepEqual(scanPredictBody(Buffer.from('{"text":"a","text":"b"}'), 10), { single: true, texts: ["b"] });
  });

  test("anything else is left to the full path (null)", () => {
    const refused = [
      "",
      " ",
      "{}",
      "[]",
      "null",
      '"text"',
      '{"text":"a"',
      '{"text":"a"}}',
      '{"text":"a",}',
      '{"text":"a","texts":["b"]}',
      '{"texts":[]}',
      '{"texts":["a",]}',
      '{"texts":[,"a"]}',
      '{"texts":["a""b"]}',
      '{"texts":["a"],}',
      '{"texts":"a"}',
      '{"texts":[1]}',
      '{"texts":[["a"]]}',
      '{"texts":[null]}',
      '{"text":1}',
      '{"text":true}',
      '{"text":null}',
      '{"text":{"a":1}}',
      '{"Text":"a"}',
      '{"text" "a"}',
      '{text:"a"}',
      "{'text':'a'}",
      '{"text":"a\\x"}',
      '{"text":"a\\u12"}',
      '{"text":"a\\u12g4"}',
      '{"text":"a\\',
      '{"text":"a\\"}',
      '{"text":"a"} x',
      '{"text":"a"}{"text":"b"}',
      '\u00a0{"text":"a"}',
      '\ufeff{"text":"a"}',
      '{"text":"a\u0000"}',
      '{"text":"a\u001f"}',
      '{"__proto__":"a"}',
    ];
    for (const body of refused) assert.equal(scanPredictBody(Buffer.from(body), 10), null, body);
    // Invalid UTF-8: a stray continuation byte, a truncated sequence, an encoded surrogate, an overlong form.
    for (const bad of [[0x80], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xff]]) {
      const body = Buffer.concat([Buffer.from('{"text":"a'), Buffer.from(bad), Buffer.from('"}')]);
      assert.equal(scanPredictBody(body, 10), null);
    }
  });

  test("more than maxItems texts is left to the full path", () => {
    assert.equal(scanPredictBody(Buffer.from(JSON.stringify({ texts: ["a", "b", "c"] })), 2), null);
    assert.deepEqual(scanPredictBody(Buffer.from(JSON.stringify({ texts: ["a", "b"] })), 2)?.texts, ["a", "b"]);
  });

  test("hostile sizes stay linear: 1 MB of one string, of commas, of brackets, of backslashes", () => {
    const t0 = performance.now();
    const mb = 1 << 20;
    assert.equal(scanPredictBody(Buffer.from(`{"text":"${"a".repeat(mb)}"}`), 10)?.texts[0].length, mb);
    assert.equal(scanPredictBody(Buffer.from(`{"texts":["a"${",".repeat(mb)}]}`), 10), null);
    assert.equal(scanPredictBody(Buffer.from(`{"texts":${"[".repeat(mb)}`), 10), null);
    assert.equal(scanPredictBody(Buffer.from(`{"text":"${"\\\\".repeat(mb / 2)}"}`), 10)?.texts[0].length, mb / 2);
    assert.equal(scanPredictBody(Buffer.from(`{"text":"${"\\".repeat(mb)}`), 10), null);
    assert.equal(scanPredictBody(Buffer.from(`{"texts":[${'"a",'.repeat(mb / 4)}"a"]}`), mb)?.texts.length, mb / 4 + 1);
    // Not a timing assertion of speed, a guard against a quadratic or endless loop (seconds, not minutes).
    assert.ok(performance.now() - t0 < 20_000);
  });

  test("agrees with JSON.parse on 20,000 seeded mutations of valid bodies", () => {
    const seeds = [
      '{"text":"I love this phone"}',
      '{ "texts" : [ "good" , "bad" , "b\\"q\\\\" ] }',
      '{"text":"tr\u00e8s \\u00e9 \ud83d\ude00"}',
      '{"texts":["a","\\n","\\ud800"]}',
    ];
    const alphabet = ['"', "\\", "{", "}", "[", "]", ",", ":", " ", "\n", "a", "t", "u", "0", "x", "\u0001", "\u00e9", "😀"];
    let seed = 12345;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n) >>> 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = [...Buffer.from(seeds[i % seeds.length])];
      const edits = 1 + rnd(3);
      for (let e = 0; e < edits; e++) {
        const at = rnd(bytes.length + 1);
        const op = rnd(4);
        const piece = [...Buffer.from(alphabet[rnd(alphabet.length)])];
        if (op === 0) bytes.splice(at, 1);
        else if (op === 1) bytes.splice(at, 0, ...piece);
        else if (op === 2) bytes.splice(at, 1, ...piece);
        else bytes.splice(at, 0, rnd(256)); // any byte, valid UTF-8 or not
      }
      check(Buffer.from(bytes), 3);
    }
  });
});
