/**
 * Pipeline benchmarks (npm run bench:pipeline):
 *  1. MD5 throughput of hashFileMd5 against `md5sum` on a 1 GB file (created in the temp dir, deleted after).
 *  2. `repro` of a 5-stage pipeline whose stages each depend on a 10,000-file directory:
 *     first run, no-op with a cold state database (every file rehashed), no-op with warm state.
 *  3. Whole-process figures a user sees, on the built CLI (dist/cli/main.cjs, the esbuild bundle
 *     that `npm run build` makes (src/cli/bundle.ts); build first; the src via tsx otherwise, which is slower): `--version`, `status` and a no-op `repro` of that pipeline, each the median of
 *     interleaved runs beside `node -e 0` (the floor: Node's own start) in the same loop
 *     (POLARITY_BENCH_CLI=<main.js> measures another build). `--repro-only` skips (1),
 *     `--files=N` sizes the data directory of (2).
 * Prints figures, the machine's cores and its load average (other work on the machine skews them).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { hashFileMd5 } from "../src/pipeline/objects/hashing.js";
import { reproduce } from "../src/pipeline/repro.js";
import { STATE_DB_RELPATH } from "../src/pipeline/repo.js";

const GB = 1 << 30;
const quiet = { info: () => {}, output: () => {} };

function load(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function benchMd5(): Promise<void> {
  const file = path.join(os.tmpdir(), `polarity-bench-${process.pid}.bin`);
  const block = randomBytes(16 << 20);
  const fd = fs.openSync(file, "w");
  for (let written = 0; written < GB; written += block.length) fs.writeSync(fd, block);
  fs.closeSync(fd);
  try {
    const runs = 3;
    let best = Infinity;
    let bestSum = Infinity;
    let ours = "";
    let theirs = "";
    // Interleaved so both see the same page-cache state and machine load.
    for (let i = 0; i < runs; i++) {
      let t0 = process.hrtime.bigint();
      const r = spawnSync("md5sum", [file], { encoding: "utf8" });
      bestSum = Math.min(bestSum, seconds(t0));
      theirs = r.stdout.split(" ")[0];
      t0 = process.hrtime.bigint();
      ours = (await hashFileMd5(file)).md5;
      best = Math.min(best, seconds(t0));
    }
    if (ours !== theirs) throw new Error(`hash mismatch: ${ours} vs md5sum ${theirs}`);
    console.log(`md5 of 1 GiB (best of ${runs}, file in page cache):`);
    console.log(`  polarity hashFileMd5  ${best.toFixed(2)} s  ${(1024 / best).toFixed(0)} MiB/s`);
    console.log(`  md5sum                ${bestSum.toFixed(2)} s  ${(1024 / bestSum).toFixed(0)} MiB/s`);
    console.log(`  ratio (polarity / md5sum time) ${(best / bestSum).toFixed(2)}x   load avg: ${load()}`);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

async function benchRepro(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "polarity-bench-repro-"));
  try {
    fs.mkdirSync(path.join(root, ".dvc"));
    const nFiles = Number(process.argv.find((a) => a.startsWith("--files="))?.slice(8) ?? 10_000);
    for (let d = 0; d < 100; d++) {
      const dir = path.join(root, "data", `shard-${String(d).padStart(2, "0")}`);
      fs.mkdirSync(dir, { recursive: true });
      for (let i = 0; i < nFiles / 100; i++) fs.writeFileSync(path.join(dir, `doc-${i}.txt`), `document ${d}-${i} ${"lorem ipsum ".repeat(8)}\n`);
    }
    const stages = [1, 2, 3, 4, 5].map(
      (i) =>
        `  s${i}:\n    cmd: ${i === 1 ? "ls -R data | wc -l" : `cat s${i - 1}.txt`} > s${i}.txt\n    deps: [data${i > 1 ? `, s${i - 1}.txt` : ""}]\n    outs: [s${i}.txt]\n`,
    );
    fs.writeFileSync(path.join(root, "dvc.yaml"), `stages:\n${stages.join("")}`);
    console.log(`\nrepro of a 5-stage pipeline, each stage depending on data/ (${nFiles} files):`);

    let t0 = process.hrtime.bigint();
    let res = await reproduce({ root, log: quiet });
    console.log(`  first run (hash + run 5 stages + cache outs)   ${seconds(t0).toFixed(3)} s  ran ${res.ran.length}`);

    fs.rmSync(path.join(root, STATE_DB_RELPATH), { force: true });
    t0 = process.hrtime.bigint();
    res = await reproduce({ root, log: quiet });
    console.log(`  no-op, cold state (every file rehashed)        ${seconds(t0).toFixed(3)} s  ran ${res.ran.length}`);

    const warm: number[] = [];
    for (let i = 0; i < 5; i++) {
      t0 = process.hrtime.bigint();
      res = await reproduce({ root, log: quiet });
      warm.push(seconds(t0));
      if (res.ran.length) throw new Error("no-op repro ran stages");
    }
    warm.sort((a, b) => a - b);
    console.log(`  no-op, warm state (library call, median of 5)  ${warm[2].toFixed(3)} s  (min ${warm[0].toFixed(3)} s)`);

    console.log(`  load avg: ${load()}`);
    benchCliStart(root);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Median wall time of whole `node …` processes, interleaved so all see the same machine load. */
function benchCliStart(project: string): void {
  const dist = process.env.POLARITY_BENCH_CLI ?? path.resolve(import.meta.dirname, "../dist/cli/main.cjs");
  const src = path.resolve(import.meta.dirname, "../src/cli/main.ts");
  const built = fs.existsSync(dist) && (process.env.POLARITY_BENCH_CLI !== undefined || fs.statSync(dist).mtimeMs >= fs.statSync(src).mtimeMs);
  const cli = built ? [dist] : ["--import", import.meta.resolve("tsx"), src];
  const cases: Array<[string, string[]]> = [
    ["node -e 0 (floor)", ["-e", "0"]],
    ["polarity --version", [...cli, "--version"]],
    ["polarity status", [...cli, "status"]],
    ["polarity repro (no-op)", [...cli, "repro"]],
  ];
  const runs = 11;
  const times = cases.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    cases.forEach(([, args], c) => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { cwd: project, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`${cases[c][0]} exited ${r.status}: ${r.stderr}`);
      times[c].push(seconds(t0));
    });
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const floor = median(times[0]);
  console.log(
    `\nwhole-process CLI figures (${built ? "dist/cli/main.cjs" : "src via tsx: run 'npm run build' for the installed CLI's figures"}; median of ${runs}, interleaved):`,
  );
  cases.forEach(([name], c) => {
    const m = median(times[c]);
    console.log(`  ${name.padEnd(24)} ${m.toFixed(3)} s${c ? `  (+${(m - floor).toFixed(3)} s over node -e 0)` : ""}`);
  });
  console.log(`  targets: --version and status <= 0.1 s, no-op repro <= 0.2 s   load avg: ${load()}`);
}

console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), node ${process.version}, load avg at start: ${load()}`);
if (!process.argv.includes("--repro-only")) await benchMd5();
await benchRepro();
