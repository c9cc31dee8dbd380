import { readFile } from "node:fs/promises";
import type { Label } from "../data/clean.js";
import { readDatasetCsv, readJsonFile } from "../data/files.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { crossValidateBy, headlineMetrics, type CrossValidationResult } from "../evaluation/cross-validate.js";
import { evaluateClassifier } from "../evaluation/metrics.js";
import { decodeCsrNpz } from "../features/npz.js";
import { CountVectorizer, TfidfVectorizer, type VectorizerJson } from "../features/vectorizer.js";
import { createClassifier } from "../models/serialization.js";
import { SentimentModel } from "../models/sentiment-model.js";
import { DataError, InvalidParameterError, NotFoundError, PolarityError } from "../util/errors.js";
import type { StageContext } from "./context.js";
import type { FeaturizerJson, ProcessedLabels } from "./featurize.js";
import { LAYOUT, projectPath } from "./layout.js";
import { modelParamsSnapshot } from "./params.js";
import { formatDuration } from "../util/progress.js";

/**
 * Stage 4: data/processed + models/featurizer.json → models/model.json, the model bundle
 * (src/models/sentiment-model.ts): preprocessing config, fitted vectorizer and fitted
 * classifier in one versioned, self-describing JSON file that fully reproduces predictions.
 * The file is deterministic for the same inputs (no timestamps), so its hash in dvc.lock
 * only changes when the model does. With `train.cv_folds` ≥ 2 it first cross-validates on the
 * training split (stratified, seeded; the vectorizer is refitted inside each fold on the
 * fold's tokens from data/interim, so no vocabulary/IDF leaks from the held-out fold) and
 * records the fold means and standard deviations in the bundle's metadata.
 */
