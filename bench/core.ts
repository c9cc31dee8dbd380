/**
 * The ML core's benchmark (`npm run bench`): for the built-in data and for synthetic corpora of
 * 10^5 and 10^6 short documents (~12 tokens), documents/s for preprocessing, vectorizing
 * (TF-IDF 1–2-grams) and L2 logistic regression fitting; the end-to-end fit time and its peak
 * RSS; batch prediction (preprocess + vectorize + score) texts/s; the solver's iterations and
 * objective; and our fit time over Debian's liblinear's on the same TF-IDF matrix at equal
 * objective.
 *
 *   npm run bench                                  # uci, 100000, 1000000
 *   npm run bench -- --corpora uci,100000 --no-liblinear --from-file 100000
 *
 * "from file" lines: the whole process of training from a CSV file (text,label) — start the
 * runtime, read and parse the file, TF-IDF 1–2-grams on words as written, LR C = 1 — timed
 * from outside with its peak RSS, next to scikit-learn's whole process on the same file
 * (TfidfVectorizer(ngram_range=(1, 2)) + LogisticRegression(solver="liblinear")) when
 * Debian's python3-sklearn is installed (/usr/bin/python3), alternated twice each; the best
 * of each is compared. Not run by CI and never needed by the tests.
 *
 * Each measurement runs in its own child process, so every peak RSS is that step's alone.
 * LR fits use the default threads ('auto': from PARALLEL_MIN_NNZ non-zeros the loss/gradient
 * runs by columns on the main thread + a worker); the "1 thread" line refits the same matrix
 * single-threaded (still by columns from that size).
 * The "batch prediction, …" lines score the same batch with PredictionPool: main thread +
 * 1 worker (its default), and 2 workers with the main thread idle; start-up (workers
 * rebuilding the model from JSON) is timed separately. Rates are wall-clock; the load average is printed because the machine
 * has 2 cores.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatDatasetCsv, readDatasetCsv } from "../src/data/files.js";
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { loadUciSentences } from "../src/data/builtin.js";
import { generateSyntheticCorpus } from "../src/data/synthetic.js";
import { prestartCountWorker } from "../src/features/parallel-count.js";
import { TfidfVectorizer } from "../src/features/vectorizer.js";
import type { Label } from "../src/models/estimator.js";
import { LogisticRegression } from "../src/models/logistic-regression.js";
import { PredictionPool } from "../src/models/parallel/predict-pool.js";
import { PARALLEL_MIN_NNZ, resolveThreads } from "../src/models/parallel/split-objective.js";
import { SentimentModel, handOverTexts } from "../src/models/sentiment-model.js";
import { DEFAULT_PREPROCESS_CONFIG, LIGHT_PREPROCESS_CONFIG, preprocessMany } from "../src/text/preprocess.js";
import { compareWithLiblinear, describeComparison, ensureLiblinear, seconds } from "./lib/liblinear.js";

type Mode = "steps" | "e2e" | "liblinear" | "file";
const PREDICT_BATCH = 200_000;
const NGRAMS: [number, number] = [1, 2];

function corpus(name: string, seed = 7): { texts: string[]; labels: Label[] } {
  if (name === "uci") return loadUciSentences();
  return generateSyntheticCorpus({ n: Number(name), seed });
}

/** Texts the model has not seen: another synthetic draw, or the built-in sentences repeated. */
function heldOut(name: string): string[] {
  if (name !== "uci") return corpus(String(Math.min(Number(name), PREDICT_BATCH)), 8).texts;
  const uci = loadUciSentences().texts;
  return Array.from({ length: PREDICT_BATCH }, (_, i) => uci[i % uci.length]);
}

const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024;
/**
 * Minor page faults of the whole process so far: each is a page touched for the first time. On
 * this project's benchmark VM a first touch costs ~4 ms per MB (a fill of fresh memory runs ~80x
 * slower than a second fill), so the faults explain much of both the time and the peak RSS.
 */
const pageFaults = (): number => process.resourceUsage().minorPageFault;
/** CPU time of the whole process so far (all threads), which the load of other processes distorts less than wall time. */
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

