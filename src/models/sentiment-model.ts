import { handOverToFit, type CsrMatrix } from "../features/csr.js";
import { createVectorizer, type AnyVectorizer, type FeatureOptions } from "../features/factory.js";
import { TfidfVectorizer, vectorizerFromJSON, vectorizerShellFromJSON, type VectorizerDocument, type VectorizerJson } from "../features/vectorizer.js";
import { BinaryContainer, isBinaryModel, writeBinaryContainer, type SectionArray } from "./binary-bundle.js";
import { preprocess, resolvePreprocessConfig, type PreprocessConfig } from "../text/preprocess.js";
import { DataError, InvalidParameterError } from "../util/errors.js";
import { rejectUnknownOptions, requireInteger } from "../util/validate.js";
import type { Label } from "./estimator.js";
import { LinearClassifierBase, ovrProbaRow, sigmoid, softmaxRow, type ModelJson } from "./linear.js";
import { LOGISTIC_REGRESSION_DEFAULTS, LogisticRegression } from "./logistic-regression.js";
import { classifierFromJSON, classifierFromParts, createClassifier, type AnyClassifier, type ClassifierKind } from "./serialization.js";
import { FusedScorer } from "../features/scorer.js";
import { MultinomialNB } from "./naive-bayes.js";
import { LinearSVC } from "./linear-svc.js";
import { NBSVM } from "./nbsvm.js";

/**
 * The model bundle: preprocessing config + fitted vectorizer + fitted classifier, composed
 * (CONTRIBUTING.md §2: a pipeline is estimators composed). One JSON document reproduces every
 * prediction, so training and serving cannot disagree: the vectorizer carries the exact
 * `preprocess` config and runs it on raw text. Pure: no I/O here (loading files is the
 * callers' job).
 */

export type { FeatureOptions } from "../features/factory.js";

export interface ClassifierOptions {
  kind: ClassifierKind;
  [hyperparameter: string]: unknown;
}

export interface TrainProgress {
  phase: "vectorize" | "fit";
  done: number;
  total: number;
}

export interface TrainOptions {
  preprocess?: Partial<PreprocessConfig>;
  features: FeatureOptions;
  model: ClassifierOptions;
  onProgress?: (event: TrainProgress) => void;
  onWarning?: (message: string) => void;
  /** Class id → name (e.g. {0: "negative", 1: "positive"}), keyed by String(class); classes left out are named String(class). */
  classNames?: Readonly<Record<string, string>> | null;
  metadata?: Record<string, unknown>;
}

/** SentimentModel.fit: the classifier part of training, on features a fitted vectorizer made. */
export type FitOptions = Pick<TrainOptions, "model" | "onProgress" | "onWarning" | "classNames" | "metadata">;

export interface SentimentModelJSON {
  format: "polarity.sentiment-model";
  version: 1;
  preprocess: PreprocessConfig;
  vectorizer: VectorizerJson;
  classifier: ModelJson;
  classes: Label[];
  /** What each class means, in `classes` order (e.g. ["negative", "positive"] for classes [0, 1]); absent in older bundles (then String(class)). */
  classNames?: string[];
  metadata: Record<string, unknown>;
}

export interface Prediction {
  /** The class id as trained (e.g. 1). */
  label: Label;
  /** What the class means (e.g. "positive"): the bundle's class name, else String(label). */
  className: string;
  /** Probability per class, keyed by String(class). Uncalibrated scores for LinearSVC (see its doc). */
  probabilities: Record<string, number>;
}

/** One word of the original text and how much it pushed the decision. */
export interface TokenContribution {
  /** The word as it appears in the original text. */
  token: string;
  /** UTF-16 offsets into the original text: text.slice(start, end) === token. */
  start: number;
  end: number;
  /** > 0 pushes towards `towards` (classes[1] for binary models), < 0 away from it. */
  weight: number;
}

/** One feature (term) of the vectorised text and its contribution value × coefficient. */
export interface TermContribution {
  term: string;
  weight: number;
}

