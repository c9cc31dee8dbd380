import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readDatasetCsv, readJsonFile } from "../data/files.js";
import { writeJsonAtomic } from "../util/atomic-write.js";
import { SentimentModel } from "../models/sentiment-model.js";
import type { TrackingClient } from "../tracking/client.js";
import type { ModelVersion } from "../tracking/types.js";
import { DataError, NotFoundError, PolarityError } from "../util/errors.js";
import { evaluateModelOn, type HeldOutMetrics } from "../evaluation/held-out.js";
import { LAYOUT, projectPath } from "../stages/layout.js";
import type { PipelineParams, PromoteParams } from "../stages/params.js";
import type { Reporter } from "../util/progress.js";
import { withTracking } from "../stages/with-tracking.js";
import { runGates, type GateResult } from "./gates.js";

/**
 * `polarity promote`: moves a registered model version from one alias (default `staging`) to
 * another (default `production`) only if it passes every quality gate (gates.ts) on the
 * project's held-out test set (data/raw/test.csv). The current production version is scored
 * on the same texts for the regression gate. On success the alias moves and, for users of
 * MLflow stages, the version goes to stage Production (archiving the previous one). The gate
 * results are logged to the candidate's run (metrics `gate.<name>` = 1/0, tag
 * `polarity.promotion`, artifact `promotion/gates.json`) and written to reports/promotion.json.
 */

export class PromotionRefusedError extends PolarityError {
  constructor(
    message: string,
    readonly result: PromotionResult,
  ) {
    // Exit code 4 (a policy conflict), distinct from bad input (2) and missing things (3).
    super("RESOURCE_CONFLICT", message);
    this.name = "PromotionRefusedError";
  }
}

export interface PromotionResult {
  model: string;
  from: string;
  to: string;
  candidate: { version: string; run_id: string | null; metrics: HeldOutMetrics | null };
  production: { version: string; metrics: HeldOutMetrics } | null;
  gates: GateResult[];
  /** "promoted", "refused", "unchanged" when the candidate already holds the target alias, "checked" for a dry run that passed. */
  outcome: "promoted" | "refused" | "unchanged" | "checked";
  stage: string | null;
}

export interface PromoteOptions {
  dir: string;
  params: PipelineParams;
  modelName?: string;
  from?: string;
  to?: string;
  /** Overrides of the params' gate settings (CLI flags). */
  overrides?: Partial<PromoteParams>;
  /** Run and report the gates, but move nothing and log nothing to the run. */
  dryRun?: boolean;
  reporter: Reporter;
}

async function aliasVersion(client: TrackingClient, name: string, alias: string): Promise<ModelVersion | null> {
  try {
    return await client.getModelVersionByAlias(name, alias);
  } catch (err) {
    if (err instanceof PolarityError && err.code === "RESOURCE_DOES_NOT_EXIST") return null;
    throw err;
  }
}

