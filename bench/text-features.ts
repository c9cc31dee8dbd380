/**
 * Throughput of preprocessing and TF-IDF vectorizing (1–2-grams).
 *
 *   npx tsx bench/text-features.ts            # built-in data, 10^5 and 10^6 synthetic docs
 *   npx tsx bench/text-features.ts 200000     # other synthetic sizes (comma-separated)
 *
 * Prints docs/s for each step and the process's peak RSS. Single-threaded; the machine
 * has 2 cores shared with anything else running (check `uptime` alongside).
 */
import { cpus } from "node:os";
import { loadUciSentences } from "../src/data/builtin.js";
import { generateSyntheticCorpus } from "../src/data/synthetic.js";
import { TfidfVectorizer } from "../src/features/vectorizer.js";
import { preprocessMany, resolvePreprocessConfig } from "../src/text/preprocess.js";

const sizes = (process.argv[2] ?? "100000,1000000").split(",").map((s) => Number(s));

function time<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const out = fn();
  return [out, (performance.now() - t0) / 1000];
}

function rate(n: number, seconds: number): string {
  return `${Math.round(n / seconds).toLocaleString("en-US")} docs/s (${seconds.toFixed(2)} s)`;
}

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

function benchCorpus(name: string, texts: string[], repeat: number): void {
  const cfg = resolvePreprocessConfig({});
  let tokens: string[][] = [];
  let seconds = 0;
  for (let r = 0; r < repeat; r++) {
    const [t, s] = time(() => preprocessMany(texts, cfg));
    tokens = t;
    seconds += s;
  }
  const n = texts.length * repeat;
  console.log(`${name}: ${texts.length.toLocaleString("en-US")} docs, ${(tokens.reduce((a, t) => a + t.length, 0) / texts.length).toFixed(1)} tokens/doc`);
  console.log(`  preprocess                     ${rate(n, seconds)}`);
  const v = new TfidfVectorizer({ ngramRange: [1, 2] });
  const [X, fitS] = time(() => v.fitTransform(tokens));
  console.log(`  tfidf 1-2 fitTransform (tokens) ${rate(texts.length, fitS)}  -> ${X.cols.toLocaleString("en-US")} features, ${X.indptr[X.rows].toLocaleString("en-US")} non-zeros`);
  const [, trS] = time(() => v.transform(tokens));
  console.log(`  tfidf 1-2 transform (tokens)    ${rate(texts.length, trS)}`);
  const serving = new TfidfVectorizer({ ngramRange: [1, 2], preprocess: {} });
  serving.fit(tokens);
  const [, e2eS] = time(() => serving.transform(texts));
  console.log(`  preprocess + transform (raw)    ${rate(texts.length, e2eS)}`);
  console.log(`  peak RSS so far ${peakRssMb().toFixed(0)} MB`);
}

console.log(`node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? "?"})`);
const uci = loadUciSentences();
benchCorpus("uci-sentences (built-in)", uci.texts, 20);
for (const n of sizes) {
  const [corpus, genS] = time(() => generateSyntheticCorpus({ n, seed: 7 }));
  console.log(`synthetic generate ${rate(n, genS)}`);
  benchCorpus(`synthetic n=${n.toLocaleString("en-US")}`, corpus.texts, 1);
}
console.log(`peak RSS ${peakRssMb().toFixed(0)} MB`);
