/**
 * npm run bench:monitoring — the cost of model monitoring on the serving hot path:
 * single-text POST /predict throughput of `polarity serve` with monitoring on (drift windows,
 * prediction ids, the timer tokenising sampled texts; the model carries a reference profile)
 * against monitoring off (POLARITY_MONITORING=off): both servers up at once, taking turns under
 * wrk (127.0.0.1) in short alternating rounds. Each round gives two on/off throughput ratios:
 * requests/s (wall clock), and the inverse ratio of the server's CPU time per request (from
 * /proc/<pid>/stat). A single-process server saturated by wrk serves 1 / (CPU per request), so
 * on a quiet machine the two agree; on shared cores only the second leaves out the time other
 * jobs took, so the verdict (median and quartiles against the 0.95 target) reads it and both
 * are printed. Before that, in process: the per-request
 * hook (ModelMonitor.record) timed against model.predict of the same single texts, and one
 * timer tick — a ratio a busy machine does not blur as much.
 *   --duration <s> per round and side (default 1)  --rounds <n> (default 40)  --connections <n>
 *   (default 32)  --threads <n> wrk threads (default 1)  --warmup <s> (default 3)  --json
 *   --aa: both servers with monitoring off, to show the bench's own bias and spread
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadUciSentences } from "../src/data/builtin.js";
import { SentimentModel } from "../src/models/sentiment-model.js";
import { buildReferenceProfile } from "../src/monitoring/profile.js";
import { resolveMonitoringConfig } from "../src/monitoring/config.js";
import { ModelMonitor } from "../src/monitoring/monitor.js";
import { Registry } from "prom-client";
import { freePort } from "../test/support/free-port.js";

/** The issue's target: single-text throughput with monitoring on within 5 % of monitoring off. */
const TARGET = 0.95;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
}

async function startServer(model: string, monitoring: "on" | "off"): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "serve", "--model", model, "--port", String(port), "--log-level", "warn", "--poll-interval", "0"],
    {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, POLARITY_MONITORING: monitoring },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 1200; i++) {
    if (child.exitCode !== null) throw new Error("the server exited during start-up");
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) return { child, url };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the server did not become ready in 60 s");
}

async function stopServer(child: ChildProcess): Promise<void> {
  const done = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await done;
}

interface WrkResult {
  requestsPerSec: number;
  requests: number;
}

function wrk(url: string, script: string, connections: number, threads: number, duration: number): WrkResult {
  const out = spawnSync("wrk", [`-t${threads}`, `-c${connections}`, `-d${duration}s`, "-s", script, `${url}/predict`], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`wrk failed: ${out.stderr}`);
  if (/Non-2xx or 3xx responses: \d+/.test(out.stdout)) throw new Error(`non-2xx responses:\n${out.stdout}`);
  return { requestsPerSec: Number(/Requests\/sec:\s+([\d.]+)/.exec(out.stdout)?.[1]), requests: Number(/(\d+) requests in/.exec(out.stdout)?.[1]) };
}

/**
 * CPU seconds a process has used so far, all threads: the sum of /proc/<pid>/task/<tid>/schedstat
 * (nanoseconds on CPU), so rounds of a second resolve well below 1 %. The server's threads (main,
 * libuv pool, V8 helpers) live as long as it does, so none of their time is lost to an exit.
 */
function cpuSeconds(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
  return ns / 1e9;
}

