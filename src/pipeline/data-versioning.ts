import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { DataError, InvalidParameterError, NotFoundError } from "../util/errors.js";
import { listObjectIds } from "./objects/cache.js";
import { loadPipeline, PIPELINE_FILE } from "./dvcyaml.js";
import { findPointerFiles, gitignoreTracked, readPointer, writePointer } from "./dvcfile.js";
import { gitIgnoredBy, inGitWorkTree } from "./git.js";
import { mapPool, toPosix } from "./objects/fsutil.js";
import { tempSibling } from "../util/atomic-write.js";
import { hashFileMd5, manifestHash, type ManifestEntry } from "./objects/hashing.js";
import { readLock } from "./lockfile.js";
import { openRemote } from "./config.js";
import type { Remote } from "./objects/remote.js";
import { type Repo, withRepo } from "./repo.js";

const TRANSFER_CONCURRENCY = 4;

/** A workspace path the project tracks with a hash: from a `.dvc` file or a cached out in dvc.lock. */
export interface TrackedItem {
  abs: string;
  /** project-relative posix path */
  path: string;
  md5: string;
  source: string;
}

function projectRel(root: string, abs: string): string {
  return toPosix(path.relative(root, abs)) || ".";
}

/** Everything the workspace references: `.dvc` pointers and the cached outs recorded in dvc.lock. */
export async function trackedItems(root: string): Promise<TrackedItem[]> {
  const items: TrackedItem[] = [];
  for (const file of await findPointerFiles(root)) {
    const label = projectRel(root, file);
    for (const o of readPointer(file, label)) {
      const abs = path.resolve(path.dirname(file), o.path);
      items.push({ abs, path: projectRel(root, abs), md5: o.md5, source: label });
    }
  }
  if (fs.existsSync(path.join(root, PIPELINE_FILE))) {
    const pipeline = loadPipeline(root);
    const lock = readLock(root);
    for (const stage of pipeline.stages) {
      const entry = lock.stages[stage.name];
      if (!entry) continue;
      for (const o of stage.outs) {
        if (!o.cache) continue;
        const l = entry.outs?.find((e) => e.path === o.path);
        if (l) items.push({ abs: o.abs, path: projectRel(root, o.abs), md5: l.md5, source: `dvc.lock: ${stage.name}` });
      }
    }
  }
  return items;
}

/**
 * Cached stage outputs that dvc.lock has no hash for (their stage never ran): there is nothing
 * to check out or pull for them, which DVC reports as a failure ("missing version info").
 */
function unversionedOuts(root: string, targets: readonly string[] | undefined): Array<{ path: string; error: string }> {
  if (!fs.existsSync(path.join(root, PIPELINE_FILE))) return [];
  const lock = readLock(root);
  const wanted = targets?.length ? targets.map((t) => path.resolve(root, t)) : null;
  const out: Array<{ path: string; error: string }> = [];
  for (const stage of loadPipeline(root).stages) {
    for (const o of stage.outs) {
      if (!o.cache || lock.stages[stage.name]?.outs?.some((e) => e.path === o.path)) continue;
      if (wanted && !wanted.some((w) => o.abs === w || o.abs.startsWith(w + path.sep))) continue;
      out.push({
        path: projectRel(root, o.abs),
        error: `output of stage '${stage.name}' is missing version info (the stage never ran); run 'polarity repro' to produce it`,
      });
    }
  }
  return out;
}

function filterTargets(root: string, items: TrackedItem[], targets: readonly string[] | undefined): TrackedItem[] {
  if (!targets || targets.length === 0) return items;
  const wanted = targets.map((t) => path.resolve(root, t.endsWith(".dvc") ? t.slice(0, -4) : t));
  const picked = items.filter((it) => wanted.some((w) => it.abs === w || it.abs.startsWith(w + path.sep)));
  for (const w of wanted) {
    if (!picked.some((it) => it.abs === w || it.abs.startsWith(w + path.sep)))
      throw new NotFoundError(`'${projectRel(root, w)}' is not tracked (no .dvc file or dvc.lock output)`);
  }
  return picked;
}

export interface AddResult {
  path: string;
  pointer: string;
  md5: string;
  size: number;
  nfiles?: number;
}

