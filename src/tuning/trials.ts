import type { CsrMatrix } from "../features/csr.js";
import { createVectorizer, type FeatureOptions } from "../features/factory.js";
import { applyTfidfInPlace, computeIdf, TFIDF_OPTION_KEYS } from "../features/tfidf.js";
import { CountVectorizer, TfidfVectorizer } from "../features/vectorizer.js";
import { headlineMetrics, type FoldMetrics } from "../evaluation/cross-validate.js";
import { evaluateClassifier } from "../evaluation/classification-metrics.js";
import type { Label } from "../models/estimator.js";
import { predictionsFromProba } from "../models/sentiment-model.js";
import { LinearSVC } from "../models/linear-svc.js";
import { LogisticRegression } from "../models/logistic-regression.js";
import { NBSVM } from "../models/nbsvm.js";
import { createClassifier } from "../models/serialization.js";
import { createPreprocessor } from "../text/preprocess.js";
import { DataError } from "../util/errors.js";
import { stratifiedKFold, type Split } from "../util/stratified-split.js";
import { featuresKey, preprocessKey, type TrialConfig } from "./space.js";

/** A trial's outcome is the search's type (search.ts), which the main thread loads without the models. */
export type { TrialResult } from "./search.js";

/** A previous fit's solution on the same fold matrices, the warm start of the next C. */
type WarmStart = { coef: Float64Array; intercept: Float64Array } | { alpha: Float64Array[] };

/** The estimator option carrying a warm start: logreg's coefficients, the SVMs' dual variables. */
function warmOption(kind: string, start: WarmStart): Record<string, unknown> {
  if ("coef" in start) return { initialCoef: start };
  return kind === "nbsvm" ? { initialDual: start.alpha } : { initialAlpha: start.alpha };
}

/** The option keeping a fit on the calling thread (unless the configuration sets it). */
function singleThread(kind: string, hyper: Record<string, unknown>): Record<string, unknown> {
  if ((kind === "rf" || kind === "gbdt") && hyper.nJobs === undefined) return { nJobs: 1 };
  if (kind === "logreg" && hyper.threads === undefined) return { threads: 1 };
  return {};
}

/** One fold's matrices for one preprocessing × features configuration. */
export interface FoldMatrices {
  train: CsrMatrix;
  test: CsrMatrix;
}

/**
 * The BoW features whose count matrix a TF-IDF config weights (the same n-grams and count
 * options), or null when the config is not TF-IDF or appends a lexicon block.
 */
export function countsFeaturesOf(f: FeatureOptions): FeatureOptions | null {
  if (f.kind !== "tfidf" || (f.lexicon !== undefined && f.lexicon !== "none")) return null;
  const tfidfKeys: readonly string[] = TFIDF_OPTION_KEYS;
  const common = Object.fromEntries(Object.entries(f).filter(([k]) => k !== "kind" && k !== "lexicon" && !tfidfKeys.includes(k)));
  return { ...common, kind: "bow" } as FeatureOptions;
}

/** A copy of the count matrix `X` weighted by TF-IDF (sharing X's indptr and indices, which nothing writes). */
function weighCounts(X: CsrMatrix, idf: Float64Array | null, vectorizer: TfidfVectorizer): CsrMatrix {
  const out = { ...X, data: X.data.slice(0, X.indptr[X.rows]) };
  applyTfidfInPlace(out, idf, vectorizer.tfidfOptions);
  return out;
}

/**
 * A fold's count matrices cut from the whole corpus's (`X`, one row per text, columns in the
 * vectorizer's term order): the training rows over the terms they contain, renumbered in the
 * same order, and the test rows over those terms only — what a CountVectorizer without
 * document-frequency pruning fitted on the training rows gives (its columns are its terms in
 * sorted order, a subset of the corpus's keeps their order), bit for bit (tested).
 */
