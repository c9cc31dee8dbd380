import { existsSync } from "node:fs";
import { relative, resolve } from "node:path";
import { readJsonFile } from "../data/files.js";
import { reproduce, type ReproLogger, type ReproResult } from "../pipeline/repro.js";
import { promoteModel, PromotionRefusedError, type PromotionResult } from "../promotion/promote.js";
import { parseTrackingUri, redactUri, resolveTrackingUri } from "../tracking/uri.js";
import type { ModelVersion } from "../tracking/types.js";
import { PolarityError } from "../util/errors.js";
import type { HeldOutMetrics } from "../evaluation/held-out.js";
import { LAYOUT, projectPath } from "../stages/layout.js";
import { loadParams, type PipelineParams } from "../stages/params.js";
import type { Reporter } from "../util/progress.js";
import { ensurePolarityOnPath } from "../stages/self-command.js";
import { withTracking } from "../stages/with-tracking.js";

/**
 * The main job behind `npm start` / `polarity start`: bring the pipeline up to date
 * (`repro`, a no-op when nothing changed), run the promotion gates, and summarise where
 * everything is. Serving is left to the caller (the CLI ends by serving production).
 */

export interface MainJobSummary {
  repro: ReproResult;
  promotion: PromotionResult | null;
  /** Set when the gates refused the candidate (the job then exits non-zero after the summary). */
  refusal: string | null;
  metrics: HeldOutMetrics | null;
  model: { name: string; versions: Array<{ version: string; aliases: string[]; stage: string; run_id: string }> };
  tracking: { uri: string; database: string | null; artifacts: string | null };
  productionUri: string | null;
}

export class MainJobError extends PolarityError {
  constructor(message: string) {
    super("INTERNAL_ERROR", message);
    this.name = "MainJobError";
  }
}

export async function runMainJob(opts: { dir: string; reporter: Reporter; reproLog?: ReproLogger; paramsFile?: string }): Promise<MainJobSummary> {
  const params = await loadParams(resolve(opts.dir, opts.paramsFile ?? "params.yaml"));
  await ensurePolarityOnPath(opts.dir);
  opts.reporter.log("== repro: bringing the pipeline up to date");
  const repro = await reproduce({ root: opts.dir, log: opts.reproLog });
  if (!repro.ok) {
    const errors = repro.stages.filter((s) => s.error).map((s) => `${s.name}: ${s.error}`);
    throw new MainJobError(`pipeline failed at ${repro.failed.map((f) => `'${f}'`).join(", ")}: ${errors.join("; ")}`);
  }
  if (repro.ran.length + repro.restored.length === 0) opts.reporter.log("pipeline up to date: nothing to run");
  opts.reporter.log("== promote: quality gates");
  let promotion: PromotionResult | null = null;
  let refusal: string | null = null;
  try {
    promotion = await promoteModel({ dir: opts.dir, params, reporter: opts.reporter });
  } catch (err) {
    if (!(err instanceof PromotionRefusedError)) throw err;
    promotion = err.result;
    refusal = err.message;
  }
  return { ...(await describeState(opts.dir, params)), repro, promotion, refusal };
}

export async function describeState(dir: string, params: PipelineParams): Promise<Omit<MainJobSummary, "repro" | "promotion" | "refusal">> {
  const metricsPath = projectPath(dir, "metrics");
  const metrics = existsSync(metricsPath) ? await readJsonFile<HeldOutMetrics>(metricsPath) : null;
  const name = params.register.modelName;
  const uri = resolveTrackingUri(params.tracking.uri ?? undefined);
  let database: string | null = null;
  let artifacts: string | null = null;
  const target = parseTrackingUri(uri);
  if (target.kind === "local") {
    database = target.dbPath;
    artifacts = target.artifactsDir;
  }
  const versions = await withTracking(params.tracking, async (client) => {
    let list: ModelVersion[] = [];
    try {
      list = (await client.searchModelVersions({ filter: `name='${name.replace(/'/g, "\\'")}'`, maxResults: 1000 })).modelVersions;
    } catch (err) {
      if (!(err instanceof PolarityError && err.code === "RESOURCE_DOES_NOT_EXIST")) throw err;
    }
    return list
      .sort((a, b) => Number(b.version) - Number(a.version))
      .map((v) => ({ version: v.version, aliases: v.aliases ?? [], stage: v.current_stage, run_id: v.run_id }));
  });
  const production = versions.find((v) => v.aliases.includes(params.promote.to));
  return {
    metrics,
    model: { name, versions },
    tracking: { uri, database, artifacts },
    productionUri: production ? `models:/${name}@${params.promote.to}` : null,
  };
}

/** The human summary printed at the end of `polarity start`. */
export function formatSummary(s: MainJobSummary, dir: string): string {
  const lines: string[] = ["", "== summary"];
  if (s.metrics) {
    const m = s.metrics;
    const rows: Array<[string, string]> = [
      ["accuracy", m.accuracy.toFixed(4)],
      [`precision (${m.average})`, m.precision.toFixed(4)],
      [`recall (${m.average})`, m.recall.toFixed(4)],
      [`F1 (${m.average})`, m.f1.toFixed(4)],
      ["ROC AUC", m.roc_auc === null ? "n/a" : m.roc_auc.toFixed(4)],
      ["log loss", m.log_loss === null ? "n/a" : m.log_loss.toFixed(4)],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    lines.push(`held-out metrics (${m.n_test} texts, ${LAYOUT.metrics}):`);
    for (const [k, v] of rows) lines.push(`  ${k.padEnd(w)}  ${v}`);
  }
  const top = s.model.versions.slice(0, 5);
  if (top.length > 0) {
    lines.push(`registered model '${s.model.name}' (newest first):`);
    for (const v of top) lines.push(`  v${v.version.padEnd(4)} ${v.stage.padEnd(10)} ${v.aliases.length ? `aliases: ${v.aliases.join(", ")}` : ""}`.trimEnd());
  }
  if (s.promotion) {
    const p = s.promotion;
    if (p.outcome === "promoted") lines.push(`promotion: v${p.candidate.version} passed ${p.gates.length} gates and now has alias '${p.to}'`);
    else if (p.outcome === "unchanged") lines.push(`promotion: v${p.candidate.version} already has alias '${p.to}'`);
    else if (p.outcome === "checked") lines.push(`promotion (dry run): v${p.candidate.version} passed ${p.gates.length} gates; alias '${p.to}' not moved`);
    else
      lines.push(
        `promotion REFUSED for v${p.candidate.version}: ${p.gates
          .filter((g) => !g.passed)
          .map((g) => g.name)
          .join(", ")} (see ${LAYOUT.promotion})`,
      );
  }
  const rel = (p: string | null): string => (p === null ? "" : relative(dir, p) || ".");
  lines.push(
    `tracking store: ${redactUri(s.tracking.uri)}` +
      (s.tracking.database ? ` (database ${rel(s.tracking.database)}, artifacts ${rel(s.tracking.artifacts)}/)` : ""),
  );
  lines.push("  browse: polarity runs list   |   polarity models versions " + s.model.name + "   |   polarity server (MLflow REST API)");
  if (s.productionUri) lines.push(`serve: polarity serve --model ${s.productionUri}   (POST /predict, /invocations; GET / for the page)`);
  return lines.join("\n");
}
