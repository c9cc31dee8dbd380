import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import YAML from "yaml";
import type { ObjectCache } from "./objects/cache.js";
import type { StageDecl } from "./dvcyaml.js";
import { writeFileAtomicSync } from "../util/atomic-write.js";
import { dumpYaml, type LockStage, normalizeLockStage } from "./lockfile.js";

/**
 * The run-cache (`.dvc/cache/runs/<key[:2]>/<key>/<value>`): key = sha256 of the stage's cmd,
 * dep hashes, params and out paths; value = the full lock entry (with out hashes) stored as
 * YAML. Returning to an earlier combination restores its outputs from the cache without
 * running the command. Like DVC, keys are sha256 of sort_keys JSON (Polarity's key strings
 * are not byte-identical to DVC's, so the two tools don't share run-cache hits).
 */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(", ")}]`;
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v as object).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}: ${canonicalJson((v as Record<string, unknown>)[k])}`).join(", ")}}`;
  }
  return JSON.stringify(v);
}

function sha256(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

/** A stage can use the run-cache when its result is a pure function of cmd + deps + params. */
export function canUseRunCache(stage: StageDecl): boolean {
  // Params count as dependencies here, as in DVC (a stage with only params is still a pure function of them).
  return stage.deps.length + stage.params.length > 0 && stage.outs.length > 0 && !stage.alwaysChanged && !stage.outs.some((o) => o.persist);
}

export function runCacheKey(entry: LockStage): string {
  const e = normalizeLockStage(entry);
  return sha256(canonicalJson({ cmd: e.cmd, deps: e.deps ?? [], params: e.params ?? {}, outs: (e.outs ?? []).map((o) => o.path) }));
}

export class RunCache {
  constructor(private readonly cacheRoot: string) {}

  private dirOf(key: string): string {
    return path.join(this.cacheRoot, "runs", key.slice(0, 2), key);
  }

  save(entry: LockStage): void {
    const e = normalizeLockStage(entry);
    const text = dumpYaml(e);
    const dir = this.dirOf(runCacheKey(e));
    const file = path.join(dir, sha256(text));
    if (!fs.existsSync(file)) writeFileAtomicSync(file, text);
  }

  /** Most recent entry for this cmd + deps + params whose output objects are all in the cache. */
  lookup(partial: LockStage, outPaths: string[], cache: ObjectCache): LockStage | null {
    const key = runCacheKey({ ...partial, outs: outPaths.map((p) => ({ path: p, hash: "md5", md5: "", size: 0 })) });
    const dir = this.dirOf(key);
    if (!fs.existsSync(dir)) return null;
    const candidates = fs.readdirSync(dir).filter((f) => /^[0-9a-f]{64}$/.test(f))
      .map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { f } of candidates) {
      let entry: LockStage;
      try {
        entry = YAML.parse(fs.readFileSync(path.join(dir, f), "utf8")) as LockStage;
      } catch {
        continue;
      }
      const outs = entry.outs ?? [];
      if (outs.length !== outPaths.length) continue;
      const complete = outs.every((o) => {
        if (!cache.has(o.md5)) return false;
        try {
          return cache.objectsOf(o.md5).every((id) => cache.has(id));
        } catch {
          return false;
        }
      });
      if (complete) return entry;
    }
    return null;
  }
}
