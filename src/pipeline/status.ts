import { buildDag, selectStages, topoOrder } from "./dag.js";
import { loadPipeline } from "./dvcyaml.js";
import { readLock } from "./lockfile.js";
import { findRoot, withRepo } from "./repo.js";
import { stageStatus, type StageStatus } from "./stage-state.js";

// `status` lives apart from `repro` so that the command loads only what it reads (no stage
// runner, run-cache or git helpers): CLI start-up is a figure users see.

export interface StatusReport {
  stages: StageStatus[];
}

/** `status`: which stages are out of date and why (frozen stages are listed as such). Read-only. */
export async function pipelineStatus(opts: { root?: string; targets?: string[]; single?: boolean } = {}): Promise<StatusReport> {
  const root = opts.root ?? findRoot();
  const pipeline = loadPipeline(root);
  const dag = buildDag(pipeline);
  return withRepo(root, async (repo) => {
    const selected = selectStages(dag, opts.targets ?? [], { single: opts.single });
    repo.hasher.enableMemo();
    const lock = readLock(repo.root);
    const byName = new Map(pipeline.stages.map((s) => [s.name, s]));
    const stages: StageStatus[] = [];
    for (const n of topoOrder(dag, selected)) stages.push(await stageStatus(repo.hasher, byName.get(n)!, lock.stages[n], (md5) => repo.cache.hasAll(md5)));
    return { stages };
  });
}
