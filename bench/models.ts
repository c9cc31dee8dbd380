/**
 * Benchmark of the L2 logistic regression fit on random sparse problems shaped like TF-IDF
 * 1–2-gram matrices, with a comparison against Debian's liblinear (`liblinear-train -s 0`).
 *
 *   npx tsx bench/models.ts                      # 10^5 and 10^6 rows
 *   npx tsx bench/models.ts --rows 100000 --no-liblinear
 *
 * Problem: n rows, ~23 distinct columns per row drawn from a Zipf-like (log-uniform) law over
 * d columns, tf-idf-like positive values rounded to 6 decimals (so liblinear parses the exact
 * same doubles), rows L2-normalised, labels = sign(x·w_true standardised + N(0, 0.5²)) with a
 * sparse w_true (5% non-zero).
 *
 * liblinear's bias (-B 1) is a regularised constant feature, so for the comparison we fit OUR
 * solver on the same matrix with an appended constant-1 column and fitIntercept=false: both
 * then minimise exactly J(w̃) = C·Σ log(1 + exp(−y_i·w̃·x̃_i)) + ½‖w̃‖². We evaluate J on
 * liblinear's weights (read from its model file) with our formula, and report OUR time to first
 * reach an objective ≤ that value ("time to equal objective") against liblinear's training time
 * (its wall time minus `liblinear-predict`'s time on the same file, which estimates the cost of
 * parsing the text file).
 */
import { cpus, loadavg } from "node:os";
import type { CsrMatrix } from "../src/features/csr.js";
import { LogisticRegression } from "../src/models/logistic-regression.js";
import { Random } from "../src/util/random.js";
import { compareWithLiblinear, describeComparison, ensureLiblinear, seconds } from "./lib/liblinear.js";

interface Args {
  rows: number[];
  cols: number;
  nnz: number;
  liblinear: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rows: [100_000, 1_000_000], cols: 200_000, nnz: 23, liblinear: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--rows") args.rows = argv[++i].split(",").map(Number);
    else if (a === "--cols") args.cols = Number(argv[++i]);
    else if (a === "--nnz") args.nnz = Number(argv[++i]);
    else if (a === "--no-liblinear") args.liblinear = false;
    else throw new Error(`unknown argument ${a} (known: --rows N[,N], --cols N, --nnz N, --no-liblinear)`);
  }
  return args;
}

function makeProblem(n: number, d: number, nnzPerRow: number, seed: number): { X: CsrMatrix; y: Int8Array } {
  const rng = new Random(seed);
  const indptr = new Int32Array(n + 1);
  const indices = new Int32Array(n * nnzPerRow);
  const data = new Float64Array(n * nnzPerRow);
  const logD = Math.log(d + 1);
  const rowCols = new Int32Array(nnzPerRow);
  let nnz = 0;
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < nnzPerRow; t++) rowCols[t] = Math.min(d - 1, Math.floor(Math.exp(rng.nextFloat() * logD)) - 1);
    rowCols.sort();
    const start = nnz;
    let sq = 0;
    for (let t = 0; t < nnzPerRow; t++) {
      if (t > 0 && rowCols[t] === rowCols[t - 1]) {
        data[nnz - 1] += 1 + Math.log1p(rowCols[t]) / 3; // repeated term: higher tf
        continue;
      }
      indices[nnz] = rowCols[t];
      data[nnz] = (1 + Math.log1p(rowCols[t]) / 3) * (0.8 + 0.4 * rng.nextFloat());
      nnz++;
    }
    for (let p = start; p < nnz; p++) sq += data[p] * data[p];
    const inv = 1 / Math.sqrt(sq);
    for (let p = start; p < nnz; p++) data[p] = Math.round(data[p] * inv * 1e6) / 1e6;
    indptr[i + 1] = nnz;
  }
  const wTrue = new Float64Array(d);
  for (let j = 0; j < d; j++) if (rng.nextFloat() < 0.05) wTrue[j] = rng.nextGaussian();
  const score = new Float64Array(n);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let p = indptr[i]; p < indptr[i + 1]; p++) s += data[p] * wTrue[indices[p]];
    score[i] = s;
    mean += s / n;
  }
  let sd = 0;
  for (let i = 0; i < n; i++) sd += (score[i] - mean) ** 2 / n;
  sd = Math.sqrt(sd) || 1;
  const y = new Int8Array(n);
  for (let i = 0; i < n; i++) y[i] = (score[i] - mean) / sd + 0.5 * rng.nextGaussian() > 0 ? 1 : -1;
  return { X: { rows: n, cols: d, indptr, indices: indices.subarray(0, nnz), data: data.subarray(0, nnz) }, y };
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), node ${process.version}, load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(" ")}`,
  );
  const haveLiblinear = args.liblinear && ensureLiblinear();
  if (args.liblinear && !haveLiblinear) console.log("liblinear-train not available: skipping the comparison");
  const C = 1;
  for (const n of args.rows) {
    const t0 = performance.now();
    const { X, y } = makeProblem(n, args.cols, args.nnz, 42);
    const labels = Array.from(y);
    console.log(
      `\n== ${n} rows × ${args.cols} cols, ${(X.indptr[n] / n).toFixed(1)} nnz/row, ${labels.filter((v) => v > 0).length} positive (built in ${seconds(t0).toFixed(1)} s)`,
    );

    let t = performance.now();
    const model = new LogisticRegression({ C }).fit(X, labels);
    const fitS = seconds(t);
    t = performance.now();
    const pred = model.predict(X);
    const predS = seconds(t);
    let correct = 0;
    for (let i = 0; i < n; i++) if (pred[i] === labels[i]) correct++;
    console.log(
      `ours (L2, C=1, tol=1e-4, unpenalised intercept): ${model.fitReport?.iterations} iterations, objective ${model.fitReport?.objective?.toFixed(4)}, converged ${model.fitReport?.converged}, fit ${fitS.toFixed(2)} s, predict ${Math.round(n / predS).toLocaleString("en-US")} rows/s, train accuracy ${(correct / n).toFixed(4)}`,
    );

    if (!haveLiblinear) continue;
    for (const line of describeComparison(compareWithLiblinear(X, y, C))) console.log(line);
  }
}

main();
