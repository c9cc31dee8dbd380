import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import type { ObjectCache } from "./objects/cache.js";
import type { StageDecl } from "./dvcyaml.js";
import { writeFileAtomicSync } from "../util/atomic-write.js";
import { type LockStage, normalizeLockStage } from "./lockfile.js";
import { dumpYaml, parseYamlKeepingFloats, pyJsonDumps, YamlFloat } from "./yaml-values.js";

/**
 * The run-cache (`.dvc/cache/runs/<key[:2]>/<key>/<value>`), computed exactly as DVC's
 * dvc/stage/cache.py does, so DVC and Polarity share hits: key = `_get_stage_hash` = sha256
 * of `json.dumps(entry, sort_keys=True)` of the stage's lock entry (cmd, deps with hashes,
 * params) with `outs` reduced to their paths; value = the same hash of the full entry (outs
 * with hashes). Both drop every `size` and `nfiles` field, at any depth (dvc.utils
 * `dict_sha256(…, exclude=[size, nfiles])`). The file holds the full entry as YAML.
 * Returning to an earlier combination restores its outputs without running the command.
 */
const EXCLUDED = new Set(["size", "nfiles"]);

/** dvc.utils.dict_filter: drops the excluded keys from every mapping, at any depth. */
function dictFilter(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dictFilter);
  if (v !== null && typeof v === "object" && !(v instanceof YamlFloat)) {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !EXCLUDED.has(k))
        .map(([k, x]) => [k, dictFilter(x)]),
    );
  }
  return v;
}

/** dvc.utils.dict_sha256(d, exclude=["size", "nfiles"]). */
function dictSha256(d: unknown): string {
  return sha256(pyJsonDumps(dictFilter(d)));
}

/** The entry as `to_single_stage_lockfile` builds it: cmd, then deps/params/outs only when non-empty. */
function dvcEntry(e: LockStage): Record<string, unknown> {
  const out: Record<string, unknown> = { cmd: e.cmd };
  if (e.deps?.length) out.deps = e.deps;
  if (e.params && Object.keys(e.params).length) out.params = e.params;
  if (e.outs?.length) out.outs = e.outs;
  return out;
}

function sha256(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

/** A stage can use the run-cache when its result is a pure function of cmd + deps + params. */
export function canUseRunCache(stage: StageDecl): boolean {
  // Params count as dependencies here, as in DVC (a stage with only params is still a pure function of them).
  return stage.deps.length + stage.params.length > 0 && stage.outs.length > 0 && !stage.alwaysChanged && !stage.outs.some((o) => o.persist);
}

/** DVC's `_get_stage_hash`: the entry with outs as their paths (outs sorted by path). */
export function runCacheKey(entry: LockStage): string {
  const e = dvcEntry(normalizeLockStage(entry));
  e.outs = ((e.outs ?? []) as Array<{ path: string }>).map((o) => o.path);
  return dictSha256(e);
}

/** DVC's `_get_cache_hash(entry)`: the file name of a run under its key's directory. */
export function runCacheValueName(entry: LockStage): string {
  return dictSha256(dvcEntry(normalizeLockStage(entry)));
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
    const file = path.join(dir, runCacheValueName(e));
    if (!fs.existsSync(file)) writeFileAtomicSync(file, text);
  }

  /** Most recent entry for this cmd + deps + params whose output objects are all in the cache. */
  lookup(partial: LockStage, outPaths: string[], cache: ObjectCache): LockStage | null {
    const key = runCacheKey({ ...partial, outs: outPaths.map((p) => ({ path: p, hash: "md5", md5: "", size: 0 })) });
    const dir = this.dirOf(key);
    if (!fs.existsSync(dir)) return null;
    const candidates = fs
      .readdirSync(dir)
      .filter((f) => /^[0-9a-f]{64}$/.test(f))
      .map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { f } of candidates) {
      let entry: LockStage;
      try {
        entry = parseYamlKeepingFloats(fs.readFileSync(path.join(dir, f), "utf8")) as LockStage;
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
