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
} from "./metrics.js";
export { stratifiedKFold, stratifiedTrainTestSplit, type KFoldOptions, type Split, type TrainTestSplitOptions } from "./splits.js";
export { crossValidate, crossValidateBy, crossValidateByAsync, headlineMetrics, summarizeFolds, type CrossValidationResult, type FoldMetrics } from "./cross-validate.js";
