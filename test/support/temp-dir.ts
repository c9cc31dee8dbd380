import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const created: string[] = [];
process.on("exit", () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

export interface TempDir {
  /** The directory (also as `path`, the serving fixtures' name for it). */
  dir: string;
  path: string;
  /** Removes it now; anything left is removed when the test process exits. */
  cleanup(): void;
}

/** The one temp-directory helper of the suites: a fresh directory under the OS temp dir. */
export function makeTempDir(prefix = "polarity-test-"): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return { dir, path: dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
