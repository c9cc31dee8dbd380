import { readJsonFile } from "../data/files.js";
import { writeFileAtomic } from "../util/atomic-write.js";
import { DataError } from "../util/errors.js";
import type { StageContext } from "./context.js";
import type { RunRecord } from "./evaluate.js";
import { LAYOUT, projectPath } from "./layout.js";
import { withTracking } from "./with-tracking.js";

/**
 * Stage 6: registers the evaluated run's model (`runs:/<run_id>/model`) as a new version of
 * the registered model, points the alias (default `staging`) at it and, for users of MLflow
 * stages, moves it to stage Staging, archiving the version that was there.
 */

export interface RegistrationRecord {
  name: string;
  version: string;
  alias: string;
  stage: string | null;
  run_id: string;
  source: string;
  tracking_uri: string;
}

export async function runRegisterStage(ctx: StageContext): Promise<RegistrationRecord> {
  const p = ctx.params.register;
  const run = await readJsonFile<RunRecord>(projectPath(ctx.dir, "run"));
  if (typeof run.run_id !== "string" || typeof run.model_uri !== "string") throw new DataError(`${LAYOUT.run}: missing run_id/model_uri; rerun evaluate`);
  const record = await withTracking(ctx.params.tracking, async (client) => {
    const mv = await client.registerModel(run.model_uri, p.modelName, {
      description: `accuracy ${run.metrics.accuracy}, F1 ${run.metrics.f1}, ROC AUC ${run.metrics.roc_auc ?? "n/a"} on ${run.metrics.n_test} held-out texts`,
      tags: { "polarity.model_md5": run.model_md5 },
    });
    await client.setRegisteredModelAlias(p.modelName, p.alias, mv.version);
    if (p.stage) await client.transitionModelVersionStage(p.modelName, mv.version, p.stage, true);
    const rec: RegistrationRecord = {
      name: p.modelName,
      version: mv.version,
      alias: p.alias,
      stage: p.stage,
      run_id: run.run_id,
      source: mv.source,
      tracking_uri: client.trackingUri,
    };
    return rec;
  });
  await writeFileAtomic(projectPath(ctx.dir, "registration"), JSON.stringify(record, null, 2) + "\n");
  ctx.reporter.log(
    `registered ${record.name} version ${record.version} from run ${record.run_id}; alias '${record.alias}' → v${record.version}` +
      (record.stage ? `, stage ${record.stage} (previous ${record.stage} archived)` : "") +
      `; wrote ${LAYOUT.registration}`,
  );
  return record;
}
