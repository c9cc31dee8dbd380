import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { cli, cliStart, exitOf, makeProject, read, waitForOutput } from "./helpers.js";

// A stage that writes a partial output, says "started", then finishes only when a line arrives on stdin.
const BLOCKING = `const fs = require("fs");
fs.writeFileSync("slow.txt", "partial");
console.log("started");
let done = false;
process.stdin.once("data", () => { done = true; fs.writeFileSync("slow.txt", "complete\\n"); process.exit(0); });
process.stdin.once("end", () => { if (!done) { console.error("stdin closed before release"); process.exit(1); } });
`;

function blockingProject(): string {
  return makeProject({
    "block.js": BLOCKING,
    "dvc.yaml":
      "stages:\n  slow:\n    cmd: node block.js\n    deps: [block.js]\n    outs: [slow.txt]\n  after:\n    cmd: cat slow.txt > after.txt\n    deps: [slow.txt]\n    outs: [after.txt]\n",
  });
}

describe("polarity repro (CLI)", () => {
  it("streams stage output prefixed with the stage name and exits 0; a failing stage exits non-zero and leaves dvc.lock unchanged", () => {
    const dir = makeProject({ "dvc.yaml": "stages:\n  hello:\n    cmd: echo hi from the stage && echo x > x.txt\n    outs: [x.txt]\n" });
    const ok = cli(dir, ["repro"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^\[hello\] hi from the stage$/m);
    const lock = read(dir, "dvc.lock");
    fs.writeFileSync(path.join(dir, "dvc.yaml"), "stages:\n  hello:\n    cmd: echo x > x.txt && exit 7\n    outs: [x.txt]\n");
    const bad = cli(dir, ["repro"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /^error: failed to reproduce 'hello': stage 'hello': command 'echo x > x.txt && exit 7' failed with exit code 7$/m);
    assert.equal(read(dir, "dvc.lock"), lock);
    const st = cli(dir, ["status", "--json"]);
    assert.deepEqual(Object.keys(JSON.parse(st.stdout)), ["hello"]);
  });

  it("stages whose cmd calls `polarity` find this CLI without a global install", () => {
    const dir = makeProject({ "dvc.yaml": "stages:\n  version:\n    cmd: polarity --version > v.txt\n    outs: [v.txt]\n" });
    const r = cli(dir, ["repro"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(read(dir, "v.txt"), "0.1.0\n");
    assert.ok(fs.existsSync(path.join(dir, ".dvc/tmp/bin/polarity")), "the shim lives in .dvc/tmp/bin");
  });

  it("bad input gets one clear error line, no stack trace", () => {
    const dir = makeProject({ "dvc.yaml": "stages:\n  a:\n    cmd: x\n    deps: [1]\n" });
    const r = cli(dir, ["repro", "-j", "0"]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), "error: --jobs must be in [1, 256], got 0");
    const r2 = cli(dir, ["repro"]);
    assert.equal(r2.code, 2);
    assert.equal(r2.stderr.trim(), "error: dvc.yaml: stage 'a': deps[0]: expected a path string");
  });

  it("a second concurrent repro is refused at once while the first completes", async () => {
    const dir = blockingProject();
    const first = cliStart(dir, ["repro"]);
    await waitForOutput(first, "[slow] started");
    const second = cli(dir, ["repro"]);
    assert.equal(second.code, 4);
    assert.match(
      second.stderr,
      /error: cannot lock the project: another polarity process holds \.dvc\/tmp\/polarity\.lock \(pid \d+, 'repro', since .*\); wait for it to finish or rerun with --wait/,
    );
    first.stdin!.end("go\n");
    assert.equal(await exitOf(first), 0);
    assert.equal(read(dir, "after.txt"), "complete\n");
    assert.equal(fs.existsSync(path.join(dir, ".dvc/tmp/polarity.lock")), false, "the lock is released");
  });

  it("with --wait, a second repro waits for the first and then finds nothing to do", async () => {
    const dir = blockingProject();
    const first = cliStart(dir, ["repro"]);
    await waitForOutput(first, "[slow] started");
    const second = cliStart(dir, ["repro", "--wait"]);
    let out = "";
    second.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    await waitForOutput(second, "waiting for pid");
    first.stdin!.end("go\n");
    assert.equal(await exitOf(first), 0);
    assert.equal(await exitOf(second), 0);
    assert.match(out, /Stage 'slow' didn't change, skipping/);
  });

  it("kill -9 in the middle of a stage, then repro completes correctly", async () => {
    const dir = blockingProject();
    const first = cliStart(dir, ["repro"]);
    await waitForOutput(first, "[slow] started");
    process.kill(-first.pid!, "SIGKILL"); // the whole process group: polarity, the shell and the stage
    await exitOf(first);
    assert.equal(read(dir, "slow.txt"), "partial");
    assert.ok(fs.existsSync(path.join(dir, ".dvc/tmp/polarity.lock")), "the dead process left its lock behind");
    assert.equal(fs.existsSync(path.join(dir, "dvc.lock")), false);

    const again = cli(dir, ["repro"], "go\n");
    assert.equal(again.code, 0, again.stderr);
    assert.equal(read(dir, "slow.txt"), "complete\n");
    assert.equal(read(dir, "after.txt"), "complete\n");
    assert.match(read(dir, "dvc.lock"), /slow:[\s\S]*path: slow\.txt\n {6}hash: md5\n {6}md5: c514939fdd61df26b103925a5122b356/);
    const status = cli(dir, ["status"]);
    assert.equal(status.stdout, "Data and pipelines are up to date.\n");
  });
});
