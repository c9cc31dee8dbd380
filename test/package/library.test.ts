import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * The package as another project sees it: `npm pack` of this tree (dist/ as `npm install`
 * built it), unpacked into a fresh project's node_modules, then imported BY NAME — through
 * package.json `exports` — from plain ESM and type-checked from TypeScript. The fresh project
 * links this checkout's dependencies instead of downloading them (CI has no time to compile
 * better-sqlite3 twice), so what is tested is the package itself: its file list, exports map,
 * types and that it works from outside the source tree.
 */
const ROOT = resolve(import.meta.dirname, "../..");

describe("polarity as a library", { timeout: 180_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), "polarity-lib-"));
  const project = join(work, "app");

  test("npm pack → install → import by name, train and predict", () => {
    assert.ok(existsSync(join(ROOT, "dist/index.js")), "dist/ is missing: run `npm run build` (npm install does it)");
    const packed = JSON.parse(
      execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: ROOT, encoding: "utf8" }),
    ) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const files = packed[0].files.map((f) => f.path);
    assert.ok(files.includes("dist/index.js") && files.includes("dist/index.d.ts"), "the tarball carries the entry point and its types");
    assert.ok(!files.some((f) => f.startsWith("src/") || f.startsWith("test/")), "no sources or tests in the tarball");

    const modules = join(project, "node_modules");
    mkdirSync(join(modules, "polarity"), { recursive: true });
    execFileSync("tar", ["-xzf", join(work, packed[0].filename), "-C", join(modules, "polarity"), "--strip-components=1"]);
    for (const name of readdirSync(join(ROOT, "node_modules"))) {
      if (name === ".bin" || name === "polarity" || name.startsWith(".")) continue;
      symlinkSync(join(ROOT, "node_modules", name), join(modules, name));
    }
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "app", type: "module", private: true }));
    writeFileSync(
      join(project, "main.mjs"),
      `import { SentimentModel, loadUciSentences, PolarityError } from "polarity";
import { TrackingClient } from "polarity/tracking";
import { startServing } from "polarity/serving";
const { texts, labels } = loadUciSentences();
const model = SentimentModel.train(texts, labels, { features: { kind: "tfidf", ngramRange: [1, 2] }, model: { kind: "logreg", C: 10 } });
const [good, bad] = model.predict(["I love this, it is wonderful", "Terrible, it broke after a day"]);
let refused = false;
try { await import("polarity/dist/cli/main.js"); } catch { refused = true; }
console.log(JSON.stringify({ good: good.label, bad: bad.label, client: typeof TrackingClient, serve: typeof startServing, err: typeof PolarityError, refused }));
`,
    );
    const out = JSON.parse(execFileSync(process.execPath, ["main.mjs"], { cwd: project, encoding: "utf8" }));
    assert.deepEqual(out, { good: 1, bad: 0, client: "function", serve: "function", err: "function", refused: true });
  });

  test("the types resolve from TypeScript (NodeNext) by package name", () => {
    writeFileSync(
      join(project, "check.ts"),
      `import { SentimentModel, type Prediction } from "polarity";
import { TrackingClient } from "polarity/tracking";
const model: SentimentModel = SentimentModel.train(["good", "bad"], [1, 0], { features: { kind: "bow" }, model: { kind: "nb" } });
const p: Prediction[] = model.predict(["good"]);
void p; void TrackingClient;
`,
    );
    const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
    execFileSync(
      process.execPath,
      [
        tsc,
        "--noEmit",
        "--strict",
        "--module",
        "NodeNext",
        "--moduleResolution",
        "NodeNext",
        "--target",
        "ES2022",
        "--skipLibCheck",
        "--types",
        "node",
        "--typeRoots",
        join(ROOT, "node_modules/@types"),
        "check.ts",
      ],
      {
        cwd: project,
        encoding: "utf8",
      },
    );
  });

  test("cleanup", () => rmSync(work, { recursive: true, force: true }));
});
