/**
 * Polarity's public API: `import { SentimentModel, TrackingClient, startServing } from "polarity"`.
 *
 * The root re-exports what a user composes a sentiment workflow from; each concern also has
 * its own entry (`polarity/models`, `polarity/features`, `polarity/text`, `polarity/evaluation`,
 * `polarity/tracking`, `polarity/serving`, `polarity/pipeline`) with everything that folder
 * makes public. Nothing here runs on import: the CLI lives in `dist/cli/main.cjs`.
 */
export { SentimentModel, handOverTexts, type SentimentModelJSON, type TrainOptions, type Prediction, type Explanation } from "./models/sentiment-model.js";
export { LogisticRegression, MultinomialNB, LinearSVC, classifierFromJSON, createClassifier, type Classifier, type ClassifierKind } from "./models/index.js";
export { CsrMatrix, CountVectorizer, TfidfVectorizer, TfidfTransformer, vectorizerFromJSON } from "./features/index.js";
export { preprocess, DEFAULT_PREPROCESS_CONFIG, LIGHT_PREPROCESS_CONFIG, type PreprocessConfig } from "./text/index.js";
export { evaluateClassifier, stratifiedKFold, stratifiedTrainTestSplit, crossValidate } from "./evaluation/index.js";
export { loadUciSentences, type LabelledCorpus } from "./data/builtin.js";
export { generateSyntheticCorpus } from "./data/synthetic.js";
export { TrackingClient, startTrackingServer, type TrackingClientOptions } from "./tracking/index.js";
export { startServing, serve, type StartServingOptions, type RunningServer } from "./serving/index.js";
export { reproduce, pipelineStatus } from "./pipeline/index.js";
export { PolarityError, type ErrorCode } from "./util/errors.js";
