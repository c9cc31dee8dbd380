import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { reproduce, pipelineStatus } from "../../src/pipeline/repro.js";
import { makeProject, memoryLogger, read, writeFiles } from "./helpers.js";

const PIPELINE = `
stages:
  one:
    cmd: cat src.txt > one.txt && grep '^a:' params.yaml >> one.txt
    deps: [src.txt]
    params: [a]
    outs: [one.txt]
  two:
    cmd: cat one.txt > two.txt && grep '^b:' params.yaml >> two.txt
    deps: [one.txt]
    params: [b]
    outs: [two.txt]
  three:
    cmd: cat src.txt src.txt > three.txt
    deps: [src.txt]
    outs: [three.txt]
  iced:
    cmd: echo ran > iced.txt
    deps: [src.txt]
    outs: [iced.txt]
    frozen: true
`;

function project(): string {
  return makeProject({ "dvc.yaml": PIPELINE, "params.yaml": "a: 1\nb: 1\n", "src.txt": "source\n" });
}

async function repro(root: string, extra: Parameters<typeof reproduce>[0] = {}) {
  const log = memoryLogger();
  const res = await reproduce({ root, log, ...extra });
  return { ...res, log: log.lines };
}

describe("repro decides per stage as DVC does", () => {
  it("runs every stage the first time and none the second time", async () => {
    const dir = project();
    const first = await repro(dir);
    assert.deepEqual(first.ran, ["one", "two", "three"]);
    assert.equal(first.stages.find((s) => s.name === "iced")!.outcome, "frozen");
    assert.equal(read(dir, "two.txt"), "source\na: 1\nb: 1\n");
    const second = await repro(dir);
    assert.deepEqual(second.ran, []);
    assert.deepEqual(second.restored, []);
    assert.ok(second.log.includes("Stage 'one' didn't change, skipping"));
    assert.deepEqual(
      (await pipelineStatus({ root: dir })).stages.filter((s) => s.changed),
      [],
    );
  });

  it("changing one param reruns exactly the stages that depend on it", async () => {
    const dir = project();
    await repro(dir);
    fs.writeFileSync(path.join(dir, "params.yaml"), "a: 1\nb: 2\n");
    const status = await pipelineStatus({ root: dir });
    assert.deepEqual(
      status.stages.filter((s) => s.changed).map((s) => [s.name, s.reasons.map((r) => r.message)]),
      [["two", ["param 'b' (params.yaml) changed: 1 -> 2"]]],
    );
    assert.deepEqual((await repro(dir)).ran, ["two"]);
    fs.writeFileSync(path.join(dir, "params.yaml"), "a: 5\nb: 2\n");
    // one's output changes, so two reruns too; three does not depend on a
    assert.deepEqual((await repro(dir)).ran, ["one", "two"]);
    assert.equal(read(dir, "two.txt"), "source\na: 5\nb: 2\n");
  });

  it("reverting a param restores the outputs from the run-cache without running", async () => {
    const dir = project();
    await repro(dir);
    const lockBefore = read(dir, "dvc.lock");
    fs.writeFileSync(path.join(dir, "params.yaml"), "a: 1\nb: 2\n");
    assert.deepEqual((await repro(dir)).ran, ["two"]);
    fs.writeFileSync(path.join(dir, "params.yaml"), "a: 1\nb: 1\n");
    const back = await repro(dir);
    assert.deepEqual(back.ran, []);
    assert.deepEqual(back.restored, ["two"]);
    assert.ok(back.log.includes("Stage 'two' is cached - skipping run, restored outputs from the run-cache"));
    assert.equal(read(dir, "two.txt"), "source\na: 1\nb: 1\n");
    assert.equal(read(dir, "dvc.lock"), lockBefore);
  });

  it("deleting an output brings back only its stage (from the run-cache, or by running with --no-run-cache)", async () => {
    const dir = project();
    await repro(dir);
    fs.rmSync(path.join(dir, "three.txt"));
    const status = await pipelineStatus({ root: dir });
    assert.deepEqual(
      status.stages.filter((s) => s.changed).map((s) => s.reasons.map((r) => r.message)),
      [["output 'three.txt' deleted"]],
    );
    const restored = await repro(dir);
    assert.deepEqual([restored.ran, restored.restored], [[], ["three"]]);
    fs.rmSync(path.join(dir, "three.txt"));
    const rerun = await repro(dir, { noRunCache: true });
    assert.deepEqual([rerun.ran, rerun.restored], [["three"], []]);
    assert.equal(read(dir, "three.txt"), "source\nsource\n");
  });

  it("a modified output or a changed command reruns the stage", async () => {
    const dir = project();
    await repro(dir);
    fs.writeFileSync(path.join(dir, "three.txt"), "tampered\n");
    assert.deepEqual((await repro(dir, { noRunCache: true })).ran, ["three"]);
    fs.writeFileSync(path.join(dir, "dvc.yaml"), PIPELINE.replace("cat src.txt src.txt > three.txt", "cat src.txt src.txt src.txt > three.txt"));
    assert.deepEqual((await repro(dir)).ran, ["three"]);
    assert.equal(read(dir, "three.txt"), "source\nsource\nsource\n");
  });

  it("frozen stages never run, even when forced or targeted", async () => {
    const dir = project();
    await repro(dir, { force: true });
    await repro(dir, { targets: ["iced"], force: true, single: true });
    assert.equal(fs.existsSync(path.join(dir, "iced.txt")), false);
    const status = await pipelineStatus({ root: dir });
    assert.equal(status.stages.find((s) => s.name === "iced")!.frozen, true);
  });

  it("--force reruns everything selected; targets pull in upstream, -s does not, --downstream adds downstream", async () => {
    const dir = project();
    await repro(dir);
    assert.deepEqual((await repro(dir, { force: true })).ran, ["one", "two", "three"]);
    assert.deepEqual((await repro(dir, { force: true, targets: ["two"] })).ran, ["one", "two"]);
    assert.deepEqual((await repro(dir, { force: true, targets: ["two"], single: true })).ran, ["two"]);
    assert.deepEqual((await repro(dir, { force: true, targets: ["one"], downstream: true })).ran, ["one", "two"]);
  });

  it("--dry reports what would run (including downstream of a change) and changes nothing", async () => {
    const dir = project();
    await repro(dir);
    const lock = read(dir, "dvc.lock");
    fs.writeFileSync(path.join(dir, "params.yaml"), "a: 2\nb: 1\n");
    const dry = await repro(dir, { dry: true });
    assert.deepEqual(
      dry.stages.filter((s) => s.outcome === "would-run").map((s) => s.name),
      ["one", "two"],
    );
    assert.equal(read(dir, "dvc.lock"), lock);
    assert.equal(read(dir, "one.txt"), "source\na: 1\n");
  });

  it("a failing stage leaves dvc.lock unchanged, stops its downstream, and --keep-going still runs independent stages", async () => {
    const dir = project();
    await repro(dir);
    const lock = read(dir, "dvc.lock");
    writeFiles(dir, { "dvc.yaml": PIPELINE.replace("cat src.txt > one.txt &&", "echo boom >&2 && exit 3 &&"), "src.txt": "changed\n" });
    const res = await repro(dir, { keepGoing: true });
    assert.equal(res.ok, false);
    assert.deepEqual(res.failed, ["one"]);
    assert.equal(res.stages.find((s) => s.name === "two")!.outcome, "skipped-upstream-failed");
    assert.deepEqual(res.ran, ["three"]);
    assert.ok(res.log.includes("[one] boom"), "stage stderr is streamed with the stage prefix");
    assert.match(res.stages.find((s) => s.name === "one")!.error!, /stage 'one': command '.*' failed with exit code 3/);
    const after = read(dir, "dvc.lock");
    // only three's entry changed
    const entry = (text: string, name: string) => text.split(/\n {2}(?=\w+:\n)/).find((b) => b.startsWith(`${name}:`));
    assert.equal(entry(after, "one"), entry(lock, "one"));
    assert.equal(entry(after, "two"), entry(lock, "two"));
    assert.notEqual(entry(after, "three"), entry(lock, "three"));
  });

  it("a stage whose command does not create a declared output fails", async () => {
    const dir = makeProject({ "dvc.yaml": "stages:\n  s:\n    cmd: 'true'\n    outs: [missing.txt]\n" });
    const res = await repro(dir);
    assert.equal(res.ok, false);
    assert.match(res.stages[0].error!, /output 'missing\.txt' was not created/);
    assert.equal(fs.existsSync(path.join(dir, "dvc.lock")), false);
  });

  it("-j 2 runs two independent stages at the same time and writes a correct lock", async () => {
    const rendezvous = `const fs = require("fs");
const [me, other] = process.argv.slice(2);
fs.writeFileSync(me + ".started", "");
const t0 = Date.now();
const iv = setInterval(() => {
  if (fs.existsSync(other + ".started")) { clearInterval(iv); fs.writeFileSync(me + ".txt", "met " + other + "\\n"); }
  else if (Date.now() - t0 > 30000) { console.error("never saw " + other + " start"); process.exit(1); }
}, 5);
`;
    const dir = makeProject({
      "rendezvous.js": rendezvous,
      "dvc.yaml":
        "stages:\n  left:\n    cmd: node rendezvous.js left right\n    deps: [rendezvous.js]\n    outs: [left.txt]\n  right:\n    cmd: node rendezvous.js right left\n    deps: [rendezvous.js]\n    outs: [right.txt]\n  join:\n    cmd: cat left.txt right.txt > join.txt\n    deps: [left.txt, right.txt]\n    outs: [join.txt]\n",
    });
    // Each stage finishes only after seeing the other one start: they must overlap.
    const res = await repro(dir, { jobs: 2 });
    assert.equal(res.ok, true, res.log.join("\n"));
    assert.deepEqual(res.ran.sort(), ["join", "left", "right"]);
    assert.equal(read(dir, "join.txt"), "met right\nmet left\n");
    const second = await repro(dir, { jobs: 2 });
    assert.deepEqual(second.ran, []);
    const lock = read(dir, "dvc.lock");
    assert.ok(lock.indexOf("  left:") < lock.indexOf("  right:") && lock.indexOf("  right:") < lock.indexOf("  join:"), "stages are kept in dvc.yaml order");
  });
});

