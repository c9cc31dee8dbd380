import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { cli, git, makeProject, read, writeFiles } from "./helpers.js";

// Issue 11, "the first hour of a new user".

const STAGE = `stages:
  ingest:
    cmd: sh ingest.sh
    params: [ingest]
    meta:
      polarity:
        path_params: [ingest.source]
    outs: [raw.txt]
`;
// Copies a file source, lists a directory source, or writes the source's name.
const INGEST = `src=$(sed -n 's/^ *source: *//p' params.yaml)
if [ -f "$src" ]; then cat "$src" > raw.txt; elif [ -d "$src" ]; then cat "$src"/* > raw.txt; else echo "$src" > raw.txt; fi
`;

describe("an edited local ingest.source reruns ingest with no manual step", () => {
  it("a file: editing it reruns the stage; dvc.lock records it as a dependency", () => {
    const dir = makeProject({ "ingest.sh": INGEST, "dvc.yaml": STAGE, "params.yaml": "ingest:\n  source: my.csv\n", "my.csv": "text,label\na,1\n" });
    assert.equal(cli(dir, ["repro"]).code, 0);
    assert.match(read(dir, "dvc.lock"), /deps:\n {4}- path: my\.csv\n/);
    assert.equal(cli(dir, ["status"]).stdout, "Data and pipelines are up to date.\n");
    writeFiles(dir, { "my.csv": "text,label\na,1\nb,0\n" });
    assert.match(cli(dir, ["status"]).stdout, /modified: +my\.csv/);
    const r = cli(dir, ["repro"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Running stage 'ingest'/);
    assert.equal(read(dir, "raw.txt"), "text,label\na,1\nb,0\n");
  });

  it("a directory: adding a file to it reruns the stage", () => {
    const dir = makeProject({ "ingest.sh": INGEST, "dvc.yaml": STAGE, "params.yaml": "ingest:\n  source: corpus\n", "corpus/a.txt": "a\n" });
    assert.equal(cli(dir, ["repro"]).code, 0);
    writeFiles(dir, { "corpus/b.txt": "b\n" });
    assert.match(cli(dir, ["repro"]).stdout, /Running stage 'ingest'/);
    assert.equal(read(dir, "raw.txt"), "a\nb\n");
  });

  it("the built-in data set and URLs add no dependency (the value itself is a tracked param)", () => {
    for (const source of ["uci-sentences", "https://example.com/data.csv"]) {
      const dir = makeProject({ "ingest.sh": INGEST, "dvc.yaml": STAGE, "params.yaml": `ingest:\n  source: ${source}\n` });
      const r = cli(dir, ["repro"]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(read(dir, "dvc.lock"), /deps:/);
      assert.equal(cli(dir, ["status"]).stdout, "Data and pipelines are up to date.\n");
    }
  });

  it("a path_params key that is not a tracked param is one clear error", () => {
    const dir = makeProject({ "dvc.yaml": STAGE.replace("[ingest.source]", "[other.key]"), "params.yaml": "ingest:\n  source: x\n" });
    const r = cli(dir, ["status"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: dvc\.yaml: stage 'ingest': meta: polarity: path_params: 'other\.key' is not among the stage's params$/m);
  });
});

describe("add warns when git would ignore the .dvc file it writes", () => {
  it("names the ignoring rule and drops the misleading 'git add' hint; no warning when the file is not ignored", () => {
    const dir = makeProject({ ".gitignore": "data/\n", "data/big.csv": "x\n", "big2.csv": "y\n" });
    git(dir, "init", "-q");
    const r = cli(dir, ["add", "data/big.csv"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^WARNING: 'data\/big\.csv\.dvc' is ignored by git \(\.gitignore:1:data\/\)/m);
    assert.doesNotMatch(r.stdout, /git add/);
    assert.ok(fs.existsSync(path.join(dir, "data/big.csv.dvc")));
    const ok = cli(dir, ["add", "big2.csv"]);
    assert.equal(ok.code, 0);
    assert.equal(ok.stderr, "");
    assert.match(ok.stdout, /track it with: git add big2\.csv\.dvc \.gitignore/);
  });
});
