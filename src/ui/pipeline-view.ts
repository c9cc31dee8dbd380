import { buildDag, diffMetrics, findRoot, loadPipeline, pipelineStatus } from "../pipeline/index.js";
import { InvalidParameterError, NotFoundError, errorMessage } from "../util/errors.js";
import type { MetricsDiffView, PipelineView } from "./wire.js";

export type { PipelineStageView, PipelineView } from "./wire.js";

/** Finds the DVC project at or above `dir`, or undefined when there is none. */
export function findProjectRoot(dir: string): string | undefined {
  try {
    return findRoot(dir);
  } catch {
    return undefined;
  }
}

/**
 * The `dvc.yaml` DAG of the project at `root` and each stage's status (`polarity status`): why a
 * stage is out of date. A project whose status cannot be computed (e.g. a locked repo) still
 * shows its DAG, with the reason.
 */
export async function pipelineView(root: string | undefined): Promise<PipelineView> {
  if (!root) return { available: false, message: "The server was not started inside a DVC project (no dvc.yaml found)." };
  let pipeline;
  try {
    pipeline = loadPipeline(root);
  } catch (err) {
    return { available: false, message: errorMessage(err) };
  }
  const dag = buildDag(pipeline);
  const edges: Array<{ from: string; to: string }> = [];
  for (const [to, ups] of dag.upstream) for (const from of ups) edges.push({ from, to });
  let statuses = new Map<string, { frozen: boolean; changed: boolean; reasons: string[] }>();
  let statusError: string | undefined;
  try {
    const report = await pipelineStatus({ root });
    statuses = new Map(report.stages.map((s) => [s.name, { frozen: s.frozen, changed: s.changed, reasons: s.reasons.map((r) => r.message) }]));
  } catch (err) {
    statusError = errorMessage(err);
  }
  const stages = pipeline.stages.map((s) => {
    const st = statuses.get(s.name);
    return {
      name: s.name,
      cmd: Array.isArray(s.cmd) ? s.cmd.join(" && ") : s.cmd,
      deps: s.deps.map((d) => d.path),
      outs: s.outs.map((o) => o.path),
      frozen: st?.frozen ?? s.frozen,
      changed: st?.changed ?? false,
      reasons: st?.reasons ?? [],
    };
  });
  return { available: true, root, stages, edges, ...(statusError ? { statusError } : {}) };
}

/** A git revision as `git rev-parse` takes it, never an option: HEAD~1, v1.2, main, a hash, HEAD@{2}. */
const REV_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9._/~^@{}+-]{0,199}$/;

/** `polarity metrics diff <rev> --all` for the page: workspace metrics against a git revision. */
export function metricsDiffView(root: string | undefined, rev: string): MetricsDiffView {
  if (!root) throw new NotFoundError("The server was not started inside a DVC project (no dvc.yaml found).");
  if (!REV_PATTERN.test(rev) || rev.includes(".."))
    throw new InvalidParameterError(`Invalid git revision '${rev}': use a branch, tag, commit hash or an expression like HEAD~1`);
  return { rev, rows: diffMetrics(root, rev, true) };
}
