import { join } from "node:path";

/**
 * Where each stage reads and writes, relative to the project directory. The repo's dvc.yaml
 * declares exactly these paths as deps/outs; keep the two in step.
 */
export const LAYOUT = {
  params: "params.yaml",
  rawDir: "data/raw",
  rawTrain: "data/raw/train.csv",
  rawTest: "data/raw/test.csv",
  rawClassNames: "data/raw/class_names.json",
  validationReport: "reports/data_validation.json",
  interimDir: "data/interim",
  interimTrain: "data/interim/train.csv",
  interimTest: "data/interim/test.csv",
  interimClassNames: "data/interim/class_names.json",
  processedDir: "data/processed",
  processedTrain: "data/processed/train.npz",
  processedTest: "data/processed/test.npz",
  processedLabels: "data/processed/labels.json",
  featurizer: "models/featurizer.json",
  model: "models/model.json",
  metrics: "reports/metrics.json",
  plotsDir: "reports/plots",
  rocPlot: "reports/plots/roc.json",
  prPlot: "reports/plots/precision_recall.json",
  confusionPlot: "reports/plots/confusion.json",
  run: "reports/run.json",
  registration: "reports/registration.json",
  promotion: "reports/promotion.json",
} as const;

export type LayoutKey = keyof typeof LAYOUT;

export function projectPath(dir: string, key: LayoutKey): string {
  return join(dir, LAYOUT[key]);
}
