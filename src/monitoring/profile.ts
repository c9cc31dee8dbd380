import type { Label } from "../models/estimator.js";
import { preprocess, resolvePreprocessConfig, TokenIdScanner, type PreprocessConfig } from "../text/preprocess.js";
import { DataError } from "../util/errors.js";
import { accuracyAndF1, binCounts, quantileEdges, toProportions } from "./stats.js";

/**
 * The reference profile: what the model's inputs and outputs looked like at training time,
 * stored in the bundle (`metadata.referenceProfile`) so the server and `polarity monitor
 * report` compare live traffic against the data the model was built for (the Evidently /
 * KServe-detector idea, without a second system). Pure: the caller passes texts.
 */

export const PROFILE_FORMAT = "polarity.reference-profile";
/** Equal-width score bins on [0, 1] (inner edges). */
export const SCORE_EDGES: readonly number[] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
export const LENGTH_BINS = 10;
export const TOP_TERMS = 50;

export interface BinnedDistribution {
  /** Inner bin edges, ascending: k − 1 edges → k bins (see binIndex). */
  edges: number[];
  proportions: number[];
}

export interface ReferenceProfile {
  format: typeof PROFILE_FORMAT;
  version: 1;
  rows: number;
  classes: Label[];
  /** The score is the probability of classes[1] for binary models, of the predicted class otherwise. */
  scoreOf: "class1" | "predicted";
  score: BinnedDistribution;
  /** Text length in UTF-16 code units, in reference-quantile bins. */
  length: BinnedDistribution & { mean: number };
  /** Predicted class proportions, in `classes` order. */
  classMix: number[];
  /** Share of preprocessed tokens that are not unigram terms of the vocabulary. */
  oovRate: number;
  /** The most frequent vocabulary unigrams and the share of reference documents containing each. */
  topTerms: { terms: string[]; df: number[] };
  /** With labels: the true class mix and the model's accuracy / F1 on these texts (F1 binary for classes[1]). */
  labelMix?: number[];
  accuracy?: number;
  f1?: number;
}

/** The part of SentimentModel the profile needs (structural, so serving's model type fits too). */
export interface ProfiledModel {
  readonly classes: readonly Label[];
  readonly preprocessConfig: Readonly<PreprocessConfig>;
  readonly vectorizer: { getFeatureNames(): string[] };
  predictProba(texts: readonly string[]): Float64Array;
  readonly metadata: Record<string, unknown>;
}

export function isProfiledModel(model: unknown): model is ProfiledModel {
  const m = model as Partial<ProfiledModel> | null;
  return !!m && typeof m.predictProba === "function" && typeof m.vectorizer?.getFeatureNames === "function" && typeof m.preprocessConfig === "object";
}

/** Which score a prediction contributes to the score distribution (see ReferenceProfile.scoreOf). */
export function scoreOfRow(proba: ArrayLike<number>, offset: number, k: number, predicted: number): number {
  return k === 2 ? proba[offset + 1] : proba[offset + predicted];
}

/**
 * Text statistics against a model's vocabulary: tokenises exactly as the model does and
 * counts out-of-vocabulary tokens and which of the profile's top terms a document contains.
 *
 * It scans with TokenIdScanner, the serving scorer's own fused tokeniser (preprocess's scan
 * with a word cache, src/text/preprocess.ts), with a lookup that gives each token a code
 * instead of a vocabulary id: `2 * (top-term index + 1) + (1 if a vocabulary unigram)`, 0 or
 * 1 for a token that is no top term. A word seen before costs no token string, no Set or Map
 * lookup, and runs the same code the request path keeps hot (the drift tick tokenises a few
 * hundred sampled texts every 2 s: through preprocess() and a Set, that cold code was the
 * largest part of monitoring's cost per request in a server's CPU profile, 2026-12-01). The
 * counts equal those of preprocess() + the vocabulary Set (test/monitoring/text-profiler.test.ts).
 */
export class TextProfiler {
  private readonly scanner: TokenIdScanner;
  private readonly seen: Int32Array;
  private stamp = 0;

  constructor(model: ProfiledModel, topTerms: readonly string[]) {
    const unigrams = new Set(model.vectorizer.getFeatureNames().filter((t) => !t.includes(" ")));
    const topIndex = new Map<string, number>();
    topTerms.forEach((t, j) => topIndex.set(t, j));
    this.seen = new Int32Array(topTerms.length);
    // Called once per distinct word (then cached by the scanner), with the token preprocess() would emit.
    const lookup = { atom: (token: string): number => 2 * ((topIndex.get(token) ?? -1) + 1) + (unigrams.has(token) ? 1 : 0) };
    this.scanner = new TokenIdScanner(resolvePreprocessConfig(model.preprocessConfig), lookup, PROFILER_WORD_CACHE);
  }

  /** Tokenises `text`; adds 1 to `termDocCounts[j]` for each top term it contains; returns token and OOV counts. */
  observe(text: string, termDocCounts: Float64Array): { tokens: number; oov: number } {
    const n = this.scanner.scan(text);
    const codes = this.scanner.ids;
    const stamp = ++this.stamp;
    let oov = 0;
    for (let m = 0; m < n; m++) {
      const code = codes[m];
      if ((code & 1) === 0) oov++;
      const j = (code >> 1) - 1;
      if (j >= 0 && this.seen[j] !== stamp) {
        this.seen[j] = stamp;
        termDocCounts[j]++;
      }
    }
    return { tokens: n, oov };
  }
}

