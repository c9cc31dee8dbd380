/**
 * npm run bench:monitoring — the cost of model monitoring on the serving hot path (issue 16:
 * single-text throughput with monitoring on within 5 % of monitoring off), measured so that a
 * noisy, shared 2-core machine can still resolve 5 %:
 *   - THREE single-process `polarity serve` servers are started once and kept up for the whole
 *     run: `off` (POLARITY_MONITORING=off), `on` (monitoring on; the model carries a reference
 *     profile, so drift windows, ids, the text ring and the drift timer all run) and `off2`
 *     (off again: the A/A control, measured in the same rounds, so the noise floor is the
 *     same-run spread of off-vs-off, not a guess);
 *   - with `taskset`, all three servers are pinned to the SAME core (cpu 1) and the load
 *     generators to the other (cpu 0): each server gets the same core, caches and neighbours;
 *   - per server and round: requests (wrk), and the server process's CPU time (the sum of
 *     /proc/<pid>/task/<tid>/schedstat over its threads, in ns: main thread, libuv pool, V8's GC
 *     and compiler threads), so CPU per request leaves out the time other jobs took on the core;
 *     the pooled utime+stime of /proc/<pid>/stat (what process.cpuUsage reports) over all
 *     rounds is printed beside it as a cross-check;
 *   - three kinds of rounds, many short ones each (--rounds × --duration s):
 *       1. closed loop, one server at a time in an order cycling through all six permutations
 *          (wrk -t1 -c32: the throughput a server alone on its core gives);
 *       2. closed loop, all three servers loaded AT ONCE by three wrk processes: they share the
 *          core, so whatever else runs on the machine disturbs the three in the same instants,
 *          and the per-round ratios are several times tighter than (1)'s (a saturated server's
 *          throughput is 1 / its CPU per request, so the CPU ratio is the throughput ratio);
 *       3. paced, all three at once: each of N connections sends one request every 10 ms after
 *          its previous answer (wrk's delay()), --rate requests/s offered to each server, well
 *          below saturation and near open loop while latency ≪ 10 ms: CPU per request and
 *          latency at an ordinary load;
 *   - fresh server processes: the rounds are spread over --blocks trios (default 4) of newly
 *     started servers, because two starts of the same server differ (JIT decisions, heap
 *     sizing), and one lucky or unlucky process would otherwise decide the comparison;
 *   - a fixed young generation: every server runs with --min/max-semi-space-size=16 (MB; --semi-space
 *     0 leaves V8's own sizing). V8 grows the new space by its own heuristic, and a serving
 *     process ends up with either ~1 MB or 16 MB semi-spaces depending on how its start-up
 *     went: the small ones scavenge 5–6× as often (12–15 µs of GC per request instead of 6–8,
 *     --trace-gc, 2026-12-01), a ±7 % coin flip per process that has nothing to do with
 *     monitoring and was most of the "unexplained" gap of earlier runs. Each server's
 *     scavenges per 1,000 requests, scavenge time per request and new-space size (from its own
 *     /metrics, nodejs_gc_duration_seconds and nodejs_heap_space_size_total_bytes) are printed;
 *   - statistics: per round, the ratio of on's throughput and CPU per request to the MEAN of
 *     the two off servers (A/B/A; CPU as off/on, so < 1 means monitoring costs), and off vs
 *     off2 (A/A). Against the mean, a slot effect favouring one off server (the A/A ratio shows
 *     one of ~2 % in some runs) cannot decide the comparison; on vs off alone is printed beside
 *     it. The start order of a trio and the launch order of the load generators rotate through
 *     the six permutations, trio by trio and round by round. The estimate is the median
 *     of the per-round ratios with a 95 % two-stage bootstrap interval (trios, then rounds
 *     within them; seeded, reproducible); the A/A interval's half-width is the resolution the
 *     run reached, and the per-trio medians are printed. Verdict on (2)'s CPU ratio: met
 *     when the interval's lower bound is ≥ 0.95, missed when its upper bound is < 0.95, else
 *     inconclusive.
 * Before that, in process: the fast path's hook (ModelMonitor.recordScores) timed against
 * scoring the same single texts, and one timer tick.
 *   --duration <s> per round (default 1)  --rounds <n> simultaneous closed-loop rounds (default
 *   48)  --sequential-rounds <n> (default min(12, rounds/2))  --paced-rounds <n> (default
 *   rounds/3)  --blocks <n> server trios (default 4)  --semi-space <MB> (default 16; 0 = V8's sizing)
 *   --connections <n> (default 32)  --rate <req/s> paced rate per server (default 1000; 0
 *   skips the paced rounds)  --warmup <s> per trio, all three loaded at once (default 8)  --no-pin  --json
 * bench/serve.ts runs a shorter version of the same A/B at its end (runMonitoringAB).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Registry } from "prom-client";
import { loadUciSentences } from "../src/data/builtin.js";
import { SentimentModel } from "../src/models/sentiment-model.js";
import { resolveMonitoringConfig } from "../src/monitoring/config.js";
import { ModelMonitor } from "../src/monitoring/monitor.js";
import { buildReferenceProfile } from "../src/monitoring/profile.js";
import { freePort } from "../test/support/free-port.js";
import { currentCli } from "./lib/current-cli.js";

/** The issue's target: single-text throughput with monitoring on within 5 % of monitoring off. */
const TARGET = 0.95;
/** wrk's pacing delay per connection in the paced rounds (ms; wrk's delay() is whole ms). */
const PACE_MS = 10;

