import { DataError } from "../../util/errors.js";
import { GradientBoostingClassifier } from "./boosting.js";
import type { TreeEnsembleJson } from "./ensemble.js";
import { RandomForestClassifier } from "./forest.js";

export { GradientBoostingClassifier, type GradientBoostingOptions } from "./boosting.js";
export { RandomForestClassifier, type RandomForestOptions, type MaxFeatures } from "./forest.js";
export { TreeEnsemble, type TreeEnsembleJson, type Tree } from "./ensemble.js";

export const TREE_KINDS = ["random_forest", "gradient_boosting"] as const;

/** Rebuilds a serialised random forest or boosted ensemble (the caller checked format and version). */
export function treeEnsembleFromJSON(json: TreeEnsembleJson): RandomForestClassifier | GradientBoostingClassifier {
  if (typeof json.options !== "object" || json.options === null || Array.isArray(json.options)) throw new DataError("model JSON: options must be an object");
  let model: RandomForestClassifier | GradientBoostingClassifier;
  try {
    model = json.kind === "random_forest" ? new RandomForestClassifier(json.options) : new GradientBoostingClassifier(json.options);
  } catch (err) {
    throw new DataError(`model JSON: bad options: ${(err as Error).message}`, { cause: err });
  }
  return model.restoreTrees(json);
}