/** `add`: hashes a file or directory, stores it in the cache and writes `<path>.dvc` beside it. */
export async function addData(opts: { root?: string; targets: string[]; log?: (l: string) => void; warn?: (l: string) => void }): Promise<AddResult[]> {
  if (opts.targets.length === 0) throw new InvalidParameterError("add: give at least one file or directory");
  return withRepo(opts.root, async (repo) => {
    await repo.lockForWrite("add");
    const stageOuts = new Map<string, string>();
    if (fs.existsSync(path.join(repo.root, PIPELINE_FILE))) {
      for (const s of loadPipeline(repo.root).stages) for (const o of s.outs) stageOuts.set(o.abs, s.name);
    }
    const results: AddResult[] = [];
    for (const t of opts.targets) {
      const abs = path.resolve(t);
      const rel = projectRel(repo.root, abs);
      if (rel.startsWith("..")) throw new InvalidParameterError(`add: '${t}' is outside the project at ${repo.root}`);
      if (!fs.existsSync(abs)) throw new NotFoundError(`add: '${t}' does not exist`);
      if (abs.endsWith(".dvc") || rel === ".dvc" || rel.startsWith(".dvc/") || rel === ".git" || rel.startsWith(".git/"))
        throw new InvalidParameterError(`add: cannot track '${rel}'`);
      const stage = stageOuts.get(abs);
      if (stage) throw new InvalidParameterError(`add: '${rel}' is an output of stage '${stage}' and is already tracked by dvc.lock`);
      const h = await repo.hasher.hashPath(abs, rel);
      await repo.cache.addPath(abs, h);
      const pointer = `${abs}.dvc`;
      writePointer(pointer, path.basename(abs), h);
      gitignoreTracked(abs);
      const pointerRel = projectRel(repo.root, pointer);
      const ignoredBy = inGitWorkTree(repo.root) ? gitIgnoredBy(repo.root, [pointerRel]).get(pointerRel) : undefined;
      opts.log?.(
        `Added '${rel}' (${h.md5}${h.nfiles !== undefined ? `, ${h.nfiles} files` : ""})${ignoredBy ? "" : `; track it with: git add ${pointerRel} ${projectRel(repo.root, path.join(path.dirname(abs), ".gitignore"))}`}`,
      );
      // DVC refuses a .dvc file git would ignore ("bad DVC file name ... is git-ignored"): the
      // data could never be shared. We keep the work done and say how to fix it.
      if (ignoredBy)
        opts.warn?.(
          `WARNING: '${pointerRel}' is ignored by git (${ignoredBy}), so 'git add' will not pick it up and nobody else can get '${rel}'. Add the data outside ignored directories, or un-ignore '*.dvc' files there (e.g. '!${path.posix.dirname(pointerRel)}/*.dvc' after '${ignoredBy.split(":").slice(2).join(":")}' in ${ignoredBy.split(":")[0]}).`,
        );
      results.push({ path: rel, pointer: projectRel(repo.root, pointer), md5: h.md5, size: h.size, nfiles: h.nfiles });
    }
    return results;
  });
}

export interface CheckoutResult {
  added: string[];
  modified: string[];
  unchanged: string[];
  failed: Array<{ path: string; error: string }>;
}

async function checkoutItems(repo: Repo, items: TrackedItem[], force: boolean, log?: (l: string) => void): Promise<CheckoutResult> {
  const res: CheckoutResult = { added: [], modified: [], unchanged: [], failed: [] };
  for (const it of items) {
    try {
      const current = await repo.hasher.tryHashPath(it.abs);
      if (current && current.md5 === it.md5) {
        res.unchanged.push(it.path);
        continue;
      }
      // A modified workspace version is only overwritten when it can be recovered from the cache, or with --force.
      if (current && !force && !repo.cache.has(current.md5)) {
        throw new DataError(
          `'${it.path}' was modified in the workspace and that version is not in the cache; commit it ('polarity add' or 'polarity repro') or rerun with --force to discard it`,
        );
      }
      await repo.cache.checkout(it.md5, it.abs);
      (current ? res.modified : res.added).push(it.path);
      log?.(`${current ? "M" : "A"}       ${it.path}`);
    } catch (err) {
      res.failed.push({ path: it.path, error: (err as Error).message });
    }
  }
  return res;
}

