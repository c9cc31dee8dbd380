import fs from "node:fs";
import path from "node:path";
import { ObjectCache } from "./objects/cache.js";
import { Hasher, StateDb } from "./objects/hashing.js";
import { acquireRepoLock, type RepoLock } from "./repo-lock.js";

/** The project's state file (SQLite): hashes keyed by path + inode + mtime + size. */
export const STATE_DB_RELPATH = ".dvc/tmp/polarity-state.db";

/** Finds the project root: the nearest ancestor with a `.dvc` directory, else one with `dvc.yaml`, else `start`. */
export function findRoot(start: string = process.cwd()): string {
  const abs = path.resolve(start);
  for (const marker of [".dvc", "dvc.yaml"]) {
    let dir = abs;
    for (;;) {
      if (fs.existsSync(path.join(dir, marker))) return dir;
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return abs;
}

/** Creates `.dvc/` as `dvc init --no-scm` would lay it out, if missing. */
export function ensureDvcDir(root: string): void {
  const dvc = path.join(root, ".dvc");
  fs.mkdirSync(path.join(dvc, "tmp"), { recursive: true });
  const gi = path.join(dvc, ".gitignore");
  if (!fs.existsSync(gi)) fs.writeFileSync(gi, "/config.local\n/tmp\n/cache\n");
  const cfg = path.join(dvc, "config");
  if (!fs.existsSync(cfg)) fs.writeFileSync(cfg, "");
}

/** An open project: its root, state database, hasher and cache. Close it when done. */
export class Repo {
  readonly state: StateDb;
  readonly hasher: Hasher;
  readonly cache: ObjectCache;
  private lock: RepoLock | null = null;

  private constructor(readonly root: string) {
    ensureDvcDir(root);
    this.state = new StateDb(path.join(root, STATE_DB_RELPATH));
    this.hasher = new Hasher(this.state);
    this.cache = new ObjectCache(path.join(root, ".dvc", "cache"), this.hasher);
  }

  static open(root: string = findRoot()): Repo {
    return new Repo(path.resolve(root));
  }

  async lockForWrite(command: string, wait = false, onWait?: (msg: string) => void): Promise<void> {
    this.lock = await acquireRepoLock(this.root, {
      command,
      wait,
      onWait: (o) => onWait?.(`waiting for pid ${o.pid} ('${o.command}') to release the project lock...`),
    });
  }

  /** Records in the project lock the process groups of the stage commands now running. */
  setStageGroups(pgids: number[]): void {
    this.lock?.setStageGroups(pgids);
  }

  close(): void {
    this.lock?.release();
    this.lock = null;
    this.state.close();
  }
}

/** Opens a project, runs `fn`, always closes it (releasing its lock). */
export async function withRepo<T>(root: string | undefined, fn: (repo: Repo) => Promise<T>): Promise<T> {
  const repo = Repo.open(root ?? findRoot());
  try {
    return await fn(repo);
  } finally {
    repo.close();
  }
}
