/**
 * Random forest and gradient boosting against scikit-learn on the SAME TF-IDF matrix (the
 * built-in UCI sentences, 1–2-grams, one stratified 80/20 split): accuracy and fit time, side
 * by side. Our matrices are written as .npz (scipy's layout) and read by a small Python
 * script; without python3 + sklearn only our figures are printed. Each side fits every model
 * with --seeds seeds (0, 1, …): accuracy is the mean over seeds (one forest's accuracy moves by
 * ±1 point with its seed, so one seed cannot tell a 1-point gap), fit time the median. The two
 * sides alternate seed by seed (ours for seed s, then scikit-learn's for seed s, in one Python
 * process per seed), so that a change of machine load falls on both sides alike. The first
 * fit of the process (seed 0, V8 still compiling the kernels) is also printed on its own.
 *
 *   npm run bench:trees [-- --trees 100] [--rounds 100] [--seeds 3]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { csrSelectRows } from "../src/features/csr.js";
import { encodeCsrNpz } from "../src/features/npz.js";
import { TfidfVectorizer } from "../src/features/vectorizer.js";
import { loadUciSentences } from "../src/data/builtin.js";
import { stratifiedTrainTestSplit } from "../src/util/stratified-split.js";
import { GradientBoostingClassifier } from "../src/models/trees/boosting.js";
import { RandomForestClassifier } from "../src/models/trees/forest.js";
import { LIGHT_PREPROCESS_CONFIG } from "../src/text/preprocess.js";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const nTrees = flag("--trees", 100);
const nRounds = flag("--rounds", 100);
const nSeeds = flag("--seeds", 3);

const PY = String.raw`
import sys, time, json, numpy as np, scipy.sparse as sp
from sklearn.ensemble import RandomForestClassifier, GradientBoostingClassifier
d = sys.argv[1]; trees = int(sys.argv[2]); rounds = int(sys.argv[3]); seed_list = [int(s) for s in sys.argv[4].split(",")]
Xtr = sp.load_npz(d + "/train.npz").tocsr(); Xte = sp.load_npz(d + "/test.npz").tocsr()
ytr = np.load(d + "/ytrain.npy"); yte = np.load(d + "/ytest.npy")
out = {"rf": {"fit": [], "acc": []}, "gbdt": {"fit": [], "acc": []}}
for seed in seed_list:
    for name, m in [("rf", RandomForestClassifier(n_estimators=trees, n_jobs=2, random_state=seed)), ("gbdt", GradientBoostingClassifier(n_estimators=rounds, random_state=seed))]:
        t = time.perf_counter(); m.fit(Xtr, ytr); fit = time.perf_counter() - t
        out[name]["fit"].append(fit); out[name]["acc"].append(float((m.predict(Xte) == yte).mean()))
print(json.dumps(out))
`;

function npy(labels: number[]): Buffer {
  // A little-endian int64 .npy, enough for the labels.
  const header = `{'descr': '<i8', 'fortran_order': False, 'shape': (${labels.length},), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  const h = Buffer.from(header + " ".repeat(pad) + "\n", "latin1");
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]);
  const body = Buffer.alloc(labels.length * 8);
  labels.forEach((v, i) => body.writeBigInt64LE(BigInt(v), i * 8));
  return Buffer.concat([pre, h, body]);
}

function main(): void {
  const { texts, labels } = loadUciSentences();
  const split = stratifiedTrainTestSplit(labels, { testSize: 0.2, seed: 0 });
  const pick = <T>(a: readonly T[], idx: Int32Array): T[] => Array.from(idx, (i) => a[i]);
  const vec = new TfidfVectorizer({ ngramRange: [1, 2], preprocess: LIGHT_PREPROCESS_CONFIG });
  const Xtr = vec.fitTransform(pick(texts, split.train));
  const Xte = vec.transform(pick(texts, split.test));
  const ytr = pick(labels, split.train);
  const yte = pick(labels, split.test);
  const accuracy = (pred: (string | number)[]): number => pred.filter((p, i) => p === yte[i]).length / yte.length;
  console.log(
    `# trees bench: UCI sentences, TF-IDF 1-2-grams (${Xtr.rows} x ${Xtr.cols}, ${Xtr.indptr[Xtr.rows]} nnz), ${Xte.rows} test rows; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );

  const ours: Record<string, { fit: number[]; acc: number[] }> = { rf: { fit: [], acc: [] }, gbdt: { fit: [], acc: [] } };
  const dir = mkdtempSync(join(tmpdir(), "polarity-trees-"));
  let theirs: Record<string, { fit: number[]; acc: number[] }> | null = { rf: { fit: [], acc: [] }, gbdt: { fit: [], acc: [] } };
  try {
    writeFileSync(
      join(dir, "train.npz"),
      encodeCsrNpz(
        csrSelectRows(
          Xtr,
          Int32Array.from({ length: Xtr.rows }, (_, i) => i),
        ),
      ),
    );
    writeFileSync(join(dir, "test.npz"), encodeCsrNpz(Xte));
    writeFileSync(join(dir, "ytrain.npy"), npy(ytr));
    writeFileSync(join(dir, "ytest.npy"), npy(yte));
    for (let seed = 0; seed < nSeeds; seed++) {
      for (const [name, make] of [
        ["rf", () => new RandomForestClassifier({ nEstimators: nTrees, seed })],
        ["gbdt", () => new GradientBoostingClassifier({ nEstimators: nRounds, seed })],
      ] as const) {
        const m = make();
        const t0 = performance.now();
        m.fit(Xtr, ytr);
        ours[name].fit.push((performance.now() - t0) / 1000);
        ours[name].acc.push(accuracy(m.predict(Xte)));
      }
      if (theirs === null) continue;
      const py = spawnSync(existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3", ["-c", PY, dir, String(nTrees), String(nRounds), String(seed)], {
        encoding: "utf8",
      });
      if (py.status === 0) {
        const one = JSON.parse(py.stdout.trim().split("\n").pop() as string) as Record<string, { fit: number[]; acc: number[] }>;
        for (const name of ["rf", "gbdt"]) {
          theirs[name].fit.push(...one[name].fit);
          theirs[name].acc.push(...one[name].acc);
        }
      } else {
        console.log(
          `# scikit-learn comparison skipped: ${py.error ? "python3 not found" : (py.stderr.trim().split("\n").pop() ?? "python failed")} (apt-get install -y python3-sklearn)`,
        );
        theirs = null;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (a: number[]): number => {
    const b = [...a].sort((x, y) => x - y);
    return b.length % 2 ? b[b.length >> 1] : (b[b.length / 2 - 1] + b[b.length / 2]) / 2;
  };
  const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
  console.log(`# ${nSeeds} seed(s) each: fit = median seconds, acc = mean test accuracy (per-seed values in brackets)`);
  console.log("model  ours_fit_s  ours_acc  sklearn_fit_s  sklearn_acc  speedup");
  for (const name of ["rf", "gbdt"]) {
    const o = ours[name];
    const t = theirs?.[name];
    const cells = [name.padEnd(5), median(o.fit).toFixed(3).padStart(10), mean(o.acc).toFixed(4).padStart(9)];
    if (t) cells.push(median(t.fit).toFixed(3).padStart(13), mean(t.acc).toFixed(4).padStart(12), `${(median(t.fit) / median(o.fit)).toFixed(1)}x`.padStart(8));
    console.log(cells.join("  "));
  }
  if (theirs) {
    // Seed 0 is the process's first fit of each model (V8 compiles the kernels while it runs);
    // scikit-learn's seed 0 runs in a fresh Python process too. What one `polarity train` sees.
    const cold = ["rf", "gbdt"].map(
      (name) =>
        `${name} ${ours[name].fit[0].toFixed(2)} vs ${theirs?.[name].fit[0].toFixed(2)} s = ${((theirs?.[name].fit[0] ?? 0) / ours[name].fit[0]).toFixed(1)}x`,
    );
    console.log(`# first fit of the process (seed 0), ours vs sklearn: ${cold.join("; ")}`);
  }
  for (const name of ["rf", "gbdt"]) {
    const f = (a: number[], d: number): string => `[${a.map((v) => v.toFixed(d)).join(" ")}]`;
    console.log(
      `# ${name}: ours fit ${f(ours[name].fit, 2)} acc ${f(ours[name].acc, 4)}${theirs ? `; sklearn fit ${f(theirs[name].fit, 2)} acc ${f(theirs[name].acc, 4)}` : ""}`,
    );
  }
  console.log(
    `# load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log(`# rf: ${nTrees} trees, sklearn n_jobs=2; gbdt: ${nRounds} rounds, depth 3, learning rate 0.1 (sklearn defaults)`);
}

main();