export interface Explanation {
  prediction: Prediction;
  /** The class the weights refer to: classes[1] for binary models, the predicted class otherwise. */
  towards: Label;
  intercept: number;
  /** Words of the original text in order of appearance, with non-zero weight. */
  words: TokenContribution[];
  /** The strongest terms, by |weight|, at most topK. */
  terms: TermContribution[];
}

/** Rows scored per block: the scratch matrix stays small (cache-resident) and is reused. */
const SCORING_BLOCK = 1024;

/** Document arrays the next train() or trainAsync() may empty once vectorised (handOverTexts). */
const HANDED_OVER_TEXTS = new WeakSet<readonly VectorizerDocument[]>();

/**
 * Gives `docs` away to the next SentimentModel.train or trainAsync: once the documents are
 * vectorised, before the classifier's fit (the longer part, and the one that needs the most
 * memory), the array is emptied (length 0), so the texts — and the file's string that texts read
 * from a CSV file are slices of — can be collected during the fit instead of staying until train
 * returns (bench/core.ts's from-file lines). Only for a caller that does not read `docs` again;
 * a frozen array, and an array whose training fails before it is vectorised, are left as they are.
 * Returns docs.
 */
export function handOverTexts<T extends VectorizerDocument[]>(docs: T): T {
  HANDED_OVER_TEXTS.add(docs);
  return docs;
}

/** Empties `docs` if it was handed over (handOverTexts). */
function dropHandedOverTexts(docs: readonly VectorizerDocument[]): void {
  if (HANDED_OVER_TEXTS.delete(docs) && !Object.isFrozen(docs)) (docs as VectorizerDocument[]).length = 0;
}

const TRAIN_KEYS = ["preprocess", "features", "model", "onProgress", "onWarning", "classNames", "metadata"] as const;
const FIT_KEYS = ["model", "onProgress", "onWarning", "classNames", "metadata"] as const;

export class SentimentModel {
  // Column → term, built on the first explain(): getFeatureNames() copies the vocabulary each call.
  private featureNames: string[] | null = null;
  // The fused text → scores path (src/features/scorer.ts), built on first use; null when this
  // model's parts are not ones it reproduces exactly (then scoring goes through CSR blocks).
  private fused: FusedScoring | null | undefined = undefined;

  private constructor(
    readonly vectorizer: AnyVectorizer,
    readonly classifier: AnyClassifier,
    readonly metadata: Record<string, unknown>,
    /** What each class means, in `classes` order. */
    readonly classNames: readonly string[],
  ) {}

  /**
   * Fits vectorizer and classifier. Documents are raw texts (preprocessed with
   * `options.preprocess`) or token arrays that preprocessing already produced with that
   * config (used as they are, so a corpus is never tokenised twice). An array given with
   * handOverTexts is emptied once vectorised.
   */
  static train(docs: readonly VectorizerDocument[], labels: readonly Label[], options: TrainOptions): SentimentModel {
    const vectorizer = SentimentModel.startTraining(docs, labels, options);
    const X = vectorizer.fitTransform(docs);
    dropHandedOverTexts(docs);
    return SentimentModel.finishTraining(vectorizer, X, labels, options);
  }

  /**
   * train() with the vectorizer's counting on two threads (fitTransformAsync: from 20,000 raw
   * texts on a machine with two cores or more); the same model, bit for bit. The way to train
   * from a large file.
   */
  static async trainAsync(docs: readonly VectorizerDocument[], labels: readonly Label[], options: TrainOptions): Promise<SentimentModel> {
    const vectorizer = SentimentModel.startTraining(docs, labels, options);
    const X = await vectorizer.fitTransformAsync(docs);
    dropHandedOverTexts(docs);
    return SentimentModel.finishTraining(vectorizer, X, labels, options);
  }

