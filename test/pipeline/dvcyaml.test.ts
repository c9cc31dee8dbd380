import { describe, it } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import YAML from "yaml";
import { loadPipeline, parsePipeline } from "../../src/pipeline/dvcyaml.js";
import { buildDag, renderDot, renderMermaid, selectStages, topoOrder } from "../../src/pipeline/dag.js";
import { DataError } from "../../src/util/errors.js";
import { makeProject } from "./helpers.js";

function parse(dir: string, yaml: string) {
  return parsePipeline(dir, YAML.parse(yaml));
}

describe("dvc.yaml parsing", () => {
  it("reads every stage field and all three params forms", () => {
    const dir = makeProject({ "params.yaml": "lr: 0.1\ntrain:\n  epochs: 3\n", "other.yaml": "a: 1\nb: 2\n", "all.json": '{"x": 1}' });
    const p = parse(
      dir,
      `
stages:
  train:
    desc: trains
    cmd: [echo one, echo two]
    wdir: .
    deps: [data.csv]
    params:
      - lr
      - train.epochs
      - other.yaml: [b]
      - all.json:
    outs:
      - model.bin
      - cache_off.txt:
          cache: false
          persist: true
    metrics:
      - m.json:
          cache: false
    plots:
      - loss.csv:
          x: step
          y: loss
    frozen: true
    always_changed: false
`,
    );
    const s = p.byName.get("train")!;
    assert.deepEqual(s.cmd, ["echo one", "echo two"]);
    assert.equal(s.desc, "trains");
    assert.equal(s.frozen, true);
    assert.deepEqual(
      s.params.map((d) => [d.file, d.keys]),
      [
        ["params.yaml", ["lr", "train.epochs"]],
        ["other.yaml", ["b"]],
        ["all.json", null],
      ],
    );
    assert.deepEqual(
      s.outs.map((o) => [o.path, o.kind, o.cache, o.persist]),
      [
        ["model.bin", "outs", true, false],
        ["cache_off.txt", "outs", false, true],
        ["m.json", "metrics", false, false],
        ["loss.csv", "plots", true, false],
      ],
    );
    assert.deepEqual(s.outs[3].plot, { x: "step", y: "loss" });
    assert.equal(s.deps[0].abs, path.join(dir, "data.csv"));
  });

  it("interpolates ${…} from vars and params.yaml, keeping types, and tracks params.yaml keys used", () => {
    const dir = makeProject({ "params.yaml": "train:\n  lr: 0.5\n  layers: [8, 4]\n", "custom.yaml": "seed: 7\n" });
    const p = parse(
      dir,
      `
vars:
  - custom.yaml
  - outdir: results
stages:
  fit:
    cmd: python fit.py --lr \${train.lr} --first \${train.layers[0]} --seed \${seed} > \${outdir}/log
    outs:
      - \${outdir}/model
`,
    );
    const s = p.byName.get("fit")!;
    assert.equal(s.cmd, "python fit.py --lr 0.5 --first 8 --seed 7 > results/log");
    assert.equal(s.outs[0].path, "results/model");
    assert.deepEqual(
      s.params.map((d) => [d.file, d.keys]),
      [["params.yaml", ["train.lr", "train.layers.0"]]],
    );
  });

  it("expands foreach/do over a list and a mapping into name@item stages", () => {
    const dir = makeProject({});
    const p = parse(
      dir,
      `
vars:
  - models: {small: 10, large: 100}
stages:
  clean:
    foreach: [en, fr]
    do:
      cmd: clean \${item}
      outs:
        - clean-\${item}.txt
  fit:
    foreach: \${models}
    do:
      cmd: fit --name \${key} --size \${item}
`,
    );
    assert.deepEqual(
      p.stages.map((s) => [s.name, s.cmd]),
      [
        ["clean@en", "clean en"],
        ["clean@fr", "clean fr"],
        ["fit@small", "fit --name small --size 10"],
        ["fit@large", "fit --name large --size 100"],
      ],
    );
  });

  it("names the file, the stage and the field in errors", () => {
    const dir = makeProject({});
    const cases: Array<[string, RegExp]> = [
      ["stages:\n  train:\n    cmd: x\n    deps: [a, b, {c: 1}]\n", /^dvc\.yaml: stage 'train': deps\[2\]: expected a path string$/],
      ["stages:\n  train:\n    deps: [a]\n", /dvc\.yaml: stage 'train': cmd: missing/],
      ["stages:\n  train:\n    cmd: x\n    outz: [a]\n", /dvc\.yaml: stage 'train': unknown field 'outz'/],
      ["stages:\n  train:\n    cmd: x\n    frozen: yes please\n", /dvc\.yaml: stage 'train': frozen: expected true or false/],
      ["stages:\n  train:\n    cmd: echo ${nope.x}\n", /dvc\.yaml: stage 'train': cmd: could not find 'nope\.x'/],
      [
        "stages:\n  train:\n    cmd: x\n    outs:\n      - m.bin:\n          cache: maybe\n",
        /stage 'train': outs\[0\]: 'm\.bin': cache: expected true or false/,
      ],
      ["stages:\n  train:\n    cmd: x\n    deps: [../outside]\n", /stage 'train': deps\[0\]: '\.\.\/outside' is outside the project/],
    ];
    for (const [yaml, re] of cases)
      assert.throws(
        () => parse(dir, yaml),
        (e: unknown) => e instanceof DataError && re.test(e.message),
        yaml,
      );
  });

  it("reports malformed YAML and a missing dvc.yaml with the file name", () => {
    const dir = makeProject({ "dvc.yaml": "stages: [unclosed\n" });
    assert.throws(() => loadPipeline(dir), /dvc\.yaml: invalid YAML/);
    assert.throws(() => loadPipeline(makeProject({})), /dvc\.yaml not found/);
  });
});

