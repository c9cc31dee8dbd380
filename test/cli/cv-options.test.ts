import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { applyPrepOverrides } from "../../src/cli/cv.js";
import { DEFAULT_PREPROCESS_CONFIG, LIGHT_PREPROCESS_CONFIG } from "../../src/text/preprocess.js";
import { makeTempDir } from "../support/temp-dir.js";

// Issue 13: `polarity cv --preprocess …` (and --prep overrides, --lexicon, --test, params.yaml defaults).

const root = fileURLToPath(new URL("../..", import.meta.url));
function polarity(args: string[], cwd = root): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), join(root, "src/cli/main.ts"), ...args], {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const json = (args: string[], cwd = root) => {
  const r = polarity([...args, "--json"], cwd);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown> & {
    preprocess: Record<string, unknown>;
    features: Record<string, unknown>;
    model: Record<string, unknown>;
  };
};

describe("polarity cv: preprocessing and defaults", { timeout: 300_000 }, () => {
  test("--prep key=value overrides one option of the chosen preprocessing, snake_case as in params.yaml", () => {
    const c = applyPrepOverrides(LIGHT_PREPROCESS_CONFIG, ["negation_scope=true", "min_token_length=2"]);
    assert.equal(c.negationScope, true);
    assert.equal(c.minTokenLength, 2);
    assert.equal(c.removeStopwords, false);
    assert.throws(() => applyPrepOverrides(DEFAULT_PREPROCESS_CONFIG, ["word_form"]), /--prep must be key=value/);
    assert.throws(
      () => applyPrepOverrides(DEFAULT_PREPROCESS_CONFIG, ["stemming=true"]),
      /--prep: unknown preprocess option 'stemming' \(known: nfkc, lowercase/,
    );
    assert.throws(() => applyPrepOverrides(DEFAULT_PREPROCESS_CONFIG, ["lowercase=maybe"]), /--prep: lowercase must be true or false, got "maybe"/);
  });

  test("--preprocess light|default picks the preprocessing; without it cv takes params.yaml's sections", () => {
    const dir = makeTempDir("polarity-cv-").dir;
    writeFileSync(
      join(dir, "params.yaml"),
      "preprocess:\n  remove_stopwords: false\n  word_form: lemma\nfeaturize:\n  kind: bow\n  lexicon: afinn\ntrain:\n  model: nb\n  nb:\n    alpha: 0.5\n",
    );
    const fromParams = json(["cv", "--folds", "2"], dir);
    assert.equal(fromParams.paramsFrom, "params.yaml");
    assert.equal(fromParams.preprocess.wordForm, "lemma");
    assert.equal(fromParams.preprocess.removeStopwords, false);
    assert.deepEqual(fromParams.features, { kind: "bow", ngramRange: [1, 2], minDf: 1, maxDf: 1, maxFeatures: null, binary: false, lexicon: "afinn" });
    assert.deepEqual(fromParams.model, { kind: "nb", alpha: 0.5 });

    const light = json(["cv", "--folds", "2", "--preprocess", "light", "--prep", "negation_scope=true", "--model", "logreg", "--lexicon", "none"], dir);
    assert.deepEqual(light.preprocess, { ...LIGHT_PREPROCESS_CONFIG, negationScope: true });
    assert.deepEqual(light.model, { kind: "logreg" }, "another model does not inherit nb's hyperparameters");
    assert.equal(light.features.lexicon, undefined);

    const none = json(["cv", "--folds", "2", "--params", "none"], dir);
    assert.equal(none.paramsFrom, "built-in defaults");
    assert.deepEqual(none.preprocess, { ...DEFAULT_PREPROCESS_CONFIG });
    assert.deepEqual(none.model, { kind: "logreg" });
  });

  test("different preprocessing gives different CV results (the option reaches the folds)", () => {
    const a = json(["cv", "--folds", "3", "--params", "none", "--preprocess", "light"]);
    const b = json(["cv", "--folds", "3", "--params", "none", "--preprocess", "default"]);
    assert.notEqual((a.mean as { accuracy: number }).accuracy, (b.mean as { accuracy: number }).accuracy);
  });

  test("--test fits on the whole dataset and scores a separately supplied test set", () => {
    const dir = makeTempDir("polarity-cv-test-").dir;
    const rows = ["text,label", '"I love it, wonderful and great",1', '"terrible, awful and broken",0', "really good value,1", '"bad, I hate it",0'];
    writeFileSync(join(dir, "held-out.csv"), rows.join("\n") + "\n");
    const out = json(["cv", "--folds", "2", "--test", "held-out.csv"], dir);
    const t = out.test as { source: string; accuracy: number; n_test: number };
    assert.equal(t.source, "held-out.csv");
    assert.equal(t.n_test, 4);
    assert.equal(t.accuracy, 1, "four obvious sentences after training on the 3,000 UCI ones");
    const table = polarity(["cv", "--folds", "2", "--test", "held-out.csv"], dir);
    assert.match(table.stdout, /^test\s+1\.0000/m);
    assert.match(table.stdout, /test accuracy 1\.0000 on 4 texts from held-out\.csv \(fit on all 3000\)/);
  });

  test("bad flags are one-line errors with exit code 2", () => {
    for (const [args, message] of [
      [["--preprocess", "heavy"], /--preprocess must be one of 'light', 'default', 'params'/],
      [["--prep", "word_form=stem"], /--prep: wordForm must be one of 'none', 'porter', 'lemma', got "stem"/],
      [["--lexicon", "sentiwordnet"], /--lexicon must be one of 'none', 'afinn', 'vader'/],
      [["--features", "bow", "--sublinear-tf"], /--sublinear-tf applies to --features tfidf only/],
    ] as const) {
      const r = polarity(["cv", "--folds", "2", ...args]);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    }
    const p = polarity(["cv", "--folds", "2", "--params", "missing.yaml"]);
    assert.equal(p.status, 3, "a missing file is exit code 3 (not found)");
    assert.match(p.stderr, /missing\.yaml not found/);
    const r = polarity(["cv", "--folds", "2", "--test", "missing.csv"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /missing\.csv/);
  });
});
