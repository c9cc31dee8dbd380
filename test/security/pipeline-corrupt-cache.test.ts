import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { cli, makeProject, read } from "../pipeline/helpers.js";

// Issue 9 item 16: a corrupted cache object for a stage output made `repro` fail ("delete it
// and run 'polarity fetch'") even with no remote. DVC treats it as missing and reruns the stage.

function objectPath(dir: string, md5: string): string {
  return path.join(dir, ".dvc/cache/files/md5", md5.slice(0, 2), md5.slice(2));
}

function corrupt(file: string, content: string): void {
  fs.chmodSync(file, 0o644);
  fs.writeFileSync(file, content);
}

const md5 = (s: string): string => createHash("md5").update(s).digest("hex");

describe("security: a corrupted cache object is treated as missing", { timeout: 120_000 }, () => {
  it("repro warns, reruns the stage instead of restoring it from the run-cache, and stores a good object again", () => {
    const dir = makeProject({
      "params.yaml": "word: alpha\n",
      "dvc.yaml": "stages:\n  echo:\n    cmd: echo ${word} > out.txt\n    params: [word]\n    outs: [out.txt]\n",
    });
    assert.equal(cli(dir, ["repro"]).code, 0);
    const alpha = md5("alpha\n");
    assert.equal(read(dir, "out.txt"), "alpha\n");
    fs.writeFileSync(path.join(dir, "params.yaml"), "word: beta\n");
    assert.equal(cli(dir, ["repro"]).code, 0);
    corrupt(objectPath(dir, alpha), "rotten\n");
    // Back to alpha: the run-cache has this run, but its output object is corrupted.
    fs.writeFileSync(path.join(dir, "params.yaml"), "word: alpha\n");
    const r = cli(dir, ["repro"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`WARNING: corrupted cache object ${alpha}: its content hashes to ${md5("rotten\n")} .*treating it as missing: stage 'echo' will run`),
    );
    assert.match(r.stdout, /Running stage 'echo'/);
    assert.doesNotMatch(r.stdout, /is cached - skipping run/);
    assert.equal(read(dir, "out.txt"), "alpha\n");
    assert.equal(fs.readFileSync(objectPath(dir, alpha), "utf8"), "alpha\n", "the fresh run stored a good object");
    assert.equal(cli(dir, ["status"]).stdout, "Data and pipelines are up to date.\n");
  });

  it("a corrupted directory manifest is treated as missing too", () => {
    const dir = makeProject({
      "params.yaml": "n: 1\n",
      "dvc.yaml": "stages:\n  dir:\n    cmd: mkdir -p outdir && echo ${n} > outdir/n.txt\n    params: [n]\n    outs: [outdir]\n",
    });
    assert.equal(cli(dir, ["repro"]).code, 0);
    const lock = read(dir, "dvc.lock");
    const manifestId = /md5: ([0-9a-f]{32}\.dir)/.exec(lock)![1];
    fs.writeFileSync(path.join(dir, "params.yaml"), "n: 2\n");
    assert.equal(cli(dir, ["repro"]).code, 0);
    corrupt(objectPath(dir, manifestId), '[{"md5": "00000000000000000000000000000000", "relpath": "n.txt"}]');
    fs.writeFileSync(path.join(dir, "params.yaml"), "n: 1\n");
    const r = cli(dir, ["repro"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Running stage 'dir'/);
    assert.equal(read(dir, "outdir/n.txt"), "1\n");
    assert.equal(read(dir, "dvc.lock"), lock);
    assert.match(fs.readFileSync(objectPath(dir, manifestId), "utf8"), /"relpath": "n.txt"/);
  });
});
