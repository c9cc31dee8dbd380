/**
 * npm run bench:monitoring — the cost of model monitoring on the serving hot path:
 * single-text POST /predict throughput of `polarity serve` with monitoring on (drift windows,
 * prediction ids, the timer tokenising sampled texts; the model carries a reference profile)
 * against monitoring off (POLARITY_MONITORING=off), side by side in alternating rounds so
 * machine noise hits both alike. Load: wrk at 32 connections on 127.0.0.1. Before that, in
 * process: the per-request hook (ModelMonitor.record) timed against model.predict of the same
 * single texts, and one timer tick — a ratio a busy machine does not blur as much.
 *   --duration <s> (default 5)  --rounds <n> (default 3)  --connections <n> (default 32)  --json
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadUciSentences } from "../src/data/builtin.js";
import { SentimentModel } from "../src/models/sentiment-model.js";
import { buildReferenceProfile } from "../src/monitoring/profile.js";
import { resolveMonitoringConfig } from "../src/monitoring/config.js";
import { ModelMonitor } from "../src/monitoring/monitor.js";
import { Registry } from "prom-client";
import { freePort } from "../test/support/free-port.js";

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

function wrk(url: string, script: string, connections: number, duration: number): number {
  const out = spawnSync("wrk", ["-t2", `-c${connections}`, `-d${duration}s`, "-s", script, `${url}/predict`], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`wrk failed: ${out.stderr}`);
  if (/Non-2xx or 3xx responses: \d+/.test(out.stdout)) throw new Error(`non-2xx responses:\n${out.stdout}`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out.stdout)?.[1]);
}

async function main(): Promise<void> {
  const duration = arg("duration", 5);
  const rounds = arg("rounds", 3);
  const connections = arg("connections", 32);
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
    const results: Record<"on" | "off", number[]> = { on: [], off: [] };
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first so a trend in the machine's load does not favour one.
      for (const mode of r % 2 === 0 ? (["off", "on"] as const) : (["on", "off"] as const)) {
        const { child, url } = await startServer(modelFile, mode);
        try {
          wrk(url, script, connections, Math.max(1, Math.floor(duration / 2))); // warm-up (JIT), discarded
          results[mode].push(wrk(url, script, connections, duration));
          if (mode === "on") {
            const ids = (await (
              await fetch(`${url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: bodies[0] })
            ).json()) as { id?: string };
            if (!ids.id) throw new Error("monitoring on but the prediction has no id");
          }
        } finally {
          await stopServer(child);
        }
      }
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
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
      requestsPerSec: { off: results.off.map(Math.round), on: results.on.map(Math.round) },
      median: { off: Math.round(median(results.off)), on: Math.round(median(results.on)) },
      onOverOff: +(median(results.on) / median(results.off)).toFixed(3),
      inProcess: micro,
    };
    if (json) console.log(JSON.stringify(summary));
    else {
      console.log("Monitoring overhead: single-text POST /predict, wrk -c%d, %d s × %d rounds, 1 process", connections, duration, rounds);
      console.log(`  load average before: ${summary.loadAverage.before}  after: ${summary.loadAverage.after}`);
      console.log(`  monitoring off: ${summary.requestsPerSec.off.join(", ")} req/s (median ${summary.median.off})`);
      console.log(`  monitoring on:  ${summary.requestsPerSec.on.join(", ")} req/s (median ${summary.median.on})`);
      console.log(`  on / off: ${summary.onOverOff} (target ≥ 0.95)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
