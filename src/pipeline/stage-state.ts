import fs from "node:fs";
import { DataError } from "../util/errors.js";
import type { StageDecl } from "./dvcyaml.js";
import type { HashInfo, Hasher } from "./objects/hashing.js";
import { type LockEntry, type LockStage, lockEntry } from "./lockfile.js";
import { getParam, loadParamsFile, paramsEqual } from "./params-files.js";
import { YamlFloat } from "./yaml-values.js";

/** Why a stage is out of date; `kind` is stable, `message` is for people. */
export interface ChangeReason {
  kind: "no-lock" | "always-changed" | "cmd" | "dep" | "param" | "out";
  path?: string;
  /** the param key, for kind "param" */
  key?: string;
  change?: "modified" | "deleted" | "new" | "removed" | "not in cache";
  message: string;
}

/**
 * A stage's status in the shape `dvc status --json` prints per stage (dvc/stage Stage.status):
 * `{"changed deps": {path: "modified" | "deleted", "params.yaml": {key: "modified" | "new" |
 * "deleted"} | "new"}}`, `{"changed outs": {path: "modified" | "deleted" | "not in cache"}}`,
 * `"always changed"`, `"changed command"`, in that order.
 */
export type DvcStageStatus = Array<string | Record<string, Record<string, string | Record<string, string>>>>;

export interface StageStatus {
  name: string;
  frozen: boolean;
  changed: boolean;
  reasons: ChangeReason[];
  dvc: DvcStageStatus;
}

/** Has the cache got every object of this output (a directory's manifest and files)? */
export type CacheCheck = (md5: string) => boolean;

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

/** A param value as people (and DVC) write it: 10.0 stays 10.0. */
function shownValue(v: unknown): string {
  return v instanceof YamlFloat ? String(v) : JSON.stringify(v);
}

function cmdEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function compareEntries(
  kind: "dep" | "out",
  current: Array<{ path: string; hash: HashInfo | null; cached?: boolean }>,
  locked: LockEntry[] | undefined,
  reasons: ChangeReason[],
  inCache?: CacheCheck,
): void {
  const lockedByPath = new Map((locked ?? []).map((e) => [e.path, e]));
  for (const c of current) {
    const l = lockedByPath.get(c.path);
    const label = kind === "dep" ? "dependency" : "output";
    // As DVC's Output.status: a recorded, cached output whose object is gone is "not in cache" first.
    if (kind === "out" && l && c.cached && inCache && !inCache(l.md5))
      reasons.push({ kind, path: c.path, change: "not in cache", message: `${label} '${c.path}' not in cache` });
    else if (!c.hash) reasons.push({ kind, path: c.path, change: "deleted", message: `${label} '${c.path}' deleted` });
    else if (!l) reasons.push({ kind, path: c.path, change: "new", message: `${label} '${c.path}' is new (not in dvc.lock)` });
    else if (l.md5 !== c.hash.md5) reasons.push({ kind, path: c.path, change: "modified", message: `${label} '${c.path}' modified` });
    lockedByPath.delete(c.path);
  }
  for (const p of lockedByPath.keys())
    reasons.push({ kind, path: p, change: "removed", message: `${kind === "dep" ? "dependency" : "output"} '${p}' removed from dvc.yaml` });
}

