export {
  accuracy,
  confusionMatrix,
  evaluateClassifier,
  logLoss,
  perClassScores,
  precisionRecallCurve,
  precisionRecallF1,
  rocAuc,
  rocAucOvr,
  rocCurve,
  type Average,
  type ConfusionMatrix,
  type EvaluationSummary,
  type PerClassScores,
  type PrecisionRecallCurve,
  type PrfScores,
  type RocCurve,
} from "./classification-metrics.js";
export { stratifiedKFold, stratifiedTrainTestSplit, type KFoldOptions, type Split, type TrainTestSplitOptions } from "../util/stratified-split.js";
export {
  crossValidate,
  crossValidateBy,
  crossValidateByAsync,
  headlineMetrics,
  summarizeFolds,
  type CrossValidationResult,
  type FoldMetrics,
} from "./cross-validate.js";
