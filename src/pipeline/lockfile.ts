import fs from "node:fs";
import path from "node:path";
import { DataError } from "../util/errors.js";
import { writeFileAtomicSync } from "../util/atomic-write.js";
import type { HashInfo } from "./objects/hashing.js";
import { comparePython } from "./objects/fsutil.js";
import { dumpYaml, parseYamlKeepingFloats } from "./yaml-values.js";

export { dumpYaml };

export const LOCK_FILE = "dvc.lock";

/** One dep or out as dvc.lock records it (schema 2.0). */
export interface LockEntry {
  path: string;
  hash: "md5";
  md5: string;
  size: number;
  nfiles?: number;
}

export interface LockStage {
  cmd: string | string[];
  deps?: LockEntry[];
  params?: Record<string, Record<string, unknown>>;
  outs?: LockEntry[];
}

export interface LockFile {
  schema: "2.0";
  stages: Record<string, LockStage>;
}

export function lockEntry(p: string, h: HashInfo): LockEntry {
  const e: LockEntry = { path: p, hash: "md5", md5: h.md5, size: h.size };
  if (h.nfiles !== undefined) e.nfiles = h.nfiles;
  return e;
}

function validateEntry(e: unknown, where: string): LockEntry {
  if (!e || typeof e !== "object") throw new DataError(`${where}: expected {path, md5, ...}`);
  const r = e as Record<string, unknown>;
  if (typeof r.path !== "string") throw new DataError(`${where}: path: expected a string`);
  // DVC 2 lock entries carry only md5 (no `hash:` field); they are read the same way.
  if (typeof r.md5 !== "string") throw new DataError(`${where}: md5: expected a string`);
  const out: LockEntry = { path: r.path, hash: "md5", md5: r.md5, size: typeof r.size === "number" ? r.size : -1 };
  if (typeof r.nfiles === "number") out.nfiles = r.nfiles;
  return out;
}

/** Parses dvc.lock's text; `source` is the file it was read from, if any (see parseYamlKeepingFloats). */
export function parseLock(text: string, label = LOCK_FILE, source?: string): LockFile {
  let raw: unknown;
  try {
    raw = parseYamlKeepingFloats(text, source);
  } catch (err) {
    throw new DataError(`${label}: invalid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (raw === null || raw === undefined) return { schema: "2.0", stages: {} };
  if (typeof raw !== "object" || Array.isArray(raw)) throw new DataError(`${label}: expected a mapping`);
  const r = raw as Record<string, unknown>;
  if (r.schema !== "2.0") throw new DataError(`${label}: unsupported schema '${String(r.schema)}' (expected '2.0')`);
  const stages: Record<string, LockStage> = {};
  for (const [name, s] of Object.entries((r.stages ?? {}) as Record<string, unknown>)) {
    const where = `${label}: stage '${name}'`;
    if (!s || typeof s !== "object") throw new DataError(`${where}: expected a mapping`);
    const st = s as Record<string, unknown>;
    const entry: LockStage = { cmd: st.cmd as string | string[] };
    if (Array.isArray(st.deps)) entry.deps = st.deps.map((d, i) => validateEntry(d, `${where}: deps[${i}]`));
    if (st.params && typeof st.params === "object") entry.params = st.params as LockStage["params"];
    if (Array.isArray(st.outs)) entry.outs = st.outs.map((d, i) => validateEntry(d, `${where}: outs[${i}]`));
    stages[name] = entry;
  }
  return { schema: "2.0", stages };
}

export function readLock(root: string): LockFile {
  const file = path.join(root, LOCK_FILE);
  if (!fs.existsSync(file)) return { schema: "2.0", stages: {} };
  return parseLock(fs.readFileSync(file, "utf8"), LOCK_FILE, file);
}

/** Key order and sorting as DVC's `to_single_stage_lockfile`: cmd, deps, params, outs; deps/outs by path. */
export function normalizeLockStage(s: LockStage): LockStage {
  const out: LockStage = { cmd: s.cmd };
  const byPath = (a: LockEntry, b: LockEntry): number => comparePython(a.path, b.path);
  const entry = (e: LockEntry): LockEntry => {
    const r: LockEntry = { path: e.path, hash: "md5", md5: e.md5, size: e.size };
    if (e.nfiles !== undefined) r.nfiles = e.nfiles;
    return r;
  };
  if (s.deps?.length) out.deps = [...s.deps].sort(byPath).map(entry);
  if (s.params && Object.keys(s.params).length) {
    // params.yaml first, the other files alphabetically; keys sorted (not recursively).
    const files = Object.keys(s.params).sort((a, b) => (a === "params.yaml" ? -1 : b === "params.yaml" ? 1 : comparePython(a, b)));
    out.params = {};
    for (const f of files) {
      const vals = s.params[f];
      out.params[f] = Object.fromEntries(
        Object.keys(vals)
          .sort(comparePython)
          .map((k) => [k, vals[k]]),
      );
    }
  }
  if (s.outs?.length) out.outs = [...s.outs].sort(byPath).map(entry);
  return out;
}

/**
 * Rewrites the lock with `name`'s entry replaced (or removed when `entry` is null). Stages are
 * kept in dvc.yaml order (`order`), then any others: concurrent edits touch stable places,
 * which keeps merges of dvc.lock simple. The write is atomic.
 */
export function writeLockStage(root: string, name: string, entry: LockStage | null, order: readonly string[]): void {
  const lock = readLock(root);
  if (entry) lock.stages[name] = normalizeLockStage(entry);
  else delete lock.stages[name];
  const names = Object.keys(lock.stages);
  const rank = (n: string): number => {
    const i = order.indexOf(n);
    return i < 0 ? order.length + names.indexOf(n) : i;
  };
  names.sort((a, b) => rank(a) - rank(b));
  const stages: Record<string, LockStage> = {};
  for (const n of names) stages[n] = lock.stages[n];
  writeFileAtomicSync(path.join(root, LOCK_FILE), dumpYaml({ schema: "2.0", stages }));
}
