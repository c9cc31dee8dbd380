import { TokenIdScanner, resolvePreprocessConfig } from "../text/preprocess.js";
import type { NgramIndex } from "./ngram-index.js";
import { ngramIds, sortIds } from "./ngram-index.js";
import { CountVectorizer, TfidfVectorizer } from "./vectorizer.js";

/** Above this many features the interleaved [idf, coef] copy (16 bytes per feature) is not made. */
const INTERLEAVE_MAX_FEATURES = 1 << 21;

/**
 * The coefficients of a linear model over a vectorizer's columns: scores = x·coefᵀ + intercept
 * with `rows` rows of `nFeatures` weights (row-major). `binarize`: the model reads each present
 * feature as 1 (NBSVM).
 */
export interface LinearHead {
  coef: Float64Array;
  intercept: Float64Array;
  rows: number;
  nFeatures: number;
  binarize: boolean;
}

/**
 * Text → linear scores in one pass, without a sparse matrix: the vectorizer's transform and the
 * linear model's dot product fused (docs/features.md, "The fused scorer").
 *
 * Per text: the fused scanner (TokenIdScanner: preprocess's own scan, emitting vocabulary atom
 * ids) → n-gram ids from the frozen n-gram index, level by level as the vectorizer builds them
 * → columns (grams that are not terms dropped) → the columns sorted and repeats merged into
 * counts → binary / sublinear tf / idf / l1 or l2 norm → dot with each coefficient row. Every
 * value is computed by the same floating-point operations in the same order as
 * `vectorizer.transform` followed by the linear model's `rawScores` (a row's columns are summed
 * in ascending order in both), so the scores are bit-for-bit those of the CSR path
 * (test/features/scorer.test.ts). Nothing is allocated per text once the scratch arrays are big
 * enough.
 *
 * Applies to the plain CountVectorizer / TfidfVectorizer with a preprocess config (the
 * vectorizers SentimentModel builds) — `FusedScorer.create` returns null for anything else (the
 * lexicon block, which reads token strings; a token-pattern vectorizer). Not thread-safe: one
 * per thread (scratch state).
 */
export class FusedScorer {
  private readonly scanner: TokenIdScanner;
  private readonly index: NgramIndex;
  private readonly columnOfGram: Int32Array;
  private readonly idf: Float64Array | null;
  private readonly minN: number;
  private readonly maxN: number;
  private readonly binaryCounts: boolean;
  private readonly sublinear: boolean;
  /** 0: no norm, 1: l1, 2: l2. */
  private readonly norm: number;
  private readonly coef: Float64Array;
  private readonly intercept: Float64Array;
  private readonly rows: number;
  private readonly nFeatures: number;
  private readonly binarize: boolean;
  /**
   * One-row models with idf: [idf_j, coef_j] per column j, so a column's two weights share a
   * cache line (the scorer's random reads are what it waits on); null otherwise.
   */
  private readonly idfCoef: Float64Array | null;
  // Scratch: the text's columns (then its distinct columns), their values, n-gram levels.
  private cols = new Int32Array(256);
  private vals = new Float64Array(256);
  private levelA = new Int32Array(64);
  private levelB = new Int32Array(64);

  private constructor(vectorizer: CountVectorizer, head: LinearHead) {
    const tables = vectorizer.scoringTables();
    this.index = tables.index;
    this.columnOfGram = tables.columnOfGram;
    this.idf = tables.idf;
    this.scanner = new TokenIdScanner(resolvePreprocessConfig(vectorizer.options.preprocess), tables.index);
    [this.minN, this.maxN] = vectorizer.options.ngramRange;
    this.binaryCounts = vectorizer.options.binary;
    const tfidf = vectorizer instanceof TfidfVectorizer ? vectorizer.tfidfOptions : null;
    this.sublinear = tfidf !== null && tfidf.sublinearTf;
    this.norm = tfidf === null || tfidf.norm === null ? 0 : tfidf.norm === "l1" ? 1 : 2;
    this.coef = head.coef;
    this.intercept = head.intercept;
    this.rows = head.rows;
    this.nFeatures = head.nFeatures;
    this.binarize = head.binarize;
    let idfCoef: Float64Array | null = null;
    if (this.idf !== null && this.rows === 1 && this.nFeatures <= INTERLEAVE_MAX_FEATURES) {
      idfCoef = new Float64Array(2 * this.nFeatures);
      for (let j = 0; j < this.nFeatures; j++) {
        idfCoef[2 * j] = this.idf[j];
        idfCoef[2 * j + 1] = this.coef[j];
      }
    }
    this.idfCoef = idfCoef;
  }