async function main(): Promise<void> {
  const duration = arg("duration", 1);
  const rounds = arg("rounds", 40);
  const connections = arg("connections", 32);
  // One wrk thread leaves the second core to the server (each server is one process).
  const threads = arg("threads", 1);
  const warmup = arg("warmup", 3);
  const json = process.argv.includes("--json");
  if (spawnSync("wrk", ["--version"]).error !== undefined) throw new Error("wrk is not installed (apt-get install -y wrk)");
  const dir = mkdtempSync(join(tmpdir(), "polarity-bench-monitoring-"));
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
    const script = join(dir, "single.lua");
    const bodies = texts.slice(2400, 2600).map((text) => JSON.stringify({ text }));
    writeFileSync(
      script,
      `local bodies = {${bodies.map((b) => `[==[${b}]==]`).join(",")}}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[i])
end
`,
    );
    // In process: hook cost per single-text request vs the model's own cost, and one tick.
    const monitor = new ModelMonitor(resolveMonitoringConfig({ intervalMs: 0 }, {}), new Registry());
    const loaded = { model, name: "bench", version: "1" };
    const singles = texts.slice(2400, 2600).map((t) => [t]);
    const predictions = singles.map((t) => model.predict(t));
    for (let i = 0; i < 2000; i++) monitor.record(loaded, predictions[i % 200], singles[i % 200]); // warm-up
    let t0 = performance.now();
    for (let i = 0; i < 20_000; i++) model.predict(singles[i % 200]);
    const predictUs = ((performance.now() - t0) * 1000) / 20_000;
    t0 = performance.now();
    for (let i = 0; i < 200_000; i++) monitor.record(loaded, predictions[i % 200], singles[i % 200]);
    const recordUs = ((performance.now() - t0) * 1000) / 200_000;
    t0 = performance.now();
    for (let i = 0; i < 20; i++) {
      for (let j = 0; j < 256; j++) monitor.record(loaded, predictions[j % 200], singles[j % 200]);
      await monitor.tick();
    }
    const tickMs = (performance.now() - t0) / 20;
    const micro = {
      predictUsPerText: +predictUs.toFixed(2),
      recordUsPerText: +recordUs.toFixed(3),
      hookShareOfPredict: +(recordUs / predictUs).toFixed(4),
      tickMsWith256Texts: +tickMs.toFixed(2),
    };
    if (!json)
      console.log(
        `In process: model.predict ${micro.predictUsPerText} µs/text, monitor.record ${micro.recordUsPerText} µs/text (${(100 * micro.hookShareOfPredict).toFixed(2)} % of predict), one tick with 256 texts to tokenise ${micro.tickMsWith256Texts} ms (every 2 s, off the request path)`,
      );

    const loadBefore = loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
    // Both servers run for the whole bench and take turns under load, in short alternating
    // rounds (which goes first alternates too): machine noise — other jobs on the shared cores,
    // a trend in the load — lands on both sides of each round alike, so the per-round ratios
    // are what the verdict reads (their median and quartiles), not absolute figures.
    // --aa: both servers with monitoring off (an A/A run), to see the bench's own bias and noise.
    const aa = process.argv.includes("--aa");
    const servers = { off: await startServer(modelFile, "off"), on: await startServer(modelFile, aa ? "off" : "on") };
    const results: Record<"on" | "off", number[]> = { on: [], off: [] };
    const cpuUs: Record<"on" | "off", number[]> = { on: [], off: [] };
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    try {
      const ids = (await (
        await fetch(`${servers.on.url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: bodies[0] })
      ).json()) as { id?: string };
      if (!aa && !ids.id) throw new Error("monitoring on but the prediction has no id");
      for (const mode of ["off", "on"] as const) wrk(servers[mode].url, script, connections, threads, warmup); // JIT warm-up, discarded
      for (let r = 0; r < rounds; r++) {
        const rps: Partial<Record<"on" | "off", number>> = {};
        const cpu: Partial<Record<"on" | "off", number>> = {};
        for (const mode of r % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) {
          const pid = servers[mode].child.pid!;
          const c0 = cpuSeconds(pid);
          const w = wrk(servers[mode].url, script, connections, threads, duration);
          cpu[mode] = ((cpuSeconds(pid) - c0) * 1e6) / w.requests;
          rps[mode] = w.requestsPerSec;
          results[mode].push(w.requestsPerSec);
          cpuUs[mode].push(cpu[mode]);
        }
        ratios.push(rps.on! / rps.off!);
        // Throughput a saturated single-process server can reach is 1 / (CPU per request): the
        // ratio of CPU per request is the throughput ratio without the time other jobs take.
        cpuRatios.push(cpu.off! / cpu.on!);
        if (!json)
          process.stderr.write(
            `  round ${r + 1}/${rounds}: req/s off ${Math.round(rps.off!)}, on ${Math.round(rps.on!)} (on/off ${(rps.on! / rps.off!).toFixed(3)}); ` +
              `CPU µs/request off ${cpu.off!.toFixed(0)}, on ${cpu.on!.toFixed(0)} (off/on ${(cpu.off! / cpu.on!).toFixed(3)})\n`,
          );
      }
    } finally {
      await Promise.all([stopServer(servers.off.child), stopServer(servers.on.child)]);
    }
    const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
    // Quantile by linear interpolation (numpy's default), so quartiles of 10 rounds are stable.
    const quantile = (a: number[], q: number): number => {
      const s = sorted(a);
      const h = (s.length - 1) * q;
      const lo = Math.floor(h);
      return s[lo] + (h - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]) - s[lo]);
    };
    const spread = (a: number[]) => ({ median: +quantile(a, 0.5).toFixed(3), q1: +quantile(a, 0.25).toFixed(3), q3: +quantile(a, 0.75).toFixed(3) });
    const ratio = spread(ratios);
    const cpuRatio = spread(cpuRatios);
    // Met when the lower quartile of the per-round ratios clears 0.95, missed when the upper
    // quartile is below it; in between the noise is wider than the effect. The verdict reads
    // the CPU-per-request ratio: on shared cores, requests/s also measure what other jobs took.
    const verdictOf = (r: { q1: number; q3: number }) =>
      r.q1 >= TARGET ? "met" : r.q3 < TARGET ? "missed" : "inconclusive (rerun with more --rounds on a quieter machine)";
    const verdict = verdictOf(cpuRatio);
    const summary = {
      loadAverage: {
        before: loadBefore,
        after: loadavg()
          .map((l) => l.toFixed(2))
          .join(" "),
      },
      durationSec: duration,
      rounds,
      connections,
      wrkThreads: threads,
      requestsPerSec: { off: results.off.map(Math.round), on: results.on.map(Math.round) },
      median: { off: Math.round(quantile(results.off, 0.5)), on: Math.round(quantile(results.on, 0.5)) },
      onOverOff: ratio,
      cpuUsPerRequest: { off: cpuUs.off.map(Math.round), on: cpuUs.on.map(Math.round) },
      cpuMedian: { off: Math.round(quantile(cpuUs.off, 0.5)), on: Math.round(quantile(cpuUs.on, 0.5)) },
      cpuOffOverOn: cpuRatio,
      // The hook's own cost (in process, above) as a share of a whole request's CPU with monitoring
      // off: the overhead the HTTP rounds try to see, from two figures noise blurs far less.
      hookShareOfRequestCpu: +(micro.recordUsPerText / quantile(cpuUs.off, 0.5)).toFixed(4),
      // The least-disturbed round of each side (other jobs only ever add time): timeit's minimum.
      cpuBestOffOverOn: +(Math.min(...cpuUs.off) / Math.min(...cpuUs.on)).toFixed(3),
      wallClockVerdict: verdictOf(ratio),
      target: TARGET,
      verdict,
      inProcess: micro,
    };
    if (json) console.log(JSON.stringify(summary));
    else {
      console.log(
        `Monitoring overhead${aa ? " — A/A RUN: both servers have monitoring OFF" : ""}: single-text POST /predict, wrk -t%d -c%d, %d s × %d alternating rounds, two servers (1 process each) side by side`,
        threads,
        connections,
        duration,
        rounds,
      );
      console.log(`  load average before: ${summary.loadAverage.before}  after: ${summary.loadAverage.after}`);
      console.log(`  monitoring off: median ${summary.median.off} req/s, ${summary.cpuMedian.off} CPU µs/request`);
      console.log(`  monitoring on:  median ${summary.median.on} req/s, ${summary.cpuMedian.on} CPU µs/request`);
      console.log(`  throughput on/off per round, wall clock: median ${ratio.median}, quartiles ${ratio.q1}–${ratio.q3}: ${summary.wallClockVerdict}`);
      console.log(
        `  throughput on/off per round, from CPU per request (off/on): median ${cpuRatio.median}, quartiles ${cpuRatio.q1}–${cpuRatio.q3} (target ≥ ${TARGET}): ${verdict}`,
      );
      console.log(
        `  the hook's in-process cost over a request's CPU (monitoring off, median): ${micro.recordUsPerText} / ${summary.cpuMedian.off} µs = ${(100 * summary.hookShareOfRequestCpu).toFixed(2)} %`,
      );
      console.log(
        `  least-disturbed rounds: CPU per request off ${Math.round(Math.min(...cpuUs.off))} µs, on ${Math.round(Math.min(...cpuUs.on))} µs (off/on ${summary.cpuBestOffOverOn})`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
