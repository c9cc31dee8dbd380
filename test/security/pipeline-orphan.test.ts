import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { cli, cliStart, exitOf, makeProject, read, waitForOutput } from "../pipeline/helpers.js";

// Issue 9 item 15: kill -9 of `polarity repro` orphaned the running stage, which kept running
// without the project lock; an immediate rerun raced it. An orphan that died left
// data/.processed.<pid>.<hex>.tmp behind for ever.

// A stage that records its pid, says "started", then would run for a minute.
const LONG_STAGE = `const fs = require("fs");
fs.writeFileSync("stage.pid", String(process.pid));
console.log("started");
setTimeout(() => { fs.writeFileSync("late.txt", "the orphan finished\\n"); fs.writeFileSync("out.txt", "orphan\\n"); }, 60000);
`;

/** Alive and not a zombie (an orphan reparented to a non-reaping init stays a zombie here). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

/** A project whose one stage runs for a minute, with `polarity repro` started on it and the stage running. */
async function startLongStage(): Promise<{ dir: string; repro: ReturnType<typeof cliStart>; stagePid: number }> {
  const dir = makeProject({
    "long.js": LONG_STAGE,
    "dvc.yaml": "stages:\n  long:\n    cmd: node long.js\n    deps: [long.js]\n    outs: [out.txt]\n",
  });
  const repro = cliStart(dir, ["repro"]);
  await waitForOutput(repro, "[long] started");
  return { dir, repro, stagePid: Number(read(dir, "stage.pid")) };
}

describe("security: a killed repro leaves no stage running and no temp files", { timeout: 120_000 }, () => {
  it("kill -9 of the repro process (not its group) stops the stage it was running, and a rerun runs it afresh", async () => {
    const { dir, repro, stagePid } = await startLongStage();
    assert.ok(running(stagePid), "the stage is running");
    process.kill(repro.pid!, "SIGKILL"); // only polarity itself, as the OOM killer or kill -9 <pid> would
    await exitOf(repro);
    assert.ok(await until(() => !running(stagePid), 10_000), `the orphaned stage (pid ${stagePid}) is still running 10 s after its repro was killed`);

    // The rerun takes over the dead owner's lock and runs the stage itself; the killed one never writes.
    fs.writeFileSync(path.join(dir, "long.js"), "require('fs').writeFileSync('out.txt', 'rerun\\n');\n");
    const again = cli(dir, ["repro"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(read(dir, "out.txt"), "rerun\n");
    assert.equal(fs.existsSync(path.join(dir, "late.txt")), false);
  });

  it("a rerun refuses to take the lock while a stage of a dead repro is still running", async () => {
    const { dir, repro, stagePid } = await startLongStage();
    const lock = JSON.parse(read(dir, ".dvc/tmp/polarity.lock")) as { pid: number; stageGroups?: number[] };
    assert.equal(lock.pid, repro.pid);
    assert.equal(lock.stageGroups?.length, 1, "the lock names the running stage's process group");
    // Simulate a guardian that could not act (e.g. it was killed too): kill polarity and its
    // guardian, keep the stage's group alive, and check the lock protects it.
    const guardians = spawnSync("pgrep", ["-f", `kill -TERM -${lock.stageGroups![0]}`], { encoding: "utf8" })
      .stdout.trim()
      .split("\n")
      .filter(Boolean)
      .map(Number);
    for (const g of guardians) process.kill(g, "SIGKILL");
    process.kill(repro.pid!, "SIGKILL");
    await exitOf(repro);
    try {
      assert.ok(running(stagePid));
      const raced = cli(dir, ["repro"]);
      assert.equal(raced.code, 4, raced.stderr);
      assert.match(raced.stderr, new RegExp(`died but its stage command is still running \\(process group ${lock.stageGroups![0]}\\)`));
      assert.doesNotMatch(raced.stderr, /\n\s+at /);
    } finally {
      try {
        process.kill(-lock.stageGroups![0], "SIGKILL");
      } catch {
        // already gone
      }
    }
    assert.ok(await until(() => !running(stagePid), 5_000));
    const after = cli(dir, ["repro", "--dry"]);
    assert.equal(after.code, 0, after.stderr);
  });

  it("repro sweeps temp files of dead writers beside stage outputs and keeps those of live ones", () => {
    const dir = makeProject({
      "dvc.yaml": "stages:\n  make:\n    cmd: mkdir -p data/processed && echo x > data/processed/a.txt\n    outs: [data/processed]\n",
    });
    const dead = deadPid();
    const stale = `data/.processed.${dead}.0a1b2c3d.tmp`;
    const live = `data/.processed.${process.pid}.0a1b2c3d.tmp`;
    fs.mkdirSync(path.join(dir, stale), { recursive: true });
    fs.writeFileSync(path.join(dir, stale, "half.npz"), "partial");
    fs.writeFileSync(path.join(dir, live), "a live writer's temp file");
    const r = cli(dir, ["repro"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.existsSync(path.join(dir, stale)), false, "the dead writer's temp directory is swept");
    assert.ok(fs.existsSync(path.join(dir, live)), "a live writer's temp file is kept");
    assert.match(r.stdout, new RegExp(`Removed '${stale.replace(/\./g, "\\.")}', left by an interrupted process`));
  });
});