  /**
   * A scorer for `vectorizer` (fitted) and `head`, or null when this vectorizer is not one the
   * scorer reproduces exactly (see the class comment) or the head does not fit its columns.
   */
  static create(vectorizer: CountVectorizer, head: LinearHead): FusedScorer | null {
    const plain = vectorizer.constructor === CountVectorizer || vectorizer.constructor === TfidfVectorizer;
    if (!plain || !vectorizer.scansPacked || !vectorizer.isFitted) return null;
    const d = vectorizer.nFeatures;
    if (head.nFeatures !== d || head.rows < 1 || head.intercept.length !== head.rows || head.coef.length !== head.rows * d) return null;
    return new FusedScorer(vectorizer, head);
  }

  /** Whether this scorer was built for these coefficient arrays (a refit or reload replaces them). */
  readsCoefficients(coef: Float64Array, intercept: Float64Array): boolean {
    return coef === this.coef && intercept === this.intercept;
  }

  /** The raw scores of one text (a string) into out[o, o + rows). */
  scoreText(text: string, out: Float64Array, o: number): void {
    const len = this.scanner.scan(text);
    this.scoreAtoms(this.scanner.ids, len, out, o);
  }

  /**
   * scoreText(joined.slice(start, end)) scanned in place: `joined` holds many texts, each
   * followed by "\n" (SentimentModel.packTexts).
   */
  scoreRange(joined: string, start: number, end: number, out: Float64Array, o: number): void {
    const len = this.scanner.scanRange(joined, start, end);
    this.scoreAtoms(this.scanner.ids, len, out, o);
  }

  /** Scores from the text's atom ids (-1 = not in the vocabulary). */
  private scoreAtoms(atoms: Int32Array, len: number, out: Float64Array, o: number): void {
    const m = this.columns(atoms, len);
    sortIds(this.cols, m);
    if (this.idfCoef !== null) {
      out[o] = this.scoreInterleaved(m, this.idfCoef);
      return;
    }
    const u = this.weighDistinct(m);
    this.dot(u, out, o);
  }

  /**
   * weighDistinct + dot for a one-row model with idf, reading idf and coef from the interleaved
   * array: the same operations in the same order, so the same score bit for bit. Kept apart
   * from weighDistinct on purpose: it is the binary TF-IDF model's whole scoring loop, and
   * reading both weights from one cache line is its speed-up (see idfCoef).
   */
  private scoreInterleaved(m: number, w: Float64Array): number {
    const cols = this.cols;
    const vals = this.vals;
    const binary = this.binaryCounts;
    const sublinear = this.sublinear;
    let u = 0;
    let p = 0;
    while (p < m) {
      const c = cols[p];
      let count = 1;
      p++;
      while (p < m && cols[p] === c) {
        if (!binary) count += 1;
        p++;
      }
      cols[u] = c;
      vals[u] = (sublinear && count !== 1 ? Math.log(count) + 1 : count) * w[2 * c];
      u++;
    }
    let scale = 1;
    if (this.norm !== 0) {
      let s = 0;
      if (this.norm === 2) for (let q = 0; q < u; q++) s += vals[q] * vals[q];
      else for (let q = 0; q < u; q++) s += Math.abs(vals[q]);
      if (s !== 0) scale = 1 / (this.norm === 2 ? Math.sqrt(s) : s);
    }
    // x * 1 === x for every double, so an unnormalised row is unchanged by the scale.
    const binarize = this.binarize;
    let score = this.intercept[0];
    for (let q = 0; q < u; q++) {
      let x = vals[q] * scale;
      if (binarize) x = x > 0 ? 1 : 0;
      score += x * w[2 * cols[q] + 1];
    }
    return score;
  }

