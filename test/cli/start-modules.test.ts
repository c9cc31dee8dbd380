/**
 * What a CLI start loads (issue 12: whole-process start of `--version` and `status`): the
 * command modules are imported lazily (src/cli/main.ts), so `--version` loads no package and
 * none of our modules but main.ts and version.ts, and `status` loads neither the servers'
 * packages nor the ML core. Checked with a module-resolution hook in a child process (what is
 * loaded, not how long it takes), so a static import that undoes the laziness fails here.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { after, describe, test } from "node:test";
import { VERSION } from "../../src/cli/version.js";
import { makeTempDir } from "../support/temp-dir.js";

const ROOT = resolve(import.meta.dirname, "../..");
const MAIN = join(ROOT, "src/cli/main.ts");
const TSX = import.meta.resolve("tsx");

describe("modules a CLI start loads", { timeout: 120_000 }, () => {
  const tmp = makeTempDir("polarity-cli-modules-");
  after(() => tmp.cleanup());
  // Every resolved file: URL, one line each on stderr (hooks run off the main thread; writeSync is safe there).
  const hooks = join(tmp.dir, "hooks.mjs");
  writeFileSync(
    hooks,
    `import { writeSync } from "node:fs";
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.startsWith("file:")) writeSync(2, "RESOLVED " + r.url + "\\n");
  return r;
}
`,
  );
  // CommonJS requires of packages (createRequire: better-sqlite3, yaml), which the resolve hook does not see.
  const requireHook = join(tmp.dir, "require-hook.cjs");
  writeFileSync(
    requireHook,
    `const fs = require("node:fs"), Module = require("node:module"), load = Module._load;
Module._load = function (request, ...rest) {
  if (!request.startsWith("node:") && !request.startsWith(".") && !request.startsWith("/")) fs.writeSync(2, "REQUIRED " + request + "\\n");
  return load.call(this, request, ...rest);
};
`,
  );
  const registerHooks = join(tmp.dir, "register.mjs");
  writeFileSync(registerHooks, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);

  function run(args: string[], cwd: string): { stdout: string; packages: Set<string>; ours: Set<string>; required: Set<string> } {
    const r = spawnSync(process.execPath, ["--require", requireHook, "--import", TSX, "--import", pathToFileURL(registerHooks).href, MAIN, ...args], {
      cwd,
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const urls = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("RESOLVED "))
      .map((l) => l.slice("RESOLVED ".length));
    const packages = new Set(urls.filter((u) => u.includes("/node_modules/")).map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u)![1]));
    const src = pathToFileURL(join(ROOT, "src")).href + "/";
    const ours = new Set(urls.filter((u) => u.startsWith(src)).map((u) => u.slice(src.length)));
    const required = new Set(
      r.stderr
        .split("\n")
        .filter((l) => l.startsWith("REQUIRED "))
        .map((l) => l.slice("REQUIRED ".length)),
    );
    return { stdout: r.stdout, packages, ours, required };
  }

  test("--version loads no package and only main.ts and version.ts of ours", () => {
    const { stdout, packages, ours } = run(["--version"], tmp.dir);
    assert.equal(stdout, `${VERSION}\n`);
    assert.deepEqual([...packages], [], "packages loaded by --version");
    assert.deepEqual([...ours].sort(), ["cli/main.ts", "cli/version.ts"]);
  });

  test("status loads commander and the pipeline, not the servers' packages or the ML core", () => {
    const project = join(tmp.dir, "project");
    mkdirSync(project);
    writeFileSync(join(project, "params.yaml"), "train:\n  C: 1.0\n");
    writeFileSync(join(project, "dvc.yaml"), "stages:\n  one:\n    cmd: echo hi > out.txt\n    params:\n      - train.C\n    outs:\n      - out.txt\n");
    const { stdout, packages, ours } = run(["status"], project);
    assert.match(stdout, /one/, "the stage is reported (it never ran)");
    assert.ok(packages.has("commander"), `commander is loaded (sanity: the hook sees packages): ${[...packages].join(", ")}`);
    assert.ok(
      [...ours].some((m) => m.startsWith("pipeline/")),
      "the pipeline's modules are loaded (sanity)",
    );
    for (const heavy of ["fastify", "@fastify/swagger", "prom-client", "pino", "@sinclair/typebox", "@aws-sdk/client-s3", "pg", "papaparse"])
      assert.ok(!packages.has(heavy), `status loaded ${heavy}`);
    for (const area of ["serving/", "models/", "features/", "tracking/", "ui/", "monitoring/"])
      assert.deepEqual(
        [...ours].filter((m) => m.startsWith(area)),
        [],
        `status loaded ${area}`,
      );
  });
  test("status on an up-to-date project does not load better-sqlite3 (the state's hot set answers)", () => {
    const project = join(tmp.dir, "uptodate");
    mkdirSync(join(project, "data"), { recursive: true });
    writeFileSync(join(project, "data", "in.txt"), "input\n");
    writeFileSync(join(project, "dvc.yaml"), "stages:\n  one:\n    cmd: cp data/in.txt out.txt\n    deps:\n      - data\n    outs:\n      - out.txt\n");
    run(["repro"], project);
    // Hashes of files younger than the racy window are not recorded: age them, as time would.
    const old = new Date(Date.now() - 60_000);
    for (const f of ["data/in.txt", "out.txt"]) utimesSync(join(project, f), old, old);
    const first = run(["status"], project);
    assert.ok(first.required.has("better-sqlite3"), `the hook sees better-sqlite3 when the state must be read from SQLite: ${[...first.required].join(", ")}`);
    const second = run(["status"], project);
    assert.match(second.stdout, /up to date/);
    assert.ok(!second.required.has("better-sqlite3"), "status on an up-to-date project loaded better-sqlite3");
  });
});
