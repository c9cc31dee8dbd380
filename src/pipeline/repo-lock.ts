import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { tempSibling } from "../util/atomic-write.js";
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
  /** process groups of the stage commands this owner is running (repro) */
  stageGroups?: number[];
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

/**
 * A process group with at least one live (non-zombie) member: a stage left running by an
 * owner that died. Reads /proc; elsewhere falls back to kill(-pgid, 0).
 */
export function groupAlive(pgid: number): boolean {
  if (!Number.isSafeInteger(pgid) || pgid <= 1) return false;
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
    } catch {
      continue;
    }
    // after "pid (comm) ": state ppid pgrp ...
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") return true;
  }
  return false;
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
  /** records the process groups of the stages now running (rewritten atomically) */
  setStageGroups(pgids: number[]): void;
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
        setStageGroups(pgids: number[]): void {
          if (released) return;
          const tmp = tempSibling(file);
          fs.writeFileSync(tmp, JSON.stringify({ ...me, stageGroups: pgids }));
          fs.renameSync(tmp, file);
        },
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
    const orphans = owner && !ownerAlive(owner) ? (owner.stageGroups ?? []).filter(groupAlive) : [];
    if (orphans.length > 0 && owner) {
      // The owner died (kill -9) but a stage it started is still running: taking the lock now
      // would race it on the same outputs.
      const msg = `cannot lock the project: pid ${owner.pid} ('${owner.command}') died but its stage command is still running (process group ${orphans.join(", ")}); wait for it to end or stop it with 'kill -TERM -${orphans[0]}'`;
      if (!opts.wait) throw new ConflictError(msg);
      if (!warned) opts.onWait?.({ ...owner, command: `${owner.command} (orphaned stage, process group ${orphans.join(", ")})` });
      warned = true;
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
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
