import fs from "node:fs";
import path from "node:path";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import type { ReproLogger } from "../../src/pipeline/repro.js";
import { makeTempDir } from "../support/temp-dir.js";

export const CLI = path.resolve(import.meta.dirname, "../../src/cli/main.ts");
const TSX = import.meta.resolve("tsx");

/** A temp directory removed when the test process exits. */
export function tempDir(prefix: string): string {
  return makeTempDir(prefix).dir;
}

/** A fresh project directory with the given files (paths relative to it); removed when the test process exits. */
export function makeProject(files: Record<string, string>): string {
  const dir = tempDir("polarity-pipeline-");
  fs.mkdirSync(path.join(dir, ".dvc"));
  writeFiles(dir, files);
  return dir;
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
}

export function read(dir: string, rel: string): string {
  return fs.readFileSync(path.join(dir, rel), "utf8");
}

/** Runs the real CLI in `cwd` and waits for it. */
export function cli(cwd: string, args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", TSX, CLI, ...args], { cwd, encoding: "utf8", input, env: { ...process.env, NODE_NO_WARNINGS: "1" } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI without waiting; in its own process group so the whole tree can be killed. */
export function cliStart(cwd: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", TSX, CLI, ...args], {
    cwd,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
}

/** Resolves once `child`'s stdout has printed a line containing `text`. */
export function waitForOutput(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: Buffer): void => {
      buf += d.toString();
      if (buf.includes(text)) {
        child.stdout!.off("data", onData);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`process exited (${code}) before printing '${text}'; output:\n${buf}`)));
  });
}

export function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : -1)));
  });
}

/** A logger that keeps lines for assertions instead of printing them. */
export function memoryLogger(): ReproLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (l) => lines.push(l), output: (l) => lines.push(l) };
}

export function git(cwd: string, ...args: string[]): void {
  const r = spawnSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed: ${r.stderr}`);
}