export interface MonitoringAbOptions {
  /** Path of the CLI's main.js (default: the current src/ transpiled, bench/lib/current-cli.ts). */
  cli?: string;
  duration?: number;
  /** Closed-loop simultaneous rounds (the deciding kind; default 48). */
  rounds?: number;
  /** Closed-loop rounds with one server at a time (default min(12, rounds / 2); 0 skips them). */
  sequentialRounds?: number;
  connections?: number;
  /** Paced offered load in requests/s; 0 skips the paced rounds. */
  rate?: number;
  pacedRounds?: number;
  /** Seconds of load on all three servers at once before a trio's rounds, discarded (default 8: JIT, and the monitor's first drift ticks). */
  warmup?: number;
  /** Fresh trios of server processes the rounds are spread over (default 4). */
  blocks?: number;
  /** Young generation of every server: semi-space size in MB, min = max (default 16); 0 leaves V8's own sizing. */
  semiSpaceMb?: number;
  /** Pin the servers to cpu 1 and wrk to cpu 0 with taskset (when there are ≥ 2 cpus and taskset is installed). */
  pin?: boolean;
  /** Print per-round lines and the summary (default true). */
  print?: boolean;
  /** Also time the hook in process (default true). */
  inProcess?: boolean;
}

type Side = "off" | "on" | "off2";
const SIDES: readonly Side[] = ["off", "on", "off2"];
const PERMUTATIONS: readonly (readonly Side[])[] = [
  ["off", "on", "off2"],
  ["on", "off2", "off"],
  ["off2", "off", "on"],
  ["off", "off2", "on"],
  ["on", "off", "off2"],
  ["off2", "on", "off"],
];

interface Server {
  child: ChildProcess;
  pid: number;
  url: string;
}

const load1 = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

function hasTaskset(): boolean {
  return spawnSync("taskset", ["-c", "0", "true"]).status === 0;
}

async function startServer(cli: string, model: string, monitoring: "on" | "off", pinCpu: number | null, nodeFlags: readonly string[]): Promise<Server> {
  const port = await freePort();
  const args = [...nodeFlags, cli, "serve", "--model", model, "--port", String(port), "--log-level", "warn", "--poll-interval", "0"];
  // taskset execs node, so the child's pid is the server's.
  const child =
    pinCpu === null
      ? spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, POLARITY_MONITORING: monitoring } })
      : spawn("taskset", ["-c", String(pinCpu), process.execPath, ...args], {
          stdio: ["ignore", "ignore", "inherit"],
          env: { ...process.env, POLARITY_MONITORING: monitoring },
        });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 1200; i++) {
    if (child.exitCode !== null) throw new Error("the server exited during start-up");
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) return { child, pid: child.pid!, url };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the server did not become ready in 60 s");
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await done;
}

interface WrkResult {
  requests: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

function ms(v: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v ?? "");
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === "us" ? 1e-3 : m[2] === "s" ? 1e3 : 1);
}

function wrk(url: string, script: string, connections: number, duration: number, pinCpu: number | null): WrkResult {
  const args = ["-t1", `-c${connections}`, `-d${duration}s`, "--latency", "-s", script, `${url}/predict`];
  const out =
    pinCpu === null ? spawnSync("wrk", args, { encoding: "utf8" }) : spawnSync("taskset", ["-c", String(pinCpu), "wrk", ...args], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`wrk failed: ${out.stderr}`);
  return parseWrk(out.stdout);
}

function parseWrk(stdout: string): WrkResult {
  if (/Non-2xx or 3xx responses: \d+/.test(stdout)) throw new Error(`non-2xx responses:\n${stdout}`);
  return {
    requests: Number(/(\d+) requests in/.exec(stdout)?.[1]),
    requestsPerSec: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]),
    p50Ms: ms(/\n\s+50%\s+(\S+)/.exec(stdout)?.[1]),
    p99Ms: ms(/\n\s+99%\s+(\S+)/.exec(stdout)?.[1]),
  };
}

