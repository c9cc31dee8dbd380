import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Random } from "../../src/util/random.js";
import type { RunningServer } from "../../src/serving/server.js";
import { postJson, startLocal, tempDir, trainModelJson, writeJsonAtomic } from "./fixtures.js";

/** A random JSON value: the shapes clients get wrong (wrong types, empty, nested, odd strings). */
function randomJson(rng: Random, depth = 0): unknown {
  const kind = rng.nextInt(depth > 3 ? 6 : 9);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.nextInt(2) === 0;
    case 2:
      return rng.nextInt(3) === 0 ? -1 : rng.nextFloat() * 1e6;
    case 3:
      return "";
    case 4:
      return ["I love it", "awful", "\u0000\uFFFD", "😀".repeat(rng.nextInt(5)), "a".repeat(rng.nextInt(50)), " "][rng.nextInt(6)];
    case 5:
      return "text";
    case 6:
    case 7:
      return Array.from({ length: rng.nextInt(4) }, () => randomJson(rng, depth + 1));
    default: {
      const keys = [
        "text",
        "texts",
        "explain",
        "top_k",
        "inputs",
        "instances",
        "dataframe_split",
        "dataframe_records",
        "columns",
        "data",
        "name",
        "shape",
        "datatype",
        "outputs",
        "id",
        "review",
      ];
      const out: Record<string, unknown> = {};
      for (let i = rng.nextInt(4); i > 0; i--) out[keys[rng.nextInt(keys.length)]] = randomJson(rng, depth + 1);
      return out;
    }
  }
}

const TEMPLATES: Record<string, unknown[]> = {
  predict: [{ text: "I love it" }, { texts: ["great", "awful"] }, { text: "not bad", explain: true, top_k: 3 }, { texts: ["a"], explain: true }],
  invocations: [
    { inputs: ["great", "awful"] },
    { instances: [{ text: "great" }] },
    { dataframe_split: { columns: ["text"], data: [["great"], ["awful"]] } },
    { dataframe_records: [{ text: "great" }, { text: "awful" }] },
    { inputs: { text: ["great"] } },
  ],
  infer: [
    { inputs: [{ name: "text", shape: [2], datatype: "BYTES", data: ["great", "awful"] }] },
    { id: "1", inputs: [{ name: "text", shape: [1, 1], datatype: "BYTES", data: [["great"]] }], outputs: [{ name: "label" }] },
  ],
};

/** A valid payload with one random part replaced or removed (or kept as is). */
function mutate(rng: Random, template: unknown): unknown {
  const copy = structuredClone(template) as Record<string, unknown>;
  let parent: Record<string, unknown> | unknown[] = copy;
  for (;;) {
    const keys = Array.isArray(parent) ? parent.map((_, i) => i) : Object.keys(parent);
    if (keys.length === 0) return copy;
    const key = keys[rng.nextInt(keys.length)];
    const child = (parent as Record<string | number, unknown>)[key];
    const action = rng.nextInt(4);
    if (action === 0 && child !== null && typeof child === "object") {
      parent = child as Record<string, unknown> | unknown[];
      continue;
    }
    if (action === 1 && !Array.isArray(parent)) delete parent[key as string];
    else if (action === 2) return copy;
    else (parent as Record<string | number, unknown>)[key] = randomJson(rng, 2);
    return copy;
  }
}

describe("fuzzing every POST route with random JSON", () => {
  const dir = tempDir();
  let server: RunningServer;
  before(async () => {
    const file = join(dir.path, "model.json");
    writeJsonAtomic(file, trainModelJson());
    server = await startLocal(file);
  });
  after(async () => {
    await server.close();
    dir.cleanup();
  });

  test("600 random or mutated valid bodies: every answer is 200 or a 4xx JSON error, never a 5xx", async () => {
    const rng = new Random(20261127);
    const name = server.app.polarity.holder.current!.name;
    const routes = ["/predict", "/invocations", `/v2/models/${name}/infer`];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 600; i++) {
      const route = routes[i % routes.length];
      const templates = TEMPLATES[["predict", "invocations", "infer"][i % routes.length]];
      const body = i % 4 === 0 ? randomJson(rng) : mutate(rng, templates[rng.nextInt(templates.length)]);
      const res = await postJson(`${server.url}${route}`, body);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      assert.ok(res.status === 200 || (res.status >= 400 && res.status < 500), `${route} ${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`);
      if (res.status !== 200) {
        assert.equal(typeof res.body.error_code, "string", JSON.stringify(res.body));
        assert.equal(typeof res.body.message, "string");
      }
    }
    // The generator reaches both outcomes often (a fuzzer that only produced errors would prove little).
    assert.ok((statuses.get(200) ?? 0) >= 100, JSON.stringify([...statuses]));
    assert.ok((statuses.get(400) ?? 0) >= 100, JSON.stringify([...statuses]));
  });
});