  /**
   * The columns of the text's n-grams with n in ngramRange into cols[0, m) (unsorted, with
   * repeats): its atoms, then level k = 2.. (each k-gram extends a (k-1)-gram by the next atom;
   * an unknown gram ends that chain), as the vectorizer builds them (ngramIds).
   */
  private columns(atoms: Int32Array, len: number): number {
    const minN = this.minN;
    const maxN = this.maxN;
    const colOf = this.columnOfGram;
    let grams = 0;
    for (let k = minN; k <= maxN; k++) grams += Math.max(0, len - k + 1);
    if (grams > this.cols.length) {
      const cap = Math.max(grams, this.cols.length * 2);
      this.cols = new Int32Array(cap);
      this.vals = new Float64Array(cap);
    }
    const cols = this.cols;
    let m = 0;
    if (minN === 1 && maxN === 2) {
      // The common range in one pass: each atom's column, then the bigram it ends. The order
      // differs from ngramIds's levels (all atoms, then all bigrams) but not the multiset, and
      // the columns are sorted next.
      const index = this.index;
      let p = -1;
      for (let j = 0; j < len; j++) {
        const a = atoms[j];
        if (a >= 0) {
          const c = colOf[a];
          if (c >= 0) cols[m++] = c;
          if (p >= 0) {
            const g = index.chain(p, a, false);
            if (g >= 0) {
              const cg = colOf[g];
              if (cg >= 0) cols[m++] = cg;
            }
          }
        }
        p = a;
      }
      return m;
    }
    if (len > this.levelA.length) {
      this.levelA = new Int32Array(Math.max(len, this.levelA.length * 2));
      this.levelB = new Int32Array(this.levelA.length);
    }
    // Other ranges: the vectorizer's own chaining into gram ids, then each gram's column in place.
    const n = ngramIds(this.index, atoms, len, minN, maxN, false, this.levelA, this.levelB, cols);
    for (let q = 0; q < n; q++) {
      const c = colOf[cols[q]];
      if (c >= 0) cols[m++] = c;
    }
    return m;
  }

  /**
   * Merges the sorted cols[0, m) into distinct columns cols[0, u) with their values in vals:
   * the count (1 with binary), then the vectorizer's weighting in applyTfidfInPlace's order —
   * sublinear tf, idf, then the l1/l2 norm — and NBSVM's binarising. Returns u.
   */
  private weighDistinct(m: number): number {
    const cols = this.cols;
    const vals = this.vals;
    const binary = this.binaryCounts;
    const sublinear = this.sublinear;
    const idf = this.idf;
    let u = 0;
    let p = 0;
    while (p < m) {
      const c = cols[p];
      let count = 1;
      p++;
      while (p < m && cols[p] === c) {
        if (!binary) count += 1;
        p++;
      }
      // ln(1) + 1 is exactly 1: most counts are 1, and the log is the costliest step here.
      let v = sublinear && count !== 1 ? Math.log(count) + 1 : count;
      if (idf !== null) v *= idf[c];
      cols[u] = c;
      vals[u] = v;
      u++;
    }
    if (this.norm !== 0) {
      let s = 0;
      if (this.norm === 2) for (let q = 0; q < u; q++) s += vals[q] * vals[q];
      else for (let q = 0; q < u; q++) s += Math.abs(vals[q]);
      if (s !== 0) {
        const scale = 1 / (this.norm === 2 ? Math.sqrt(s) : s);
        for (let q = 0; q < u; q++) vals[q] *= scale;
      }
    }
    if (this.binarize) for (let q = 0; q < u; q++) vals[q] = vals[q] > 0 ? 1 : 0;
    return u;
  }

  /** out[o + r] = intercept[r] + Σ vals·coef[r] over the row's columns in ascending order (rawScores' sum). */
  private dot(u: number, out: Float64Array, o: number): void {
    const cols = this.cols;
    const vals = this.vals;
    const coef = this.coef;
    const d = this.nFeatures;
    for (let r = 0; r < this.rows; r++) {
      const base = r * d;
      let s = this.intercept[r];
      for (let p = 0; p < u; p++) s += vals[p] * coef[base + cols[p]];
      out[o + r] = s;
    }
  }
}