describe("stage options", () => {
  it("runs commands in wdir, with paths relative to it", async () => {
    const dir = makeProject({
      "sub/in.txt": "inside\n",
      "sub/params.json": '{"k": {"v": 3}}',
      "dvc.yaml":
        "stages:\n  s:\n    wdir: sub\n    cmd: cat in.txt > out.txt && pwd > where.txt\n    deps: [in.txt]\n    params:\n      - params.json: [k.v]\n    outs: [out.txt, where.txt]\n",
    });
    const res = await repro(dir);
    assert.deepEqual(res.ran, ["s"]);
    assert.equal(read(dir, "sub/out.txt"), "inside\n");
    assert.equal(fs.realpathSync(read(dir, "sub/where.txt").trim()), fs.realpathSync(path.join(dir, "sub")));
    assert.match(read(dir, "dvc.lock"), /params:\n {6}params\.json:\n {8}k\.v: 3\n/);
    assert.match(read(dir, "dvc.lock"), /- path: in\.txt\n/);
  });

  it("always_changed stages run every time; {file: null} tracks every key of the file", async () => {
    const dir = makeProject({
      "p.yaml": "x: 1\ny: 2\n",
      "dvc.yaml":
        "stages:\n  tick:\n    cmd: date +%N >> ticks.txt\n    always_changed: true\n    outs:\n      - ticks.txt:\n          persist: true\n  all:\n    cmd: cat p.yaml > all.txt\n    params:\n      - p.yaml:\n    outs: [all.txt]\n",
    });
    assert.deepEqual((await repro(dir)).ran, ["tick", "all"]);
    assert.deepEqual((await repro(dir)).ran, ["tick"]);
    assert.equal(read(dir, "ticks.txt").trim().split("\n").length, 2, "a persistent output is kept between runs");
    fs.writeFileSync(path.join(dir, "p.yaml"), "x: 1\ny: 2\nz: 3\n");
    assert.deepEqual((await repro(dir)).ran, ["tick", "all"]);
  });
});

