/**
 * Benchmark of the end-to-end sentiment pipeline's own parts (run: `npx tsx bench/sentiment-pipeline.ts`):
 *  1. the .npz sparse-matrix format: encode/decode throughput and size on a TF-IDF-like
 *     matrix (10^5 rows, 10^5 columns, 23 non-zeros per row), against the seed's dense CSV;
 *  2. ingestion: parse + clean + validate + stratified split of a 10^5-row CSV;
 *  3. the main job on uci-sentences through the built CLI (`node dist/cli/main.cjs start
 *     --no-serve`): a fresh project (all six stages + promotion) and a no-op rerun.
 * Prints figures; asserts nothing. Needs `npm run build` for part 3.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { CsrMatrix } from "../src/features/csr.js";
import { decodeCsrNpz, encodeCsrNpz } from "../src/features/npz.js";
import { generateSyntheticCorpus } from "../src/data/synthetic.js";
import { formatDatasetCsv } from "../src/data/files.js";
import { ingestDataset } from "../src/data/ingest.js";
import { Random } from "../src/util/random.js";

const REPO = join(import.meta.dirname, "..");

function randomCsr(rows: number, cols: number, perRow: number, seed: number): CsrMatrix {
  const rng = new Random(seed);
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(rows * perRow);
  const data = new Float64Array(rows * perRow);
  const row = new Int32Array(perRow);
  for (let i = 0; i < rows; i++) {
    let n = 0;
    while (n < perRow) {
      const j = rng.nextInt(cols);
      let dup = false;
      for (let q = 0; q < n; q++) if (row[q] === j) dup = true;
      if (!dup) row[n++] = j;
    }
    row.sort();
    let norm = 0;
    for (let q = 0; q < perRow; q++) {
      const v = rng.nextFloat() + 0.01;
      data[i * perRow + q] = v;
      norm += v * v;
      indices[i * perRow + q] = row[q];
    }
    for (let q = 0; q < perRow; q++) data[i * perRow + q] /= Math.sqrt(norm);
    indptr[i + 1] = (i + 1) * perRow;
  }
  return { rows, cols, indptr, indices, data };
}

const time = <T>(fn: () => T): [T, number] => {
  const t0 = performance.now();
  const r = fn();
  return [r, (performance.now() - t0) / 1000];
};
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function main(): Promise<void> {
  console.log(
    `machine: ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}, node ${process.version}`,
  );

  // 1. npz
  const X = randomCsr(100_000, 100_000, 23, 1);
  for (const compressed of [false, true]) {
    const [buf, tEnc] = time(() => encodeCsrNpz(X, { compressed }));
    const [Y, tDec] = time(() => decodeCsrNpz(buf));
    if (Y.indptr[Y.rows] !== X.indptr[X.rows]) throw new Error("round trip lost entries");
    console.log(
      `npz ${compressed ? "deflated" : "stored  "}: 100000×100000, 2.3M non-zeros → ${mb(buf.length)}; encode ${tEnc.toFixed(3)} s (${(buf.length / 1024 / 1024 / tEnc).toFixed(0)} MiB/s), decode+validate ${tDec.toFixed(3)} s`,
    );
  }
  const denseCsvBytes = 100_000 * 100_000 * 2; // at least "0," per cell
  console.log(`  the seed's dense CSV of the same matrix would be ≥ ${(denseCsvBytes / 1e9).toFixed(0)} GB`);

  // 2. ingestion
  const dir = await mkdtemp(join(tmpdir(), "polarity-bench-ingest-"));
  try {
    const corpus = generateSyntheticCorpus({ n: 100_000, seed: 7 });
    const csv = join(dir, "big.csv");
    await writeFile(csv, formatDatasetCsv(corpus.texts, corpus.labels));
    const t0 = performance.now();
    const r = await ingestDataset({
      source: csv,
      format: "auto",
      header: true,
      encoding: "utf-8",
      http: { timeoutMs: 1000, maxBytes: 1 << 30, sha256: null },
      baseDir: dir,
      textColumn: "text",
      labelColumn: "label",
      labelMap: null,
      testSize: 0.25,
      seed: 42,
      minRows: 10,
    });
    const s = (performance.now() - t0) / 1000;
    console.log(
      `ingest: 100000-row synthetic CSV (${mb(r.source.bytes)}) parsed, cleaned (${r.report.dropped.duplicate} duplicates dropped), validated and split in ${s.toFixed(2)} s (${Math.round(100_000 / s)} rows/s)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  // 3. the main job through the built CLI
  const cli = join(REPO, "dist", "cli", "main.cjs");
  if (!existsSync(cli)) {
    console.log("main job: skipped (run `npm run build` first)");
    return;
  }
  const proj = await mkdtemp(join(tmpdir(), "polarity-bench-start-"));
  try {
    await copyFile(join(REPO, "dvc.yaml"), join(proj, "dvc.yaml"));
    await copyFile(join(REPO, "params.yaml"), join(proj, "params.yaml"));
    const run = (): number => {
      const t0 = performance.now();
      execFileSync(process.execPath, [cli, "start", "--no-serve"], { cwd: proj, stdio: "pipe", env: { ...process.env, MLFLOW_TRACKING_URI: "" } });
      return (performance.now() - t0) / 1000;
    };
    const cold = run();
    const warm = run();
    console.log(
      `main job on uci-sentences (node dist/cli/main.cjs start --no-serve): fresh project ${cold.toFixed(2)} s (6 stages, 7 processes, promotion), no-op rerun ${warm.toFixed(2)} s`,
    );
  } finally {
    await rm(proj, { recursive: true, force: true });
  }
}

await main();
