import { constants } from "node:fs";
import { access, mkdir, readFile } from "node:fs/promises";
import { delimiter, join, resolve } from "node:path";
import { writeFileAtomic } from "../util/atomic-write.js";

/**
 * The repo's dvc.yaml runs stages as `polarity stage <name>`, as a DVC user would write it.
 * On a fresh clone `polarity` is not on PATH (npm links a package's bin for its dependents,
 * not for itself), so before running the pipeline `polarity start` and `polarity repro` write a tiny shell shim
 * that re-invokes THIS process's CLI — same node binary, same loader flags (tsx in
 * development), same entry file — into `<project>/.dvc/tmp/bin/polarity` and puts that
 * directory first on PATH for the child processes. `.dvc/tmp` is git-ignored by DVC's
 * layout. With a global install (`npm i -g`) the shim simply points at that install.
 */
export async function ensurePolarityOnPath(projectDir: string): Promise<string> {
  const entry = process.argv[1];
  if (!entry) return process.env.PATH ?? "";
  const binDir = join(resolve(projectDir), ".dvc", "tmp", "bin");
  await mkdir(binDir, { recursive: true });
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  // Keep loader flags (--import/--require/--loader and their values); drop debugging/test flags.
  const flags: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (/^(--(import|require|loader|experimental-loader)|-r)$/.test(a) && i + 1 < argv.length) flags.push(a, argv[++i]);
    else if (/^--(import|require|loader|experimental-loader)=/.test(a)) flags.push(a);
  }
  const script = `#!/bin/sh\n# Written by 'polarity start' / 'polarity repro': runs the same polarity CLI as the parent process.\nexec ${[process.execPath, ...flags, resolve(entry)].map(quote).join(" ")} "$@"\n`;
  const shim = join(binDir, "polarity");
  // Rewritten only when it differs (a no-op repro's start: issue 12).
  const same =
    (await readFile(shim, "utf8").catch(() => null)) === script &&
    (await access(shim, constants.X_OK).then(
      () => true,
      () => false,
    ));
  if (!same) await writeFileAtomic(shim, script, 0o755);
  const path = [binDir, ...(process.env.PATH ?? "").split(delimiter).filter((p) => p && p !== binDir)].join(delimiter);
  process.env.PATH = path;
  return path;
}