describe("pipeline DAG", () => {
  const yaml = `
stages:
  prepare: {cmd: p, deps: [raw], outs: [prepared]}
  featurize: {cmd: f, deps: [prepared/train.csv], outs: [features]}
  train: {cmd: t, deps: [features], outs: [model]}
  report: {cmd: r, deps: [raw], outs: [report.md]}
`;

  it("links stages from outs to deps (including files inside an out directory) and orders them", () => {
    const dag = buildDag(parse(makeProject({}), yaml));
    assert.deepEqual(topoOrder(dag), ["prepare", "featurize", "train", "report"]);
    assert.deepEqual([...selectStages(dag, ["train"], {})].sort(), ["featurize", "prepare", "train"]);
    assert.deepEqual([...selectStages(dag, ["featurize"], { downstream: true })].sort(), ["featurize", "train"]);
    assert.deepEqual([...selectStages(dag, ["train"], { single: true })], ["train"]);
    assert.equal(
      renderMermaid(dag),
      'flowchart TD\n\tnode1["prepare"]\n\tnode2["featurize"]\n\tnode3["train"]\n\tnode4["report"]\n\tnode1-->node2\n\tnode2-->node3\n',
    );
    assert.match(renderDot(dag), /"prepare" -> "featurize";/);
  });

  it("rejects a cycle, naming the stages in it", () => {
    const p = parse(makeProject({}), "stages:\n  a: {cmd: x, deps: [b.out], outs: [a.out]}\n  b: {cmd: y, deps: [a.out], outs: [b.out]}\n");
    assert.throws(() => buildDag(p), /dvc\.yaml: the pipeline has a cycle: a -> b -> a/);
  });

  it("rejects two stages writing the same output, naming both", () => {
    const p = parse(makeProject({}), "stages:\n  a: {cmd: x, outs: [model.bin]}\n  b: {cmd: y, outs: [model.bin]}\n");
    assert.throws(() => buildDag(p), /output 'model\.bin' is specified in stages 'a' and 'b'/);
    const q = parse(makeProject({}), "stages:\n  a: {cmd: x, outs: [out]}\n  b: {cmd: y, outs: [out/sub.txt]}\n");
    assert.throws(() => buildDag(q), /outputs overlap: 'out' \(stage 'a'\) and 'out\/sub\.txt' \(stage 'b'\)/);
  });

  it("an unknown target names the stages that exist", () => {
    const dag = buildDag(parse(makeProject({}), yaml));
    assert.throws(() => selectStages(dag, ["trian"], {}), /stage 'trian' not found in dvc\.yaml \(stages: prepare, featurize, train, report\)/);
  });
});
