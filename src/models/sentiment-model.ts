import type { CsrMatrix } from "../features/csr.js";
import { CountVectorizer, TfidfVectorizer, vectorizerFromJSON, type DocFrequencyBound, type VectorizerJson } from "../features/vectorizer.js";
import type { TfidfNorm } from "../features/tfidf.js";
import { preprocess, resolvePreprocessConfig, type PreprocessConfig } from "../text/preprocess.js";
import { DataError, InvalidParameterError } from "../util/errors.js";
import { rejectUnknownOptions, requireInteger } from "../util/validate.js";
import type { Label } from "./estimator.js";
import type { ModelJson } from "./linear.js";
import { classifierFromJSON, createClassifier, type AnyClassifier, type ClassifierKind } from "./serialization.js";

/**
 * The model bundle: preprocessing config + fitted vectorizer + fitted classifier, composed
 * (STYLE.md §2: a pipeline is estimators composed). One JSON document reproduces every
 * prediction, so training and serving cannot disagree: the vectorizer carries the exact
 * `preprocess` config and runs it on raw text. Pure: no I/O here (loading files is the
 * callers' job).
 */

export interface FeatureOptions {
  /** "bow" = CountVectorizer, "tfidf" = TfidfVectorizer. */
  kind: "bow" | "tfidf";
  ngramRange?: readonly [number, number];
  minDf?: DocFrequencyBound;
  maxDf?: DocFrequencyBound;
  maxFeatures?: number | null;
  binary?: boolean;
  /** TF-IDF only. */
  sublinearTf?: boolean;
  norm?: TfidfNorm;
  useIdf?: boolean;
  smoothIdf?: boolean;
}

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
  metadata?: Record<string, unknown>;
}

export interface SentimentModelJSON {
  format: "polarity.sentiment-model";
  version: 1;
  preprocess: PreprocessConfig;
  vectorizer: VectorizerJson;
  classifier: ModelJson;
  classes: Label[];
  metadata: Record<string, unknown>;
}

export interface Prediction {
  label: Label;
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

const FEATURE_KEYS = ["kind", "ngramRange", "minDf", "maxDf", "maxFeatures", "binary", "sublinearTf", "norm", "useIdf", "smoothIdf"] as const;
const TRAIN_KEYS = ["preprocess", "features", "model", "onProgress", "onWarning", "metadata"] as const;

function createVectorizer(features: FeatureOptions, preprocessConfig: PreprocessConfig): CountVectorizer | TfidfVectorizer {
  if (typeof features !== "object" || features === null) throw new InvalidParameterError("features options must be an object like {kind: 'tfidf'}");
  rejectUnknownOptions("features", features, FEATURE_KEYS);
  const { kind, sublinearTf, norm, useIdf, smoothIdf, ...common } = features;
  const countOptions = { ...common, preprocess: preprocessConfig };
  if (kind === "tfidf") {
    const tfidf: Record<string, unknown> = { ...countOptions };
    if (sublinearTf !== undefined) tfidf.sublinearTf = sublinearTf;
    if (norm !== undefined) tfidf.norm = norm;
    if (useIdf !== undefined) tfidf.useIdf = useIdf;
    if (smoothIdf !== undefined) tfidf.smoothIdf = smoothIdf;
    return new TfidfVectorizer(tfidf);
  }
  if (kind === "bow") {
    for (const [k, v] of Object.entries({ sublinearTf, norm, useIdf, smoothIdf })) {
      if (v !== undefined) throw new InvalidParameterError(`features.${k} applies to kind 'tfidf' only, not 'bow'`);
    }
    return new CountVectorizer(countOptions);
  }
  throw new InvalidParameterError(`features.kind must be 'bow' or 'tfidf', got ${JSON.stringify(kind)}`);
}

export class SentimentModel {
  // Column → term, built on the first explain(): getFeatureNames() copies the vocabulary each call.
  private featureNames: string[] | null = null;

  private constructor(
    readonly vectorizer: CountVectorizer | TfidfVectorizer,
    readonly classifier: AnyClassifier,
    readonly metadata: Record<string, unknown>,
  ) {}