/** wrk as a child process (several run at once in the simultaneous rounds). */
function wrkAsync(url: string, script: string, connections: number, duration: number, pinCpu: number | null): Promise<WrkResult> {
  const args = ["-t1", `-c${connections}`, `-d${duration}s`, "--latency", "-s", script, `${url}/predict`];
  const child = pinCpu === null ? spawn("wrk", args) : spawn("taskset", ["-c", String(pinCpu), "wrk", ...args]);
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  return new Promise((resolve, reject) =>
    child.once("close", (code) => {
      if (code !== 0) reject(new Error(`wrk failed: ${err}`));
      else {
        try {
          resolve(parseWrk(out));
        } catch (e) {
          reject(e as Error);
        }
      }
    }),
  );
}

/** CPU nanoseconds of all threads of a process so far (schedstat: ns on CPU, no tick rounding). */
function cpuNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return ns;
}

/** utime + stime of /proc/<pid>/stat in seconds (clock ticks, 10 ms): process.cpuUsage's figure. */
export function statCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Quantile by linear interpolation (numpy's default). */
function quantile(a: readonly number[], q: number): number {
  const s = [...a].sort((x, y) => x - y);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  return s[lo] + (h - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]) - s[lo]);
}

/**
 * Median of the per-round ratios with a 95 % percentile-bootstrap interval (2,000 resamples,
 * seeded: reproducible). The rounds come in blocks, one per trio of server processes, so the
 * bootstrap is two-stage: blocks are drawn with replacement, then rounds within each drawn
 * block — the interval then includes the process-to-process spread (JIT and heap sizing
 * differ between two starts of the same server), not only the round-to-round one.
 */
function medianCi(blocks: readonly (readonly number[])[]): { median: number; lo: number; hi: number } {
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const groups = blocks.filter((b) => b.length > 0);
  const all = groups.flat();
  const medians = new Array<number>(2000);
  const sample: number[] = [];
  for (let b = 0; b < medians.length; b++) {
    sample.length = 0;
    for (let g = 0; g < groups.length; g++) {
      const group = groups.length === 1 ? groups[0] : groups[Math.floor(rand() * groups.length)];
      for (let i = 0; i < group.length; i++) sample.push(group[Math.floor(rand() * group.length)]);
    }
    medians[b] = quantile(sample, 0.5);
  }
  const r = (x: number) => +x.toFixed(3);
  return { median: r(quantile(all, 0.5)), lo: r(quantile(medians, 0.025)), hi: r(quantile(medians, 0.975)) };
}

type Ci = ReturnType<typeof medianCi>;

function verdictOf(ci: Ci): string {
  return ci.lo >= TARGET ? "met" : ci.hi < TARGET ? "missed" : "inconclusive";
}

/** One round's figures for one server. */
interface SideRound {
  requests: number;
  requestsPerSec: number;
  /** CPU ns of all the server's threads during the round (schedstat). */
  ns: number;
  p50Ms: number;
  p99Ms: number;
}

/** The rounds of one kind run on one trio of servers (a block), and what /metrics and /proc said around them. */
interface BlockRounds {
  rounds: Record<Side, SideRound>[];
  /** utime+stime seconds (/proc/<pid>/stat) over the block's rounds. */
  stat: Record<Side, number>;
  /** Minor (scavenge) and major GC seconds over the block's rounds, from the server's own nodejs_gc_duration_seconds. */
  gc: Record<Side, { minor: number; major: number; minorCount: number }>;
  /** V8's new space (both semi-spaces) at the end of the block, bytes. */
  newSpaceBytes: Record<Side, number>;
}

interface ShapeResult {
  shape: "closed" | "paced";
  /** Servers loaded one after the other (each alone on its core) or all three at once (sharing it). */
  simultaneous: boolean;
  rounds: number;
  blocks: number;
  durationSec: number;
  connections: number;
  offeredRatePerSec?: number;
  /** Median per side of requests/s, CPU µs per request, p50 and p99 latency. */
  median: Record<Side, { requestsPerSec: number; cpuUsPerRequest: number; p50Ms: number; p99Ms: number }>;
  /** Pooled over every round: Σ CPU / Σ requests, from schedstat and from /proc/<pid>/stat utime+stime. */
  pooledCpuUsPerRequest: Record<Side, { schedstat: number; stat: number }>;
  /** Scavenge time per request (µs), scavenges per 1,000 requests and the new space per block (MB), per side. */
  gc: Record<Side, { minorUsPerRequest: number; minorPer1000Requests: number; majorUsPerRequest: number; newSpaceMb: number[] }>;
  /** on vs off, and off2 vs off (A/A), per round: median and 95 % bootstrap interval. */
  /** onOverOff: mean of off and off2 over on; onVsOffOnly: off over on. */
  cpu: { onOverOff: Ci; onVsOffOnly: Ci; aa: Ci };
  throughput?: { onOverOff: Ci; aa: Ci };
  /** Per block (server trio): the median on/off CPU ratio, and A/A. */
  perBlock: { onOverOff: number; aa: number }[];
  verdict: string;
}