async function downloadModel(client: TrackingClient, name: string, version: string): Promise<SentimentModel> {
  const tmp = await mkdtemp(join(tmpdir(), "polarity-promote-"));
  try {
    // evaluate logs the bundle as <run>/model/model.json and registers runs:/<id>/model.
    const path = await client.downloadArtifacts(`models:/${name}/${version}`, tmp);
    const file = join(path, "model.json");
    if (!existsSync(file))
      throw new NotFoundError(`${name} v${version}: no model.json in its artifacts (${client.trackingUri}); was it registered by 'polarity stage register'?`);
    return SentimentModel.fromJSON(await readJsonFile(file));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export async function promoteModel(opts: PromoteOptions): Promise<PromotionResult> {
  const p: PromoteParams = { ...opts.params.promote, ...(opts.overrides ?? {}) };
  const name = opts.modelName ?? opts.params.register.modelName;
  const from = opts.from ?? p.from;
  const to = opts.to ?? p.to;
  const log = (line: string) => opts.reporter.log(line);

  return withTracking(opts.params.tracking, async (client) => {
    const candidate = await aliasVersion(client, name, from);
    if (!candidate)
      throw new NotFoundError(
        `model '${name}' has no version with alias '${from}' in ${client.trackingUri}; run 'polarity repro' (its register stage sets '${opts.params.register.alias}')`,
      );
    const current = await aliasVersion(client, name, to);
    const base: Omit<PromotionResult, "gates" | "outcome" | "candidate" | "production"> = { model: name, from, to, stage: p.stage };
    if (current && current.version === candidate.version) {
      log(`${name} v${candidate.version} already has alias '${to}'; nothing to promote`);
      const result: PromotionResult = {
        ...base,
        candidate: { version: candidate.version, run_id: candidate.run_id || null, metrics: null },
        production: null,
        gates: [],
        outcome: "unchanged",
      };
      await writeJsonAtomic(projectPath(opts.dir, "promotion"), result);
      return result;
    }

    const test = await readDatasetCsv(projectPath(opts.dir, "rawTest"));
    log(`gating ${name} v${candidate.version} (alias '${from}') on ${test.texts.length} held-out texts from ${LAYOUT.rawTest}`);
    const model = await downloadModel(client, name, candidate.version);
    let ev;
    try {
      ev = evaluateModelOn(model, test.texts, test.labels);
    } catch (err) {
      if (err instanceof DataError)
        throw new DataError(
          `cannot score ${name} v${candidate.version} on ${LAYOUT.rawTest} (was it trained on other labels? rerun 'polarity repro'): ${err.message}`,
        );
      throw err;
    }
    let production: PromotionResult["production"] = null;
    let productionNote: string | undefined;
    if (current) {
      const prodModel = await downloadModel(client, name, current.version);
      try {
        production = { version: current.version, metrics: evaluateModelOn(prodModel, test.texts, test.labels).metrics };
      } catch (err) {
        if (!(err instanceof DataError)) throw err;
        // E.g. the label set changed: the old production model cannot be scored on the new test set.
        productionNote = `production v${current.version} cannot be scored on this test set (${err.message}); not comparable`;
      }
    }
    const gates = runGates({ candidate: model, candidateMetrics: ev.metrics, production, params: p, productionNote });
    for (const g of gates) log(`  ${g.skipped ? "SKIP" : g.passed ? "PASS" : "FAIL"} ${g.name}: ${g.detail}`);
    const failed = gates.filter((g) => !g.passed);
    const result: PromotionResult = {
      ...base,
      candidate: { version: candidate.version, run_id: candidate.run_id || null, metrics: ev.metrics },
      production,
      gates,
      outcome: failed.length === 0 ? "promoted" : "refused",
    };

    if (candidate.run_id && !opts.dryRun) await logGates(client, candidate.run_id, result);
    if (failed.length > 0) {
      await writeJsonAtomic(projectPath(opts.dir, "promotion"), result);
      const where = current ? `'${to}' stays on v${current.version}` : `'${to}' is not set`;
      throw new PromotionRefusedError(
        `promotion of ${name} v${candidate.version} refused, ${where}: ${failed.length} gate${failed.length > 1 ? "s" : ""} failed: ${failed.map((g) => `${g.name} (${g.detail})`).join("; ")}`,
        result,
      );
    }
    if (opts.dryRun) {
      log(`dry run: ${name} v${candidate.version} passes every gate; alias '${to}' not moved`);
      return { ...result, outcome: "checked" };
    }
    await client.setRegisteredModelAlias(name, to, candidate.version);
    if (p.stage) await client.transitionModelVersionStage(name, candidate.version, p.stage, true);
    await writeJsonAtomic(projectPath(opts.dir, "promotion"), result);
    log(
      `promoted ${name} v${candidate.version}: alias '${to}' → v${candidate.version}` +
        (p.stage ? `, stage ${p.stage}` + (current ? ` (v${current.version} archived)` : "") : ""),
    );
    return result;
  });
}

async function logGates(client: TrackingClient, runId: string, result: PromotionResult): Promise<void> {
  const metrics: Record<string, number> = { "gate.passed": result.outcome === "promoted" ? 1 : 0 };
  for (const g of result.gates) metrics[`gate.${g.name}`] = g.passed ? 1 : 0;
  await client.logMetrics(runId, metrics);
  await client.setTag(runId, "polarity.promotion", `${result.outcome} (${result.from} → ${result.to}, v${result.candidate.version})`);
  const tmp = await mkdtemp(join(tmpdir(), "polarity-gates-"));
  try {
    const file = join(tmp, "gates.json");
    await writeFile(file, JSON.stringify(result, null, 2) + "\n");
    await client.logArtifact(runId, file, "promotion");
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
