import { join } from "node:path";
import { formatDatasetCsv } from "../data/files.js";
import { writeDirAtomic, writeFileAtomic, writeJsonAtomic } from "../util/atomic-write.js";
import { ingestDataset } from "../data/ingest.js";
import type { ValidationReport } from "../data/report.js";
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
  await writeDirAtomic(projectPath(ctx.dir, "rawDir"), async (tmp) => {
    await writeFileAtomic(join(tmp, "train.csv"), formatDatasetCsv(result.train.texts, result.train.labels));
    await writeFileAtomic(join(tmp, "test.csv"), formatDatasetCsv(result.test.texts, result.test.labels));
  });
  await writeJsonAtomic(projectPath(ctx.dir, "validationReport"), result.report);
  log(`wrote ${LAYOUT.rawTrain} (${result.train.texts.length} rows), ${LAYOUT.rawTest} (${result.test.texts.length} rows), ${LAYOUT.validationReport}`);
  return { report: result.report };
}
