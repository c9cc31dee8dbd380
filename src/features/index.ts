export * from "./csr.js";
export {
  CountVectorizer,
  TfidfVectorizer,
  vectorizerFromJSON,
  vectorizerShellFromJSON,
  type FittedVectorizerState,
  type VectorizerShellJson,
  type CountVectorizerOptions,
  type DocFrequencyBound,
  type ResolvedCountOptions,
  type ResolvedTfidfOptions,
  type TfidfVectorizerOptions,
  type VectorizerDocument,
  type VectorizerJson,
} from "./vectorizer.js";
export { TfidfTransformer, computeIdf, type TfidfNorm, type TfidfTransformerOptions } from "./tfidf.js";
export { DEFAULT_TOKEN_PATTERN, compileTokenPattern } from "./token-pattern.js";
export { createVectorizer, featureOptionsOf, type AnyVectorizer, type FeatureOptions } from "./factory.js";
