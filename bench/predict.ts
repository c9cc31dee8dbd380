/**
 * `polarity predict` end to end from a file: rows/s and peak RSS of the CLI process, next to
 * PredictionPool.predictProba on the same texts in memory (the scoring ceiling), side by side.
 * The input is a CSV of short texts sampled from the UCI sentences' distributions
 * (generateSyntheticCorpus), written once to a temp directory. The CLI is the current src/
 * transpiled by esbuild (bench/lib/current-cli.ts), run by plain node: tsx's start-up
 * transpiling (seconds, in the main thread and in each worker) is not part of the command.
 *
 *   npm run bench:predict [-- --rows 1000000]        (10^7 rows: the flat-memory check)
 */
import { spawnSync } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSyntheticCorpus } from "../src/data/synthetic.js";
import { loadUciSentences } from "../src/data/builtin.js";
import { PredictionPool } from "../src/models/parallel/predict-pool.js";
import { currentCli } from "./lib/current-cli.js";
import { SentimentModel } from "../src/models/sentiment-model.js";

const rowsFlag = process.argv.indexOf("--rows");
const ROWS = rowsFlag >= 0 ? Number(process.argv[rowsFlag + 1]) : 1_000_000;
const root = fileURLToPath(new URL("..", import.meta.url));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "polarity-predict-bench-"));
  try {
    const { texts, labels } = loadUciSentences();
    const model = SentimentModel.train(texts, labels, { features: { kind: "tfidf", ngramRange: [1, 2], sublinearTf: true }, model: { kind: "logreg", C: 10 } });
    const modelPath = join(dir, "model.json");
    writeFileSync(modelPath, JSON.stringify(model.toJSON()));
    // A pool of 100k synthetic texts, repeated to ROWS rows (quoted CSV).
    const sample = generateSyntheticCorpus({ n: 100_000, seed: 1 }).texts;
    const input = join(dir, "in.csv");
    const out = createWriteStream(input);
    out.write("id,text\n");
    for (let i = 0; i < ROWS;) {
      let chunk = "";
      for (let j = 0; j < 10_000 && i < ROWS; j++, i++) chunk += `${i},"${sample[i % sample.length].replace(/"/g, '""')}"\n`;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
    }
    await new Promise<void>((r) => out.end(r));
    console.log(
      `# predict bench: ${ROWS} rows (${(statSync(input).size / 1e6).toFixed(1)} MB CSV); load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );

    // Reference: scoring only, texts already in memory: the CLI's pool shape (2 workers, the
    // calling thread free for I/O) and the default one (calling thread + 1 worker); the better is the ceiling.
    const batch = sample.slice(0, 100_000);
    let refRate = 0;
    for (const shape of [{ workers: 2, useCallingThread: false }, { workers: 1 }]) {
      const pool = await PredictionPool.create(model, shape);
      await pool.predictProba(batch);
      const t0 = performance.now();
      for (let r = 0; r < 2; r++) await pool.predictProba(batch);
      const rate = (2 * batch.length) / ((performance.now() - t0) / 1000);
      await pool.close();
      refRate = Math.max(refRate, rate);
      console.log(`PredictionPool.predictProba ${JSON.stringify(shape)} (in memory, 100k texts × 2): ${Math.round(rate)} texts/s`);
    }
    const cli = await currentCli(root);

    const t1 = performance.now();
    const r = spawnSync(
      "/usr/bin/time",
      ["-f", "%M", process.execPath, cli.main, "predict", input, "--model", modelPath, "-o", join(dir, "out.csv"), "--quiet"],
      { cwd: root, encoding: "utf8" },
    );
    const seconds = (performance.now() - t1) / 1000;
    if (r.status !== 0) throw new Error(`predict failed: ${r.stderr}`);
    const rssKb = Number(r.stderr.trim().split("\n").pop());
    console.log(
      `polarity predict (${cli.label}; file → file, incl. start-up and model load): ${Math.round(ROWS / seconds)} rows/s over ${seconds.toFixed(1)} s, peak RSS ${(rssKb / 1024).toFixed(0)} MB`,
    );
    console.log(
      `ratio to in-memory scoring: ${(ROWS / seconds / refRate).toFixed(2)}; load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