  /** train()'s checks and its vectorizer, before the (long) vectorising pass. */
  private static startTraining(docs: readonly VectorizerDocument[], labels: readonly Label[], options: TrainOptions): AnyVectorizer {
    rejectUnknownOptions("train options", options, TRAIN_KEYS);
    if (!Array.isArray(docs)) throw new DataError("train: expected an array of texts");
    if (docs.length !== labels.length) throw new DataError(`train: ${docs.length} texts but ${labels.length} labels`);
    const vectorizer = createVectorizer(options.features, resolvePreprocessConfig(options.preprocess));
    // The classifier's options are checked before the (long) vectorising pass.
    createClassifier(options.model?.kind, withoutKind(options.model));
    options.onProgress?.({ phase: "vectorize", done: 0, total: docs.length });
    return vectorizer;
  }

  private static finishTraining(vectorizer: AnyVectorizer, X: CsrMatrix, labels: readonly Label[], options: TrainOptions): SentimentModel {
    options.onProgress?.({ phase: "vectorize", done: X.rows, total: X.rows });
    const { preprocess: _p, features: _f, ...fit } = options;
    // X is ours alone: the fit may release it once it holds its own copy (peak memory).
    return SentimentModel.fit(vectorizer, handOverToFit(X), labels, fit);
  }

  /**
   * The classifier half of train(): fits the classifier on X, the matrix `vectorizer` (already
   * fitted, carrying its preprocess config) made of the training documents, and composes the
   * bundle. The pipeline's train stage calls this on the featurize stage's outputs.
   */
  static fit(vectorizer: AnyVectorizer, X: CsrMatrix, labels: readonly Label[], options: FitOptions): SentimentModel {
    rejectUnknownOptions("fit options", options, FIT_KEYS);
    if (vectorizer.options.preprocess === null)
      throw new InvalidParameterError("SentimentModel.fit: the vectorizer has no preprocess config (build it with createVectorizer)");
    if (X.rows !== labels.length) throw new DataError(`train: ${X.rows} documents but ${labels.length} labels`);
    if (X.cols !== vectorizer.nFeatures) throw new DataError(`train: the matrix has ${X.cols} columns but the vectorizer has ${vectorizer.nFeatures} features`);
    const { kind } = options.model ?? ({} as ClassifierOptions);
    const hyper = withoutKind(options.model);
    const progress = options.onProgress;
    const fitOptions: Record<string, unknown> = { ...hyper };
    if (kind === "logreg") {
      const maxIter = typeof hyper.maxIter === "number" ? hyper.maxIter : LOGISTIC_REGRESSION_DEFAULTS.maxIter;
      if (progress) fitOptions.onProgress = (it: number) => progress({ phase: "fit", done: it, total: maxIter });
    }
    const classifier = createClassifier(kind, fitOptions);
    classifier.fit(X, labels);
    if (kind !== "logreg") progress?.({ phase: "fit", done: 1, total: 1 });
    // Every estimator collects its fit's warnings (convergence, degenerate classes).
    for (const w of (classifier as { warnings?: readonly string[] }).warnings ?? []) options.onWarning?.(w);
    const names = resolveClassNames(options.classNames, classifier.classes);
    return new SentimentModel(vectorizer, classifier, { ...(options.metadata ?? {}) }, names);
  }

  /** Rebuilds a model from its JSON; a DataError names what is wrong. */
  static fromJSON(json: unknown): SentimentModel {
    if (typeof json !== "object" || json === null || Array.isArray(json)) throw new DataError("sentiment model: expected a JSON object");
    const j = json as Partial<SentimentModelJSON>;
    if (j.format !== "polarity.sentiment-model")
      throw new DataError(`sentiment model: format must be 'polarity.sentiment-model', got ${JSON.stringify(j.format)}`);
    if (j.version !== 1) throw new DataError(`sentiment model: unsupported version ${JSON.stringify(j.version)} (this Polarity reads version 1)`);
    const vectorizer = vectorizerFromJSON(j.vectorizer);
    const classifier = classifierFromJSON(j.classifier);
    return SentimentModel.compose(j, vectorizer, classifier);
  }

