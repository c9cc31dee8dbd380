import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { NotFoundError, PolarityError } from "../util/errors.js";

/** Content of `relPath` (relative to `root`) at git revision `rev`, or null if the file is not in that revision. */
export function gitShow(root: string, rev: string, relPath: string): string | null {
  const check = spawnSync("git", ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`], { cwd: root, encoding: "utf8" });
  if (check.error) throw new PolarityError("IO_ERROR", `cannot run git: ${check.error.message}`);
  if (check.status !== 0) throw new NotFoundError(`git revision '${rev}' not found in ${root}`);
  // `rev:./path` is resolved relative to the current directory, so root need not be the git top level.
  const res = spawnSync("git", ["show", `${rev}:./${relPath}`], { cwd: root, encoding: "utf8", maxBuffer: 256 << 20 });
  if (res.status !== 0) return null;
  return res.stdout;
}

/** Is `root` inside a git work tree? (An ancestor holds `.git`; no process is started.) */
export function inGitWorkTree(root: string): boolean {
  let dir = path.resolve(root);
  for (;;) {
    if (fs.existsSync(path.join(dir, ".git"))) return true;
    const up = path.dirname(dir);
    if (up === dir) return false;
    dir = up;
  }
}

/**
 * Which of `paths` git ignores, each with the rule that does it (`.gitignore:3:data/`), via
 * `git check-ignore -v`. Paths git cannot judge (not a repo, git missing) count as not ignored.
 */
export function gitIgnoredBy(root: string, paths: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (paths.length === 0) return out;
  const res = spawnSync("git", ["check-ignore", "-v", "--", ...paths], { cwd: root, encoding: "utf8" });
  if (res.error || (res.status !== 0 && res.status !== 1)) return out;
  for (const line of res.stdout.split("\n")) {
    const tab = line.indexOf("\t");
    if (tab < 0) continue;
    const rule = line.slice(0, tab);
    // -v also reports a matching negation (`!pattern`), which means "not ignored".
    const pattern = rule.slice(rule.indexOf(":", rule.indexOf(":") + 1) + 1);
    if (!pattern.startsWith("!")) out.set(line.slice(tab + 1), rule);
  }
  return out;
}