export function cutFoldCounts(X: CsrMatrix, train: ArrayLike<number>, test: ArrayLike<number>): FoldMatrices {
  const { indptr, indices, data } = X;
  const column = new Int32Array(X.cols).fill(-1);
  for (let r = 0; r < train.length; r++) {
    const i = train[r];
    for (let p = indptr[i]; p < indptr[i + 1]; p++) column[indices[p]] = 0;
  }
  let cols = 0;
  for (let j = 0; j < X.cols; j++) if (column[j] === 0) column[j] = cols++;
  if (cols === 0) throw new DataError("empty vocabulary; perhaps the documents only contain stop words");
  const rowsOf = (rows: ArrayLike<number>): CsrMatrix => {
    let nnz = 0;
    for (let r = 0; r < rows.length; r++) for (let p = indptr[rows[r]]; p < indptr[rows[r] + 1]; p++) if (column[indices[p]] >= 0) nnz++;
    const outIndptr = new Int32Array(rows.length + 1);
    const outIndices = new Int32Array(nnz);
    const outData = new Float64Array(nnz);
    let q = 0;
    for (let r = 0; r < rows.length; r++) {
      const i = rows[r];
      for (let p = indptr[i]; p < indptr[i + 1]; p++) {
        const c = column[indices[p]];
        if (c < 0) continue;
        outIndices[q] = c;
        outData[q] = data[p];
        q++;
      }
      outIndptr[r + 1] = q;
    }
    return { rows: rows.length, cols, indptr: outIndptr, indices: outIndices, data: outData };
  };
  return { train: rowsOf(train), test: rowsOf(test) };
}

/** A BoW vectorizer whose fold matrices cutFoldCounts can give: no lexicon block, no document-frequency pruning. */
function cuttable(v: CountVectorizer, features: FeatureOptions): boolean {
  if (v instanceof TfidfVectorizer || (features.lexicon !== undefined && features.lexicon !== "none")) return false;
  const { minDf, maxDf, maxFeatures } = v.options;
  return "count" in minDf && minDf.count <= 1 && "proportion" in maxDf && maxDf.proportion >= 1 && maxFeatures === null;
}

/** Same shape, same stored positions, and the same entries > 0: equal after binarize (NBSVM's x̂ = 1{x > 0}). */
export function sameBinaryPattern(a: CsrMatrix, b: CsrMatrix): boolean {
  if (a.rows !== b.rows || a.cols !== b.cols) return false;
  const n = a.rows;
  for (let i = 0; i <= n; i++) if (a.indptr[i] !== b.indptr[i]) return false;
  for (let p = a.indptr[0]; p < a.indptr[n]; p++) {
    if (a.indices[p] !== b.indices[p] || a.data[p] > 0 !== b.data[p] > 0) return false;
  }
  return true;
}

/** Models that see only which entries of X are positive (they binarise it first): NBSVM. */
function binarizing(kind: string): boolean {
  return kind === "nbsvm";
}

/**
 * Scores configurations fold by fold, sharing work across trials: the texts are tokenised once
 * per preprocessing config, and each fold's vectorizer is fitted (on the fold's training rows
 * only) once per preprocessing × features config, then reused by every model setting. The
 * folds are those of `polarity cv` (the same stratifiedKFold call as crossValidateBy), and a
 * fold is scored exactly as crossValidateTexts scores it, so a trial's mean equals
 * `polarity cv` on the same config and seed.
 *
 * Warm start along the C path (`warmStart`, default on): a logistic regression, linear SVM or NBSVM (SVM base)
 * fit starts from the solution of the previous fit of the same model family and other
 * hyperparameters on the same fold matrices (the grid lists C in increasing order), so each
 * C costs a few solver iterations from a nearby point instead of a solve from zero. The
 * optimum is the same (tested: warm and cold fits agree within the solver's tolerance).
 */
export class FoldScorer {
  readonly splits: Split[];
  private readonly tokens = new Map<string, string[][]>();
  private readonly matrices = new Map<string, FoldMatrices>();
  /** The whole corpus's count matrix per preprocessing × BoW features group (cutFoldCounts). */
  private readonly corpusCounts = new Map<string, CsrMatrix>();
  /** Preprocessing × features groups whose matrices are kept (the most recent ones). */
  private readonly keptGroups: string[] = [];
  private readonly warm = new Map<string, WarmStart>();
  /**
   * Binarising models (NBSVM) see the same matrices for every features config with the same
   * vocabulary (BoW and TF-IDF of the same n-grams): per fold, the first group with a given
   * binary pattern (train and test) stands for the later ones, and a binarising fit's metrics
   * are kept under that group, so the twin group's fit is not repeated. Its result is the one
   * the fit would give (the same input, options and warm-start chain); fitSeconds is the
   * original fit's.
   */
  private readonly binaryTwinOf = new Map<string, string>();
  private readonly binaryResults = new Map<string, FoldMetrics>();
  /** Binarising fits answered from a twin group's result (diagnostics, tests). */
  sharedBinaryFits = 0;
  /** Whole-corpus count matrices this scorer counted itself (diagnostics, tests). */
  corporaCounted = 0;
  /**
   * Called with each whole-corpus count matrix this scorer counts: FoldWorkerPool hands it to
   * its other workers (adoptCorpusCounts), so a preprocessing that two workers share is
   * tokenised and counted once (~0.15 s of a worker per preprocessing on the UCI sentences).
   */
  onCorpusCounts?: (group: string, counts: CsrMatrix) => void;

