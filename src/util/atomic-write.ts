import { randomBytes } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/**
 * The one way Polarity writes a file or directory that matters: content goes to a temp sibling
 * (same directory, so the final rename is atomic on one filesystem), then is renamed over the
 * target. Readers see the old or the new content, never half of it.
 *
 * Temp names are `.<name>.<pid>.<8 hex>.tmp`: the writer's pid is in the name so that
 * `sweepStaleTemps` can remove the leftovers of a process killed mid-write (kill -9, OOM)
 * without touching those of a live one.
 */
export function tempSibling(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
}

const TEMP_NAME = /^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$/;

/** The pid that wrote a temp file named by `tempSibling`, or null for any other name. */
export function tempWriterPid(name: string): number | null {
  const m = TEMP_NAME.exec(name);
  return m ? Number(m[2]) : null;
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes temp files and directories in `dir` (not recursive) left by writers that are no
 * longer running. Returns the removed names. A missing `dir` is not an error.
 */
export function sweepStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = tempWriterPid(name);
    if (pid === null || pid === process.pid || isProcessAlive(pid)) continue;
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** Writes `content` to `target` atomically and durably (fsync before the rename). Synchronous. */
export function writeFileAtomicSync(target: string, content: string | Uint8Array, mode = 0o644): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempSibling(target);
  try {
    const fd = fs.openSync(tmp, "w", mode);
    try {
      fs.writeFileSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Writes `content` to `target` atomically and durably (fsync before the rename). */
export async function writeFileAtomic(target: string, content: string | Uint8Array, mode = 0o644): Promise<void> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempSibling(target);
  try {
    const fh = await fsp.open(tmp, "w", mode);
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** `value` as pretty JSON with a final newline, written atomically. */
export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 2) + "\n");
}

/** Streams `source` into `target` through a temp sibling, so readers never see half a file. */
export async function writeStreamAtomic(target: string, source: Readable): Promise<void> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempSibling(target);
  try {
    await pipeline(source, fs.createWriteStream(tmp));
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** Copies `src` to `dest` atomically; tries a reflink first (COPYFILE_FICLONE falls back to a plain copy). */
export async function copyFileAtomic(src: string, dest: string, mode?: number): Promise<void> {
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  const tmp = tempSibling(dest);
  try {
    await fsp.copyFile(src, tmp, fs.constants.COPYFILE_FICLONE);
    if (mode !== undefined) await fsp.chmod(tmp, mode);
    await fsp.rename(tmp, dest);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Builds a directory's content in a sibling temp directory and swaps it into place only when
 * `fill` succeeds, so `dir` is either the old complete output or the new complete output.
 */
export async function writeDirAtomic(dir: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  const tmp = tempSibling(dir);
  await fsp.mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.rename(tmp, dir);
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