  /** The checks fromJSON and fromBinary share, then the model. */
  private static compose(j: Partial<SentimentModelJSON>, vectorizer: AnyVectorizer, classifier: AnyClassifier): SentimentModel {
    if (vectorizer.nFeatures !== classifier.nFeatures) {
      throw new DataError(`sentiment model: the vectorizer has ${vectorizer.nFeatures} features but the classifier expects ${classifier.nFeatures}`);
    }
    if (vectorizer.options.preprocess === null) throw new DataError("sentiment model: the vectorizer has no preprocess config");
    // The top-level copies are for readers of the file; an edit to one of them must not be
    // silently ignored, so they must agree with what the model actually uses.
    if (!sameJson(j.preprocess, vectorizer.options.preprocess)) {
      throw new DataError(
        `sentiment model: the top-level preprocess ${JSON.stringify(j.preprocess)} differs from the config the vectorizer was fitted with ${JSON.stringify(vectorizer.options.preprocess)}; ` +
          "preprocessing cannot change without refitting (retrain the model)",
      );
    }
    if (!sameJson(j.classes, classifier.classes)) {
      throw new DataError(
        `sentiment model: the top-level classes ${JSON.stringify(j.classes)} differ from the classifier's ${JSON.stringify(classifier.classes)}`,
      );
    }
    const metadata = j.metadata ?? {};
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) throw new DataError("sentiment model: metadata must be an object");
    return new SentimentModel(vectorizer, classifier, metadata, parseClassNames(j.classNames, classifier.classes));
  }

  /** True when `bytes` are a binary model file (toBinary), not JSON. */
  static isBinary(bytes: Uint8Array): boolean {
    return isBinaryModel(bytes);
  }

  /**
   * The model as a binary file (docs/features.md, "The binary model file"): the JSON bundle's
   * small parts in a header, the fitted n-gram lookup (its hash table as it is), the column
   * maps, idf and a linear model's coefficients as aligned typed-array sections. `shared`
   * puts it in a SharedArrayBuffer, which worker threads adopt without a copy.
   */
  toBinary(options: { shared?: boolean } = {}): Uint8Array {
    const vectorizerShell = this.vectorizer.toJSONShell();
    const state = this.vectorizer.exportFitted();
    const sections: Record<string, SectionArray> = {
      "grams.prefix": state.index.prefix,
      "grams.last": state.index.last,
      "grams.length": state.index.length,
      "grams.table": state.index.pairSlots,
      "atoms.codes": state.index.atomCodes,
      "atoms.lengths": state.index.atomLengths,
      "columns.ofGram": state.columnOfGram,
      "columns.gram": state.gramOfColumn,
    };
    if (state.idf !== null) sections.idf = state.idf;
    let classifier: Record<string, unknown>;
    if (this.classifier instanceof LinearClassifierBase) {
      // toJSON without materialising millions of coefficients as a JS array: they go to a section.
      const clf = this.classifier;
      const { coef, intercept } = clf;
      clf.coef = new Float64Array(0);
      clf.intercept = new Float64Array(0);
      try {
        const { coef: _c, intercept: _b, ...rest } = clf.toJSON();
        classifier = rest;
      } finally {
        clf.coef = coef;
        clf.intercept = intercept;
      }
      sections.coef = coef;
      sections.intercept = intercept;
    } else {
      classifier = this.classifier.toJSON() as unknown as Record<string, unknown>;
    }
    const header = {
      model: this.toJSONHead(),
      vectorizer: vectorizerShell,
      grams: state.index.size,
      classifier,
      linear: this.classifier instanceof LinearClassifierBase,
    };
    return writeBinaryContainer(header, sections, options);
  }

  /**
   * Rebuilds a model from toBinary's bytes, adopting its sections as views (no copy unless the
   * bytes are misaligned). Everything is validated unless `trusted` (bytes another thread has
   * already validated): a truncated, corrupt or hostile file is a DataError naming the problem.
   */
  static fromBinary(bytes: Uint8Array, options: { trusted?: boolean; where?: string } = {}): SentimentModel {
    const where = options.where ?? "binary model";
    const check = options.trusted !== true;
    const c = BinaryContainer.read(bytes, where, { verify: check });
    const h = c.header;
    const model = h.model as Partial<SentimentModelJSON> | undefined;
    if (model === null || typeof model !== "object" || Array.isArray(model)) throw new DataError(`${where}: the header has no model object`);
    if (model.format !== "polarity.sentiment-model")
      throw new DataError(`${where}: format must be 'polarity.sentiment-model', got ${JSON.stringify(model.format)}`);
    if (model.version !== 1) throw new DataError(`${where}: unsupported model version ${JSON.stringify(model.version)} (this Polarity reads version 1)`);
    const n = h.grams;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1) throw new DataError(`${where}: grams must be a positive integer, got ${JSON.stringify(n)}`);
    const fail = (err: unknown): never => {
      if (err instanceof DataError) throw new DataError(`${where}: ${err.message}`, { cause: err });
      throw err;
    };
    let vectorizer: AnyVectorizer;
    let classifier: AnyClassifier;
    try {
      vectorizer = vectorizerShellFromJSON(h.vectorizer);
      const gramOfColumn = c.section("columns.gram", "i32");
      vectorizer.restoreFitted(
        {
          index: {
            size: n,
            prefix: c.section("grams.prefix", "i32", n),
            last: c.section("grams.last", "i32", n),
            length: c.section("grams.length", "u8", n),
            pairSlots: c.section("grams.table", "i32"),
            atomCodes: c.section("atoms.codes", "u16"),
            atomLengths: c.section("atoms.lengths", "i32"),
          },
          columnOfGram: c.section("columns.ofGram", "i32", n),
          gramOfColumn,
          idf: c.has("idf") ? c.section("idf", "f64", gramOfColumn.length) : null,
        },
        check,
      );
      if (vectorizer instanceof TfidfVectorizer === false && c.has("idf")) throw new DataError("a count vectorizer has no idf");
      if (h.linear === true) classifier = classifierFromParts(h.classifier, { coef: c.section("coef", "f64"), intercept: c.section("intercept", "f64") });
      else if (h.linear === false) classifier = classifierFromParts(h.classifier, null);
      else throw new DataError(`linear must be true or false, got ${JSON.stringify(h.linear)}`);
      return SentimentModel.compose(model, vectorizer, classifier);
    } catch (err) {
      return fail(err);
    }
  }

  /** The JSON bundle's fields other than the fitted arrays (toBinary's header). */
  private toJSONHead(): Omit<SentimentModelJSON, "vectorizer" | "classifier"> {
    return {
      format: "polarity.sentiment-model",
      version: 1,
      preprocess: { ...this.preprocessConfig },
      classes: [...this.classifier.classes],
      classNames: [...this.classNames],
      metadata: this.metadata,
    };
  }

  toJSON(): SentimentModelJSON {
    return {
      format: "polarity.sentiment-model",
      version: 1,
      preprocess: { ...this.preprocessConfig },
      vectorizer: this.vectorizer.toJSON(),
      classifier: this.classifier.toJSON(),
      classes: [...this.classifier.classes],
      classNames: [...this.classNames],
      metadata: this.metadata,
    };
  }

  get classes(): readonly Label[] {
    return this.classifier.classes;
  }

  get preprocessConfig(): Readonly<PreprocessConfig> {
    return this.vectorizer.options.preprocess as PreprocessConfig;
  }

  get nFeatures(): number {
    return this.vectorizer.nFeatures;
  }

  /** Preprocess + vectorize with the training config. */
  vectorize(texts: readonly VectorizerDocument[]): CsrMatrix {
    if (!Array.isArray(texts)) throw new DataError("expected an array of texts");
    return this.vectorizer.transform(texts);
  }

  /** n × k row-major, columns in `classes` order. */
  predictProba(texts: readonly VectorizerDocument[]): Float64Array {
    if (!Array.isArray(texts)) throw new DataError("expected an array of texts");
    const out = new Float64Array(texts.length * this.classes.length);
    this.predictProbaInto(texts, 0, texts.length, out, 0);
    return out;
  }

  /**
   * Texts packed for another thread: one string (each text followed by "\n") and each text's
   * start (n + 1 entries, the last one past the end). A structured clone of it is one copy,
   * not one string per text, and predictProbaPacked scans it in place.
   */
  static packTexts(texts: readonly string[], start = 0, end = texts.length): { joined: string; starts: Int32Array } {
    const starts = new Int32Array(end - start + 1);
    let pos = 0;
    for (let i = start; i < end; i++) {
      starts[i - start] = pos;
      pos += texts[i].length + 1;
    }
    starts[end - start] = pos;
    const joined = start === 0 && end === texts.length ? texts.join("\n") + "\n" : texts.slice(start, end).join("\n") + "\n";
    return { joined, starts };
  }

  /** predictProbaInto for packTexts output: texts [0, starts.length - 1) scored in blocks, each read in place. */
  predictProbaPacked(joined: string, starts: Int32Array, out: Float64Array, outRow: number): void {
    const n = starts.length - 1;
    if (!(n >= 0) || starts[n] !== joined.length) throw new DataError("packed texts: the starts do not match the joined string");
    const k = this.classes.length;
    const f = this.fusedScoring();
    if (f !== null) {
      const { scorer, link } = f;
      const shift = link === LINK_SIGMOID ? 1 : 0;
      for (let i = 0; i < n; i++) {
        const o = (outRow + i) * k;
        scorer.scoreRange(joined, starts[i], starts[i + 1] - 1, out, o + shift);
        finishRow(out, o, k, link);
      }
      return;
    }
    const v = this.vectorizer;
    if (!v.scansPacked) {
      const texts = Array.from({ length: n }, (_, i) => joined.slice(starts[i], starts[i + 1] - 1));
      this.predictProbaInto(texts, 0, n, out, outRow);
      return;
    }
    for (let b = 0; b < n; b += SCORING_BLOCK) {
      const stop = Math.min(n, b + SCORING_BLOCK);
      out.set(this.classifier.predictProba(v.transformPacked(joined, starts, b, stop)), (outRow + b) * k);
    }
  }

  /**
   * predictProba of texts[start, end) written to out from row `outRow` on (n × k row-major):
   * scored in blocks through the vectorizer's scratch matrix (transformRange), so a batch of
   * any size allocates nothing per text; the values equal predictProba's of each text alone.
   */
  predictProbaInto(texts: readonly VectorizerDocument[], start: number, end: number, out: Float64Array, outRow: number): void {
    if (!Array.isArray(texts)) throw new DataError("expected an array of texts");
    const k = this.classes.length;
    const f = this.fusedScoring();
    if (f !== null) {
      const { scorer, link } = f;
      const shift = link === LINK_SIGMOID ? 1 : 0;
      for (let i = start; i < end; i++) {
        const t = texts[i];
        const o = (outRow + i - start) * k;
        if (typeof t === "string") {
          scorer.scoreText(t, out, o + shift);
          finishRow(out, o, k, link);
        } else {
          // Token arrays (and bad documents, for the vectorizer's error) take the CSR path.
          out.set(this.classifier.predictProba(this.vectorizer.transformRange(texts, i, i + 1)), o);
        }
      }
      return;
    }
    for (let b = start; b < end; b += SCORING_BLOCK) {
      const stop = Math.min(end, b + SCORING_BLOCK);
      out.set(this.classifier.predictProba(this.vectorizer.transformRange(texts, b, stop)), (outRow + b - start) * k);
    }
  }

  /**
   * The fused scorer and the classifier's link for a linear classifier the scorer reproduces
   * exactly: logistic regression, multinomial NB, linear SVM and NBSVM, over the plain
   * CountVectorizer / TfidfVectorizer. Null for tree ensembles and the lexicon block (they
   * score through CSR blocks). Rebuilt if the classifier's coefficient arrays were replaced.
   */
  private fusedScoring(): FusedScoring | null {
    const f = this.fused;
    const clf = this.classifier as LinearClassifierBase;
    if (f !== undefined && (f === null || f.scorer.readsCoefficients(clf.coef, clf.intercept))) return f;
    this.fused = fusedScoringOf(this.vectorizer, this.classifier);
    return this.fused;
  }

  predict(texts: readonly string[]): Prediction[] {
    const proba = this.predictProba(texts);
    return predictionsFromProba(proba, this.classes, this.classNames);
  }

  /**
   * Why the model decided as it did: each term's value × coefficient, and the same weights
   * mapped back onto the words of the original text (an n-gram's weight is shared equally
   * by its words; a word that occurs several times shares its weight between occurrences).
   */
  explain(text: string, topK = 10): Explanation {
    requireInteger("topK", topK, 1);
    const X = this.vectorize([text]);
    const prediction = predictionsFromProba(this.classifier.predictProba(X), this.classes, this.classNames)[0];
    const start = X.indptr[0];
    const end = X.indptr[1];
    const indices = X.indices.subarray(start, end);
    const contrib = this.classifier.linearContributions(indices, X.data.subarray(start, end));
    const names = (this.featureNames ??= this.vectorizer.getFeatureNames());
    const terms: TermContribution[] = [];
    const tokenWeight = new Map<string, number>();
    for (let p = 0; p < indices.length; p++) {
      const term = names[indices[p]];
      const w = contrib.contributions[p];
      terms.push({ term, weight: w });
      const words = term.split(" ");
      for (const word of words) tokenWeight.set(word, (tokenWeight.get(word) ?? 0) + w / words.length);
    }
    terms.sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight) || (a.term < b.term ? -1 : 1));
    return {
      prediction,
      towards: contrib.label,
      intercept: contrib.intercept,
      words: wordContributions(text, tokenWeight, this.preprocessConfig),
      terms: terms.slice(0, topK),
    };
  }
}

