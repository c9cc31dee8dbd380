import fs from "node:fs";
import { DataError } from "../util/errors.js";
import type { StageDecl } from "./dvcyaml.js";
import type { HashInfo, Hasher } from "./objects/hashing.js";
import { type LockEntry, type LockStage, lockEntry } from "./lockfile.js";
import { getParam, loadParamsFile, paramsEqual } from "./params-files.js";

/** Why a stage is out of date; `kind` is stable for --json, `message` is for people. */
export interface ChangeReason {
  kind: "no-lock" | "always-changed" | "cmd" | "dep" | "param" | "out";
  path?: string;
  change?: "modified" | "deleted" | "new" | "removed";
  message: string;
}

export interface StageStatus {
  name: string;
  frozen: boolean;
  changed: boolean;
  reasons: ChangeReason[];
}

/** Current values of the params a stage tracks, keyed as dvc.lock records them: `{file: {key: value}}`. */
export function resolveStageParams(stage: StageDecl, where = `dvc.yaml: stage '${stage.name}'`): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const decl of stage.params) {
    if (!fs.existsSync(decl.abs)) throw new DataError(`${where}: params: file '${decl.file}' does not exist`);
    const data = loadParamsFile(decl.abs, decl.file);
    const values: Record<string, unknown> = {};
    if (decl.keys === null) Object.assign(values, data);
    else {
      for (const k of decl.keys) {
        const v = getParam(data, k);
        if (v === undefined) throw new DataError(`${where}: params: '${k}' not found in ${decl.file}`);
        values[k] = v;
      }
    }
    out[decl.file] = values;
  }
  return out;
}

export async function hashDeps(hasher: Hasher, stage: StageDecl): Promise<Array<{ path: string; abs: string; hash: HashInfo | null }>> {
  const res = [];
  for (const d of stage.deps) res.push({ path: d.path, abs: d.abs, hash: await hasher.tryHashPath(d.abs) });
  return res;
}

export async function hashOuts(hasher: Hasher, stage: StageDecl): Promise<Array<{ path: string; abs: string; hash: HashInfo | null }>> {
  const res = [];
  for (const o of stage.outs) res.push({ path: o.path, abs: o.abs, hash: await hasher.tryHashPath(o.abs) });
  return res;
}

function cmdEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function compareEntries(kind: "dep" | "out", current: Array<{ path: string; hash: HashInfo | null }>, locked: LockEntry[] | undefined, reasons: ChangeReason[]): void {
  const lockedByPath = new Map((locked ?? []).map((e) => [e.path, e]));
  for (const c of current) {
    const l = lockedByPath.get(c.path);
    const label = kind === "dep" ? "dependency" : "output";
    if (!c.hash) reasons.push({ kind, path: c.path, change: "deleted", message: `${label} '${c.path}' deleted` });
    else if (!l) reasons.push({ kind, path: c.path, change: "new", message: `${label} '${c.path}' is new (not in dvc.lock)` });
    else if (l.md5 !== c.hash.md5) reasons.push({ kind, path: c.path, change: "modified", message: `${label} '${c.path}' modified` });
    lockedByPath.delete(c.path);
  }
  for (const p of lockedByPath.keys()) reasons.push({ kind, path: p, change: "removed", message: `${kind === "dep" ? "dependency" : "output"} '${p}' removed from dvc.yaml` });
}

/** Decides whether a stage must run, as DVC does, and says why. */
export async function stageStatus(hasher: Hasher, stage: StageDecl, locked: LockStage | undefined): Promise<StageStatus> {
  const reasons: ChangeReason[] = [];
  if (stage.frozen) return { name: stage.name, frozen: true, changed: false, reasons };
  if (!locked) {
    reasons.push({ kind: "no-lock", message: "never run: no entry in dvc.lock" });
    return { name: stage.name, frozen: false, changed: true, reasons };
  }
  if (stage.alwaysChanged) reasons.push({ kind: "always-changed", message: "always_changed is set" });
  if (!cmdEqual(stage.cmd, locked.cmd)) reasons.push({ kind: "cmd", message: "command changed" });
  compareEntries("dep", await hashDeps(hasher, stage), locked.deps, reasons);
  const params = resolveStageParams(stage);
  const lockedParams = locked.params ?? {};
  for (const [file, values] of Object.entries(params)) {
    const old = lockedParams[file] ?? {};
    for (const [k, v] of Object.entries(values)) {
      if (!(k in old)) reasons.push({ kind: "param", path: file, change: "new", message: `param '${k}' (${file}) is new` });
      else if (!paramsEqual(old[k], v)) reasons.push({ kind: "param", path: file, change: "modified", message: `param '${k}' (${file}) changed: ${JSON.stringify(old[k])} -> ${JSON.stringify(v)}` });
    }
    for (const k of Object.keys(old)) if (!(k in values)) reasons.push({ kind: "param", path: file, change: "removed", message: `param '${k}' (${file}) is no longer tracked` });
  }
  for (const file of Object.keys(lockedParams)) if (!(file in params)) reasons.push({ kind: "param", path: file, change: "removed", message: `params file '${file}' is no longer tracked` });
  compareEntries("out", await hashOuts(hasher, stage), locked.outs, reasons);
  return { name: stage.name, frozen: false, changed: reasons.length > 0, reasons };
}

/** The lock entry for a stage from freshly computed hashes. */
export function buildLockStage(stage: StageDecl, deps: Array<{ path: string; hash: HashInfo | null }>, params: Record<string, Record<string, unknown>>, outs: Array<{ path: string; hash: HashInfo }>): LockStage {
  const entry: LockStage = { cmd: stage.cmd };
  if (deps.length) entry.deps = deps.map((d) => lockEntry(d.path, d.hash!));
  if (Object.keys(params).length) entry.params = params;
  if (outs.length) entry.outs = outs.map((o) => lockEntry(o.path, o.hash));
  return entry;
}