interface Scrape {
  minor: number;
  major: number;
  minorCount: number;
  newSpace: number;
}

/** GC totals and the new space's size from a server's /metrics (prom-client's default metrics). */
async function scrape(server: Server): Promise<Scrape> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = (re: RegExp) => {
    let sum = 0;
    for (const m of text.matchAll(re)) sum += Number(m[1]);
    return sum;
  };
  return {
    minor: value(/^nodejs_gc_duration_seconds_sum\{[^}]*kind="minor"[^}]*\} (\S+)$/gm),
    major: value(/^nodejs_gc_duration_seconds_sum\{[^}]*kind="(?:major|incremental)"[^}]*\} (\S+)$/gm),
    minorCount: value(/^nodejs_gc_duration_seconds_count\{[^}]*kind="minor"[^}]*\} (\S+)$/gm),
    newSpace: value(/^nodejs_heap_space_size_total_bytes\{[^}]*space="new"[^}]*\} (\S+)$/gm),
  };
}

async function runRounds(
  servers: Record<Side, Server>,
  script: string,
  o: { rounds: number; duration: number; connections: number; wrkCpu: number | null; print: boolean; simultaneous: boolean; label: string; rotate: number },
): Promise<BlockRounds> {
  const statStart = Object.fromEntries(SIDES.map((s) => [s, statCpuSeconds(servers[s].pid)])) as Record<Side, number>;
  const before = await Promise.all(SIDES.map((s) => scrape(servers[s])));
  const rounds: Record<Side, SideRound>[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const round: Partial<Record<Side, SideRound>> = {};
    const note = (side: Side, w: WrkResult, ns: number) =>
      (round[side] = { requests: w.requests, requestsPerSec: w.requestsPerSec, ns, p50Ms: w.p50Ms, p99Ms: w.p99Ms });
    if (o.simultaneous) {
      // All three loaded at once, sharing the one core: a disturbance hits every side in the same instant.
      // The load generators start in an order that rotates through the six permutations (a
      // side launched first is not always the same one).
      const order = PERMUTATIONS[(r + o.rotate) % PERMUTATIONS.length];
      const c0 = order.map((side) => cpuNs(servers[side].pid));
      const ws = await Promise.all(order.map((side) => wrkAsync(servers[side].url, script, o.connections, o.duration, o.wrkCpu)));
      order.forEach((side, i) => note(side, ws[i], cpuNs(servers[side].pid) - c0[i]));
    } else {
      for (const side of PERMUTATIONS[(r + o.rotate) % PERMUTATIONS.length]) {
        const { pid, url } = servers[side];
        const c0 = cpuNs(pid);
        const w = wrk(url, script, o.connections, o.duration, o.wrkCpu);
        note(side, w, cpuNs(pid) - c0);
      }
    }
    const done = round as Record<Side, SideRound>;
    rounds.push(done);
    if (o.print) {
      const us = (s: Side) => (done[s].ns / 1e3 / done[s].requests).toFixed(1);
      process.stderr.write(
        `  ${o.label} round ${r + 1}/${o.rounds}: req/s off ${Math.round(done.off.requestsPerSec)} on ${Math.round(done.on.requestsPerSec)} off2 ${Math.round(done.off2.requestsPerSec)}; ` +
          `CPU µs/req off ${us("off")} on ${us("on")} off2 ${us("off2")}\n`,
      );
    }
  }
  const after = await Promise.all(SIDES.map((s) => scrape(servers[s])));
  const bySide = <T>(f: (s: Side, i: number) => T) => Object.fromEntries(SIDES.map((s, i) => [s, f(s, i)])) as Record<Side, T>;
  return {
    rounds,
    stat: bySide((s) => statCpuSeconds(servers[s].pid) - statStart[s]),
    gc: bySide((_, i) => ({
      minor: after[i].minor - before[i].minor,
      major: after[i].major - before[i].major,
      minorCount: after[i].minorCount - before[i].minorCount,
    })),
    newSpaceBytes: bySide((_, i) => after[i].newSpace),
  };
}