function throwIfFailed(res: CheckoutResult, verb: string): void {
  if (res.failed.length === 0) return;
  const lines = res.failed.map((f) => `  ${f.path}: ${f.error}`).join("\n");
  throw new DataError(`${verb} failed for ${res.failed.length} item${res.failed.length > 1 ? "s" : ""}:\n${lines}`);
}

/** `checkout`: restores workspace files from `.dvc` pointers and dvc.lock, verifying every cache object. */
export async function checkoutData(opts: { root?: string; targets?: string[]; force?: boolean; log?: (l: string) => void } = {}): Promise<CheckoutResult> {
  return withRepo(opts.root, async (repo) => {
    await repo.lockForWrite("checkout");
    const unversioned = unversionedOuts(repo.root, opts.targets);
    const items = await trackedItems(repo.root);
    // A target that is only an unversioned output is reported as such, not as "not tracked".
    const targets = opts.targets?.filter((t) => !unversioned.some((u) => path.resolve(repo.root, t) === path.resolve(repo.root, u.path)));
    const res = await checkoutItems(
      repo,
      opts.targets?.length && !targets?.length ? [] : filterTargets(repo.root, items, targets),
      opts.force ?? false,
      opts.log,
    );
    res.failed.push(...unversioned);
    throwIfFailed(res, "checkout");
    return res;
  });
}

/** Object ids (files and `.dir` manifests) needed for `items`; manifests missing from the local cache are reported, not guessed. */
function objectsFor(repo: Repo, items: TrackedItem[]): { ids: string[]; missingManifests: string[] } {
  const ids = new Set<string>();
  const missingManifests: string[] = [];
  for (const it of items) {
    if (it.md5.endsWith(".dir") && !repo.cache.has(it.md5)) {
      missingManifests.push(it.md5);
      ids.add(it.md5);
      continue;
    }
    for (const id of repo.cache.objectsOf(it.md5)) ids.add(id);
  }
  return { ids: [...ids], missingManifests };
}

export interface TransferResult {
  remote: string;
  transferred: number;
  alreadyPresent: number;
  missing: string[];
}

/** `push`: uploads the cache objects the workspace references that the remote lacks. */
export async function pushData(opts: { root?: string; remote?: string; targets?: string[]; log?: (l: string) => void } = {}): Promise<TransferResult> {
  return withRepo(opts.root, async (repo) => {
    await repo.lockForWrite("push");
    const remote = await openRemote(repo.root, opts.remote);
    const { ids } = objectsFor(repo, filterTargets(repo.root, await trackedItems(repo.root), opts.targets));
    const local = ids.filter((id) => repo.cache.has(id));
    const missing = ids.filter((id) => !repo.cache.has(id));
    const present = await remote.has(local);
    const todo = local.filter((id) => !present.has(id));
    await mapPool(todo, TRANSFER_CONCURRENCY, (id) => remote.upload(repo.cache.pathOf(id), id));
    opts.log?.(`${todo.length} file${todo.length === 1 ? "" : "s"} pushed to '${remote.name}' (${remote.description}), ${present.size} already there`);
    if (missing.length)
      opts.log?.(
        `WARNING: ${missing.length} object(s) missing from the local cache were not pushed: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", ..." : ""}`,
      );
    return { remote: remote.name, transferred: todo.length, alreadyPresent: present.size, missing };
  });
}

