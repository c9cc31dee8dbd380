import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { cli, git, makeProject, read, writeFiles } from "./helpers.js";
import { dumpYaml, parseYamlKeepingFloats, parseYamlPlain, pyFloatRepr, pyJsonDumps, YamlFloat } from "../../src/pipeline/yaml-values.js";
import { runCacheKey, runCacheValueName } from "../../src/pipeline/run-cache.js";
import { makeTempDir } from "../support/temp-dir.js";

// Issue 11, "DVC formats": what DVC 3 and Polarity must agree on, byte for byte.

const md5 = (s: string): string => createHash("md5").update(s).digest("hex");

/** A project inside its own git repository (DVC writes .gitignore entries only with git). */
function gitProject(files: Record<string, string>): string {
  const dir = makeProject(files);
  git(dir, "init", "-q");
  return dir;
}

describe("run-cache keys are DVC's", () => {
  // Expected values computed with DVC's own algorithm on this fixture (dvc/stage/cache.py
  // `_get_cache_hash` + dvc/utils `dict_filter`/`dict_sha256`, i.e. sha256 of
  // json.dumps(entry without size/nfiles, sort_keys=True), outs reduced to paths for the key),
  // by a 15-line Python script replaying those functions on the dict below (python3, no DVC):
  //   entry = {"cmd": "cat in.txt > out.txt",
  //            "deps": [{"path": "in.txt", "hash": "md5", "md5": md5("hello\n"), "size": 6}],
  //            "params": {"params.yaml": {"train.C": 10.0, "train.label_map": None,
  //                                        "train.max_iter": 100, "train.name": "lr \u00e9"}},
  //            "outs": [{"path": "out.txt", "hash": "md5", "md5": md5("hello\n"), "size": 6}]}
  const KEY = "575547b6ff206e40e4e6b5f472dd73a1384811005cae4095da76628f6c2740fc";
  const VALUE = "bab1e06c8d7d08f5cd50f57805ccb71bb77a5fa3b713136a5dc38a10356f4208";

  it("repro files the run under DVC's key and value names (no size/nfiles, float params as floats)", () => {
    const dir = makeProject({
      "in.txt": "hello\n",
      "params.yaml": "train:\n  C: 10.0\n  max_iter: 100\n  label_map:\n  name: lr é\n",
      "dvc.yaml":
        "stages:\n  train:\n    cmd: cat in.txt > out.txt\n    deps: [in.txt]\n    params: [train.C, train.max_iter, train.label_map, train.name]\n    outs: [out.txt]\n",
    });
    const r = cli(dir, ["repro"]);
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(dir, ".dvc/cache/runs", KEY.slice(0, 2), KEY, VALUE);
    assert.ok(
      fs.existsSync(file),
      `run-cache entry at runs/${KEY.slice(0, 2)}/${KEY}/${VALUE}; found: ${fs.readdirSync(path.join(dir, ".dvc/cache/runs"), { recursive: true }).join(", ")}`,
    );
    assert.match(fs.readFileSync(file, "utf8"), /size: 6/, "the stored entry itself keeps sizes, as DVC's does");
  });

  it("the key ignores size and nfiles at any depth, and the value name covers out hashes", () => {
    const base = {
      cmd: "x",
      deps: [{ path: "d", hash: "md5" as const, md5: md5("a"), size: 1, nfiles: 2 }],
      outs: [{ path: "o", hash: "md5" as const, md5: md5("b"), size: 3 }],
    };
    const resized = { ...base, deps: [{ ...base.deps[0], size: 99, nfiles: 7 }], outs: [{ ...base.outs[0], size: 42 }] };
    assert.equal(runCacheKey(base), runCacheKey(resized));
    assert.equal(runCacheValueName(base), runCacheValueName(resized));
    const otherOut = { ...base, outs: [{ ...base.outs[0], md5: md5("c") }] };
    assert.equal(runCacheKey(base), runCacheKey(otherOut));
    assert.notEqual(runCacheValueName(base), runCacheValueName(otherOut));
  });

  it("json.dumps and float repr match Python's", () => {
    assert.equal(
      pyJsonDumps({ b: [1, new YamlFloat(10), null, true], a: "é\u007f\n", c: { y: 1.5, x: 2 } }),
      '{"a": "\\u00e9\\u007f\\n", "b": [1, 10.0, null, true], "c": {"x": 2, "y": 1.5}}',
    );
    const cases: Array<[number, string]> = [
      [10, "10.0"],
      [1e-6, "1e-06"],
      [0.0001, "0.0001"],
      [1e16, "1e+16"],
      [123456789012345.6, "123456789012345.6"],
      [-2.5e-7, "-2.5e-07"],
      [0.1 + 0.2, "0.30000000000000004"],
      [1.5e300, "1.5e+300"],
    ];
    for (const [x, py] of cases) assert.equal(pyFloatRepr(x), py, String(x));
  });
});