  constructor(
    private readonly texts: readonly string[],
    private readonly labels: readonly Label[],
    folds: number,
    seed: number,
    private readonly maxKeptGroups = 6,
    private readonly warmStart = true,
    /**
     * 1 in a FoldWorkerPool worker: each fit on one thread (the pool already keeps every core
     * busy; a forest's or a large logistic regression's own helper thread would oversubscribe
     * them). 'auto': the estimators' defaults.
     */
    private readonly threadsPerFit: 1 | "auto" = "auto",
  ) {
    if (texts.length !== labels.length) throw new DataError(`tune: ${texts.length} texts but ${labels.length} labels`);
    this.splits = stratifiedKFold(labels, { k: folds, shuffle: true, seed });
  }

  get folds(): number {
    return this.splits.length;
  }

  /**
   * The whole-corpus count matrix of `group` as another scorer over the same texts counted it
   * (onCorpusCounts): the same matrix this one would count (the same tokens, vectorizer and
   * code), so it is used instead. A group counted or adopted before keeps its matrix.
   */
  adoptCorpusCounts(group: string, counts: CsrMatrix): void {
    if (!this.corpusCounts.has(group)) this.corpusCounts.set(group, counts);
  }

  private tokensFor(config: TrialConfig): string[][] {
    const key = preprocessKey(config.preprocess);
    let t = this.tokens.get(key);
    if (!t) {
      const tokenize = createPreprocessor(config.preprocess);
      t = this.texts.map((x) => tokenize(x));
      this.tokens.set(key, t);
    }
    return t;
  }

  /** The fold's train and test matrices of the configuration's preprocessing × features (cached; diagnostics, tests). */
  foldMatrices(config: TrialConfig, fold: number): FoldMatrices {
    return this.matricesFor(config, `${preprocessKey(config.preprocess)}|${featuresKey(config.features)}`, fold);
  }

  private matricesFor(config: TrialConfig, group: string, fold: number): FoldMatrices {
    const key = `${group}|${fold}`;
    let m = this.matrices.get(key);
    if (m) return m;
    const vectorizer = createVectorizer(config.features, config.preprocess);
    const countsFeatures = countsFeaturesOf(config.features);
    if (countsFeatures !== null && vectorizer instanceof TfidfVectorizer) {
      // TF-IDF weights the BoW config's counts (fitted once per fold for both): applyTfidfInPlace
      // is what TfidfVectorizer's fit and transform apply, in the same order, so the matrices
      // are bit-identical (tested) for about half the vectorising cost.
      const counts = this.matricesFor({ ...config, features: countsFeatures }, `${preprocessKey(config.preprocess)}|${featuresKey(countsFeatures)}`, fold);
      const { useIdf, smoothIdf } = vectorizer.tfidfOptions;
      const idf = useIdf ? computeIdf(counts.train, smoothIdf) : null;
      m = { train: weighCounts(counts.train, idf, vectorizer), test: weighCounts(counts.test, idf, vectorizer) };
    } else if (vectorizer instanceof CountVectorizer && cuttable(vectorizer, config.features)) {
      // Each text is analysed once per preprocessing instead of once per fold (5 times for 5 folds).
      let corpus = this.corpusCounts.get(group);
      if (!corpus) {
        corpus = vectorizer.fitTransform(this.tokensFor(config));
        this.corpusCounts.set(group, corpus);
        this.corporaCounted++;
        this.onCorpusCounts?.(group, corpus);
      }
      m = cutFoldCounts(corpus, this.splits[fold].train, this.splits[fold].test);
    } else {
      const tokens = this.tokensFor(config);
      const { train, test } = this.splits[fold];
      const X = vectorizer.fitTransform(Array.from(train, (i) => tokens[i]));
      m = { train: X, test: vectorizer.transform(Array.from(test, (i) => tokens[i])) };
    }
    if (!this.keptGroups.includes(group)) {
      this.keptGroups.push(group);
      // Bounded memory: drop the matrices of the oldest group (trials run grouped).
      if (this.keptGroups.length > this.maxKeptGroups) {
        const old = this.keptGroups.shift() as string;
        for (const k of [...this.matrices.keys()]) if (k.startsWith(`${old}|`)) this.matrices.delete(k);
        this.corpusCounts.delete(old);
        for (const k of [...this.warm.keys()]) if (k.startsWith(`${old}|`)) this.warm.delete(k);
        for (const k of [...this.binaryResults.keys()]) if (k.startsWith(`${old}|`)) this.binaryResults.delete(k);
        for (const [k, v] of [...this.binaryTwinOf]) if (k.startsWith(`${old}|`) || v === old) this.binaryTwinOf.delete(k);
      }
    }
    this.matrices.set(key, m);
    return m;
  }