describe("dvc.lock", () => {
  it("matches DVC's schema 2.0 layout exactly, including a directory entry", async () => {
    const dir = makeProject({
      "params.yaml": "seed: 42\ntrain:\n  lr: 0.1\n  epochs: 2\n",
      "data/a.txt": "1 2 3\n",
      "data/b.txt": "4 5\n",
      "dvc.yaml": `stages:
  prepare:
    cmd: mkdir -p out && cp data/a.txt out/x.txt && cp data/b.txt out/y.txt
    deps: [data]
    params: [seed]
    outs: [out]
  train:
    cmd:
      - cp out/x.txt model.txt
      - "echo '{\\"acc\\": 1}' > m.json"
    deps: [out/x.txt]
    params: [train.lr, train.epochs]
    outs: [model.txt]
    metrics:
      - m.json:
          cache: false
`,
    });
    const res = await repro(dir);
    assert.equal(res.ok, true, res.log.join("\n"));
    // md5s from md5sum / Python's json.dumps for the .dir hashes.
    const expected = `schema: '2.0'
stages:
  prepare:
    cmd: mkdir -p out && cp data/a.txt out/x.txt && cp data/b.txt out/y.txt
    deps:
    - path: data
      hash: md5
      md5: 14009e6cb73f8f2af131ea3aa88ece02.dir
      size: 10
      nfiles: 2
    params:
      params.yaml:
        seed: 42
    outs:
    - path: out
      hash: md5
      md5: cbe0eddfc5f0c25953ed7d9bd218cdc8.dir
      size: 10
      nfiles: 2
  train:
    cmd:
    - cp out/x.txt model.txt
    - 'echo ''{"acc": 1}'' > m.json'
    deps:
    - path: out/x.txt
      hash: md5
      md5: f2b33fb7b3d0eb95090a16060e6a24f9
      size: 6
    params:
      params.yaml:
        train.epochs: 2
        train.lr: 0.1
    outs:
    - path: m.json
      hash: md5
      md5: 3f71a31dad1360002379e8f9539df33e
      size: 11
    - path: model.txt
      hash: md5
      md5: f2b33fb7b3d0eb95090a16060e6a24f9
      size: 6
`;
    assert.equal(read(dir, "dvc.lock"), expected);
    // the out directory and its manifest are in the cache under files/md5/<2>/<30>
    assert.ok(fs.existsSync(path.join(dir, ".dvc/cache/files/md5/cb/e0eddfc5f0c25953ed7d9bd218cdc8.dir")));
    assert.ok(fs.existsSync(path.join(dir, ".dvc/cache/files/md5/f2/b33fb7b3d0eb95090a16060e6a24f9")));
  });
});
