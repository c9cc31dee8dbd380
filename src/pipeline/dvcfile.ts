import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { DataError } from "../util/errors.js";
import { writeFileAtomicSync } from "../util/atomic-write.js";
import type { HashInfo } from "./objects/hashing.js";
import { dumpYaml, parseYamlPlain } from "./yaml-values.js";
import { gitIgnoredBy, inGitWorkTree } from "./git.js";

/** One out of a `.dvc` pointer file. */
export interface PointerOut {
  md5: string;
  size?: number;
  nfiles?: number;
  path: string;
}

/** `.dvc` file content as `dvc add` (DVC 3) writes it: `outs: [{md5, size, [nfiles,] hash: md5, path}]`. */
export function pointerYaml(relPath: string, h: HashInfo): string {
  const out: Record<string, unknown> = { md5: h.md5, size: h.size };
  if (h.nfiles !== undefined) out.nfiles = h.nfiles;
  out.hash = "md5";
  out.path = relPath;
  return dumpYaml({ outs: [out] });
}

export function writePointer(file: string, relPath: string, h: HashInfo): void {
  writeFileAtomicSync(file, pointerYaml(relPath, h));
}

export function readPointer(file: string, label: string): PointerOut[] {
  let raw: unknown;
  try {
    raw = parseYamlPlain(fs.readFileSync(file, "utf8"), file);
  } catch (err) {
    throw new DataError(`${label}: invalid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const outs = (raw as { outs?: unknown } | null)?.outs;
  if (!Array.isArray(outs)) throw new DataError(`${label}: expected 'outs: [...]'`);
  return outs.map((o, i) => {
    const r = o as Record<string, unknown>;
    if (!r || typeof r.path !== "string" || typeof r.md5 !== "string") throw new DataError(`${label}: outs[${i}]: expected {md5, path}`);
    return { md5: r.md5, path: r.path, size: typeof r.size === "number" ? r.size : undefined, nfiles: typeof r.nfiles === "number" ? r.nfiles : undefined };
  });
}

const SKIP_DIRS = new Set([".git", ".dvc", "node_modules"]);

/** Every `.dvc` pointer file in the project (not inside .git/.dvc/node_modules). */
export async function findPointerFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) await walk(path.join(dir, e.name));
      } else if (e.isFile() && e.name.endsWith(".dvc")) found.push(path.join(dir, e.name));
    }
  }
  await walk(root);
  return found.sort();
}

/** Adds `/name` to the .gitignore beside a tracked path (as dvc add does), once. */
export function gitignoreTracked(abs: string): void {
  const gi = path.join(path.dirname(abs), ".gitignore");
  const line = `/${path.basename(abs)}`;
  const current = fs.existsSync(gi) ? fs.readFileSync(gi, "utf8") : "";
  if (current.split(/\r?\n/).includes(line)) return;
  writeFileAtomicSync(gi, current + (current && !current.endsWith("\n") ? "\n" : "") + line + "\n");
}

/**
 * What `dvc repro` does for cached stage outputs in a git repository: adds `/name` to the
 * .gitignore beside each one that git does not already ignore, so `git status` never offers
 * data or models for committing. Outside git nothing is written (as DVC with no SCM).
 */
export function gitignoreOutputs(root: string, absPaths: readonly string[]): void {
  if (absPaths.length === 0 || !inGitWorkTree(root)) return;
  const rels = absPaths.map((a) => path.relative(root, a).split(path.sep).join("/"));
  const ignored = gitIgnoredBy(root, rels);
  absPaths.forEach((abs, i) => {
    if (!ignored.has(rels[i])) gitignoreTracked(abs);
  });
}