const LINK_SIGMOID = 0;
const LINK_SOFTMAX = 1;
const LINK_OVR = 2;

interface FusedScoring {
  scorer: FusedScorer;
  /** How raw scores become probabilities: the classifier's own predictProba, row by row. */
  link: typeof LINK_SIGMOID | typeof LINK_SOFTMAX | typeof LINK_OVR;
}

/** The fused path for this vectorizer and classifier, or null (see SentimentModel.fusedScoring). */
function fusedScoringOf(vectorizer: AnyVectorizer, clf: AnyClassifier): FusedScoring | null {
  if (!(clf instanceof LinearClassifierBase)) return null;
  const k = clf.classes.length;
  const rows = clf.coefRows;
  let link: FusedScoring["link"];
  // Each classifier's predictProba: one row → [1 − σ, σ]; otherwise softmax or one-vs-rest sigmoids normalised.
  if (rows === 1) {
    if (k !== 2 || clf instanceof MultinomialNB) return null;
    link = LINK_SIGMOID;
  } else if (rows !== k) {
    return null;
  } else if (clf instanceof LogisticRegression) {
    link = clf.params.multiClass === "ovr" && k !== 2 ? LINK_OVR : LINK_SOFTMAX;
  } else if (clf instanceof NBSVM) {
    link = LINK_OVR;
  } else if (clf instanceof MultinomialNB || clf instanceof LinearSVC) {
    link = LINK_SOFTMAX;
  } else {
    return null;
  }
  const scorer = FusedScorer.create(vectorizer, { coef: clf.coef, intercept: clf.intercept, rows, nFeatures: clf.nFeatures, binarize: clf instanceof NBSVM });
  return scorer === null ? null : { scorer, link };
}

