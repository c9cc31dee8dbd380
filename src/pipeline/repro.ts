import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { sweepStaleTemps } from "../util/atomic-write.js";
import { DataError, PolarityError } from "../util/errors.js";
import { CorruptedObjectError } from "./objects/cache.js";
import { onGroupsChange, runStageCommand } from "./stage-process.js";
import { buildDag, type Dag, selectStages, topoOrder } from "./dag.js";
import { loadPipeline, type Pipeline, type StageDecl } from "./dvcyaml.js";
import { readLock, writeLockStage, LOCK_FILE, type LockStage } from "./lockfile.js";
import { gitignoreOutputs } from "./dvcfile.js";
import { findRoot, type Repo, withRepo } from "./repo.js";
import { canUseRunCache, RunCache } from "./run-cache.js";
import { buildLockStage, hashDeps, resolveStageParams, stageStatus, type StageStatus } from "./stage-state.js";

/** Where progress goes; the CLI prints it, a library caller may collect it. */
export interface ReproLogger {
  info(line: string): void;
  /** a line of a stage command's stdout/stderr, already prefixed with `[stage] ` */
  output(line: string, stream: "stdout" | "stderr"): void;
}

export const consoleLogger: ReproLogger = {
  info: (line) => process.stdout.write(line + "\n"),
  output: (line, stream) => (stream === "stdout" ? process.stdout : process.stderr).write(line + "\n"),
};

export interface ReproOptions {
  root?: string;
  targets?: string[];
  /** rerun the selected stages even if unchanged (frozen stages still never run) */
  force?: boolean;
  /** only the targets, not their upstream */
  single?: boolean;
  /** the targets and every stage downstream of them */
  downstream?: boolean;
  /** report what would run, run nothing */
  dry?: boolean;
  /** after a failure, go on with the stages that do not depend on it */
  keepGoing?: boolean;
  /** stages run at once (independent stages only) */
  jobs?: number;
  /** wait for another process's project lock instead of failing */
  wait?: boolean;
  /** do not restore outputs from the run-cache */
  noRunCache?: boolean;
  log?: ReproLogger;
}

export type StageOutcome = "ran" | "restored" | "unchanged" | "frozen" | "failed" | "skipped-upstream-failed" | "not-run" | "would-run";

export interface ReproResult {
  stages: Array<{ name: string; outcome: StageOutcome; reasons?: string[]; error?: string }>;
  ran: string[];
  restored: string[];
  failed: string[];
  ok: boolean;
}

export class StageFailedError extends PolarityError {
  constructor(message: string) {
    super("INTERNAL_ERROR", message);
    this.name = "StageFailedError";
  }
}

async function removeOutputs(stage: StageDecl, hasher: Repo["hasher"]): Promise<void> {
  for (const o of stage.outs) {
    hasher.forget(o.abs);
    if (o.persist) continue;
    await fsp.rm(o.abs, { recursive: true, force: true });
    await fsp.mkdir(path.dirname(o.abs), { recursive: true });
  }
}

function stageNames(p: Pipeline): string[] {
  return p.stages.map((s) => s.name);
}

class Runner {
  private readonly runCache: RunCache;

  constructor(
    private readonly repo: Repo,
    private readonly pipeline: Pipeline,
    private readonly opts: ReproOptions,
    private readonly log: ReproLogger,
  ) {
    this.runCache = new RunCache(repo.cache.root);
  }

  /** Hashes the stage's results, stores them, saves a run-cache entry and rewrites its lock entry. */
  private async commit(stage: StageDecl, deps: Awaited<ReturnType<typeof hashDeps>>, params: Record<string, Record<string, unknown>>): Promise<void> {
    const outs = [];
    for (const o of stage.outs) {
      if (!fs.existsSync(o.abs)) throw new StageFailedError(`stage '${stage.name}': output '${o.path}' was not created by its command`);
      const hash = await this.repo.hasher.hashPath(o.abs, o.path);
      // Outputs with cache: false are stored too when the run-cache may restore them (as DVC does).
      if (o.cache || canUseRunCache(stage)) await this.repo.cache.addPath(o.abs, hash);
      outs.push({ path: o.path, hash });
    }
    const entry = buildLockStage(stage, deps, params, outs);
    if (canUseRunCache(stage)) this.runCache.save(entry);
    gitignoreOutputs(
      this.repo.root,
      stage.outs.filter((o) => o.cache).map((o) => o.abs),
    );
    writeLockStage(this.repo.root, stage.name, entry, stageNames(this.pipeline));
    this.log.info(`Updated '${stage.name}' in ${LOCK_FILE}`);
  }

