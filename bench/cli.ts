/**
 * npm run bench:cli — whole-process start of the installed CLI, the figure a user sees (issue 12:
 * `--version` and `status` ≤ 0.1 s, a no-op `repro` ≤ 0.2 s), beside `node -e 0` (Node's own
 * start, the floor) and, when `dvc` is on PATH, DVC's `--version`, `status` and no-op `repro` of
 * the same project (one line says it is skipped otherwise).
 *
 * The CLI is the built bin, dist/cli/main.cjs (`npm run build` makes it the launcher of
 * src/cli/launch.ts: `--version` answered by itself, status and repro run from code-cached
 * CommonJS bundles, src/cli/bundle.ts and src/cli/code-cache.ts); POLARITY_BENCH_CLI=<main.js>
 * times another build. The setup's repro and status runs write each command's code cache, so
 * the timed runs are the steady state a user sees from the second run of a command on. The project is a temp
 * folder with a two-stage pipeline (a 5 MB data file and a directory of --files small files as
 * deps, a param, two outs), reproduced once before timing, so `status` and `repro` find
 * everything up to date, and the state cache (.dvc/tmp) is warm as it is on a user's machine.
 *
 * Timing, hyperfine-style (median, mean ± σ, min, user + system CPU) but interleaved: every
 * command runs once per round (spawnSync, no shell), so a change in the machine's load lands on
 * all of them alike (hyperfine runs one command's runs back to back); the CPU is the children's
 * rusage (/proc/self/stat cutime + cstime). Several passes alternate the environments: each
 * command is timed without NODE_EXTRA_CA_CERTS and, when the environment sets it (this sandbox
 * does: ~110 ms more on every node start, reading the extra certificates), with it. Figures:
 * per command and environment, and the excess over `node -e 0` in the same environment.
 *   --runs <n> per pass and command (default 10)  --passes <n> (default 3)  --files <n> (default 200)
 *   --baseline <main.js>: also time another build (e.g. the previous commit's) in the same passes
 *   --json
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const load1 = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

function onPath(bin: string): boolean {
  return spawnSync(bin, ["--version"], { stdio: "ignore" }).error === undefined;
}

interface Case {
  name: string;
  argv: string[];
}

interface Sample {
  wall: number[];
  cpu: number[];
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function sd(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, xs.length - 1));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** user + system CPU seconds of this process's waited-for children so far (/proc/self/stat cutime + cstime, in clock ticks of 10 ms). */
function childrenCpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) / 100;
}

/**
 * One pass: `runs` rounds, each running every case once (interleaved, so a change in the
 * machine's load lands on every command alike), after one warm-up round; appends wall seconds
 * and CPU seconds per run (children's rusage: 10 ms ticks, exact enough once averaged).
 */