describe("dvc.lock keeps params as DVC writes them", () => {
  it("C: 10.0 stays 10.0, an empty value stays empty (not null), and a second writer changes nothing", () => {
    const dir = makeProject({
      "params.yaml": "train:\n  C: 10.0\n  tol: 1e-4\n  small: 1e-6\n  max_iter: 100\n  label_map:\n",
      "dvc.yaml":
        "stages:\n  a:\n    cmd: echo ${train.C} > a.txt\n    params: [train.C, train.tol, train.small, train.max_iter, train.label_map]\n    outs: [a.txt]\n  b:\n    cmd: echo b > b.txt\n    params: [train.C]\n    outs: [b.txt]\n",
    });
    assert.equal(cli(dir, ["repro", "a"]).code, 0);
    const lock = read(dir, "dvc.lock");
    assert.match(lock, /\n {8}train\.C: 10\.0\n {8}train\.label_map:\n {8}train\.max_iter: 100\n {8}train\.small: 1\.0e-06\n {8}train\.tol: 0\.0001\n/);
    assert.equal(read(dir, "a.txt"), "10.0\n", "${train.C} interpolates as Python's str(10.0)");
    assert.equal(cli(dir, ["repro", "b"]).code, 0);
    assert.ok(read(dir, "dvc.lock").startsWith(lock.slice(0, lock.indexOf("    outs:"))), "stage a's entry is rewritten unchanged");
    assert.equal(cli(dir, ["status"]).stdout, "Data and pipelines are up to date.\n");
    // 10.0 → 10 is not a param change for DVC (Python: 10.0 == 10), but `${train.C}` now reads "10".
    writeFiles(dir, { "params.yaml": "train:\n  C: 10\n  tol: 1e-4\n  small: 1e-6\n  max_iter: 100\n  label_map:\n" });
    assert.equal(cli(dir, ["status", "b"]).stdout, "Data and pipelines are up to date.\n");
    assert.equal(cli(dir, ["status", "a"]).stdout, "a:\n\tchanged command\n");
  });

  it("a parse served from the content-addressed cache equals a fresh parse (floats, NaN, nesting)", () => {
    const text = `a: 10.0\nb: 10\nc: .nan\nd: [1.5, -.inf, null, "x"]\ne: {f: 2.0e+3}\n# ${process.pid}-${Date.now()}\n`;
    const first = parseYamlKeepingFloats(text);
    const second = parseYamlKeepingFloats(text);
    assert.deepEqual(second, first);
    assert.ok((second as { a: unknown }).a instanceof YamlFloat);
    assert.equal(dumpYaml(second), dumpYaml(first));
    assert.equal(dumpYaml(second), "a: 10.0\nb: 10\nc: .nan\nd:\n- 1.5\n- -.inf\n-\n- x\ne:\n  f: 2000.0\n");
    const plain = `n: .nan\ni: .inf\n# ${process.pid}-${Date.now()}\n`;
    parseYamlPlain(plain);
    assert.deepEqual(parseYamlPlain(plain), { n: NaN, i: Infinity });
  });

  it("a cached parse is used only for the very text it came from (the file name is a 32-bit hash, a collision only misses)", () => {
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = makeTempDir("polarity-yaml-cache-").dir;
    try {
      const text = "a: 1.5\nb: x\n";
      assert.deepEqual(parseYamlPlain(text), { a: 1.5, b: "x" });
      const folder = path.join(process.env.XDG_CACHE_HOME, "polarity", "yaml");
      const [name, ...others] = fs.readdirSync(folder);
      assert.equal(others.length, 0);
      const file = path.join(folder, name);
      const entry = JSON.parse(fs.readFileSync(file, "utf8")) as { text: string; value: unknown };
      assert.equal(entry.text, text);
      // Same text, another value: the cache answers (so it is what a second parse reads) ...
      fs.writeFileSync(file, JSON.stringify({ text, value: { a: 2, b: "cached" } }));
      assert.deepEqual(parseYamlPlain(text), { a: 2, b: "cached" });
      // ... but under another text (as a colliding hash would leave it) it is ignored and replaced.
      fs.writeFileSync(file, JSON.stringify({ text: "a: 2\nb: cached\n", value: { a: 2, b: "cached" } }));
      assert.deepEqual(parseYamlPlain(text), { a: 1.5, b: "x" });
      assert.equal((JSON.parse(fs.readFileSync(file, "utf8")) as { text: string }).text, text);
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
  });

  it("parses of one file share one cache entry named by its path: a changed file replaces it, the same text without a path has its own", () => {
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = makeTempDir("polarity-yaml-cache-").dir;
    try {
      const folder = path.join(process.env.XDG_CACHE_HOME, "polarity", "yaml");
      const source = path.join(process.env.XDG_CACHE_HOME, "project", "params.yaml");
      assert.deepEqual(parseYamlKeepingFloats("C: 1.0\n", source), { C: new YamlFloat(1) });
      const [name, ...others] = fs.readdirSync(folder);
      assert.equal(others.length, 0);
      // An edit of the same length (as a changed md5 in dvc.lock): the entry is replaced, not added to.
      assert.deepEqual(parseYamlKeepingFloats("C: 2.0\n", source), { C: new YamlFloat(2) });
      assert.deepEqual(fs.readdirSync(folder), [name]);
      assert.equal((JSON.parse(fs.readFileSync(path.join(folder, name), "utf8")) as { text: string }).text, "C: 2.0\n");
      // Served from the entry (a second parse of the same file reads it) ...
      fs.writeFileSync(path.join(folder, name), JSON.stringify({ text: "C: 2.0\n", value: { C: { "\u0000float": "3" } } }));
      assert.deepEqual(parseYamlKeepingFloats("C: 2.0\n", source), { C: new YamlFloat(3) });
      // ... while the same text from another file, or from no file, is parsed on its own.
      assert.deepEqual(parseYamlKeepingFloats("C: 2.0\n", `${source}.other`), { C: new YamlFloat(2) });
      assert.deepEqual(parseYamlKeepingFloats("C: 2.0\n"), { C: new YamlFloat(2) });
      assert.equal(fs.readdirSync(folder).length, 3);
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
  });

  it("dumpYaml writes None as an empty value, also in lists", () => {
    assert.equal(dumpYaml({ a: null, l: [null, 1], f: parseYamlKeepingFloats("x: 2.50") }), "a:\nl:\n-\n- 1\nf:\n  x: 2.5\n");
  });
});

describe("params diff and metrics show as DVC", () => {
  it("params diff shows 10.0 -> 1.0; metrics show keeps non-numeric fields", () => {
    const dir = gitProject({
      "params.yaml": "train:\n  C: 10.0\n",
      "m.sh": 'echo \'{"acc": 0.5, "model": "logreg", "ok": true}\' > m.json\n',
      "dvc.yaml": "stages:\n  m:\n    cmd: sh m.sh\n    params: [train.C]\n    metrics:\n      - m.json:\n          cache: false\n",
    });
    git(dir, "add", "params.yaml", "dvc.yaml");
    git(dir, "commit", "-qm", "start");
    writeFiles(dir, { "params.yaml": "train:\n  C: 1.0\n" });
    const diff = cli(dir, ["params", "diff"]);
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /^params\.yaml\s+train\.C\s+10\.0\s+1\.0$/m);
    assert.equal(cli(dir, ["repro"]).code, 0);
    const show = cli(dir, ["metrics", "show", "--json"]);
    assert.deepEqual(JSON.parse(show.stdout), { "m.json": { data: { acc: 0.5, model: "logreg", ok: true } } });
    assert.match(cli(dir, ["metrics", "show"]).stdout, /m\.json\s+0\.5\s+logreg\s+true/);
  });
});

describe("repro and .gitignore", () => {
  it("writes /name to the .gitignore beside each cached output (not metrics with cache: false, not what git already ignores)", () => {
    const dir = gitProject({
      ".gitignore": "/ignored/\n",
      "dvc.yaml":
        "stages:\n  s:\n    cmd: mkdir -p data models ignored && echo 1 > data/raw.csv && echo 2 > models/model.json && echo 3 > ignored/x && echo '{}' > m.json\n    outs: [data/raw.csv, models, ignored/x]\n    metrics:\n      - m.json:\n          cache: false\n",
    });
    const r = cli(dir, ["repro"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(read(dir, "data/.gitignore"), "/raw.csv\n");
    assert.equal(read(dir, ".gitignore"), "/ignored/\n/models\n");
    assert.equal(fs.existsSync(path.join(dir, "ignored/.gitignore")), false);
    const status = cli(dir, ["repro", "-f"]);
    assert.equal(status.code, 0);
    assert.equal(read(dir, ".gitignore"), "/ignored/\n/models\n", "entries are written once");
  });

  it("outside git nothing is written (as DVC without SCM)", () => {
    const dir = makeProject({ "dvc.yaml": "stages:\n  s:\n    cmd: echo 1 > out.txt\n    outs: [out.txt]\n" });
    assert.equal(cli(dir, ["repro"]).code, 0);
    assert.equal(fs.existsSync(path.join(dir, ".gitignore")), false);
  });
});

describe("checkout and pull when stages never ran", () => {
  it("exit non-zero naming each output that has no version info", () => {
    const dir = makeProject({
      ".dvc/config": "[core]\n    remote = store\n['remote \"store\"']\n    url = ../store\n",
      "dvc.yaml":
        "stages:\n  ingest:\n    cmd: mkdir -p data/raw && echo 1 > data/raw/a.csv\n    outs: [data/raw]\n  train:\n    cmd: echo 2 > model.json\n    deps: [data/raw]\n    outs: [model.json]\n",
    });
    fs.mkdirSync(path.join(dir, "store"));
    for (const args of [["checkout"], ["pull"]]) {
      const r = cli(dir, args);
      assert.notEqual(r.code, 0, `${args[0]} must fail`);
      assert.match(r.stderr, /data\/raw: output of stage 'ingest' is missing version info \(the stage never ran\); run 'polarity repro' to produce it/);
      assert.match(r.stderr, /model\.json: output of stage 'train' is missing version info/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
    const one = cli(dir, ["checkout", "model.json"]);
    assert.notEqual(one.code, 0);
    assert.doesNotMatch(one.stderr, /data\/raw/);
    assert.equal(cli(dir, ["repro"]).code, 0);
    assert.equal(cli(dir, ["checkout"]).code, 0);
  });
});

describe("status as DVC prints it", () => {
  it("--json has DVC's shape, -q exits 1 when changed and 0 when up to date, 'not in cache' differs from 'deleted'", () => {
    const dir = makeProject({
      "in.txt": "x\n",
      "params.yaml": "train:\n  C: 10.0\n",
      "dvc.yaml": "stages:\n  s:\n    cmd: cat in.txt > out.txt\n    deps: [in.txt]\n    params: [train.C]\n    outs: [out.txt]\n",
    });
    const fresh = JSON.parse(cli(dir, ["status", "--json"]).stdout);
    assert.deepEqual(fresh, { s: [{ "changed deps": { "in.txt": "modified", "params.yaml": "new" } }, { "changed outs": { "out.txt": "deleted" } }] });
    assert.equal(cli(dir, ["status", "-q"]).code, 1);
    assert.equal(cli(dir, ["repro"]).code, 0);
    const q = cli(dir, ["status", "-q"]);
    assert.equal(q.code, 0);
    assert.equal(q.stdout, "");

    writeFiles(dir, { "params.yaml": "train:\n  C: 1.0\n" });
    fs.rmSync(path.join(dir, "out.txt"));
    assert.deepEqual(JSON.parse(cli(dir, ["status", "--json"]).stdout), {
      s: [{ "changed deps": { "params.yaml": { "train.C": "modified" } } }, { "changed outs": { "out.txt": "deleted" } }],
    });
    const text = cli(dir, ["status"]);
    assert.equal(
      text.stdout,
      "s:\n\tchanged deps:\n\t\tparams.yaml:\n\t\t\tmodified:                     train.C\n\tchanged outs:\n\t\tdeleted:                      out.txt\n",
    );

    writeFiles(dir, { "params.yaml": "train:\n  C: 10.0\n", "out.txt": "x\n" });
    fs.rmSync(path.join(dir, ".dvc/cache/files"), { recursive: true });
    const nic = cli(dir, ["status", "--json"]);
    assert.deepEqual(JSON.parse(nic.stdout), { s: [{ "changed outs": { "out.txt": "not in cache" } }] });
    assert.equal(cli(dir, ["status", "-q"]).code, 1);
  });
});
