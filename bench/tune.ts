/**
 * `polarity tune`'s default grid (3 preprocessings × 2 feature kinds × 8 model settings = 48
 * configurations) × 5 folds on the built-in UCI sentences — the command itself, end to end
 * (node start-up, data loading and worker start-up included; once with --no-track, once
 * logging the parent and 48 child runs to a fresh SQLite store) — next to scikit-learn's
 * GridSearchCV(n_jobs=2) over the same grid on the same folds (our tokens, joined by spaces,
 * fed to sklearn's vectorizers with a whitespace analyzer; NBSVM has no sklearn counterpart,
 * so its two slots are LinearSVC on binary counts). Without python3 + sklearn only our
 * figure is printed.
 *
 * scikit-learn runs one GridSearchCV per preprocessing × model family (the same 48 fits in
 * 9 calls) and stops starting new ones after --sklearn-max-seconds (default 240; 0 = skip it),
 * printing how many configurations it reached; the speed-up is then a per-configuration rate.
 *
 * --rounds R (default 3) alternates the three runs R times (ours untracked, ours tracked,
 * scikit-learn) and prints each round's speed-up, then the medians with their range.
 *
 * The CLI is the current src/ built as `npm run build` builds the bin users run (dist/cli/main.cjs:
 * src/cli/bundle.ts's launcher and esbuild bundles), into a temporary folder (a stale dist/ would
 * time yesterday's code). Until 2026-12-02 this bench ran a file-by-file esbuild transpile
 * (lib/current-cli.ts), whose ~100 separately resolved and read modules of ours cost the main
 * thread and each fold worker start-up time no user sees; `--unbundled` still times that build,
 * and POLARITY_BENCH_CLI=<main.js or main.cjs> another one.
 *
 *   npm run bench:tune [-- --jobs 2] [--rounds 3] [--sklearn-max-seconds 240] [--unbundled]
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { loadUciSentences } from "../src/data/builtin.js";
import { createPreprocessor } from "../src/text/preprocess.js";
import { DEFAULT_SEARCH_SPACE, expandSpace } from "../src/tuning/space.js";
import { stratifiedKFold } from "../src/util/stratified-split.js";
import { currentCli, type CurrentCli } from "./lib/current-cli.js";

const jobsFlag = process.argv.indexOf("--jobs");
const jobs = jobsFlag >= 0 ? Number(process.argv[jobsFlag + 1]) : 2;
const capFlag = process.argv.indexOf("--sklearn-max-seconds");
const sklearnMaxSeconds = capFlag >= 0 ? Number(process.argv[capFlag + 1]) : 240;
const roundsFlag = process.argv.indexOf("--rounds");
const rounds = roundsFlag >= 0 ? Math.max(1, Number(process.argv[roundsFlag + 1])) : 3;
const unbundled = process.argv.includes("--unbundled");
const FOLDS = 5;
const SEED = 42;

const PY = String.raw`
import sys, json, time, numpy as np
from sklearn.pipeline import Pipeline
from sklearn.feature_extraction.text import TfidfVectorizer, CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from sklearn.naive_bayes import MultinomialNB
from sklearn.model_selection import GridSearchCV, PredefinedSplit
d = sys.argv[1]; cap = float(sys.argv[2])
meta = json.load(open(d + "/meta.json"))
y = np.array(meta["labels"]); fold = np.array(meta["fold"])
split = PredefinedSplit(fold)
def split_ws(s):
    return s.split("\x01")
grid = [
  {"vec": [TfidfVectorizer(analyzer=split_ws, sublinear_tf=True), CountVectorizer(analyzer=split_ws)],
   "clf": [LogisticRegression(max_iter=1000)], "clf__C": [1, 10, 100]},
  {"vec": [TfidfVectorizer(analyzer=split_ws, sublinear_tf=True), CountVectorizer(analyzer=split_ws)],
   "clf": [LinearSVC()], "clf__C": [0.1, 1, 0.1, 1]},
  {"vec": [TfidfVectorizer(analyzer=split_ws, sublinear_tf=True), CountVectorizer(analyzer=split_ws)],
   "clf": [MultinomialNB(alpha=0.5)]},
]
total = 0.0; best = 0.0; done = 0; capped = False
for p in range(meta["preprocessings"]):
    docs = json.load(open(d + f"/docs{p}.json"))
    for sub in grid:
        if total > cap:
            capped = True; break
        gs = GridSearchCV(Pipeline([("vec", TfidfVectorizer()), ("clf", LogisticRegression())]), [sub], cv=split, n_jobs=2, scoring="accuracy")
        t = time.perf_counter(); gs.fit(docs, y); total += time.perf_counter() - t
        best = max(best, gs.best_score_); done += len(gs.cv_results_["params"])
print(json.dumps({"seconds": total, "best": best, "configs": done, "capped": capped}))
`;

/** Our tokens → "uni bi_gram" strings so sklearn sees the same 1–2-grams (bigrams joined by a space inside a token are impossible: tokens hold no spaces). */
function ngramDocs(tokens: string[][]): string[] {
  return tokens.map((t) => {
    const out = [...t];
    for (let i = 0; i + 1 < t.length; i++) out.push(`${t[i]} ${t[i + 1]}`);
    return out.join("\u0001");
  });
}

