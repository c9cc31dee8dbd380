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
