import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, normalize, relative, resolve } from "node:path";

/**
 * The layer order of docs/architecture.md, checked on every import in src/ (CONTRIBUTING.md §1).
 * A folder may import from its own folder and from folders on a LOWER layer only: never up,
 * never sideways to another folder of the same layer (`stages` and `promotion` once imported
 * each other; now the promotion gates build on the stages' params and layout, and `jobs`
 * composes both). A new folder must be given a layer here.
 */
export const LAYERS: Readonly<Record<string, number>> = {
  util: 0,
  text: 1,
  http: 1,
  pipeline: 1,
  features: 2,
  data: 2,
  tracking: 2,
  models: 3,
  evaluation: 4,
  monitoring: 4,
  tuning: 5,
  serving: 5,
  ui: 5,
  stages: 6,
  promotion: 7,
  jobs: 8,
  cli: 9,
  "index.ts": 10,
};

const SRC = resolve(import.meta.dirname, "../../src");
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "web" ? [] : sourceFiles(p); // browser bundles are not Node layers
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

function folderOf(file: string): string {
  const rel = relative(SRC, file).split("/");
  return rel.length === 1 ? rel[0] : rel[0];
}

export function layerViolations(): string[] {
  const out: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    const fromLayer = LAYERS[from];
    if (fromLayer === undefined) {
      out.push(`src/${relative(SRC, file)}: folder '${from}' has no layer in test/architecture/layers.test.ts`);
      continue;
    }
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (!spec.startsWith(".")) continue;
      const target = normalize(join(dirname(file), spec));
      if (!target.startsWith(SRC + "/")) continue;
      const to = folderOf(target);
      if (to === from) continue;
      const toLayer = LAYERS[to];
      if (toLayer === undefined || toLayer >= fromLayer) {
        out.push(`src/${relative(SRC, file)} imports ${spec}: ${from} (layer ${fromLayer}) may not depend on ${to} (layer ${toLayer ?? "?"})`);
      }
    }
  }
  return out;
}

describe("architecture", () => {
  test("imports only point down the layers", () => {
    assert.deepEqual(layerViolations(), []);
  });
});
