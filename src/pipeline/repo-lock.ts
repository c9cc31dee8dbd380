import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ConflictError } from "../util/errors.js";

/**
 * The project lock: one writer at a time (repro, add, checkout, pull, fetch, push, gc).
 * A file created with O_EXCL holding the owner's pid and process start time; a lock whose
 * owner is gone (kill -9, crash) is stale and is taken over, so an interrupted run never
 * blocks the next one.
 */
export interface LockOwner {
  pid: number;
  start: string | null;
  host: string;
  command: string;
  since: string;
}

export const LOCK_RELPATH = ".dvc/tmp/polarity.lock";

function processStartTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // field 22 (starttime), counted after the parenthesised command name, which may contain spaces
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== os.hostname()) return true; // cannot tell for another machine: assume alive
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  // A recycled pid belongs to a process started at another time.
  const start = processStartTime(owner.pid);
  return !(owner.start && start && start !== owner.start);
}

function readOwner(file: string): LockOwner | null {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as LockOwner;
  } catch {
    return null;
  }
}

export interface RepoLock {
  release(): void;
}

export interface AcquireOptions {
  command: string;
  /** wait for the holder to finish instead of failing at once */
  wait?: boolean;
  onWait?: (owner: LockOwner) => void;
}

export async function acquireRepoLock(root: string, opts: AcquireOptions): Promise<RepoLock> {
  const file = path.join(root, LOCK_RELPATH);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const me: LockOwner = { pid: process.pid, start: processStartTime(process.pid), host: os.hostname(), command: opts.command, since: new Date().toISOString() };
  let warned = false;
  for (;;) {
    try {
      const fd = fs.openSync(file, "wx", 0o644);
      fs.writeFileSync(fd, JSON.stringify(me));
      fs.closeSync(fd);
      let released = false;
      return {
        release(): void {
          if (released) return;
          released = true;
          const owner = readOwner(file);
          if (owner && owner.pid === process.pid) fs.rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = readOwner(file);
    if (owner === null || !ownerAlive(owner)) {
      // Stale (or half-written by a process killed between open and write): move it aside,
      // then make sure what we moved really was stale before retrying.
      const aside = `${file}.stale-${process.pid}`;
      try {
        fs.renameSync(file, aside);
      } catch {
        continue;
      }
      const moved = readOwner(aside);
      if (moved && ownerAlive(moved) && !fs.existsSync(file)) {
        fs.renameSync(aside, file);
      } else {
        fs.rmSync(aside, { force: true });
        continue;
      }
    }
    const holder = readOwner(file) ?? owner;
    if (!opts.wait) {
      const who = holder ? `pid ${holder.pid}, '${holder.command}', since ${holder.since}` : "another process";
      throw new ConflictError(`cannot lock the project: another polarity process holds ${LOCK_RELPATH} (${who}); wait for it to finish or rerun with --wait`);
    }
    if (!warned && holder) {
      opts.onWait?.(holder);
      warned = true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