export async function runTrainStage(ctx: StageContext): Promise<{ classes: (string | number)[]; features: number; iterations: number | null; converged: boolean | null }> {
  const p = ctx.params.train;
  const log = (line: string) => ctx.reporter.log(line);
  const featurizer = await readJsonFile<FeaturizerJson>(projectPath(ctx.dir, "featurizer"));
  if (featurizer.format !== "polarity.featurizer" || featurizer.version !== 1) throw new DataError(`${LAYOUT.featurizer}: not a polarity featurizer (format ${JSON.stringify(featurizer.format)}); rerun featurize`);
  const labels = await readJsonFile<ProcessedLabels>(projectPath(ctx.dir, "processedLabels"));
  const X = decodeCsrNpz(await readNpz(projectPath(ctx.dir, "processedTrain")), LAYOUT.processedTrain);
  if (labels.train.length !== X.rows) throw new DataError(`${LAYOUT.processedLabels} has ${labels.train.length} training labels but ${LAYOUT.processedTrain} has ${X.rows} rows; rerun featurize`);

  let cv: CrossValidationResult | null = null;
  if (p.cvFolds >= 2) {
    const interim = await readDatasetCsv(projectPath(ctx.dir, "interimTrain"));
    if (interim.texts.length !== labels.train.length) throw new DataError(`${LAYOUT.interimTrain} has ${interim.texts.length} rows but ${LAYOUT.processedLabels} has ${labels.train.length} training labels; rerun featurize`);
    const t0 = performance.now();
    cv = crossValidateTokens(interim.texts, labels.train, featurizer.vectorizer, p.model, p.hyperparameters, p.cvFolds, p.seed, (done) =>
      ctx.reporter.progress("cross-validating (folds)", done, p.cvFolds),
    );
    const show = (k: string): string => (cv && cv.mean[k] !== undefined ? `${cv.mean[k].toFixed(4)} ± ${cv.sd[k].toFixed(4)}` : "n/a");
    log(`${p.cvFolds}-fold CV on the training split in ${formatDuration(performance.now() - t0)}: accuracy ${show("accuracy")}, F1 ${show("f1")}, ROC AUC ${show("rocAuc")}`);
  }

  const maxIter = typeof p.hyperparameters.maxIter === "number" ? p.hyperparameters.maxIter : 1000;
  const hyper: Record<string, unknown> = { ...p.hyperparameters };
  if (p.model === "logreg") hyper.onProgress = (iteration: number) => ctx.reporter.progress("fitting logistic regression (iterations)", iteration, maxIter);
  const warnings: string[] = [];
  if (p.model !== "nb") hyper.onWarning = (m: string) => warnings.push(m);
  let classifier;
  try {
    classifier = createClassifier(p.model, hyper);
  } catch (err) {
    if (err instanceof PolarityError) throw new InvalidParameterError(`params.yaml: train.${p.model}: ${err.message.replace(/\b([a-z]+[A-Z][A-Za-z]*)\b/g, (m) => m.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`))}`);
    throw err;
  }
  log(`fitting ${p.model} (${JSON.stringify(p.blocks[p.model])}) on ${X.rows} × ${X.cols} features, classes ${JSON.stringify(labels.classes)}`);
  const t0 = performance.now();
  classifier.fit(X, labels.train);
  const report = classifier.fitReport;
  log(
    `fitted in ${formatDuration(performance.now() - t0)}` +
      (report ? `: ${report.iterations} iterations, ${report.converged ? "converged" : "NOT converged (raise train.logreg.max_iter)"}` + (report.objective !== undefined ? `, objective ${report.objective.toFixed(6)}` : "") : ""),
  );
  for (const w of warnings) log(`warning: ${w}`);

  const model = SentimentModel.fromJSON({
    format: "polarity.sentiment-model",
    version: 1,
    preprocess: featurizer.preprocess,
    vectorizer: featurizer.vectorizer,
    classifier: classifier.toJSON(),
    classes: [...classifier.classes],
    metadata: {
      params: modelParamsSnapshot(ctx.params, featurizer.preprocess),
      trainingRows: X.rows,
      features: X.cols,
      fitReport: report ?? null,
      cv: cv ? { folds: p.cvFolds, seed: p.seed, mean: cv.mean, sd: cv.sd } : null,
    },
  });
  await writeFileAtomic(projectPath(ctx.dir, "model"), JSON.stringify(model.toJSON()) + "\n");
  log(`wrote ${LAYOUT.model} (${model.classes.length} classes, ${X.cols} features)`);
  return { classes: [...model.classes], features: X.cols, iterations: report?.iterations ?? null, converged: report?.converged ?? null };
}

/** k-fold CV of vectorizer + classifier on pre-tokenised training texts (tokens joined by spaces). */
function crossValidateTokens(
  texts: readonly string[],
  labels: readonly Label[],
  vectorizer: VectorizerJson,
  kind: "logreg" | "nb" | "svm",
  hyperparameters: Record<string, unknown>,
  folds: number,
  seed: number,
  onFold: (done: number) => void,
): CrossValidationResult {
  const docs = texts.map((t) => (t.length === 0 ? [] : t.split(" ")));
  const pick = <T>(a: readonly T[], idx: Int32Array): T[] => Array.from(idx, (i) => a[i]);
  let done = 0;
  return crossValidateBy(labels, { folds, seed, shuffle: true }, (trainIdx, testIdx) => {
    // A fresh, unfitted vectorizer with the featurizer's exact (resolved) options.
    const options = { ...vectorizer.options } as Record<string, unknown>;
    const v = vectorizer.kind === "tfidf" ? new TfidfVectorizer(options) : new CountVectorizer(options);
    const X = v.fitTransform(pick(docs, trainIdx));
    const clf = createClassifier(kind, { ...hyperparameters });
    clf.fit(X, pick(labels, trainIdx));
    const Xtest = v.transform(pick(docs, testIdx));
    const summary = evaluateClassifier(pick(labels, testIdx), clf.predict(Xtest), clf.predictProba(Xtest), clf.classes, { probabilistic: clf.probabilistic });
    onFold(++done);
    return headlineMetrics(summary);
  });
}

async function readNpz(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new NotFoundError(`${path} not found; run the earlier pipeline stages first (polarity repro)`);
    throw err;
  }
}