function summarise(
  shape: "closed" | "paced",
  blocks: readonly BlockRounds[],
  o: { duration: number; connections: number; rate: number; simultaneous: boolean },
): ShapeResult {
  const rounds = blocks.flatMap((b) => b.rounds);
  const cpuUs = (r: Record<Side, SideRound>, s: Side) => r[s].ns / 1e3 / r[s].requests;
  const ratios = (f: (r: Record<Side, SideRound>) => number) => blocks.map((b) => b.rounds.map(f));
  // on against the mean of the two off servers (A/B/A): a slot effect that favours one of them
  // (the A/A ratio shows it) then does not decide the comparison. on vs off alone is printed too.
  const cpuOn = ratios((r) => (cpuUs(r, "off") + cpuUs(r, "off2")) / 2 / cpuUs(r, "on"));
  const cpuOnVsOff = ratios((r) => cpuUs(r, "off") / cpuUs(r, "on"));
  const cpuAa = ratios((r) => cpuUs(r, "off") / cpuUs(r, "off2"));
  const rpsOn = ratios((r) => (2 * r.on.requestsPerSec) / (r.off.requestsPerSec + r.off2.requestsPerSec));
  const rpsAa = ratios((r) => r.off2.requestsPerSec / r.off.requestsPerSec);
  const r1 = (x: number) => +x.toFixed(1);
  const r3 = (x: number) => +x.toFixed(3);
  const bySide = <T>(f: (s: Side) => T) => Object.fromEntries(SIDES.map((s) => [s, f(s)])) as Record<Side, T>;
  const requests = bySide((s) => rounds.reduce((a, r) => a + r[s].requests, 0));
  const cpu = { onOverOff: medianCi(cpuOn), onVsOffOnly: medianCi(cpuOnVsOff), aa: medianCi(cpuAa) };
  return {
    shape,
    simultaneous: o.simultaneous,
    rounds: rounds.length,
    blocks: blocks.length,
    durationSec: o.duration,
    connections: o.connections,
    ...(shape === "paced" ? { offeredRatePerSec: o.rate } : {}),
    median: bySide((s) => ({
      requestsPerSec: Math.round(
        quantile(
          rounds.map((r) => r[s].requestsPerSec),
          0.5,
        ),
      ),
      cpuUsPerRequest: r1(
        quantile(
          rounds.map((r) => cpuUs(r, s)),
          0.5,
        ),
      ),
      p50Ms: r3(
        quantile(
          rounds.map((r) => r[s].p50Ms),
          0.5,
        ),
      ),
      p99Ms: r3(
        quantile(
          rounds.map((r) => r[s].p99Ms),
          0.5,
        ),
      ),
    })),
    pooledCpuUsPerRequest: bySide((s) => ({
      schedstat: r1(rounds.reduce((a, r) => a + r[s].ns, 0) / 1e3 / requests[s]),
      stat: r1((blocks.reduce((a, b) => a + b.stat[s], 0) * 1e6) / requests[s]),
    })),
    gc: bySide((s) => ({
      minorUsPerRequest: r3((blocks.reduce((a, b) => a + b.gc[s].minor, 0) * 1e6) / requests[s]),
      minorPer1000Requests: r3((blocks.reduce((a, b) => a + b.gc[s].minorCount, 0) * 1000) / requests[s]),
      majorUsPerRequest: r3((blocks.reduce((a, b) => a + b.gc[s].major, 0) * 1e6) / requests[s]),
      newSpaceMb: blocks.map((b) => r1(b.newSpaceBytes[s] / 2 ** 20)),
    })),
    cpu,
    // Paced rounds offer the same rate to every server: their throughput ratio is 1 by design.
    ...(shape === "closed" ? { throughput: { onOverOff: medianCi(rpsOn), aa: medianCi(rpsAa) } } : {}),
    perBlock: blocks.map((_, i) => ({ onOverOff: r3(quantile(cpuOn[i], 0.5)), aa: r3(quantile(cpuAa[i], 0.5)) })),
    verdict: verdictOf(cpu.onOverOff),
  };
}

