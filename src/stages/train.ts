import { readFile } from "node:fs/promises";
import { readDatasetCsv, readJsonFile } from "../data/files.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import type { CrossValidationResult } from "../evaluation/cross-validate.js";
import { crossValidateTexts } from "../evaluation/cross-validate-text.js";
import { featureOptionsOf } from "../features/factory.js";
import { handOverToFit } from "../features/csr.js";
import { decodeCsrNpz } from "../features/npz.js";
import { vectorizerFromJSON } from "../features/vectorizer.js";
import { SentimentModel, type ClassifierOptions } from "../models/sentiment-model.js";
import { DataError, NotFoundError } from "../util/errors.js";
import type { StageContext } from "./context.js";
import type { FeaturizerJson, ProcessedLabels } from "./featurize.js";
import { LAYOUT, projectPath } from "./layout.js";
import { modelParamsSnapshot } from "./params.js";
import { formatDuration } from "../util/progress.js";
import { buildReferenceProfile } from "../monitoring/profile.js";

/**
 * Stage 4: data/processed + models/featurizer.json → models/model.json, the model bundle
 * (src/models/sentiment-model.ts): preprocessing config, fitted vectorizer and fitted
 * classifier in one versioned, self-describing JSON file that fully reproduces predictions.
 * The file is deterministic for the same inputs (no timestamps), so its hash in dvc.lock
 * only changes when the model does. With `train.cv_folds` ≥ 2 it first cross-validates on the
 * training split (stratified, seeded; the vectorizer is refitted inside each fold on the
 * fold's tokens from data/interim, so no vocabulary/IDF leaks from the held-out fold) and
 * records the fold means and standard deviations in the bundle's metadata.
 *
 * The bundle also carries the monitoring reference profile (`metadata.referenceProfile`,
 * src/monitoring/profile.ts): the fitted model's scores, class mix, lengths, OOV rate and top
 * terms on the held-out raw texts (data/raw/test.csv, a dep in dvc.yaml), so every bundle the
 * pipeline writes, logs and registers is monitored for drift by `polarity serve` as it is.
 * It describes the model on text it did not fit; nothing of the model is learned from it.
 */
