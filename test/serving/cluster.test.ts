import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { workerExecArgv } from "../../src/serving/cluster.js";

test("cluster workers start with a fixed 32 MB young generation, after the primary's own flags", () => {
  assert.deepEqual(workerExecArgv([], ""), ["--min-semi-space-size=32", "--max-semi-space-size=32"]);
  assert.deepEqual(workerExecArgv(["--enable-source-maps"], "--max-old-space-size=512"), [
    "--enable-source-maps",
    "--min-semi-space-size=32",
    "--max-semi-space-size=32",
  ]);
});

test("a semi-space size given in the primary's flags or NODE_OPTIONS is left as given", () => {
  for (const given of [["--max-semi-space-size=8"], ["--min-semi-space-size=4"], ["--max_semi_space_size=8"], ["--min-semi-space-size", "4"]])
    assert.deepEqual(workerExecArgv(given, ""), given);
  assert.deepEqual(workerExecArgv(["--enable-source-maps"], "--enable-source-maps --max-semi-space-size=64"), ["--enable-source-maps"]);
});

test("the flags given to workers are ones this node accepts, and V8 sizes the young generation from them", () => {
  const out = spawnSync(
    process.execPath,
    [
      ...workerExecArgv([], ""),
      "-e",
      'const v8 = require("node:v8"); console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size)',
    ],
    { encoding: "utf8" },
  );
  assert.equal(out.status, 0, out.stderr);
  // Both semi-spaces of the new space are reserved at the minimum from the start (V8's own default starts at 1 MB each).
  assert.ok(Number(out.stdout) >= 32 * 1024 * 1024, `new space ${out.stdout.trim()} bytes`);
});