/** DVC's per-stage status list from our reasons (see DvcStageStatus). */
function toDvcStatus(reasons: ChangeReason[], stage: StageDecl, neverRun: boolean): DvcStageStatus {
  const out: DvcStageStatus = [];
  const deps: Record<string, string | Record<string, string>> = {};
  const outs: Record<string, string> = {};
  // DVC has no "new" for a file dep or out: one without a recorded hash counts as "modified".
  const fileState = (c: ChangeReason["change"]): string => (c === "new" ? "modified" : c === "removed" ? "deleted" : c!);
  for (const r of reasons) {
    if (r.kind === "dep") deps[r.path!] = fileState(r.change);
    else if (r.kind === "out") outs[r.path!] = fileState(r.change);
  }
  for (const decl of stage.params) {
    const file = decl.file;
    const keys = reasons.filter((r) => r.kind === "param" && r.path === file && r.key !== undefined);
    if (neverRun) deps[file] = "new";
    else if (keys.length) deps[file] = Object.fromEntries(keys.map((r) => [r.key!, r.change === "removed" ? "deleted" : r.change!]));
  }
  for (const r of reasons) if (r.kind === "param" && r.key === undefined) deps[r.path!] ??= "deleted";
  if (Object.keys(deps).length) out.push({ "changed deps": deps });
  if (Object.keys(outs).length) out.push({ "changed outs": outs });
  if (reasons.some((r) => r.kind === "always-changed")) out.push("always changed");
  if (reasons.some((r) => r.kind === "cmd")) out.push("changed command");
  return out;
}

/** Decides whether a stage must run, as DVC does, and says why. */
export async function stageStatus(hasher: Hasher, stage: StageDecl, locked: LockStage | undefined, inCache?: CacheCheck): Promise<StageStatus> {
  const reasons: ChangeReason[] = [];
  if (stage.frozen) return { name: stage.name, frozen: true, changed: false, reasons, dvc: [] };
  if (!locked) {
    reasons.push({ kind: "no-lock", message: "never run: no entry in dvc.lock" });
    // DVC's shape still lists each dep and out (a never-run stage's deps are "modified", its params "new").
    const detail: ChangeReason[] = [];
    compareEntries("dep", await hashDeps(hasher, stage), [], detail);
    compareEntries("out", await hashOuts(hasher, stage), [], detail);
    return { name: stage.name, frozen: false, changed: true, reasons, dvc: toDvcStatus(detail, stage, true) };
  }
  if (stage.alwaysChanged) reasons.push({ kind: "always-changed", message: "always_changed is set" });
  if (!cmdEqual(stage.cmd, locked.cmd)) reasons.push({ kind: "cmd", message: "command changed" });
  compareEntries("dep", await hashDeps(hasher, stage), locked.deps, reasons);
  const params = resolveStageParams(stage);
  const lockedParams = locked.params ?? {};
  for (const [file, values] of Object.entries(params)) {
    const old = lockedParams[file] ?? {};
    for (const [k, v] of Object.entries(values)) {
      if (!(k in old)) reasons.push({ kind: "param", path: file, key: k, change: "new", message: `param '${k}' (${file}) is new` });
      else if (!paramsEqual(old[k], v))
        reasons.push({
          kind: "param",
          path: file,
          key: k,
          change: "modified",
          message: `param '${k}' (${file}) changed: ${shownValue(old[k])} -> ${shownValue(v)}`,
        });
    }
    for (const k of Object.keys(old))
      if (!(k in values)) reasons.push({ kind: "param", path: file, key: k, change: "removed", message: `param '${k}' (${file}) is no longer tracked` });
  }
  for (const file of Object.keys(lockedParams))
    if (!(file in params)) reasons.push({ kind: "param", path: file, change: "removed", message: `params file '${file}' is no longer tracked` });
  const outs = (await hashOuts(hasher, stage)).map((o, i) => ({ ...o, cached: stage.outs[i].cache }));
  compareEntries("out", outs, locked.outs, reasons, inCache);
  return { name: stage.name, frozen: false, changed: reasons.length > 0, reasons, dvc: toDvcStatus(reasons, stage, false) };
}

/** The lock entry for a stage from freshly computed hashes. */
export function buildLockStage(
  stage: StageDecl,
  deps: Array<{ path: string; hash: HashInfo | null }>,
  params: Record<string, Record<string, unknown>>,
  outs: Array<{ path: string; hash: HashInfo }>,
): LockStage {
  const entry: LockStage = { cmd: stage.cmd };
  if (deps.length) entry.deps = deps.map((d) => lockEntry(d.path, d.hash!));
  if (Object.keys(params).length) entry.params = params;
  if (outs.length) entry.outs = outs.map((o) => lockEntry(o.path, o.hash));
  return entry;
}
