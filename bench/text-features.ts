/**
 * Throughput of preprocessing and TF-IDF vectorizing (1–2-grams).
 *
 *   npx tsx bench/text-features.ts            # built-in data, 10^5 and 10^6 synthetic docs
 *   npx tsx bench/text-features.ts 200000     # other synthetic sizes (comma-separated)
 *
 * Prints docs/s for each step (wall and CPU time) and the process's peak RSS. Single-
 * threaded; the machine has 2 cores shared with anything else running, so the load
 * average is printed first and CPU-time rates are the steadier figure.
 */
import { cpus, loadavg } from "node:os";
import { loadUciSentences } from "../src/data/builtin.js";
import { generateSyntheticCorpus } from "../src/data/synthetic.js";
import { TfidfVectorizer } from "../src/features/vectorizer.js";
import { DEFAULT_PREPROCESS_CONFIG, LIGHT_PREPROCESS_CONFIG, preprocessMany } from "../src/text/preprocess.js";

const sizes = (process.argv[2] ?? "100000,1000000").split(",").map((s) => Number(s));

/** Wall seconds and this process's CPU seconds (user + system): CPU time is the fairer figure when other work shares the 2 cores. */
function time<T>(fn: () => T): [T, number, number] {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return [out, wall, (c.user + c.system) / 1e6];
}

function rate(n: number, wall: number, cpu: number): string {
  const f = (x: number) => Math.round(x).toLocaleString("en-US");
  return `${f(n / wall).padStart(9)} docs/s wall (${wall.toFixed(2)} s), ${f(n / cpu).padStart(9)} docs/CPU-s (${cpu.toFixed(2)} s)`;
}

function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Vectorizing uses the LIGHT config's tokens (≈ 12 per document, the brief's workload and
 * the heavier case); the default config (stopwords out, stems, negation scope) leaves ≈ 6.
 */
function benchCorpus(name: string, texts: string[], repeat: number): void {
  const cfg = LIGHT_PREPROCESS_CONFIG;
  const [defaultTokens, dw, dc] = time(() => preprocessMany(texts, DEFAULT_PREPROCESS_CONFIG));
  const [Xd, dfw, dfc] = time(() => new TfidfVectorizer({ ngramRange: [1, 2] }).fitTransform(defaultTokens));
  const defaultPerDoc = (defaultTokens.reduce((a, t) => a + t.length, 0) / texts.length).toFixed(1);
  defaultTokens.length = 0;
  let tokens: string[][] = [];
  let wall = 0;
  let cpu = 0;
  for (let r = 0; r < repeat; r++) {
    const [t, w, c] = time(() => preprocessMany(texts, cfg));
    tokens = t;
    wall += w;
    cpu += c;
  }
  const n = texts.length;
  console.log(`${name}: ${n.toLocaleString("en-US")} docs, ${(tokens.reduce((a, t) => a + t.length, 0) / n).toFixed(1)} tokens/doc`);
  console.log(`  preprocess (default config)         ${rate(n, dw, dc)}`);
  console.log(`  tfidf 1-2 fitTransform (its tokens)  ${rate(n, dfw, dfc)}  -> ${defaultPerDoc} tokens/doc, ${Xd.cols.toLocaleString("en-US")} features`);
  console.log(`  preprocess (light config)           ${rate(n * repeat, wall, cpu)}`);
  const v = new TfidfVectorizer({ ngramRange: [1, 2] });
  const [X, fw, fc] = time(() => v.fitTransform(tokens));
  console.log(
    `  tfidf 1-2 fitTransform (tokens)     ${rate(n, fw, fc)}  -> ${X.cols.toLocaleString("en-US")} features, ${X.indptr[X.rows].toLocaleString("en-US")} non-zeros`,
  );
  const [, tw, tc] = time(() => v.transform(tokens));
  console.log(`  tfidf 1-2 transform (tokens)        ${rate(n, tw, tc)}`);
  tokens = [];
  // The streaming path: raw texts in, preprocess inside the vectorizer, no token arrays kept.
  const raw = new TfidfVectorizer({ ngramRange: [1, 2], preprocess: LIGHT_PREPROCESS_CONFIG });
  const [, rw, rc] = time(() => raw.fitTransform(texts));
  console.log(`  preprocess + fitTransform (raw)     ${rate(n, rw, rc)}`);
  const served = new TfidfVectorizer({ ngramRange: [1, 2], preprocess: {} });
  served.fit(texts);
  const [, sw, sc] = time(() => raw.transform(texts));
  console.log(`  preprocess + transform (raw)        ${rate(n, sw, sc)}`);
  const [, vw, vc] = time(() => served.transform(texts));
  console.log(`  same, default preprocess config     ${rate(n, vw, vc)}`);
  console.log(`  peak RSS so far ${peakRssMb().toFixed(0)} MB`);
}

console.log(
  `node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
const uci = loadUciSentences();
benchCorpus("uci-sentences (built-in)", uci.texts, 20);
for (const n of sizes) {
  const [corpus, gw, gc] = time(() => generateSyntheticCorpus({ n, seed: 7 }));
  console.log(`synthetic generate                    ${rate(n, gw, gc)}`);
  benchCorpus(`synthetic n=${n.toLocaleString("en-US")}`, corpus.texts, 1);
}
{
  // Serving: a vectorizer fitted on the built-in sentences (default preprocess config)
  // turning unseen raw texts into TF-IDF rows, the per-request work before scoring.
  const served = new TfidfVectorizer({ ngramRange: [1, 2], preprocess: {} }).fit(uci.texts);
  const { texts } = generateSyntheticCorpus({ n: 200_000, seed: 99 });
  served.transform(texts.slice(0, 20_000)); // warm-up
  const [, w, c] = time(() => served.transform(texts));
  console.log(`serving: fitted on uci-sentences (${served.nFeatures.toLocaleString("en-US")} features), 200,000 unseen raw texts`);
  console.log(`  preprocess + transform (raw)        ${rate(texts.length, w, c)}`);
}
console.log(`peak RSS ${peakRssMb().toFixed(0)} MB`);