/** Distinct words the profiler's scanner remembers before its cache starts over (it sees only sampled texts). */
const PROFILER_WORD_CACHE = 1 << 15;

/**
 * Builds the reference profile of `model` on `texts` (and `labels`, when given). Use data
 * the model did not fit if there is some (a held-out split): scores on the training rows are
 * more confident than on new text, which would read as score drift in production.
 */
export function buildReferenceProfile(model: ProfiledModel, texts: readonly string[], labels?: readonly Label[]): ReferenceProfile {
  const n = texts.length;
  if (n === 0) throw new DataError("reference profile: no texts");
  if (labels && labels.length !== n) throw new DataError(`reference profile: ${n} texts but ${labels.length} labels`);
  const classes = [...model.classes];
  const k = classes.length;
  const proba = model.predictProba(texts);
  const scores = new Float64Array(n);
  const predicted = new Int32Array(n);
  const classCounts = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let best = 0;
    for (let c = 1; c < k; c++) if (proba[o + c] > proba[o + best]) best = c;
    predicted[i] = best;
    classCounts[best]++;
    scores[i] = scoreOfRow(proba, o, k, best);
  }
  const lengths = new Float64Array(n);
  let lengthSum = 0;
  for (let i = 0; i < n; i++) {
    lengths[i] = texts[i].length;
    lengthSum += lengths[i];
  }
  const lengthEdges = quantileEdges(lengths, LENGTH_BINS);

  // Top terms: document frequency of every vocabulary unigram in these texts.
  const unigrams = new Set(model.vectorizer.getFeatureNames().filter((t) => !t.includes(" ")));
  const df = new Map<string, number>();
  let tokens = 0;
  let oov = 0;
  for (const text of texts) {
    const seen = new Set<string>();
    for (const t of preprocess(text, model.preprocessConfig)) {
      tokens++;
      if (!unigrams.has(t)) oov++;
      else if (!seen.has(t)) {
        seen.add(t);
        df.set(t, (df.get(t) ?? 0) + 1);
      }
    }
  }
  const top = [...df.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, TOP_TERMS);

  const profile: ReferenceProfile = {
    format: PROFILE_FORMAT,
    version: 1,
    rows: n,
    classes,
    scoreOf: k === 2 ? "class1" : "predicted",
    score: { edges: [...SCORE_EDGES], proportions: [...toProportions(binCounts(scores, n, SCORE_EDGES, new Float64Array(SCORE_EDGES.length + 1)))] },
    length: {
      edges: lengthEdges,
      proportions: [...toProportions(binCounts(lengths, n, lengthEdges, new Float64Array(lengthEdges.length + 1)))],
      mean: lengthSum / n,
    },
    classMix: [...toProportions(classCounts)],
    oovRate: tokens === 0 ? 0 : oov / tokens,
    topTerms: { terms: top.map(([t]) => t), df: top.map(([, c]) => c / n) },
  };
  if (labels) {
    const index = new Map(classes.map((c, i) => [String(c), i]));
    const actual = new Int32Array(n);
    const labelCounts = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const a = index.get(String(labels[i]));
      if (a === undefined)
        throw new DataError(`reference profile: label ${JSON.stringify(labels[i])} is not one of the model's classes ${JSON.stringify(classes)}`);
      actual[i] = a;
      labelCounts[a]++;
    }
    const { accuracy, f1 } = accuracyAndF1(predicted, actual, n, k);
    profile.labelMix = [...toProportions(labelCounts)];
    profile.accuracy = accuracy;
    profile.f1 = f1;
  }
  return profile;
}

/** The profile stored in a model's metadata, checked; null when the bundle has none. */
export function referenceProfileOf(metadata: Record<string, unknown>): ReferenceProfile | null {
  const p = metadata.referenceProfile;
  if (p === undefined) return null;
  return parseReferenceProfile(p);
}

export function parseReferenceProfile(value: unknown): ReferenceProfile {
  const p = value as Partial<ReferenceProfile> | null;
  if (!p || typeof p !== "object" || p.format !== PROFILE_FORMAT || p.version !== 1)
    throw new DataError(`reference profile: expected {format: '${PROFILE_FORMAT}', version: 1}`);
  const dist = (d: BinnedDistribution | undefined, name: string): void => {
    if (!d || !Array.isArray(d.edges) || !Array.isArray(d.proportions) || d.proportions.length !== d.edges.length + 1)
      throw new DataError(`reference profile: ${name} must have k − 1 edges and k proportions`);
  };
  dist(p.score, "score");
  dist(p.length, "length");
  if (!Array.isArray(p.classes) || !Array.isArray(p.classMix) || p.classMix.length !== p.classes.length)
    throw new DataError("reference profile: classMix must have one proportion per class");
  if (
    typeof p.oovRate !== "number" ||
    !p.topTerms ||
    !Array.isArray(p.topTerms.terms) ||
    !Array.isArray(p.topTerms.df) ||
    p.topTerms.terms.length !== p.topTerms.df.length
  ) {
    throw new DataError("reference profile: oovRate and topTerms {terms, df} are required");
  }
  return p as ReferenceProfile;
}
