export type { Classifier, FitReport, Label } from "./estimator.js";
export { compareLabels, encodeLabels, uniqueSortedLabels, type ClassWeight } from "./labels.js";
export { LinearClassifierBase, type Contributions, type ModelJson } from "./linear.js";
export { LogisticRegression, type LogisticRegressionOptions } from "./logistic-regression.js";
export { MultinomialNB, type MultinomialNBOptions } from "./naive-bayes.js";
export { LinearSVC, solveSvcDual, type LinearSVCOptions } from "./linear-svc.js";
export { classifierFromJSON, createClassifier, linearContributions, type AnyClassifier, type ClassifierKind } from "./serialization.js";
