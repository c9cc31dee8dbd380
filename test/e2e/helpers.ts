import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";

export const REPO = join(import.meta.dirname, "..", "..");
export const FIXTURES = join(REPO, "test", "fixtures");
const MAIN = join(REPO, "src", "cli", "main.ts");
// tsx resolved to an absolute URL, so the CLI (and the stage commands it spawns through the
// `polarity` shim, which reuses these flags) works from any temp directory.
const TSX = pathToFileURL(join(REPO, "node_modules", "tsx", "dist", "loader.mjs")).href;

/**
 * A directory holding a `polarity` executable for the current sources, as `npm i -g` or
 * `npm link` would provide; put it on PATH so `polarity repro` can run the dvc.yaml stage
 * commands (`polarity start` writes its own shim, see src/stages/self-command.ts).
 */
export async function polarityBinDir(): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), "polarity-e2e-bin-")), "bin");
  await mkdir(dir);
  const shim = join(dir, "polarity");
  await writeFile(shim, `#!/bin/sh\nexec '${process.execPath}' --import '${TSX}' '${MAIN}' "$@"\n`);
  await chmod(shim, 0o755);
  return dir;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (`node --import tsx src/cli/main.ts ...`) asynchronously, so HTTP servers in the test process keep serving. */
export function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", TSX, MAIN, ...args],
      { cwd, env: { ...process.env, MLFLOW_TRACKING_URI: "", POLARITY_DEBUG: "", ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 240_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A temp project: copies of the repo's dvc.yaml and params.yaml, with params edited by `edit`. */
export async function makeProject(prefix: string, edit?: (params: Record<string, Record<string, unknown>>) => void): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `polarity-e2e-${prefix}-`));
  await copyFile(join(REPO, "dvc.yaml"), join(dir, "dvc.yaml"));
  if (edit) await editParams(dir, edit, join(REPO, "params.yaml"));
  else await copyFile(join(REPO, "params.yaml"), join(dir, "params.yaml"));
  return dir;
}

export async function editParams(dir: string, edit: (params: Record<string, Record<string, unknown>>) => void, from = join(dir, "params.yaml")): Promise<void> {
  const params = parseYaml(await readFile(from, "utf8")) as Record<string, Record<string, unknown>>;
  edit(params);
  await writeFile(join(dir, "params.yaml"), stringifyYaml(params));
}

export async function readJson<T = Record<string, unknown>>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, "utf8")) as T;
}

/**
 * Starts a long-running CLI command (e.g. `start`, which ends by serving) and resolves once a
 * stdout line matches `ready`, with the match; rejects if the process exits first.
 */
export function spawnCliUntil(args: string[], cwd: string, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  const child = spawn(process.execPath, ["--import", TSX, MAIN, ...args], {
    cwd,
    env: { ...process.env, MLFLOW_TRACKING_URI: "", POLARITY_DEBUG: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = out.match(ready);
      if (m) {
        child.stdout?.off("data", onData);
        child.off("exit", onExit);
        resolve({ child, match: m, output: () => out });
      }
    };
    const onExit = (code: number | null): void => reject(new Error(`polarity ${args.join(" ")} exited with ${code} before ${ready}:\n${out}`));
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (c: Buffer) => (out += c.toString()));
    child.once("exit", onExit);
  });
}

/** Sends SIGTERM and waits for the process to exit; resolves with its exit code. */
export function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}