function pass(cases: Case[], env: NodeJS.ProcessEnv, cwd: string, runs: number, out: Map<string, Sample>): void {
  for (let i = 0; i < runs + 1; i++) {
    for (const c of cases) {
      const cpu0 = childrenCpuSeconds();
      const t0 = process.hrtime.bigint();
      const r = spawnSync(c.argv[0], c.argv.slice(1), { cwd, env, stdio: "ignore" });
      const t = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = childrenCpuSeconds() - cpu0;
      if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}${r.error ? ` (${r.error.message})` : ""}`);
      if (i === 0) continue; // warm-up: page cache, compile cache
      const s = out.get(c.name) ?? { wall: [], cpu: [] };
      s.wall.push(t);
      s.cpu.push(cpu);
      out.set(c.name, s);
    }
  }
}

function makeProject(root: string, files: number): void {
  mkdirSync(join(root, "data", "docs"), { recursive: true });
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  writeFileSync(join(root, "data", "corpus.bin"), Buffer.concat([block, block, block, block, block]));
  for (let i = 0; i < files; i++) writeFileSync(join(root, "data", "docs", `doc-${i}.txt`), `document ${i}\n`);
  writeFileSync(join(root, "params.yaml"), "train:\n  C: 1.0\n  seed: 7\n");
  writeFileSync(
    join(root, "dvc.yaml"),
    `stages:
  prepare:
    cmd: cat data/corpus.bin > prepared.bin && ls data/docs | wc -l > docs.txt
    deps:
      - data/corpus.bin
      - data/docs
    outs:
      - prepared.bin
      - docs.txt
  train:
    cmd: wc -c prepared.bin > model.txt
    deps:
      - prepared.bin
    params:
      - train.C
      - train.seed
    outs:
      - model.txt
`,
  );
}

function main(): void {
  const runs = arg("runs", 10);
  const passes = arg("passes", 3);
  const files = arg("files", 200);
  const json = process.argv.includes("--json");
  const cli = process.env.POLARITY_BENCH_CLI ? resolve(process.env.POLARITY_BENCH_CLI) : join(ROOT, "dist", "cli", "main.cjs");
  if (!existsSync(cli)) throw new Error(`${cli} does not exist: run 'npm run build' first (or set POLARITY_BENCH_CLI)`);
  if (!process.env.POLARITY_BENCH_CLI && statSync(cli).mtimeMs < statSync(join(ROOT, "src", "cli", "main.ts")).mtimeMs)
    process.stderr.write(`warning: ${cli} is older than src/cli/main.ts: run 'npm run build' for the current tree's figures\n`);
  const dvc = onPath("dvc");
  const dir = mkdtempSync(join(tmpdir(), "polarity-bench-cli-"));
  try {
    const project = join(dir, "project");
    makeProject(project, files);
    const node = process.execPath;
    const baseEnv = { ...process.env };
    delete baseEnv.NODE_OPTIONS;
    const withoutCa = { ...baseEnv };
    delete withoutCa.NODE_EXTRA_CA_CERTS;
    const envs: Array<[string, NodeJS.ProcessEnv]> = [["without NODE_EXTRA_CA_CERTS", withoutCa]];
    if (process.env.NODE_EXTRA_CA_CERTS) envs.push([`with NODE_EXTRA_CA_CERTS=${process.env.NODE_EXTRA_CA_CERTS}`, baseEnv]);
    // First repro runs the stages (and fills the state cache); the second is the no-op a user sees.
    for (let i = 0; i < 2; i++) {
      const r = spawnSync(node, [cli, "repro"], { cwd: project, env: withoutCa, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`polarity repro failed: ${r.stderr}`);
    }
    const cases: Case[] = [
      { name: "node -e 0", argv: [node, "-e", "0"] },
      { name: "polarity --version", argv: [node, cli, "--version"] },
      { name: "polarity status", argv: [node, cli, "status"] },
      { name: "polarity repro (no-op)", argv: [node, cli, "repro"] },
    ];
    const baselineAt = process.argv.indexOf("--baseline");
    if (baselineAt >= 0) {
      const baseline = resolve(process.argv[baselineAt + 1] ?? "");
      if (!existsSync(baseline)) throw new Error(`--baseline ${baseline} does not exist`);
      cases.push(
        { name: "baseline --version", argv: [node, baseline, "--version"] },
        { name: "baseline status", argv: [node, baseline, "status"] },
        { name: "baseline repro (no-op)", argv: [node, baseline, "repro"] },
      );
    }
    const st = spawnSync(node, [cli, "status"], { cwd: project, env: withoutCa, encoding: "utf8" });
    if (!/up to date/.test(st.stdout)) throw new Error(`the project is not up to date after repro: ${st.stdout}${st.stderr}`);
    let dvcCases: Case[] = [];
    let dvcProject = "";
    if (dvc) {
      dvcProject = join(dir, "dvc-project");
      makeProject(dvcProject, files);
      const init = spawnSync("dvc", ["init", "--no-scm", "-q"], { cwd: dvcProject, encoding: "utf8" });
      if (init.status !== 0) throw new Error(`dvc init failed: ${init.stderr}`);
      for (let i = 0; i < 2; i++) spawnSync("dvc", ["repro", "-q"], { cwd: dvcProject });
      dvcCases = [
        { name: "dvc --version", argv: ["dvc", "--version"] },
        { name: "dvc status", argv: ["dvc", "status"] },
        { name: "dvc repro (no-op)", argv: ["dvc", "repro"] },
      ];
    }
    const results = new Map<string, Map<string, Sample>>(envs.map(([name]) => [name, new Map()]));
    const loadBefore = load1();
    for (let p = 0; p < passes; p++) {
      for (const [name, env] of p % 2 === 0 ? envs : [...envs].reverse()) {
        pass(cases, env, project, runs, results.get(name)!);
        if (dvc) pass(dvcCases, env, dvcProject, runs, results.get(name)!);
      }
    }
    const summary = {
      machine: `${cpus().length} cores, ${cpus()[0]?.model ?? "?"}, node ${process.version}`,
      cli,
      timer: "spawnSync, every command once per round (interleaved), children's CPU from /proc/self/stat",
      project: `2 stages, deps: a 5 MB file and ${files} small files`,
      loadAverage: { before: loadBefore, after: load1() },
      dvc: dvc ? "measured" : "skipped: dvc is not installed (pip install dvc)",
      environments: Object.fromEntries(
        [...results].map(([env, samples]) => {
          const floor = median(samples.get("node -e 0")!.wall);
          return [
            env,
            Object.fromEntries(
              [...samples].map(([name, s]) => [
                name,
                {
                  medianMs: +(median(s.wall) * 1000).toFixed(1),
                  meanMs: +(mean(s.wall) * 1000).toFixed(1),
                  sdMs: +(sd(s.wall) * 1000).toFixed(1),
                  minMs: +(Math.min(...s.wall) * 1000).toFixed(1),
                  cpuMs: +(mean(s.cpu) * 1000).toFixed(1),
                  overNodeMs: +((median(s.wall) - floor) * 1000).toFixed(1),
                  runs: s.wall.length,
                },
              ]),
            ),
          ];
        }),
      ),
    };
    if (json) {
      console.log(JSON.stringify(summary, null, 2));
      return;
    }
    console.log(`CLI start (whole process): ${summary.machine}; ${summary.timer}; ${passes} passes × ${runs} runs per command, environments alternated`);
    console.log(`  CLI: ${cli}; project: ${summary.project}; load average ${summary.loadAverage.before} → ${summary.loadAverage.after}`);
    for (const [env, rows] of Object.entries(summary.environments)) {
      console.log(`\n  ${env}:`);
      for (const [name, r] of Object.entries(rows))
        console.log(
          `    ${name.padEnd(24)} Time (median): ${String(r.medianMs).padStart(6)} ms  (mean ± σ ${r.meanMs} ± ${r.sdMs} ms, min ${r.minMs} ms)  [User+Sys: ${r.cpuMs} ms]${name === "node -e 0" ? "" : `  +${r.overNodeMs} ms over node -e 0`}`,
        );
    }
    if (!dvc) console.log(`\n  DVC: ${summary.dvc}`);
    console.log(`\n  targets (issue 12): --version and status ≤ 100 ms, no-op repro ≤ 200 ms (whole process, without the sandbox's extra CA certificates)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
