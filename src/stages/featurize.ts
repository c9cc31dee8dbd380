import { join } from "node:path";
import { readDatasetCsv, readJsonFile } from "../data/files.js";
import { writeDirAtomic, writeFileAtomic, writeJsonAtomic } from "../util/atomic-write.js";
import { uniqueSortedLabels, type Label } from "../util/labels.js";
import { csrVStack, type CsrMatrix } from "../features/csr.js";
import { createVectorizer, type AnyVectorizer, type FeatureOptions } from "../features/factory.js";
import { encodeCsrNpz } from "../features/npz.js";
import type { VectorizerJson } from "../features/vectorizer.js";
import { resolvePreprocessConfig, type PreprocessConfig } from "../text/preprocess.js";
import { DataError, InvalidParameterError, PolarityError } from "../util/errors.js";
import type { StageContext } from "./context.js";
import { LAYOUT, projectPath } from "./layout.js";
import { readClassNames } from "./preprocess.js";
import type { FeaturizeParams } from "./params.js";
import { formatDuration } from "../util/progress.js";

/**
 * Stage 3: data/interim → data/processed/{train,test}.npz (scipy CSR, see features/npz.ts),
 * data/processed/labels.json, and models/featurizer.json: the preprocessing config the tokens
 * were made with plus the fitted vectorizer — everything needed to turn raw text into the
 * model's columns.
 */

export interface FeaturizerJson {
  format: "polarity.featurizer";
  version: 1;
  preprocess: PreprocessConfig;
  vectorizer: VectorizerJson;
}

export interface ProcessedLabels {
  format: "polarity.labels";
  version: 1;
  classes: Label[];
  /** Class id → name (from the data's label map), or null. */
  classNames: Record<string, string> | null;
  train: Label[];
  test: Label[];
}

/** Rows per transform call, so long corpora report progress. */
const CHUNK = 20000;

/** featurize's params as the vectorizer factory's options (sublinear_tf applies to tfidf only). */
export function featureOptionsFromParams(p: FeaturizeParams): FeatureOptions {
  const common = {
    ngramRange: p.ngramRange,
    minDf: p.minDf,
    maxDf: p.maxDf,
    maxFeatures: p.maxFeatures,
    binary: p.binary,
    ...(p.lexicon !== "none" ? { lexicon: p.lexicon } : {}),
  };
  return p.kind === "tfidf" ? { kind: "tfidf", ...common, sublinearTf: p.sublinearTf } : { kind: "bow", ...common };
}

export async function runFeaturizeStage(ctx: StageContext): Promise<{ features: number; trainNnz: number; testNnz: number }> {
  const p = ctx.params.featurize;
  const log = (line: string) => ctx.reporter.log(line);
  const interim = await readJsonFile<{ config: unknown }>(join(ctx.dir, LAYOUT.interimDir, "preprocess.json"));
  const preprocess = resolvePreprocessConfig((interim.config ?? {}) as Partial<PreprocessConfig>);
  const train = await readDatasetCsv(projectPath(ctx.dir, "interimTrain"));
  const test = await readDatasetCsv(projectPath(ctx.dir, "interimTest"));
  const toDocs = (texts: string[]): string[][] => texts.map((t) => (t.length === 0 ? [] : t.split(" ")));
  const trainDocs = toDocs(train.texts);
  const testDocs = toDocs(test.texts);
  if (p.kind === "bow" && p.sublinearTf) log("note: featurize.sublinear_tf applies to tfidf only; ignored for bow");

  // The vectorizer carries the preprocess config: fitted here on the token arrays of
  // data/interim (used as they are), it preprocesses raw text identically at serving time.
  let vectorizer: AnyVectorizer;
  try {
    vectorizer = createVectorizer(featureOptionsFromParams(p), preprocess);
  } catch (err) {
    if (err instanceof PolarityError) throw new InvalidParameterError(`params.yaml: featurize: ${err.message}`);
    throw err;
  }
  const t0 = performance.now();
  log(`fitting ${p.kind === "tfidf" ? "TF-IDF" : "bag-of-words"} ${p.ngramRange[0]}–${p.ngramRange[1]}-grams on ${trainDocs.length} documents`);
  let Xtrain: CsrMatrix;
  try {
    Xtrain = vectorizer.fitTransform(trainDocs);
  } catch (err) {
    if (err instanceof DataError) throw new DataError(`featurize: ${err.message} (check featurize.min_df / max_df / max_features and the preprocess settings)`);
    throw err;
  }
  ctx.reporter.progress("vectorizing", trainDocs.length, trainDocs.length + testDocs.length);
  const Xtest = transformInChunks(vectorizer, testDocs, (done) =>
    ctx.reporter.progress("vectorizing", trainDocs.length + done, trainDocs.length + testDocs.length),
  );
  const features = vectorizer.nFeatures;
  log(
    `vocabulary ${features} terms; train ${Xtrain.rows}×${Xtrain.cols} (${Xtrain.indptr[Xtrain.rows]} non-zeros), test ${Xtest.rows}×${Xtest.cols} (${Xtest.indptr[Xtest.rows]} non-zeros) in ${formatDuration(performance.now() - t0)}`,
  );

  const labels: ProcessedLabels = {
    format: "polarity.labels",
    version: 1,
    classes: uniqueSortedLabels([...train.labels, ...test.labels]),
    classNames: await readClassNames(projectPath(ctx.dir, "interimClassNames")),
    train: train.labels,
    test: test.labels,
  };
  await writeDirAtomic(projectPath(ctx.dir, "processedDir"), async (tmp) => {
    await writeFileAtomic(join(tmp, "train.npz"), encodeCsrNpz(Xtrain));
    await writeFileAtomic(join(tmp, "test.npz"), encodeCsrNpz(Xtest));
    await writeJsonAtomic(join(tmp, "labels.json"), labels);
  });
  const featurizer: FeaturizerJson = { format: "polarity.featurizer", version: 1, preprocess: { ...preprocess }, vectorizer: vectorizer.toJSON() };
  await writeFileAtomic(projectPath(ctx.dir, "featurizer"), JSON.stringify(featurizer) + "\n");
  log(`wrote ${LAYOUT.processedTrain}, ${LAYOUT.processedTest}, ${LAYOUT.processedLabels}, ${LAYOUT.featurizer}`);
  return { features, trainNnz: Xtrain.indptr[Xtrain.rows], testNnz: Xtest.indptr[Xtest.rows] };
}

function transformInChunks(vectorizer: AnyVectorizer, docs: string[][], onProgress: (done: number) => void): CsrMatrix {
  if (docs.length <= CHUNK) {
    const X = vectorizer.transform(docs);
    onProgress(docs.length);
    return X;
  }
  const parts: CsrMatrix[] = [];
  for (let start = 0; start < docs.length; start += CHUNK) {
    parts.push(vectorizer.transform(docs.slice(start, start + CHUNK)));
    onProgress(Math.min(docs.length, start + CHUNK));
  }
  return csrVStack(parts);
}