/** Raw scores in out[o, o + k) (sigmoid link: the one score in out[o + 1]) → probabilities, as the classifier's predictProba computes them. */
function finishRow(out: Float64Array, o: number, k: number, link: FusedScoring["link"]): void {
  if (link === LINK_SIGMOID) {
    const p = sigmoid(out[o + 1]);
    out[o] = 1 - p;
    out[o + 1] = p;
  } else if (link === LINK_OVR) {
    ovrProbaRow(out, o, k);
  } else {
    softmaxRow(out, o, k);
  }
}

/** Class names in `classes` order from an id → name map (String(class) for those left out). */
function resolveClassNames(map: Readonly<Record<string, string>> | null | undefined, classes: readonly Label[]): string[] {
  if (map === undefined || map === null) return classes.map(String);
  if (typeof map !== "object" || Array.isArray(map)) throw new InvalidParameterError(`classNames must be an object {class: name}, got ${JSON.stringify(map)}`);
  const known = new Set(classes.map(String));
  for (const [k, v] of Object.entries(map)) {
    if (!known.has(k))
      throw new InvalidParameterError(`classNames names class ${JSON.stringify(k)}, which is not among the classes ${JSON.stringify(classes)}`);
    if (typeof v !== "string" || v.trim().length === 0)
      throw new InvalidParameterError(`classNames[${JSON.stringify(k)}] must be a non-empty string, got ${JSON.stringify(v)}`);
  }
  const names = classes.map((c) => map[String(c)] ?? String(c));
  if (new Set(names).size !== names.length) throw new InvalidParameterError(`classNames must give each class a different name, got ${JSON.stringify(names)}`);
  return names;
}