function printShape(r: ShapeResult): void {
  const ci = (c: Ci) => `${c.median} [${c.lo}–${c.hi}]`;
  const head =
    r.shape === "closed"
      ? `closed loop (wrk -t1 -c${r.connections} per server, as fast as the server answers)`
      : `paced (${r.connections} connections × one request per ${PACE_MS} ms ≈ ${r.offeredRatePerSec} req/s offered to each server)`;
  const when = r.simultaneous ? "all three servers loaded AT ONCE, sharing the core" : "one server at a time, rotating order";
  console.log(`  ${head}, ${when}; ${r.rounds} rounds × ${r.durationSec} s over ${r.blocks} server trio(s):`);
  for (const s of SIDES) {
    const m = r.median[s];
    const p = r.pooledCpuUsPerRequest[s];
    const g = r.gc[s];
    console.log(
      `    ${s.padEnd(4)}: ${m.requestsPerSec} req/s, CPU ${m.cpuUsPerRequest} µs/request (pooled: schedstat ${p.schedstat}, /proc stat ${p.stat}), p50 ${m.p50Ms} ms, p99 ${m.p99Ms} ms; ` +
        `scavenges ${g.minorPer1000Requests}/1000 req, ${g.minorUsPerRequest} µs/req, new space ${g.newSpaceMb.join("/")} MB`,
    );
  }
  if (r.throughput)
    console.log(`    throughput on/mean(off, off2) ${ci(r.throughput.onOverOff)}   A/A off2/off ${ci(r.throughput.aa)}   (median [95 % interval])`);
  console.log(
    `    CPU per request as throughput, mean(off, off2)/on ${ci(r.cpu.onOverOff)} (off/on alone ${ci(r.cpu.onVsOffOnly)})   A/A off/off2 ${ci(r.cpu.aa)}   → ${r.verdict} (target ≥ ${TARGET})`,
  );
  if (r.blocks > 1)
    console.log(`    per server trio, median mean(off, off2)/on (A/A off/off2): ${r.perBlock.map((b) => `${b.onOverOff} (${b.aa})`).join(", ")}`);
}

/** The in-process figures: the fast path's hook (recordScores) per single text vs scoring it, and one drift tick. */
async function inProcessFigures(
  model: SentimentModel,
  texts: string[],
): Promise<{ predictUsPerText: number; recordUsPerText: number; tickMsWith256Texts: number }> {
  const monitor = new ModelMonitor(resolveMonitoringConfig({ intervalMs: 0 }, {}), new Registry());
  const loaded = { model, name: "bench", version: "1" };
  const singles = texts.map((t) => [t]);
  const k = model.classes.length;
  // What the serving fast path hands the monitor: typed probabilities and the best class per text.
  const scored = singles.map((t) => {
    const proba = model.predictProba(t);
    let b = 0;
    for (let c = 1; c < k; c++) if (proba[c] > proba[b]) b = c;
    return { proba, best: Uint32Array.of(b) };
  });
  const n = singles.length;
  const hook = (i: number) => monitor.recordScores(loaded, scored[i % n].proba, k, scored[i % n].best, singles[i % n]);
  for (let i = 0; i < 2000; i++) hook(i); // warm-up
  let t0 = performance.now();
  for (let i = 0; i < 20_000; i++) model.predictProba(singles[i % n]);
  const predictUs = ((performance.now() - t0) * 1000) / 20_000;
  t0 = performance.now();
  for (let i = 0; i < 200_000; i++) hook(i);
  const recordUs = ((performance.now() - t0) * 1000) / 200_000;
  t0 = performance.now();
  for (let i = 0; i < 20; i++) {
    for (let j = 0; j < 256; j++) hook(j);
    await monitor.tick();
  }
  const tickMs = (performance.now() - t0) / 20;
  return { predictUsPerText: +predictUs.toFixed(2), recordUsPerText: +recordUs.toFixed(3), tickMsWith256Texts: +tickMs.toFixed(2) };
}

export interface MonitoringAbResult {
  loadAverage: { before: string; after: string };
  pinned: boolean;
  /** The semi-space size every server ran with (MB), or null for V8's own sizing. */
  semiSpaceMb: number | null;
  sequential: ShapeResult | null;
  closed: ShapeResult;
  paced: ShapeResult | null;
  inProcess: { predictUsPerText: number; recordUsPerText: number; tickMsWith256Texts: number; hookShareOfRequestCpu: number } | null;
  verdict: string;
}

