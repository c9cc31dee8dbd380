import { DataError, InvalidParameterError } from "../util/errors.js";
import { Random } from "../util/random.js";
import { rejectUnknownOptions, requireInteger } from "../util/validate.js";
import { LIGHT_PREPROCESS_CONFIG, preprocess } from "../text/preprocess.js";
import { loadUciSentences, type LabelledCorpus } from "./builtin.js";

/**
 * A synthetic labelled corpus of any size, for benchmarks and scale tests. It imitates
 * the built-in UCI sentences:
 *   - words come from the real sentences' vocabulary (tokens of `preprocess` with
 *     LIGHT_PREPROCESS_CONFIG: words as written, lowercased), drawn from CLASS-CONDITIONAL unigram distributions estimated on the real
 *     labelled data, so the label is learnable the way real sentiment is (by word choice);
 *   - each word is, with probability `mixing`, drawn from the class-independent
 *     distribution instead (neutral filler), which makes the task harder;
 *   - document lengths (in tokens) are drawn from the real sentences' empirical length
 *     distribution (mean ≈ 12 tokens, 1–73);
 *   - finally each label is flipped with probability `labelNoise`.
 * Texts are the words joined by single spaces, so `preprocess(text, LIGHT_PREPROCESS_CONFIG)`
 * gives back the words.
 * Deterministic: the same options and seed give the same corpus.
 */
export interface SyntheticCorpusOptions {
  /** Number of documents (>= 1). */
  n: number;
  /** PRNG seed. Default 0. */
  seed?: number;
  /** Probability that a word is drawn from the class-independent distribution. Default 0.3. */
  mixing?: number;
  /** Probability that a label is flipped after the text is drawn. Default 0.05. */
  labelNoise?: number;
  /** Probability that a document is positive (label 1). Default 0.5. */
  positiveRate?: number;
}

const OPTION_KEYS = ["n", "seed", "mixing", "labelNoise", "positiveRate"] as const;
const MAX_DOCS = 50_000_000;

/**
 * Walker/Vose alias table: O(1) draws from a discrete distribution (two random numbers,
 * two array reads), which keeps 10^6 documents × 12 words well under a second.
 */
export class AliasSampler {
  private readonly prob: Float64Array;
  private readonly alias: Int32Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i];
    if (n === 0 || !(total > 0)) throw new DataError("alias sampler needs at least one positive weight");
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    const scaled = new Float64Array(n);
    const small: number[] = [];
    const large: number[] = [];
    for (let i = 0; i < n; i++) {
      scaled[i] = (weights[i] * n) / total;
      (scaled[i] < 1 ? small : large).push(i);
    }
    while (small.length > 0 && large.length > 0) {
      const s = small.pop() as number;
      const l = large[large.length - 1];
      this.prob[s] = scaled[s];
      this.alias[s] = l;
      scaled[l] -= 1 - scaled[s];
      if (scaled[l] < 1) {
        large.pop();
        small.push(l);
      }
    }
    for (const i of large) this.prob[i] = 1;
    for (const i of small) this.prob[i] = 1; // leftovers from rounding
  }

  sample(rng: Random): number {
    const i = rng.nextInt(this.prob.length);
    return rng.nextFloat() < this.prob[i] ? i : this.alias[i];
  }
}

interface SourceModel {
  words: string[];
  byClass: [AliasSampler, AliasSampler];
  overall: AliasSampler;
  lengths: Int32Array;
}

let model: SourceModel | null = null;

/** Word and length statistics of the built-in sentences (computed once). */
function sourceModel(): SourceModel {
  if (model !== null) return model;
  const data = loadUciSentences();
  const ids = new Map<string, number>();
  const words: string[] = [];
  const counts: [number[], number[]] = [[], []];
  const lengths = new Int32Array(data.texts.length);
  data.texts.forEach((text, d) => {
    const tokens = preprocess(text, LIGHT_PREPROCESS_CONFIG);
    lengths[d] = tokens.length;
    const y = data.labels[d];
    for (const t of tokens) {
      let id = ids.get(t);
      if (id === undefined) {
        id = words.length;
        ids.set(t, id);
        words.push(t);
        counts[0].push(0);
        counts[1].push(0);
      }
      counts[y][id] += 1;
    }
  });
  // Add-0.1 smoothing so every word can appear in either class, as real text allows.
  const smooth = (c: number[]): number[] => c.map((x) => x + 0.1);
  model = {
    words,
    byClass: [new AliasSampler(smooth(counts[0])), new AliasSampler(smooth(counts[1]))],
    overall: new AliasSampler(counts[0].map((x, i) => x + counts[1][i])),
    lengths,
  };
  return model;
}

function requireProbability(name: string, value: unknown, dflt: number): number {
  if (value === undefined) return dflt;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidParameterError(`generateSyntheticCorpus: ${name} must be a number in [0, 1], got ${String(value)}`);
  }
  return value;
}

/** Generates `n` labelled documents (see SyntheticCorpusOptions). 10^6 documents take a couple of seconds. */
export function generateSyntheticCorpus(options: SyntheticCorpusOptions): LabelledCorpus {
  if (options === null || typeof options !== "object") throw new InvalidParameterError("generateSyntheticCorpus: options {n, seed?} required");
  rejectUnknownOptions("generateSyntheticCorpus", options, OPTION_KEYS);
  const n = requireInteger("generateSyntheticCorpus: n", options.n, 1, MAX_DOCS);
  const seed = options.seed ?? 0;
  if (typeof seed !== "number" || !Number.isFinite(seed))
    throw new InvalidParameterError(`generateSyntheticCorpus: seed must be a finite number, got ${String(seed)}`);
  const mixing = requireProbability("mixing", options.mixing, 0.3);
  const labelNoise = requireProbability("labelNoise", options.labelNoise, 0.05);
  const positiveRate = requireProbability("positiveRate", options.positiveRate, 0.5);

  const m = sourceModel();
  const rng = new Random(seed);
  const texts = new Array<string>(n);
  const labels = new Array<number>(n);
  const parts: string[] = [];
  for (let d = 0; d < n; d++) {
    const y = rng.nextFloat() < positiveRate ? 1 : 0;
    const len = m.lengths[rng.nextInt(m.lengths.length)];
    const classSampler = m.byClass[y];
    parts.length = len;
    for (let k = 0; k < len; k++) {
      const w = rng.nextFloat() < mixing ? m.overall.sample(rng) : classSampler.sample(rng);
      parts[k] = m.words[w];
    }
    texts[d] = parts.join(" ");
    labels[d] = rng.nextFloat() < labelNoise ? 1 - y : y;
  }
  return { texts, labels };
}