export async function runTrainStage(
  ctx: StageContext,
): Promise<{ classes: (string | number)[]; features: number; iterations: number | null; converged: boolean | null }> {
  const p = ctx.params.train;
  const log = (line: string) => ctx.reporter.log(line);
  const featurizer = await readJsonFile<FeaturizerJson>(projectPath(ctx.dir, "featurizer"));
  if (featurizer.format !== "polarity.featurizer" || featurizer.version !== 1)
    throw new DataError(`${LAYOUT.featurizer}: not a polarity featurizer (format ${JSON.stringify(featurizer.format)}); rerun featurize`);
  const labels = await readJsonFile<ProcessedLabels>(projectPath(ctx.dir, "processedLabels"));
  const X = decodeCsrNpz(await readNpz(projectPath(ctx.dir, "processedTrain")), LAYOUT.processedTrain);
  if (labels.train.length !== X.rows)
    throw new DataError(
      `${LAYOUT.processedLabels} has ${labels.train.length} training labels but ${LAYOUT.processedTrain} has ${X.rows} rows; rerun featurize`,
    );

  const vectorizer = vectorizerFromJSON(featurizer.vectorizer);
  const modelOptions: ClassifierOptions = { kind: p.model, ...p.hyperparameters };
  let cv: CrossValidationResult | null = null;
  if (p.cvFolds >= 2) {
    const interim = await readDatasetCsv(projectPath(ctx.dir, "interimTrain"));
    if (interim.texts.length !== labels.train.length)
      throw new DataError(
        `${LAYOUT.interimTrain} has ${interim.texts.length} rows but ${LAYOUT.processedLabels} has ${labels.train.length} training labels; rerun featurize`,
      );
    const tokens = interim.texts.map((t) => (t.length === 0 ? [] : t.split(" ")));
    const t0 = performance.now();
    // Each fold refits a vectorizer with the featurizer's exact options on the fold's tokens,
    // so no vocabulary/IDF leaks from the held-out fold.
    cv = await crossValidateTexts(
      tokens,
      labels.train,
      { preprocess: featurizer.preprocess, features: featureOptionsOf(vectorizer), model: modelOptions },
      { folds: p.cvFolds, seed: p.seed, onFold: (f) => ctx.reporter.progress("cross-validating (folds)", f + 1, p.cvFolds) },
    );
    const show = (k: string): string => (cv && cv.mean[k] !== undefined ? `${cv.mean[k].toFixed(4)} ± ${cv.sd[k].toFixed(4)}` : "n/a");
    log(
      `${p.cvFolds}-fold CV on the training split in ${formatDuration(performance.now() - t0)}: accuracy ${show("accuracy")}, F1 ${show("f1")}, ROC AUC ${show("rocAuc")}`,
    );
  }

  const warnings: string[] = [];
  log(`fitting ${p.model} (${JSON.stringify(p.blocks[p.model])}) on ${X.rows} × ${X.cols} features, classes ${JSON.stringify(labels.classes)}`);
  const t0 = performance.now();
  const { rows: trainingRows, cols: features } = X;
  // X is not read again: the fit may release it once it holds its own copy (peak memory).
  const model = SentimentModel.fit(vectorizer, handOverToFit(X), labels.train, {
    model: modelOptions,
    onProgress: (e) => {
      if (e.phase === "fit" && p.model === "logreg") ctx.reporter.progress("fitting logistic regression (iterations)", e.done, e.total);
    },
    onWarning: (m) => warnings.push(m),
    classNames: labels.classNames ?? null,
    metadata: {
      params: modelParamsSnapshot(ctx.params, featurizer.preprocess),
      trainingRows,
      features,
    },
  });
  const report = model.classifier.fitReport ?? null;
  model.metadata.fitReport = report;
  // Timings stay out of the bundle: the file is deterministic for the same inputs.
  const untimed = (m: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(m).filter(([k]) => k !== "fitSeconds"));
  model.metadata.cv = cv ? { folds: p.cvFolds, seed: p.seed, mean: untimed(cv.mean), sd: untimed(cv.sd) } : null;
  log(
    `fitted in ${formatDuration(performance.now() - t0)}` +
      (report
        ? `: ${report.iterations} iterations, ${report.converged ? "converged" : "NOT converged (raise train.logreg.max_iter)"}` +
          (report.objective !== undefined ? `, objective ${report.objective.toFixed(6)}` : "")
        : ""),
  );
  for (const w of warnings) log(`warning: ${w}`);
  const heldOut = await readDatasetCsv(projectPath(ctx.dir, "rawTest"));
  if (heldOut.texts.length > 0) {
    const profile = buildReferenceProfile(model, heldOut.texts, heldOut.labels);
    model.metadata.referenceProfile = profile;
    log(
      `reference profile for drift monitoring on ${profile.rows} held-out texts (${LAYOUT.rawTest}): OOV rate ${profile.oovRate.toFixed(3)}, accuracy ${profile.accuracy?.toFixed(4)}`,
    );
  } else log(`warning: ${LAYOUT.rawTest} is empty, so the bundle has no reference profile and the server exports no drift gauges`);
  await writeFileAtomic(projectPath(ctx.dir, "model"), JSON.stringify(model.toJSON()) + "\n");
  log(`wrote ${LAYOUT.model} (${model.classes.length} classes, ${features} features)`);
  return { classes: [...model.classes], features, iterations: report?.iterations ?? null, converged: report?.converged ?? null };
}

async function readNpz(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError(`${path} not found; run the earlier pipeline stages first (polarity repro)`);
    throw err;
  }
}