/** The A/B/A run described at the top of this file; returns (and by default prints) its summary. */
export async function runMonitoringAB(options: MonitoringAbOptions = {}): Promise<MonitoringAbResult> {
  const duration = options.duration ?? 1;
  const rounds = options.rounds ?? 48;
  const sequentialRounds = options.sequentialRounds ?? Math.min(12, Math.ceil(rounds / 2));
  const connections = options.connections ?? 32;
  const rate = options.rate ?? 1000;
  const pacedRounds = options.pacedRounds ?? Math.ceil(rounds / 3);
  const warmup = options.warmup ?? 8;
  const blocks = Math.max(1, Math.min(options.blocks ?? 4, rounds));
  const semiSpaceMb = options.semiSpaceMb === undefined ? 16 : options.semiSpaceMb || null;
  const print = options.print ?? true;
  if (spawnSync("wrk", ["--version"]).error !== undefined) throw new Error("wrk is not installed (apt-get install -y wrk)");
  const pinned = (options.pin ?? true) && cpus().length >= 2 && hasTaskset();
  const serverCpu = pinned ? 1 : null;
  const wrkCpu = pinned ? 0 : null;
  const nodeFlags = semiSpaceMb === null ? [] : [`--min-semi-space-size=${semiSpaceMb}`, `--max-semi-space-size=${semiSpaceMb}`];
  const cli = options.cli ?? (await currentCli()).main;
  const dir = mkdtempSync(join(tmpdir(), "polarity-bench-monitoring-"));
  let servers: Partial<Record<Side, Server>> = {};
  try {
    const { texts, labels } = loadUciSentences();
    const model = SentimentModel.train(texts.slice(0, 2400), labels.slice(0, 2400), {
      features: { kind: "tfidf", ngramRange: [1, 2] },
      model: { kind: "logreg", C: 1 },
    });
    const bundle = model.toJSON();
    bundle.metadata = { referenceProfile: buildReferenceProfile(model, texts.slice(2400), labels.slice(2400)) };
    const modelFile = join(dir, "model.json");
    writeFileSync(modelFile, JSON.stringify(bundle));
    const held = texts.slice(2400, 2600);
    const bodies = held.map((text) => JSON.stringify({ text }));
    const luaBodies = `local bodies = {${bodies.map((b) => `[==[${b}]==]`).join(",")}}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[i])
end
`;
    const closedScript = join(dir, "closed.lua");
    writeFileSync(closedScript, luaBodies);
    const pacedScript = join(dir, "paced.lua");
    writeFileSync(pacedScript, `${luaBodies}delay = function()\n  return ${PACE_MS}\nend\n`);

    const inProcess = options.inProcess === false ? null : await inProcessFigures(model, held);
    if (inProcess && print)
      console.log(
        `In process: scoring ${inProcess.predictUsPerText} µs/text, the monitor's hook (recordScores) ${inProcess.recordUsPerText} µs/text, one drift tick with 256 texts to tokenise ${inProcess.tickMsWith256Texts} ms (every 2 s, off the request path)`,
      );

    const loadBefore = load1();
    if (print)
      console.log(
        `Monitoring overhead A/B/A: three single-process servers (off, on, off2 = A/A control)${pinned ? " pinned to cpu 1, wrk to cpu 0 (taskset)" : " (not pinned)"}, ` +
          `${blocks} fresh trio(s) of server processes; ${semiSpaceMb === null ? "V8's own young-generation sizing" : `young generation fixed at ${semiSpaceMb} MB semi-spaces for all three (node ${nodeFlags.join(" ")})`}; load average ${loadBefore}`,
      );
    const parts = (total: number, b: number) => Math.floor(total / blocks) + (b < total % blocks ? 1 : 0);
    const runs = { sequential: [] as BlockRounds[], closed: [] as BlockRounds[], paced: [] as BlockRounds[] };
    const pacedConnections = Math.max(1, Math.round((rate * PACE_MS) / 1000));
    const common = { duration, connections, wrkCpu, print };
    for (let b = 0; b < blocks; b++) {
      const rotate = b;
      // A fresh trio per block: process-level luck (JIT decisions, heap sizing) is averaged over blocks.
      // Started one after the other (not at once: start-up would otherwise race on the one core).
      servers = {};
      // In an order that changes from trio to trio, so no side is always the first started.
      for (const side of PERMUTATIONS[b % PERMUTATIONS.length])
        servers[side] = await startServer(cli, modelFile, side === "on" ? "on" : "off", serverCpu, nodeFlags);
      const all = servers as Record<Side, Server>;
      const probe = async (side: Side) =>
        (await (await fetch(`${all[side].url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: bodies[0] })).json()) as {
          id?: string;
        };
      if (!(await probe("on")).id) throw new Error("monitoring on but the prediction has no id");
      if ((await probe("off")).id !== undefined || (await probe("off2")).id !== undefined) throw new Error("monitoring off but the prediction has an id");
      // Warm-up, discarded: the JIT, and the monitor's first drift ticks (every 2 s), which cost
      // 5–20 ms of CPU each while the tick's code is compiled and its tokeniser meets each word
      // for the first time, then about 1 ms (2026-12-01, per-tick CPU of servers under this load).
      // All three at once, as the deciding rounds run, so the three reach the same steady state.
      await Promise.all(SIDES.map((side) => wrkAsync(all[side].url, closedScript, connections, warmup, wrkCpu)));
      const label = blocks > 1 ? ` [trio ${b + 1}/${blocks}]` : "";
      // Each server alone on the core: the throughput a user would see, but successive rounds
      // see different machine load (other jobs), which widens the ratios' spread.
      const seq = parts(sequentialRounds, b);
      if (seq > 0) runs.sequential.push(await runRounds(all, closedScript, { ...common, rotate, rounds: seq, simultaneous: false, label: `closed${label}` }));
      // All three at once on the same core: whatever else runs on the machine hits the three in
      // the same instants, so the per-round ratios of CPU per request are far tighter.
      runs.closed.push(
        await runRounds(all, closedScript, { ...common, rotate, rounds: parts(rounds, b), simultaneous: true, label: `closed (simultaneous)${label}` }),
      );
      const paced = rate > 0 ? parts(pacedRounds, b) : 0;
      if (paced > 0)
        runs.paced.push(
          await runRounds(all, pacedScript, {
            ...common,
            rotate,
            connections: pacedConnections,
            rounds: paced,
            simultaneous: true,
            label: `paced (simultaneous)${label}`,
          }),
        );
      await Promise.all(Object.values(servers).map((s) => stopServer(s.child)));
      servers = {};
    }
    const sequential = runs.sequential.length ? summarise("closed", runs.sequential, { duration, connections, rate, simultaneous: false }) : null;
    const closed = summarise("closed", runs.closed, { duration, connections, rate, simultaneous: true });
    const paced = runs.paced.length ? summarise("paced", runs.paced, { duration, connections: pacedConnections, rate, simultaneous: true }) : null;
    if (print) for (const r of [sequential, closed, paced]) if (r) printShape(r);
    const result: MonitoringAbResult = {
      loadAverage: { before: loadBefore, after: load1() },
      pinned,
      semiSpaceMb,
      sequential,
      closed,
      paced,
      inProcess: inProcess ? { ...inProcess, hookShareOfRequestCpu: +(inProcess.recordUsPerText / closed.median.off.cpuUsPerRequest).toFixed(4) } : null,
      // The target is about throughput: the CPU per request of a saturated server (closed loop,
      // simultaneous: the tightest of the three) decides; the other two are printed beside it.
      verdict: closed.verdict,
    };
    if (print) {
      if (result.inProcess)
        console.log(
          `  the hook's in-process cost over a request's CPU (monitoring off, closed loop): ${inProcess!.recordUsPerText} / ${closed.median.off.cpuUsPerRequest} µs = ${(100 * result.inProcess.hookShareOfRequestCpu).toFixed(2)} %`,
        );
      // The issue's own words, from the deciding rounds (closed loop, all three at once).
      const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
      const tp = closed.throughput!;
      console.log(
        `  single-text throughput with monitoring on vs off (issue 16, target within 5 %): ${pct(tp.onOverOff.median)} of off (mean of the two off servers) [95 % interval ${pct(tp.onOverOff.lo)}–${pct(tp.onOverOff.hi)}], ` +
          `A/A ${pct(tp.aa.median)} [${pct(tp.aa.lo)}–${pct(tp.aa.hi)}]; CPU per request mean(off, off2)/on ${closed.cpu.onOverOff.median} [${closed.cpu.onOverOff.lo}–${closed.cpu.onOverOff.hi}] → ${result.verdict}`,
      );
      const aaHalf = (closed.cpu.aa.hi - closed.cpu.aa.lo) / 2;
      console.log(
        `  resolution reached (half-width of the A/A interval, closed loop, simultaneous): ±${(100 * aaHalf).toFixed(1)} %; verdict: ${result.verdict}; load average after ${result.loadAverage.after}`,
      );
    }
    return result;
  } finally {
    await Promise.all(Object.values(servers).map((s) => stopServer(s.child)));
    rmSync(dir, { recursive: true, force: true });
  }
}

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number ≥ 0`);
  return v;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const json = process.argv.includes("--json");
  runMonitoringAB({
    duration: arg("duration"),
    rounds: arg("rounds"),
    sequentialRounds: arg("sequential-rounds"),
    blocks: arg("blocks"),
    semiSpaceMb: arg("semi-space"),
    connections: arg("connections"),
    rate: arg("rate"),
    pacedRounds: arg("paced-rounds"),
    warmup: arg("warmup"),
    pin: !process.argv.includes("--no-pin"),
    print: !json,
  })
    .then((r) => {
      if (json) console.log(JSON.stringify(r));
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
