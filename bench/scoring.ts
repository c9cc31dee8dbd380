/**
 * Scoring alone, one thread: text → class probabilities with a fitted SentimentModel, in texts
 * per CPU-second (process.cpuUsage), three paths side by side on the same texts in alternated rounds:
 *
 *   - "CSR blocks": vectorizer.transformRange (the fused scanner into a scratch CSR matrix,
 *     1,024 rows at a time) then classifier.predictProba — the scoring path before the fused scorer;
 *   - "fused": SentimentModel.predictProbaInto, which takes the fused scorer
 *     (src/features/scorer.ts: no matrix, nothing allocated per text);
 *   - "single": SentimentModel.predictProba([text]) one text per call (what serving a single
 *     text costs in scoring).
 *
 * Two workloads: the serving bench's (the built-in model, TF-IDF 1–2-grams + LR C = 1, on
 * batches of the UCI sentences) and the predict bench's (TF-IDF 1–2-grams sublinear + LR
 * C = 10, on 100,000 synthetic short texts). The CSR and fused probabilities are checked equal bit for
 * bit first. Prints each round, then the median and range of each path and of the ratio.
 *
 *   npm run bench:scoring [-- --rounds 5 --seconds 1]
 */
import { loadavg } from "node:os";
import { loadUciSentences } from "../src/data/builtin.js";
import { generateSyntheticCorpus } from "../src/data/synthetic.js";
import { SentimentModel } from "../src/models/sentiment-model.js";

const flag = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = flag("--rounds", 5);
const SECONDS = flag("--seconds", 1);
const BLOCK = 1024;

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

/** Texts per CPU-second of `run(texts)` repeated for about SECONDS of wall time. */
function rate(texts: readonly string[], run: (texts: readonly string[]) => void): number {
  const cpu0 = process.cpuUsage();
  let n = 0;
  for (const t0 = performance.now(); performance.now() - t0 < SECONDS * 1000; n += texts.length) run(texts);
  const cpu = process.cpuUsage(cpu0);
  return n / ((cpu.user + cpu.system) / 1e6);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x: number): string => Math.round(x).toLocaleString("en");

function workload(name: string, model: SentimentModel, texts: readonly string[]): void {
  const k = model.classes.length;
  const out = new Float64Array(texts.length * k);
  const csr = (b: readonly string[]): void => {
    for (let s = 0; s < b.length; s += BLOCK) {
      const stop = Math.min(b.length, s + BLOCK);
      out.set(model.classifier.predictProba(model.vectorizer.transformRange(b, s, stop)), s * k);
    }
  };
  const fused = (b: readonly string[]): void => model.predictProbaInto(b, 0, b.length, out, 0);
  const singleTexts = texts.slice(0, 2000);
  const single = (b: readonly string[]): void => {
    for (let i = 0; i < b.length; i++) model.predictProba([b[i]]);
  };

  csr(texts);
  const want = out.slice();
  fused(texts);
  for (let i = 0; i < out.length; i++) if (!Object.is(out[i], want[i])) throw new Error(`${name}: the paths differ at entry ${i}: ${out[i]} vs ${want[i]}`);

  console.log(`\n## ${name}: ${texts.length.toLocaleString("en")} texts, ${model.nFeatures.toLocaleString("en")} features; load ${load()}`);
  const rows: { csr: number; fused: number; single: number }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which path goes first, so a burst of load does not always hit the same one.
    const first = r % 2 === 0;
    const a = first ? rate(texts, csr) : 0;
    const b = rate(texts, fused);
    const c = first ? 0 : rate(texts, csr);
    const s = rate(singleTexts, single);
    const row = { csr: first ? a : c, fused: b, single: s };
    rows.push(row);
    console.log(
      `round ${r + 1}: CSR blocks ${fmt(row.csr)}  fused ${fmt(row.fused)}  (×${(row.fused / row.csr).toFixed(2)})  single-text calls ${fmt(row.single)} texts per CPU-second`,
    );
  }
  const pick = (f: (x: (typeof rows)[number]) => number) => rows.map(f);
  const range = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
  const ratios = pick((x) => x.fused / x.csr);
  console.log(
    `median: CSR blocks ${fmt(median(pick((x) => x.csr)))} [${range(pick((x) => x.csr))}]  fused ${fmt(median(pick((x) => x.fused)))} [${range(pick((x) => x.fused))}]` +
      `  ratio ×${median(ratios).toFixed(2)} [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]` +
      `  single ${fmt(median(pick((x) => x.single)))} [${range(pick((x) => x.single))}] texts per CPU-second` +
      `  (fused: ${(1e6 / median(pick((x) => x.fused))).toFixed(2)} µs per text); load ${load()}`,
  );
}

function main(): void {
  const { texts, labels } = loadUciSentences();
  console.log(`# scoring bench: ${ROUNDS} alternated rounds of ${SECONDS} s per path, one thread, CPU time; load ${load()}`);
  const serveModel = SentimentModel.train(texts, labels, { features: { kind: "tfidf", ngramRange: [1, 2] }, model: { kind: "logreg", C: 1 } });
  workload("serving's workload (built-in model, UCI sentences in batches of 2,000)", serveModel, texts.slice(0, 2000));
  const predictModel = SentimentModel.train(texts, labels, {
    features: { kind: "tfidf", ngramRange: [1, 2], sublinearTf: true },
    model: { kind: "logreg", C: 10 },
  });
  workload("predict's workload (sublinear TF-IDF + LR C = 10, synthetic short texts)", predictModel, generateSyntheticCorpus({ n: 100_000, seed: 1 }).texts);
}

main();