function parseClassNames(value: unknown, classes: readonly Label[]): string[] {
  if (value === undefined) return classes.map(String);
  if (!Array.isArray(value) || value.length !== classes.length || !value.every((n) => typeof n === "string" && n.length > 0)) {
    throw new DataError(
      `sentiment model: classNames must be ${classes.length} non-empty strings (one per class, in classes order), got ${JSON.stringify(value)}`,
    );
  }
  if (new Set(value).size !== value.length) throw new DataError(`sentiment model: classNames must be distinct, got ${JSON.stringify(value)}`);
  return value as string[];
}

function withoutKind(model: ClassifierOptions | undefined): Record<string, unknown> {
  if (typeof model !== "object" || model === null) throw new InvalidParameterError("model options must be an object like {kind: 'logreg'}");
  const { kind: _kind, ...hyper } = model;
  return hyper;
}

/** Deep equality of JSON values with object keys in any order. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export function predictionsFromProba(proba: Float64Array, classes: readonly Label[], classNames?: readonly string[]): Prediction[] {
  const k = classes.length;
  const names = classNames ?? classes.map(String);
  const n = proba.length / k;
  const keys = classes.map(String);
  const out = new Array<Prediction>(n);
  for (let i = 0; i < n; i++) {
    const o = i * k;
    let best = 0;
    const probabilities: Record<string, number> = {};
    for (let c = 0; c < k; c++) {
      probabilities[keys[c]] = proba[o + c];
      if (proba[o + c] > proba[o + best]) best = c;
    }
    out[i] = { label: classes[best], className: names[best], probabilities };
  }
  return out;
}

const WORD_SPAN_RE = /\S+/g;

/**
 * Maps per-token weights back to whitespace-separated words of the original text: each word
 * is preprocessed alone (without negation scoping, so "good" is found whether the model saw
 * "good" or "not_good") and takes the weight of the tokens it yields, divided between the
 * occurrences of each token in the text.
 */
function wordContributions(text: string, tokenWeight: Map<string, number>, config: Readonly<PreprocessConfig>): TokenContribution[] {
  const perWord = { ...config, negationScope: false };
  const spans: { token: string; start: number; end: number; tokens: string[] }[] = [];
  const occurrences = new Map<string, number>();
  for (const m of text.matchAll(WORD_SPAN_RE)) {
    const tokens = preprocess(m[0], perWord).map((t) => (tokenWeight.has(t) ? t : tokenWeight.has(`not_${t}`) ? `not_${t}` : t));
    spans.push({ token: m[0], start: m.index ?? 0, end: (m.index ?? 0) + m[0].length, tokens });
    for (const t of tokens) occurrences.set(t, (occurrences.get(t) ?? 0) + 1);
  }
  const out: TokenContribution[] = [];
  for (const s of spans) {
    let w = 0;
    for (const t of s.tokens) {
      const tw = tokenWeight.get(t);
      if (tw !== undefined) w += tw / (occurrences.get(t) ?? 1);
    }
    if (w !== 0) out.push({ token: s.token, start: s.start, end: s.end, weight: w });
  }
  return out;
}
