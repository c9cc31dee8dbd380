import { join } from "node:path";
import { formatDatasetCsv } from "../data/files.js";
import { writeDirAtomic, writeFileAtomic, writeJsonAtomic } from "../util/atomic-write.js";
import { ingestDataset } from "../data/ingest.js";
import type { ValidationReport } from "../data/report.js";
import { InvalidParameterError } from "../util/errors.js";
import type { StageContext } from "./context.js";
import { LAYOUT, projectPath } from "./layout.js";

/**
 * Stage 1: source → data/raw/{train,test}.csv + reports/data_validation.json.
 * Nothing is written unless the data pass validation; data/raw is swapped in atomically.
 */
export async function runIngestStage(ctx: StageContext): Promise<{ report: ValidationReport }> {
  const p = ctx.params.ingest;
  const log = (line: string) => ctx.reporter.log(line);
  const result = await ingestDataset(
    {
      source: p.source,
      testSource: p.testSource,
      format: p.format,
      header: p.header,
      encoding: p.encoding,
      http: p.http,
      baseDir: ctx.dir,
      textColumn: p.textColumn,
      labelColumn: p.labelColumn,
      labelMap: p.labelMap,
      testSize: p.testSize,
      seed: p.seed,
      minRows: p.minRows,
    },
    log,
  );
  checkFoldsFit(ctx.params.train.cvFolds, result.report.train.classCounts);
  await writeDirAtomic(projectPath(ctx.dir, "rawDir"), async (tmp) => {
    await writeFileAtomic(join(tmp, "train.csv"), formatDatasetCsv(result.train.texts, result.train.labels));
    await writeFileAtomic(join(tmp, "test.csv"), formatDatasetCsv(result.test.texts, result.test.labels));
    await writeJsonAtomic(join(tmp, "class_names.json"), { format: "polarity.class-names", version: 1, names: result.classNames });
  });
  await writeJsonAtomic(projectPath(ctx.dir, "validationReport"), result.report);
  log(`wrote ${LAYOUT.rawTrain} (${result.train.texts.length} rows), ${LAYOUT.rawTest} (${result.test.texts.length} rows), ${LAYOUT.validationReport}`);
  return { report: result.report };
}

/**
 * Stratified k-fold needs at least k rows of every class; ingest is the first stage that
 * knows the training split, so a too-large train.cv_folds fails here, before preprocess,
 * featurize and train have run.
 */
export function checkFoldsFit(folds: number, trainClassCounts: Record<string, number>): void {
  if (folds < 2) return;
  const [cls, n] = Object.entries(trainClassCounts).sort((a, b) => a[1] - b[1])[0] ?? ["", 0];
  if (folds > n) {
    throw new InvalidParameterError(
      `params.yaml: train.cv_folds is ${folds}, but the training split has only ${n} rows of class ${JSON.stringify(cls)}; stratified k-fold needs at least k rows per class (set train.cv_folds <= ${n}, or 0 to skip CV)`,
    );
  }
}