  /**
   * Checks a run-cache hit's outputs out of the cache. A corrupted object is treated as
   * missing, as DVC does: it is removed from the cache with a loud warning and the stage
   * runs instead (false); its output is then stored again from the fresh run.
   */
  private async restore(stage: StageDecl, hit: LockStage): Promise<boolean> {
    const byPath = new Map((hit.outs ?? []).map((o) => [o.path, o]));
    for (const o of stage.outs) {
      const e = byPath.get(o.path);
      if (!e) throw new DataError(`run-cache entry for '${stage.name}' lacks output '${o.path}'`);
      this.repo.hasher.forget(o.abs);
      try {
        await this.repo.cache.checkout(e.md5, o.abs);
      } catch (err) {
        if (!(err instanceof CorruptedObjectError)) throw err;
        this.repo.cache.remove(err.objectId);
        this.log.info(`WARNING: ${err.message}; removed it from the cache and treating it as missing: stage '${stage.name}' will run`);
        return false;
      }
    }
    gitignoreOutputs(
      this.repo.root,
      stage.outs.filter((o) => o.cache).map((o) => o.abs),
    );
    return true;
  }

  async process(stage: StageDecl, upstreamChanged: boolean): Promise<{ outcome: StageOutcome; reasons?: string[] }> {
    const { repo, log, opts } = this;
    if (stage.frozen) {
      log.info(`Stage '${stage.name}' is frozen, skipping`);
      return { outcome: "frozen" };
    }
    const status: StageStatus = await stageStatus(repo.hasher, stage, readLock(repo.root).stages[stage.name], (md5) => repo.cache.hasAll(md5));
    const reasons = status.reasons.map((r) => r.message);
    if (!status.changed && !opts.force && !(opts.dry && upstreamChanged)) {
      log.info(`Stage '${stage.name}' didn't change, skipping`);
      return { outcome: "unchanged" };
    }
    if (opts.dry) {
      const why = opts.force ? "forced" : reasons.length ? reasons.join("; ") : "an upstream stage would run";
      log.info(`Would run stage '${stage.name}' (${why})`);
      for (const c of Array.isArray(stage.cmd) ? stage.cmd : [stage.cmd]) for (const line of c.split("\n")) log.info(`> ${line}`);
      return { outcome: "would-run", reasons };
    }
    const deps = await hashDeps(repo.hasher, stage);
    const missing = deps.filter((d) => !d.hash).map((d) => `'${d.path}'`);
    if (missing.length) throw new StageFailedError(`stage '${stage.name}': missing dependenc${missing.length > 1 ? "ies" : "y"} ${missing.join(", ")}`);
    const params = resolveStageParams(stage);

    if (!opts.force && !opts.noRunCache && canUseRunCache(stage)) {
      const partial = buildLockStage(stage, deps, params, []);
      const hit = this.runCache.lookup(
        partial,
        stage.outs.map((o) => o.path),
        repo.cache,
      );
      if (hit && (await this.restore(stage, hit))) {
        writeLockStage(repo.root, stage.name, { ...partial, outs: hit.outs }, stageNames(this.pipeline));
        log.info(`Stage '${stage.name}' is cached - skipping run, restored outputs from the run-cache`);
        return { outcome: "restored", reasons };
      }
    }

    log.info(`Running stage '${stage.name}'${reasons.length ? ` (${reasons.join("; ")})` : opts.force ? " (forced)" : ""}:`);
    await removeOutputs(stage, repo.hasher);
    for (const cmd of Array.isArray(stage.cmd) ? stage.cmd : [stage.cmd]) {
      for (const line of cmd.split("\n")) log.info(`[${stage.name}] > ${line}`);
      const code = await runStageCommand(cmd, stage.wdir, `[${stage.name}] `, (line, stream) => log.output(line, stream));
      if (code !== 0) throw new StageFailedError(`stage '${stage.name}': command '${cmd}' failed with exit code ${code}`);
    }
    await this.commit(stage, deps, params);
    return { outcome: "ran", reasons };
  }
}

/**
 * `repro`: brings the selected stages up to date, in DAG order, running up to `jobs`
 * independent stages at once. Takes the project lock for its whole run.
 */
