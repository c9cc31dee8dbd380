import { spawn, type ChildProcess } from "node:child_process";
import readline from "node:readline";

/**
 * Stage commands run in their own process group (the shell and everything it starts), so the
 * whole group can be stopped at once, and no stage outlives the `repro` that started it:
 * - SIGINT/SIGTERM/SIGHUP to repro are forwarded to every running group (a second signal
 *   sends SIGKILL); the stage then fails and repro unwinds normally, releasing the lock.
 * - kill -9 of repro (or an OOM kill) runs no handler, so each group has a guardian: a tiny
 *   detached `sh` reading a pipe from repro. When repro dies the kernel closes the pipe, the
 *   guardian reads EOF and kills the group (SIGTERM, then SIGKILL after a grace period).
 *   On a normal end repro writes "done" and the guardian exits.
 * The pgids of running stages are also published (`onGroupsChange`) so the project lock can
 * name them and a rerun can refuse to race a stage that is somehow still alive.
 */

const running = new Map<number, ChildProcess>();
let handlersInstalled = false;
let signalled = 0;
const listeners = new Set<(pgids: number[]) => void>();

function notify(): void {
  const pgids = [...running.keys()];
  for (const l of listeners) l(pgids);
}

/** Called with the current list of running stage process groups whenever it changes. */
export function onGroupsChange(listener: (pgids: number[]) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function forward(signal: NodeJS.Signals): void {
  signalled++;
  for (const pgid of running.keys()) killGroup(pgid, signalled > 1 ? "SIGKILL" : signal);
}

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const handlers = new Map<NodeJS.Signals, () => void>(SIGNALS.map((s) => [s, () => forward(s)]));

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  signalled = 0;
  for (const [s, h] of handlers) process.on(s, h);
}

function removeHandlers(): void {
  if (!handlersInstalled || running.size > 0) return;
  handlersInstalled = false;
  for (const [s, h] of handlers) process.off(s, h);
  // A signal arrived while stages ran: now that they are stopped, end as the signal would have.
  if (signalled > 0) process.exitCode = 130;
}

/** `sh` script of the guardian for process group `pgid` (see the module comment). */
function guardianScript(pgid: number): string {
  return [
    "read line",
    '[ "$line" = done ] && exit 0',
    `kill -TERM -${pgid} 2>/dev/null || exit 0`,
    "i=0",
    `while [ $i -lt 30 ] && kill -0 -${pgid} 2>/dev/null; do sleep 0.1; i=$((i+1)); done`,
    `kill -KILL -${pgid} 2>/dev/null`,
    "exit 0",
  ].join("\n");
}

/** Did repro get SIGINT/SIGTERM/SIGHUP while stages were running? */
export function interruptedBySignal(): boolean {
  return signalled > 0;
}

/** Runs one shell command in `cwd` in its own process group, streaming each output line prefixed with `prefix`. Resolves with the exit code. */
export function runStageCommand(cmd: string, cwd: string, prefix: string, output: (line: string, stream: "stdout" | "stderr") => void): Promise<number> {
  return new Promise((resolve, reject) => {
    installHandlers();
    const child = spawn("/bin/sh", ["-c", cmd], { cwd, stdio: ["inherit", "pipe", "pipe"], env: process.env, detached: true });
    const pgid = child.pid;
    let guardian: ChildProcess | null = null;
    if (pgid !== undefined) {
      running.set(pgid, child);
      notify();
      guardian = spawn("/bin/sh", ["-c", guardianScript(pgid)], { stdio: ["pipe", "ignore", "ignore"], detached: true });
      guardian.on("error", () => {});
      guardian.stdin?.on("error", () => {});
      guardian.unref();
    }
    const finish = (): void => {
      if (pgid !== undefined) {
        running.delete(pgid);
        notify();
      }
      guardian?.stdin?.end("done\n");
      removeHandlers();
    };
    const done: Array<Promise<void>> = [];
    for (const stream of ["stdout", "stderr"] as const) {
      const rl = readline.createInterface({ input: child[stream]!, crlfDelay: Infinity });
      rl.on("line", (line) => output(`${prefix}${line}`, stream));
      done.push(new Promise((r) => rl.once("close", () => r())));
    }
    child.once("error", (err) => {
      finish();
      reject(err);
    });
    child.once("close", (code, signal) => {
      // The shell is gone; anything it left running in its group goes with it.
      if (pgid !== undefined) killGroup(pgid, "SIGKILL");
      finish();
      void Promise.all(done).then(() => resolve(code ?? (signal ? 128 : 1)));
    });
  });
}