  /**
   * The group whose fold-`fold` matrices stand for `group`'s under binarisation: the first kept
   * group with the same preprocessing whose train and test matrices have the same binary
   * pattern (sameBinaryPattern), else `group` itself.
   */
  private binaryTwin(config: TrialConfig, group: string, fold: number, m: FoldMatrices): string {
    const key = `${group}|${fold}`;
    let twin = this.binaryTwinOf.get(key);
    if (twin !== undefined) return twin;
    twin = group;
    const pre = `${preprocessKey(config.preprocess)}|`;
    for (const other of this.keptGroups) {
      if (other === group) break;
      if (!other.startsWith(pre)) continue;
      const o = this.matrices.get(`${other}|${fold}`);
      if (o && sameBinaryPattern(o.train, m.train) && sameBinaryPattern(o.test, m.test)) {
        twin = this.binaryTwinOf.get(`${other}|${fold}`) ?? other;
        break;
      }
    }
    this.binaryTwinOf.set(key, twin);
    return twin;
  }

  /** Fits the configuration's classifier on fold `fold` and scores its test rows. */
  scoreFold(config: TrialConfig, fold: number): FoldMetrics {
    const { train, test } = this.splits[fold];
    const ownGroup = `${preprocessKey(config.preprocess)}|${featuresKey(config.features)}`;
    const m = this.matricesFor(config, ownGroup, fold);
    const { kind, ...hyper } = config.model;
    const binary = binarizing(kind);
    const group = binary ? this.binaryTwin(config, ownGroup, fold, m) : ownGroup;
    const resultKey = binary ? `${group}|${fold}|${kind}|${JSON.stringify(hyper)}` : "";
    const known = binary ? this.binaryResults.get(resultKey) : undefined;
    if (known) {
      this.sharedBinaryFits++;
      return { ...known };
    }
    const t0 = performance.now();
    const pathKind = this.warmStart && (kind === "logreg" || kind === "svm" || (kind === "nbsvm" && (hyper.base ?? "svm") === "svm"));
    const warmKey = pathKind ? `${group}|${fold}|${kind}|${JSON.stringify({ ...hyper, C: null })}` : "";
    const start = pathKind ? this.warm.get(warmKey) : undefined;
    const threads = this.threadsPerFit === 1 ? singleThread(kind, hyper) : {};
    const classifier = createClassifier(kind, start === undefined ? { ...hyper, ...threads } : { ...hyper, ...threads, ...warmOption(kind, start) });
    classifier.fit(
      m.train,
      Array.from(train, (i) => this.labels[i]),
    );
    if (pathKind) {
      if (classifier instanceof LinearSVC) this.warm.set(warmKey, { alpha: classifier.solutions.map((s) => s.alpha) });
      else if (classifier instanceof NBSVM) this.warm.set(warmKey, { alpha: classifier.dualVariables });
      else if (classifier instanceof LogisticRegression) this.warm.set(warmKey, { coef: classifier.coef, intercept: classifier.intercept });
    }
    const fitSeconds = (performance.now() - t0) / 1000;
    const yTrue = Array.from(test, (i) => this.labels[i]);
    const proba = classifier.predictProba(m.test);
    const yPred = predictionsFromProba(proba, classifier.classes).map((p) => p.label);
    const summary = evaluateClassifier(yTrue, yPred, proba, classifier.classes, { probabilistic: classifier.probabilistic ?? true });
    const metrics = { ...headlineMetrics(summary), fitSeconds };
    if (binary) this.binaryResults.set(resultKey, { ...metrics });
    return metrics;
  }
}