export async function reproduce(opts: ReproOptions = {}): Promise<ReproResult> {
  const log = opts.log ?? consoleLogger;
  const root = opts.root ?? findRoot();
  // Parse and validate before touching .dvc/: a bad dvc.yaml changes nothing on disk.
  const pipeline = loadPipeline(root);
  const dag = buildDag(pipeline);
  return withRepo(root, async (repo) => {
    const selected = selectStages(dag, opts.targets ?? [], { single: opts.single, downstream: opts.downstream });
    repo.hasher.enableMemo();
    if (opts.dry) return schedule(new Runner(repo, pipeline, opts, log), dag, selected, Math.max(1, opts.jobs ?? 1), opts, log);
    await repo.lockForWrite(`repro ${(opts.targets ?? []).join(" ")}`.trim(), opts.wait, (m) => log.info(m));
    sweepOutputTemps(pipeline, log);
    const unsubscribe = onGroupsChange((pgids) => repo.setStageGroups(pgids));
    try {
      return await schedule(new Runner(repo, pipeline, opts, log), dag, selected, Math.max(1, opts.jobs ?? 1), opts, log);
    } finally {
      unsubscribe();
    }
  });
}

/**
 * Removes temp files that writers killed mid-write left beside stage outputs (e.g.
 * `data/.processed.<pid>.<hex>.tmp` of a stage killed with its repro). Only files of dead
 * pids are touched; we hold the project lock, so no live stage of ours is writing them.
 */
function sweepOutputTemps(pipeline: Pipeline, log: ReproLogger): void {
  const dirs = new Set<string>([pipeline.root]);
  for (const s of pipeline.stages) for (const o of s.outs) dirs.add(path.dirname(o.abs));
  for (const dir of dirs) {
    for (const name of sweepStaleTemps(dir)) log.info(`Removed '${path.relative(pipeline.root, path.join(dir, name))}', left by an interrupted process`);
  }
}

async function schedule(runner: Runner, dag: Dag, selected: Set<string>, jobs: number, opts: ReproOptions, log: ReproLogger): Promise<ReproResult> {
  const order = topoOrder(dag, selected);
  const byName = new Map(dag.stages.map((s) => [s.name, s]));
  const results = new Map<string, { outcome: StageOutcome; reasons?: string[]; error?: string }>();
  const waiting = new Map(order.map((n) => [n, [...dag.upstream.get(n)!].filter((u) => selected.has(u))]));
  let stop = false;
  const running = new Set<Promise<void>>();

  const upstreamState = (n: string): { failed: boolean; changed: boolean } => {
    let failed = false;
    let changed = false;
    for (const u of waiting.get(n)!) {
      const r = results.get(u)!;
      if (r.outcome === "failed" || r.outcome === "skipped-upstream-failed") failed = true;
      if (r.outcome === "ran" || r.outcome === "restored" || r.outcome === "would-run") changed = true;
    }
    return { failed, changed };
  };

  const launch = (name: string): void => {
    const { failed, changed } = upstreamState(name);
    const p = (async () => {
      if (failed) {
        log.info(`Stage '${name}' skipped: an upstream stage failed`);
        results.set(name, { outcome: "skipped-upstream-failed" });
        return;
      }
      try {
        results.set(name, await runner.process(byName.get(name)!, changed));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        log.info(`ERROR: ${message}`);
        results.set(name, { outcome: "failed", error: message });
        if (!opts.keepGoing) stop = true;
      }
    })();
    const tracked = p.finally(() => running.delete(tracked));
    running.add(tracked);
  };

  const pending = new Set(order);
  while (pending.size > 0 || running.size > 0) {
    if (!stop) {
      for (const n of order) {
        if (running.size >= jobs) break;
        if (!pending.has(n)) continue;
        if (waiting.get(n)!.every((u) => results.has(u))) {
          pending.delete(n);
          launch(n);
        }
      }
    }
    if (running.size === 0) break;
    await Promise.race(running);
  }
  const stages = order.map((name) => ({ name, ...(results.get(name) ?? { outcome: "not-run" as StageOutcome }) }));
  const failed = stages.filter((s) => s.outcome === "failed").map((s) => s.name);
  return {
    stages,
    ran: stages.filter((s) => s.outcome === "ran").map((s) => s.name),
    restored: stages.filter((s) => s.outcome === "restored").map((s) => s.name),
    failed,
    ok: failed.length === 0,
  };
}

export { pipelineStatus, type StatusReport } from "./status.js";