  /** Fits vectorizer and classifier on raw texts. */
  static train(texts: readonly string[], labels: readonly Label[], options: TrainOptions): SentimentModel {
    rejectUnknownOptions("train options", options, TRAIN_KEYS);
    if (texts.length !== labels.length) throw new DataError(`train: ${texts.length} texts but ${labels.length} labels`);
    const preprocessConfig = { ...resolvePreprocessConfig(options.preprocess) };
    const vectorizer = createVectorizer(options.features, preprocessConfig);
    const { kind, ...hyper } = options.model ?? ({} as ClassifierOptions);
    const progress = options.onProgress;
    const fitOptions: Record<string, unknown> = { ...hyper };
    if (kind === "logreg") {
      const maxIter = typeof hyper.maxIter === "number" ? hyper.maxIter : 100;
      if (progress) fitOptions.onProgress = (it: number) => progress({ phase: "fit", done: it, total: maxIter });
      if (options.onWarning) fitOptions.onWarning = options.onWarning;
    }
    const classifier = createClassifier(kind, fitOptions);
    progress?.({ phase: "vectorize", done: 0, total: texts.length });
    const X = vectorizer.fitTransform(texts);
    progress?.({ phase: "vectorize", done: texts.length, total: texts.length });
    classifier.fit(X, labels);
    if (kind !== "logreg" && progress) progress({ phase: "fit", done: 1, total: 1 });
    if (kind !== "logreg") for (const w of classifier.warnings) options.onWarning?.(w);
    return new SentimentModel(vectorizer, classifier, { ...(options.metadata ?? {}) });
  }

  /** Rebuilds a model from its JSON; a DataError names what is wrong. */
  static fromJSON(json: unknown): SentimentModel {
    if (typeof json !== "object" || json === null || Array.isArray(json)) throw new DataError("sentiment model: expected a JSON object");
    const j = json as Partial<SentimentModelJSON>;
    if (j.format !== "polarity.sentiment-model") throw new DataError(`sentiment model: format must be 'polarity.sentiment-model', got ${JSON.stringify(j.format)}`);
    if (j.version !== 1) throw new DataError(`sentiment model: unsupported version ${JSON.stringify(j.version)} (this Polarity reads version 1)`);
    const vectorizer = vectorizerFromJSON(j.vectorizer);
    const classifier = classifierFromJSON(j.classifier);
    if (vectorizer.nFeatures !== classifier.nFeatures) {
      throw new DataError(`sentiment model: the vectorizer has ${vectorizer.nFeatures} features but the classifier expects ${classifier.nFeatures}`);
    }
    if (vectorizer.options.preprocess === null) throw new DataError("sentiment model: the vectorizer has no preprocess config");
    const metadata = j.metadata ?? {};
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) throw new DataError("sentiment model: metadata must be an object");
    return new SentimentModel(vectorizer, classifier, metadata);
  }

  toJSON(): SentimentModelJSON {
    return {
      format: "polarity.sentiment-model",
      version: 1,
      preprocess: { ...this.preprocessConfig },
      vectorizer: this.vectorizer.toJSON(),
      classifier: this.classifier.toJSON(),
      classes: [...this.classifier.classes],
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
  vectorize(texts: readonly string[]): CsrMatrix {
    if (!Array.isArray(texts)) throw new DataError("expected an array of texts");
    return this.vectorizer.transform(texts);
  }

  /** n × k row-major, columns in `classes` order. */
  predictProba(texts: readonly string[]): Float64Array {
    return this.classifier.predictProba(this.vectorize(texts));
  }

  predict(texts: readonly string[]): Prediction[] {
    const proba = this.predictProba(texts);
    return predictionsFromProba(proba, this.classes);
  }

  /**
   * Why the model decided as it did: each term's value × coefficient, and the same weights
   * mapped back onto the words of the original text (an n-gram's weight is shared equally
   * by its words; a word that occurs several times shares its weight between occurrences).
   */
  explain(text: string, topK = 10): Explanation {
    requireInteger("topK", topK, 1);
    const X = this.vectorize([text]);
    const prediction = predictionsFromProba(this.classifier.predictProba(X), this.classes)[0];
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

export function predictionsFromProba(proba: Float64Array, classes: readonly Label[]): Prediction[] {
  const k = classes.length;
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
    out[i] = { label: classes[best], probabilities };
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