async function child(mode: Mode, name: string): Promise<Record<string, number | string>> {
  if (mode === "file") {
    // \`name\` is the CSV path here. Words as written: no stopwords, stems or negation scope.
    // The texts (and the file's string) are handed over, so trainAsync drops them once
    // vectorised: only the matrix and the labels stay for the fit.
    const t0 = performance.now();
    // The counting worker loads while the file is read.
    prestartCountWorker();
    const data = await readDatasetCsv(name);
    const n = data.texts.length;
    const readS = seconds(t0);
    const faultsRead = pageFaults();
    // The library's file-to-model path: SentimentModel.trainAsync (counting on two threads; the
    // matrix is handed to the fit, which releases it once it has its column copy).
    let t = performance.now();
    let vectorizeS = 0;
    let rssVectorizeMb = 0;
    let faultsVectorize = 0;
    const model = await SentimentModel.trainAsync(handOverTexts(data.texts), data.labels, {
      preprocess: LIGHT_PREPROCESS_CONFIG,
      features: { kind: "tfidf", ngramRange: NGRAMS },
      model: { kind: "logreg", C: 1 },
      onProgress: (e) => {
        if (e.phase !== "vectorize" || e.done !== e.total || vectorizeS > 0) return;
        vectorizeS = seconds(t);
        rssVectorizeMb = peakRssMb();
        faultsVectorize = pageFaults();
        t = performance.now();
      },
    });
    const fitS = seconds(t);
    const threads = (model.vectorizer as { fitThreads: number }).fitThreads;
    const faults = pageFaults();
    return {
      n,
      features: model.nFeatures,
      rssMb: peakRssMb(),
      rssVectorizeMb,
      readS,
      vectorizeS,
      fitS,
      countThreads: threads,
      cpuS: cpuSeconds(),
      faultsRead,
      faultsVectorize: faultsVectorize - faultsRead,
      faultsFit: faults - faultsVectorize,
      faults,
    };
  }
  const { texts, labels } = corpus(name);
  const n = texts.length;
  if (mode === "steps") {
    let t = performance.now();
    const tokens = preprocessMany(texts, DEFAULT_PREPROCESS_CONFIG);
    const preprocessS = seconds(t);
    const tokensPerDoc = tokens.reduce((a, d) => a + d.length, 0) / n;
    t = performance.now();
    const X = new TfidfVectorizer({ ngramRange: NGRAMS }).fitTransform(tokens);
    const vectorizeS = seconds(t);
    t = performance.now();
    const lr = new LogisticRegression({ C: 1 }).fit(X, labels);
    const fitS = seconds(t);
    t = performance.now();
    lr.predictProba(X);
    const scoreS = seconds(t);
    // The same fit on one thread: what the worker thread of the 'auto' default buys.
    t = performance.now();
    const serial = new LogisticRegression({ C: 1, threads: 1 }).fit(X, labels);
    const fitSerialS = seconds(t);
    return {
      n,
      tokensPerDoc,
      features: X.cols,
      nnz: X.indptr[X.rows],
      preprocessDocsPerS: n / preprocessS,
      vectorizeDocsPerS: n / vectorizeS,
      fitDocsPerS: n / fitS,
      fitS,
      fitSerialS,
      serialObjective: serial.fitReport?.objective ?? NaN,
      threads: resolveThreads("auto", X.indptr[X.rows]),
      iterations: lr.fitReport?.iterations ?? 0,
      objective: lr.fitReport?.objective ?? NaN,
      scoreRowsPerS: n / scoreS,
    };
  }
  if (mode === "e2e") {
    const rssBefore = peakRssMb();
    let t = performance.now();
    const model = SentimentModel.train(texts, labels, { features: { kind: "tfidf", ngramRange: NGRAMS }, model: { kind: "logreg", C: 1 } });
    const e2eS = seconds(t);
    const rssFit = peakRssMb();
    const batch = heldOut(name);
    // Warm the preprocess caches and JIT on a slice first, as a server would be after a few requests.
    model.predictProba(batch.slice(0, 1000));
    t = performance.now();
    model.predictProba(batch);
    const predictS = seconds(t);
    // The same batch with PredictionPool: main thread + 1 worker (the default), then 2 workers
    // with an idle main thread. Each worker rebuilds the model from its JSON at start-up.
    const parallel: Record<string, number> = {};
    for (const [key, options] of [
      ["main1w", { workers: 1 }],
      ["w2", { workers: 2, useCallingThread: false }],
    ] as const) {
      t = performance.now();
      const pool = await PredictionPool.create(model, options);
      parallel[`${key}StartS`] = seconds(t);
      await pool.predictProba(batch.slice(0, 5000));
      t = performance.now();
      await pool.predictProba(batch);
      parallel[`${key}TextsPerS`] = batch.length / seconds(t);
      await pool.close();
    }
    return { n, e2eS, rssBeforeMb: rssBefore, rssFitMb: rssFit, predictTextsPerS: batch.length / predictS, ...parallel, rssMb: peakRssMb() };
  }
  const X = new TfidfVectorizer({ ngramRange: NGRAMS, preprocess: DEFAULT_PREPROCESS_CONFIG }).fitTransform(texts);
  const y = Int8Array.from(labels, (l) => (Number(l) === 1 ? 1 : -1));
  const c = compareWithLiblinear(X, y, 1);
  return { n, ratio: c.reachedAt / c.llTrain, report: describeComparison(c).join("\n") };
}