/** Downloads one object into the cache, verifying its hash before it becomes visible. */
async function fetchObject(repo: Repo, remote: Remote, id: string): Promise<void> {
  const dest = repo.cache.pathOf(id);
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  const tmp = tempSibling(dest);
  try {
    await remote.download(id, tmp);
    let actual: string;
    if (id.endsWith(".dir")) {
      const parsed = JSON.parse(await fsp.readFile(tmp, "utf8")) as ManifestEntry[];
      actual = manifestHash(parsed.map((e) => ({ md5: e.md5, relpath: e.relpath })));
    } else {
      actual = (await hashFileMd5(tmp)).md5;
    }
    if (actual !== id) throw new DataError(`object ${id} downloaded from remote '${remote.name}' is corrupted (its content hashes to ${actual})`);
    await fsp.chmod(tmp, 0o444);
    await fsp.rename(tmp, dest);
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

async function fetchInto(repo: Repo, remote: Remote, items: TrackedItem[]): Promise<TransferResult> {
  let transferred = 0;
  const missing: string[] = [];
  // Directory manifests first: they name the files to fetch.
  const manifests = [...new Set(items.filter((it) => it.md5.endsWith(".dir") && !repo.cache.has(it.md5)).map((it) => it.md5))];
  const onRemote = await remote.has(manifests);
  for (const id of manifests) {
    if (!onRemote.has(id)) missing.push(id);
    else {
      await fetchObject(repo, remote, id);
      transferred++;
    }
  }
  const usable = items.filter((it) => !it.md5.endsWith(".dir") || repo.cache.has(it.md5));
  const { ids } = objectsFor(repo, usable);
  const need = ids.filter((id) => !repo.cache.has(id));
  const available = await remote.has(need);
  for (const id of need) if (!available.has(id)) missing.push(id);
  const todo = need.filter((id) => available.has(id));
  await mapPool(todo, TRANSFER_CONCURRENCY, (id) => fetchObject(repo, remote, id));
  transferred += todo.length;
  return { remote: remote.name, transferred, alreadyPresent: ids.length - need.length, missing };
}

/** `fetch`: downloads referenced objects missing from the local cache (verified by hash). */
export async function fetchData(opts: { root?: string; remote?: string; targets?: string[]; log?: (l: string) => void } = {}): Promise<TransferResult> {
  return withRepo(opts.root, async (repo) => {
    await repo.lockForWrite("fetch");
    const remote = await openRemote(repo.root, opts.remote);
    const res = await fetchInto(repo, remote, filterTargets(repo.root, await trackedItems(repo.root), opts.targets));
    opts.log?.(`${res.transferred} file${res.transferred === 1 ? "" : "s"} fetched from '${remote.name}'`);
    if (res.missing.length)
      throw new NotFoundError(
        `${res.missing.length} object(s) are not on remote '${remote.name}': ${res.missing.slice(0, 5).join(", ")}${res.missing.length > 5 ? ", ..." : ""}`,
      );
    return res;
  });
}

/** `pull`: fetch, then checkout. */
export async function pullData(
  opts: { root?: string; remote?: string; targets?: string[]; force?: boolean; log?: (l: string) => void } = {},
): Promise<TransferResult & { checkout: CheckoutResult }> {
  return withRepo(opts.root, async (repo) => {
    await repo.lockForWrite("pull");
    const remote = await openRemote(repo.root, opts.remote);
    const unversioned = unversionedOuts(repo.root, opts.targets);
    const targets = opts.targets?.filter((t) => !unversioned.some((u) => path.resolve(repo.root, t) === path.resolve(repo.root, u.path)));
    const items = opts.targets?.length && !targets?.length ? [] : filterTargets(repo.root, await trackedItems(repo.root), targets);
    const res = await fetchInto(repo, remote, items);
    opts.log?.(`${res.transferred} file${res.transferred === 1 ? "" : "s"} fetched from '${remote.name}'`);
    const co = await checkoutItems(repo, items, opts.force ?? false, opts.log);
    co.failed.push(...unversioned);
    if (res.missing.length) co.failed.push(...res.missing.map((id) => ({ path: id, error: `not on remote '${remote.name}'` })));
    throwIfFailed(co, "pull");
    return { ...res, checkout: co };
  });
}

export interface GcResult {
  removed: number;
  bytes: number;
  kept: number;
}

/** `gc`: deletes cache objects that no `.dvc` file or dvc.lock in the workspace references. */
export async function gcCache(opts: { root?: string; dry?: boolean; log?: (l: string) => void } = {}): Promise<GcResult> {
  return withRepo(opts.root, async (repo) => {
    await repo.lockForWrite("gc");
    const { ids } = objectsFor(repo, await trackedItems(repo.root));
    const used = new Set(ids);
    let removed = 0;
    let bytes = 0;
    let kept = 0;
    for (const id of await listObjectIds(repo.cache.root)) {
      if (used.has(id)) {
        kept++;
        continue;
      }
      const file = repo.cache.pathOf(id);
      bytes += fs.statSync(file).size;
      removed++;
      if (!opts.dry) fs.rmSync(file, { force: true });
    }
    opts.log?.(`${opts.dry ? "Would remove" : "Removed"} ${removed} unused cache object${removed === 1 ? "" : "s"} (${bytes} bytes); kept ${kept}`);
    return { removed, bytes, kept };
  });
}