/**
 * The current src/ as the package's bin (`npm run build`'s last step, src/cli/bundle.ts) in
 * .bench/tune-cli-<pid>/dist/cli beside a copy of package.json, so the layout is dist/'s and
 * node_modules is found by walking up to the repository's; removed when this process exits.
 */
function bundledCli(root = process.cwd()): CurrentCli {
  const given = process.env.POLARITY_BENCH_CLI;
  if (given) return { main: resolve(given), label: `node ${given} (POLARITY_BENCH_CLI)` };
  const dir = join(root, ".bench", `tune-cli-${process.pid}`);
  const out = join(dir, "dist", "cli");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(root, "package.json"), join(dir, "package.json"));
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "src", "cli", "bundle.ts"), out], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bundling the CLI failed (${r.status}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  const main = join(out, "main.cjs");
  return {
    main,
    label: `node ${relative(root, main)} (the current src/ bundled by src/cli/bundle.ts in ${Math.round(performance.now() - t0)} ms, as npm run build makes the bin)`,
  };
}

interface CliRun {
  seconds: number;
  best: number;
  trials: number;
}

/** `polarity tune` on the default grid, end to end (node start-up included), in an empty directory (no params.yaml: the default space). */
function runCli(main: string, extra: string[]): CliRun {
  const cwd = mkdtempSync(join(tmpdir(), "polarity-tune-cli-"));
  try {
    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [main, "tune", "--dataset", "uci-sentences", "--folds", String(FOLDS), "--seed", String(SEED), "--jobs", String(jobs), "--json", ...extra],
      {
        cwd,
        encoding: "utf8",
        maxBuffer: 64 << 20,
      },
    );
    const seconds = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`polarity tune failed (${r.status}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    const out = JSON.parse(r.stdout) as { best: { mean: { accuracy: number } }; trials: unknown[] };
    return { seconds, best: out.best.mean.accuracy, trials: out.trials.length };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

interface SklearnRun {
  seconds: number;
  best: number;
  configs: number;
  capped: boolean;
}

/** scikit-learn's GridSearchCV over the same grid, folds and tokens (files written by main); null when python3 + sklearn are missing. */
function runSklearn(dir: string): SklearnRun | null {
  const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  const py = spawnSync(python, ["-c", PY, dir, String(sklearnMaxSeconds)], { encoding: "utf8" });
  if (py.status !== 0) {
    console.log(
      `# scikit-learn comparison skipped: ${py.error ? "python3 not found" : (py.stderr.trim().split("\n").pop() ?? "")} (apt-get install -y python3-sklearn)`,
    );
    return null;
  }
  return JSON.parse(py.stdout.trim().split("\n").pop() as string) as SklearnRun;
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

function median(a: number[]): number {
  const b = [...a].sort((x, y) => x - y);
  return b.length % 2 ? b[b.length >> 1] : (b[b.length / 2 - 1] + b[b.length / 2]) / 2;
}