const SKLEARN = `
import time
t0 = time.time()
import csv, resource, sys
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
t1 = time.time()
texts, labels = [], []
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = csv.reader(f)
    next(rows)
    for t, l in rows:
        texts.append(t)
        labels.append(l)
t2 = time.time()
X = TfidfVectorizer(ngram_range=(1, 2)).fit_transform(texts)
t3 = time.time()
LogisticRegression(solver="liblinear", C=1.0).fit(X, labels)
t4 = time.time()
ru = resource.getrusage(resource.RUSAGE_SELF)
print(X.shape[1], ru.ru_maxrss, t1 - t0, t2 - t1, t3 - t2, t4 - t3, ru.ru_utime + ru.ru_stime, ru.ru_minflt)
`;

/** The best round's time, RSS and phases, and every round's time and peak RSS (the ranges printed beside it). */
type FileRun = { s: number; rssMb: number; features: number; phases: string; rounds: Array<{ s: number; rssMb: number }> };

/**
 * The Polarity side of the from-file lines runs as a user runs it: plain \`node\` on JavaScript
 * (not through tsx, whose loader costs ~0.3 s of start-up), here this file and the counting
 * worker bundled by esbuild into a temporary folder — the same sources the CLI compiles.
 */
function bundleChild(dir: string): string {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const esbuild = join(root, "node_modules", ".bin", "esbuild");
  const r = spawnSync(
    esbuild,
    [
      `core=${join(root, "bench", "core.ts")}`,
      `count-worker=${join(root, "src", "features", "count-worker.ts")}`,
      "--bundle",
      "--platform=node",
      "--format=esm",
      "--target=node20",
      "--packages=external",
      `--outdir=${dir}`,
      "--log-level=error",
    ],
    { encoding: "utf8", cwd: root },
  );
  if (r.status !== 0) throw new Error(`esbuild failed:\n${r.stderr}`);
  // ES modules named .js (startModuleWorker loads "<name>.js"); bare imports (packages) stay
  // external and resolve from the project's node_modules.
  writeFileSync(join(dir, "package.json"), '{"type":"module"}\n');
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
  return join(dir, "core.js");
}

