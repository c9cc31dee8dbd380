import type { PreprocessConfig } from "../text/preprocess.js";
import { InvalidParameterError } from "../util/errors.js";
import { rejectUnknownOptions } from "../util/validate.js";
import type { TfidfNorm } from "./tfidf.js";
import { CountVectorizer, TfidfVectorizer, type DocFrequencyBound } from "./vectorizer.js";
import { lexiconOf, parseLexiconKind, withLexicon } from "./lexicon-vectorizer.js";
import type { LexiconKind } from "./lexicon.js";

/**
 * The one vectorizer factory: the library (SentimentModel.train), cross-validation and the
 * pipeline's featurize stage all build their vectorizer here, from the same options.
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
  /** A lexicon feature block appended to the n-gram columns (src/features/lexicon.ts). Default "none". */
  lexicon?: LexiconKind;
}

export type AnyVectorizer = CountVectorizer | TfidfVectorizer;

const FEATURE_KEYS = ["kind", "ngramRange", "minDf", "maxDf", "maxFeatures", "binary", "sublinearTf", "norm", "useIdf", "smoothIdf", "lexicon"] as const;

/**
 * An unfitted vectorizer for `features` that tokenises raw text with `preprocess` (token
 * arrays are used as they are). Options that apply to TF-IDF only are refused for "bow".
 */
export function createVectorizer(features: FeatureOptions, preprocess: Readonly<PreprocessConfig>): AnyVectorizer {
  if (typeof features !== "object" || features === null) throw new InvalidParameterError("features options must be an object like {kind: 'tfidf'}");
  rejectUnknownOptions("features", features, FEATURE_KEYS);
  const { kind, sublinearTf, norm, useIdf, smoothIdf, lexicon: lexiconOption, ...common } = features;
  const lexicon = lexiconOption === undefined ? "none" : parseLexiconKind(lexiconOption, "features.lexicon");
  const countOptions = { ...common, preprocess: { ...preprocess } };
  if (kind === "tfidf") {
    const tfidf: Record<string, unknown> = { ...countOptions };
    if (sublinearTf !== undefined) tfidf.sublinearTf = sublinearTf;
    if (norm !== undefined) tfidf.norm = norm;
    if (useIdf !== undefined) tfidf.useIdf = useIdf;
    if (smoothIdf !== undefined) tfidf.smoothIdf = smoothIdf;
    return withLexicon("tfidf", tfidf, lexicon);
  }
  if (kind === "bow") {
    for (const [k, v] of Object.entries({ sublinearTf, norm, useIdf, smoothIdf })) {
      if (v !== undefined) throw new InvalidParameterError(`features.${k} applies to kind 'tfidf' only, not 'bow'`);
    }
    return withLexicon("count", countOptions, lexicon);
  }
  throw new InvalidParameterError(`features.kind must be 'bow' or 'tfidf', got ${JSON.stringify(kind)}`);
}

/** The feature options a (fitted or restored) vectorizer was built with: createVectorizer(featureOptionsOf(v), …) builds an unfitted twin. */
export function featureOptionsOf(v: AnyVectorizer): FeatureOptions {
  const o = v.options;
  const lexicon = lexiconOf(v);
  const common = {
    ngramRange: o.ngramRange,
    minDf: o.minDf,
    maxDf: o.maxDf,
    maxFeatures: o.maxFeatures,
    binary: o.binary,
    ...(lexicon !== "none" ? { lexicon } : {}),
  };
  if (v instanceof TfidfVectorizer) {
    const t = v.tfidfOptions;
    return { kind: "tfidf", ...common, sublinearTf: t.sublinearTf, norm: t.norm, useIdf: t.useIdf, smoothIdf: t.smoothIdf };
  }
  return { kind: "bow", ...common };
}