async function main(): Promise<void> {
  const { texts, labels } = loadUciSentences();
  const configs = expandSpace(DEFAULT_SEARCH_SPACE);
  const cli = unbundled ? await currentCli() : bundledCli();
  console.log(
    `# tune bench: ${configs.length} configurations × ${FOLDS} folds on ${texts.length} UCI sentences, ${jobs} worker(s), ${rounds} round(s), ${cli.label}; load ${load()}`,
  );
  // The same folds and tokens for scikit-learn.
  const dir = mkdtempSync(join(tmpdir(), "polarity-tune-bench-"));
  const ratios: { untracked: number; tracked: number }[] = [];
  const times: { untracked: number[]; tracked: number[]; sklearn: number[] } = { untracked: [], tracked: [], sklearn: [] };
  try {
    const fold = new Array<number>(texts.length).fill(-1);
    stratifiedKFold(labels, { k: FOLDS, shuffle: true, seed: SEED }).forEach((s, f) => s.test.forEach((i) => (fold[i] = f)));
    const preprocessings = [...new Map(configs.map((c) => [c.preprocessName, c.preprocess])).values()];
    preprocessings.forEach((p, i) => {
      const tokenize = createPreprocessor(p);
      writeFileSync(join(dir, `docs${i}.json`), JSON.stringify(ngramDocs(texts.map((t) => tokenize(t)))));
    });
    writeFileSync(join(dir, "meta.json"), JSON.stringify({ labels, fold, preprocessings: preprocessings.length }));
    // Alternated rounds: ours untracked, ours tracked, then scikit-learn, so load drifts hit all three.
    for (let round = 1; round <= rounds; round++) {
      const untracked = runCli(cli.main, ["--no-track"]);
      times.untracked.push(untracked.seconds);
      console.log(
        `round ${round}: polarity tune --no-track: ${untracked.seconds.toFixed(2)} s (${untracked.trials} trials), best mean accuracy ${untracked.best.toFixed(4)}; load ${load()}`,
      );
      const tracked = runCli(cli.main, ["--tracking-uri", "sqlite:///mlruns.db"]);
      times.tracked.push(tracked.seconds);
      console.log(
        `round ${round}: polarity tune (49 runs logged to SQLite): ${tracked.seconds.toFixed(2)} s, best mean accuracy ${tracked.best.toFixed(4)}; load ${load()}`,
      );
      if (!(sklearnMaxSeconds > 0)) continue;
      const sk = runSklearn(dir);
      if (sk === null) continue;
      times.sklearn.push(sk.seconds);
      console.log(
        `round ${round}: sklearn GridSearchCV(n_jobs=2): ${sk.seconds.toFixed(2)} s for ${sk.configs} of ${configs.length} configurations${sk.capped ? ` (stopped after --sklearn-max-seconds ${sklearnMaxSeconds})` : ""}, best mean accuracy ${sk.best.toFixed(4)}; load ${load()}`,
      );
      // Per configuration, in case scikit-learn was capped.
      const perConfig = sk.seconds / sk.configs;
      const r = { untracked: perConfig / (untracked.seconds / configs.length), tracked: perConfig / (tracked.seconds / configs.length) };
      ratios.push(r);
      console.log(
        `round ${round}: speed-up ${r.untracked.toFixed(2)}x --no-track, ${r.tracked.toFixed(2)}x tracked${sk.configs < configs.length ? " (per configuration)" : ""}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const spread = (a: number[], d = 2): string => `median ${median(a).toFixed(d)} [${Math.min(...a).toFixed(d)} … ${Math.max(...a).toFixed(d)}]`;
  console.log(`# ours --no-track: ${spread(times.untracked)} s; tracked: ${spread(times.tracked)} s`);
  if (ratios.length > 0) {
    console.log(`# sklearn: ${spread(times.sklearn)} s`);
    console.log(
      `speed-up over ${ratios.length} round(s): --no-track ${spread(ratios.map((r) => r.untracked))}x, tracked ${spread(ratios.map((r) => r.tracked))}x; load ${load()}`,
    );
  }
}

await main();