/** Whole-process training from a CSV file: Polarity's and scikit-learn's wall time and peak RSS, alternated. */
function fromFile(n: number, rounds: number): { polarity: FileRun; sklearn: FileRun | null } {
  const dir = mkdtempSync(join(tmpdir(), "polarity-bench-file-"));
  try {
    const file = join(dir, "train.csv");
    const c = generateSyntheticCorpus({ n, seed: 7 });
    writeFileSync(file, formatDatasetCsv(c.texts, c.labels));
    const entry = bundleChild(join(dir, "bundle"));
    const sklearnOk = existsSync("/usr/bin/python3") && spawnSync("/usr/bin/python3", ["-c", "import sklearn"]).status === 0;
    let polarity: FileRun = { s: Infinity, rssMb: 0, features: 0, phases: "", rounds: [] };
    let sklearn: FileRun | null = sklearnOk ? { s: Infinity, rssMb: 0, features: 0, phases: "", rounds: [] } : null;
    for (let r = 0; r < rounds; r++) {
      let t = performance.now();
      const p = runChild("file", file, entry);
      const ps = seconds(t);
      polarity.rounds.push({ s: ps, rssMb: Number(p.rssMb) });
      if (ps < polarity.s) {
        const faults = `page faults ${kFaults(p.faults)} (start + read ${kFaults(p.faultsRead)}, vectorize ${kFaults(p.faultsVectorize)}, fit ${kFaults(p.faultsFit)})`;
        const phases = `read + parse ${Number(p.readS).toFixed(2)} s, vectorize ${Number(p.vectorizeS).toFixed(2)} s (${p.countThreads} thread${Number(p.countThreads) > 1 ? "s" : ""}, peak RSS so far ${fmt(Number(p.rssVectorizeMb))} MB), fit ${Number(p.fitS).toFixed(2)} s; CPU ${Number(p.cpuS).toFixed(2)} s; ${faults}`;
        polarity = { ...polarity, s: ps, rssMb: Number(p.rssMb), features: Number(p.features), phases };
      }
      if (sklearn) {
        t = performance.now();
        const py = spawnSync("/usr/bin/python3", ["-c", SKLEARN, file], { encoding: "utf8" });
        const pys = seconds(t);
        if (py.status !== 0) throw new Error(`scikit-learn run failed:\n${py.stderr}`);
        const [features, rssKb, importS, readS, vectorizeS, fitS, cpuS, faults] = py.stdout.trim().split(/\s+/).map(Number);
        const phases = `import ${importS.toFixed(2)} s, read + parse ${readS.toFixed(2)} s, vectorize ${vectorizeS.toFixed(2)} s, fit ${fitS.toFixed(2)} s; CPU ${cpuS.toFixed(2)} s; page faults ${kFaults(faults)}`;
        sklearn.rounds.push({ s: pys, rssMb: rssKb / 1024 });
        if (pys < sklearn.s) sklearn = { ...sklearn, s: pys, rssMb: rssKb / 1024, features, phases };
      }
    }
    return { polarity, sklearn };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(mode: Mode, name: string, bundled?: string): Record<string, number | string> {
  const self = fileURLToPath(import.meta.url);
  const args = bundled !== undefined ? [bundled] : ["--import", "tsx", self];
  const r = spawnSync(process.execPath, ["--max-old-space-size=4096", ...args, "--child", mode, name], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`bench child ${mode} ${name} failed:\n${r.stderr}`);
  const last = r.stdout.trim().split("\n").pop() ?? "{}";
  return JSON.parse(last) as Record<string, number | string>;
}

/** Every round's wall time and peak RSS as ranges (min–max), so the best round is not all that is seen. */
function roundRanges(run: FileRun): string {
  const range = (values: number[], digits: number): string => `${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)}`;
  const times = run.rounds.map((r) => r.s);
  const rss = run.rounds.map((r) => r.rssMb);
  return `${range(times, 2)} s, peak RSS ${range(rss, 0)} MB`;
}

/** A page-fault count in thousands (4 KB pages: 1 k faults = 4 MB touched). */
const kFaults = (v: number | string): string => `${fmt(Number(v) / 1000)} k`;

const fmt = (v: number, digits = 0): string => v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "--child") {
    console.log(JSON.stringify(await child(argv[1] as Mode, argv[2])));
    return;
  }
  let corpora = ["uci", "100000", "1000000"];
  let liblinear = true;
  let fileSizes = [100_000, 1_000_000];
  let rounds = 2;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--corpora") corpora = (argv[++i] ?? "").split(",").filter((x) => x !== "" && x !== "none");
    else if (argv[i] === "--no-liblinear") liblinear = false;
    else if (argv[i] === "--from-file")
      fileSizes = (argv[++i] ?? "")
        .split(",")
        .filter((x) => x !== "" && x !== "none")
        .map(Number);
    else if (argv[i] === "--rounds") rounds = Math.max(1, Number(argv[++i]) || 1);
    else throw new Error(`unknown argument ${argv[i]} (known: --corpora uci,100000,..., --no-liblinear, --from-file 100000,1000000|none, --rounds N)`);
  }
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${fmt(totalmem() / 2 ** 30, 0)} GiB, node ${process.version}, load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(" ")}`,
  );
  console.log(
    `pipeline: preprocess (defaults) → TF-IDF word 1–2-grams → L2 logistic regression (C=1, tol 1e-4); from ${fmt(PARALLEL_MIN_NNZ)} non-zeros LR's loss/gradient runs by columns (float32 CSC, WebAssembly kernels) on 2 threads (main + 1 worker); L-BFGS's vector work in WebAssembly SIMD; the from-file lines count n-grams on 2 threads\n`,
  );
  const haveLiblinear = liblinear && corpora.length > 0 && ensureLiblinear();
  for (const name of corpora) {
    const steps = runChild("steps", name);
    const e2e = runChild("e2e", name);
    const n = Number(steps.n);
    console.log(
      `== ${name === "uci" ? "uci-sentences (built-in)" : "synthetic"}: ${fmt(n)} docs, ${Number(steps.tokensPerDoc).toFixed(1)} tokens/doc after preprocessing, ${fmt(Number(steps.features))} features, ${fmt(Number(steps.nnz))} non-zeros`,
    );
    console.log(`  preprocess              ${fmt(Number(steps.preprocessDocsPerS)).padStart(11)} docs/s`);
    console.log(`  vectorize (fit, tokens) ${fmt(Number(steps.vectorizeDocsPerS)).padStart(11)} docs/s`);
    console.log(
      `  LR fit                  ${fmt(Number(steps.fitDocsPerS)).padStart(11)} docs/s  (${Number(steps.fitS).toFixed(2)} s, ${steps.iterations} iterations, objective ${Number(steps.objective).toFixed(4)})`,
    );
    console.log(
      `  LR fit, 1 thread        ${fmt(n / Number(steps.fitSerialS)).padStart(11)} docs/s  (${Number(steps.fitSerialS).toFixed(2)} s, objective ${Number(steps.serialObjective).toFixed(4)}; the line above used ${steps.threads} thread${Number(steps.threads) > 1 ? "s" : ""})`,
    );
    console.log(`  LR score (matrix)       ${fmt(Number(steps.scoreRowsPerS)).padStart(11)} rows/s`);
    console.log(
      `  end-to-end fit          ${Number(e2e.e2eS).toFixed(2).padStart(11)} s       (raw texts → preprocess + TF-IDF + LR), peak RSS ${fmt(Number(e2e.rssFitMb))} MB (corpus alone ${fmt(Number(e2e.rssBeforeMb))} MB)`,
    );
    console.log(
      `  batch prediction        ${fmt(Number(e2e.predictTextsPerS)).padStart(11)} texts/s (preprocess + vectorize + score, ${fmt(PREDICT_BATCH)} unseen texts)`,
    );
    console.log(
      `  batch prediction, main + 1 worker ${fmt(Number(e2e.main1wTextsPerS)).padStart(9)} texts/s (same batch, PredictionPool default; start-up ${Number(e2e.main1wStartS).toFixed(2)} s, not included)`,
    );
    console.log(
      `  batch prediction, 2 workers       ${fmt(Number(e2e.w2TextsPerS)).padStart(9)} texts/s (same batch, main thread idle; start-up ${Number(e2e.w2StartS).toFixed(2)} s, not included)`,
    );
    if (haveLiblinear && name !== "uci") {
      const cmp = runChild("liblinear", name);
      console.log(String(cmp.report).replace(/^/gm, "  "));
    }
    console.log("");
  }
  for (const n of fileSizes) {
    const load = loadavg()[0].toFixed(2);
    const r = fromFile(n, rounds);
    const p = r.polarity;
    console.log(
      `== from file: ${fmt(n)} synthetic docs (seed 7) as CSV; whole process: read + parse, TF-IDF 1–2-grams on words as written, LR C=1; best of ${rounds} alternated run${rounds > 1 ? "s" : ""} each (load average ${load} before, ${loadavg()[0].toFixed(2)} after)`,
    );
    console.log(`  polarity                ${p.s.toFixed(2).padStart(11)} s       peak RSS ${fmt(p.rssMb)} MB, ${fmt(p.features)} features (${p.phases})`);
    if (rounds > 1) console.log(`                          rounds ${roundRanges(p)}`);
    if (r.sklearn) {
      const k = r.sklearn;
      console.log(`  scikit-learn (liblinear)${k.s.toFixed(2).padStart(11)} s       peak RSS ${fmt(k.rssMb)} MB, ${fmt(k.features)} features (${k.phases})`);
      if (rounds > 1) console.log(`                          rounds ${roundRanges(k)}`);
      console.log(
        `  ratio                   ${(k.s / p.s).toFixed(2).padStart(11)}× faster, ${(p.rssMb / k.rssMb).toFixed(2)}× the peak RSS (targets: >= 5×, <= 0.75×)`,
      );
    } else console.log("  scikit-learn: /usr/bin/python3 with sklearn not found (apt-get install python3-sklearn): comparison skipped");
    console.log("");
  }
  if (liblinear && corpora.length > 0 && !haveLiblinear)
    console.log("liblinear-train not available (needs root for apt-get install liblinear-tools): comparison skipped");
}

await main();
