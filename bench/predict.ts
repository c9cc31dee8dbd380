/**
 * `polarity predict` end to end from a file: rows/s and peak RSS of the CLI process, next to
 * PredictionPool.predictProba on the same texts in memory (the scoring ceiling), side by side.
 * The input is a CSV of short texts sampled from the UCI sentences' distributions
 * (generateSyntheticCorpus), written once to a temp directory. The CLI is the current src/
 * transpiled by esbuild (bench/lib/current-cli.ts), run by plain node: tsx's start-up
 * transpiling (seconds, in the main thread and in each worker) is not part of the command.
 *
 * Rounds alternate (pool reference, then the CLI) and the medians and spreads are printed, with
 * the CLI process's CPU time (user + sys) per 10^6 rows, which other load disturbs less than wall time.
 *
 *   npm run bench:predict [-- --rows 1000000] [--rounds 3]   (10^7 rows: the flat-memory check)
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
const roundsFlag = process.argv.indexOf("--rounds");
const ROUNDS = roundsFlag >= 0 ? Number(process.argv[roundsFlag + 1]) : 3;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs: number[]): string => `[${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))}]`;
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
    console.log(`# predict bench: ${ROWS} rows (${(statSync(input).size / 1e6).toFixed(1)} MB CSV), ${ROUNDS} alternated rounds; load ${load()}`);

    // Reference: scoring only, texts already in memory: the CLI's pool shape (2 workers, the
    // calling thread free for I/O) and the default one (calling thread + 1 worker); the better
    // of the two in each round is that round's ceiling. Then the CLI, file → file.
    const batch = sample.slice(0, 100_000);
    const cli = await currentCli(root);
    const refRates: number[] = [];
    const cliRates: number[] = [];
    const rss: number[] = [];
    /** The CLI process's CPU seconds (user + sys, all threads) per 10^6 rows: less sensitive to other load than wall time. */
    const cpu: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      let refRate = 0;
      const shapes: string[] = [];
      for (const shape of [{ workers: 2, useCallingThread: false }, { workers: 1 }]) {
        const pool = await PredictionPool.create(model, shape);
        await pool.predictProba(batch);
        const t0 = performance.now();
        for (let r = 0; r < 2; r++) await pool.predictProba(batch);
        const rate = (2 * batch.length) / ((performance.now() - t0) / 1000);
        await pool.close();
        refRate = Math.max(refRate, rate);
        shapes.push(`${JSON.stringify(shape)} ${Math.round(rate)}`);
      }
      refRates.push(refRate);
      const t1 = performance.now();
      const r = spawnSync(
        "/usr/bin/time",
        ["-f", "%M %U %S", process.execPath, cli.main, "predict", input, "--model", modelPath, "-o", join(dir, "out.csv"), "--quiet"],
        { cwd: root, encoding: "utf8" },
      );
      const seconds = (performance.now() - t1) / 1000;
      if (r.status !== 0) throw new Error(`predict failed: ${r.stderr}`);
      const [rssKb, user, sys] = (r.stderr.trim().split("\n").pop() as string).split(" ").map(Number);
      const cpuPerMillion = ((user + sys) * 1e6) / ROWS;
      cliRates.push(ROWS / seconds);
      rss.push(rssKb / 1024);
      cpu.push(cpuPerMillion);
      console.log(
        `round ${round}: PredictionPool.predictProba in memory (100k texts × 2) ${shapes.join(", ")} texts/s | polarity predict file → file ${Math.round(ROWS / seconds)} rows/s over ${seconds.toFixed(1)} s, peak RSS ${(rssKb / 1024).toFixed(0)} MB, CPU ${cpuPerMillion.toFixed(2)} s per 10^6 rows | ratio ${(ROWS / seconds / refRate).toFixed(2)} | load ${load()}`,
      );
    }
    console.log(`CLI: ${cli.label}; start-up and model load included`);
    console.log(
      `median of ${ROUNDS}: polarity predict ${Math.round(median(cliRates))} rows/s ${spread(cliRates)}, in-memory pool ${Math.round(median(refRates))} texts/s ${spread(refRates)}, ratio ${(median(cliRates) / median(refRates)).toFixed(2)}; CLI CPU ${median(cpu).toFixed(2)} s per 10^6 rows [${Math.min(...cpu).toFixed(2)}–${Math.max(...cpu).toFixed(2)}]; peak RSS max ${Math.round(Math.max(...rss))} MB; load ${load()}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
