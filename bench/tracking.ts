/**
 * Tracking benchmark: log-batch throughput (metrics/s) in-process and over HTTP, and
 * search latency over 10,000 runs with a metric filter and an order_by.
 *
 *   npm run bench:tracking
 *   npx tsx bench/tracking.ts --metrics 200000 --runs 10000
 *
 * In-process: TrackingClient on the embedded SQLite store (WAL, synchronous=NORMAL), batches of
 * 1,000 metrics (MLflow's per-request limit). HTTP: a `polarity server` child process on
 * 127.0.0.1 and a TrackingClient in this process, 1 and 4 batches in flight. Search: 10,000
 * runs, each with 3 metrics, 2 params and a tag; query = metric filter + param filter +
 * `metrics.acc DESC`, median of 25 after 3 warm-ups, page sizes 100 and 1,000, in-process and
 * through a `polarity server` child process on the same database.
 * Targets from the issue: ≥ 50,000 metrics/s in-process, ≥ 20,000 metrics/s over HTTP,
 * search < 100 ms.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TrackingClient } from "../src/tracking/client.js";
import { openSqliteStores } from "../src/tracking/store/open.js";
import type { Metric } from "../src/tracking/types.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const TOTAL_METRICS = arg("metrics", 200_000);
const SEARCH_RUNS = arg("runs", 10_000);
const BATCH = 1000;

function makeBatches(total: number): Metric[][] {
  const batches: Metric[][] = [];
  const t0 = 1_700_000_000_000;
  for (let b = 0; b < total / BATCH; b++) {
    const batch: Metric[] = new Array(BATCH);
    for (let i = 0; i < BATCH; i++) {
      const n = b * BATCH + i;
      batch[i] = { key: `m${n % 10}`, value: Math.sin(n), timestamp: t0 + n, step: n };
    }
    batches.push(batch);
  }
  return batches;
}

async function logThroughput(client: TrackingClient, inFlight: number): Promise<number> {
  const exp = await client.getOrCreateExperiment("bench");
  const runId = (await client.createRun(exp)).info.run_id;
  const batches = makeBatches(TOTAL_METRICS);
  await client.logBatch(runId, { metrics: batches[0].map((m) => ({ ...m, key: "warmup" })) });
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      await client.logBatch(runId, { metrics: batch });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - start) / 1000;
  return TOTAL_METRICS / seconds;
}

async function startServerProcess(dir: string, dbPath = join(dir, "server.db")): Promise<{ url: string; child: ChildProcess }> {
  const main = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", main, "server", "--port", "0", "--backend-store-uri", `sqlite:///${dbPath}`, "--artifacts-destination", join(dir, "art")],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { url, child };
}

async function seedSearchRuns(dbPath: string): Promise<string> {
  const stores = openSqliteStores(dbPath);
  const store = stores.tracking;
  const exp = await store.createExperiment("search-bench");
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < SEARCH_RUNS; i++) {
    const runId = (
      await store.createRun({ experimentId: exp, startTime: t0 + i, runName: `run-${i}`, tags: [{ key: "team", value: i % 3 ? "nlp" : "vision" }] })
    ).info.run_id;
    await store.logBatch(
      runId,
      [
        { key: "acc", value: rand(), timestamp: t0, step: 0 },
        { key: "f1", value: rand(), timestamp: t0, step: 0 },
        { key: "loss", value: rand() * 2, timestamp: t0, step: 0 },
      ],
      [
        { key: "model", value: i % 2 ? "svm" : "logreg" },
        { key: "C", value: String(i % 10) },
      ],
      [],
    );
  }
  await stores.close();
  return exp;
}

async function searchLatency(client: TrackingClient, exp: string, maxResults: number): Promise<{ medianMs: number; hits: number }> {
  const query = { experimentIds: [exp], filter: "metrics.acc > 0.5 AND params.model = 'svm'", orderBy: ["metrics.acc DESC"], maxResults };
  let hits = 0;
  for (let i = 0; i < 3; i++) hits = (await client.searchRuns(query)).runs.length;
  const times: number[] = [];
  for (let i = 0; i < 25; i++) {
    const t = performance.now();
    await client.searchRuns(query);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)], hits };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "polarity-bench-tracking-"));
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, node ${process.version}, load average at start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log("note: other processes share these cores; figures taken under that load.\n");
  let server: ChildProcess | undefined;
  let searchServerChild: ChildProcess | undefined;
  try {
    const local = TrackingClient.open({ trackingUri: `sqlite:///${join(dir, "local.db")}` });
    const inProc = await logThroughput(local, 1);
    console.log(`log-batch in-process: ${fmt(inProc)} metrics/s (${fmt(TOTAL_METRICS)} metrics, batches of ${BATCH})`);

    const started = await startServerProcess(dir);
    server = started.child;
    const remote = TrackingClient.open({ trackingUri: started.url, maxRetries: 0 });
    const http1 = await logThroughput(remote, 1);
    console.log(`log-batch over HTTP:  ${fmt(http1)} metrics/s (1 request in flight)`);
    const http4 = await logThroughput(remote, 4);
    console.log(`log-batch over HTTP:  ${fmt(http4)} metrics/s (4 requests in flight)`);

    const seedStart = performance.now();
    const searchDb = join(dir, "search.db");
    const exp = await seedSearchRuns(searchDb);
    console.log(`\nseeded ${fmt(SEARCH_RUNS)} runs (3 metrics, 2 params, 1 tag + runName each) in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
    const searchClient = TrackingClient.open({ trackingUri: `sqlite:///${searchDb}` });
    for (const maxResults of [100, 1000]) {
      const r = await searchLatency(searchClient, exp, maxResults);
      console.log(
        `search in-process, filter "metrics.acc > 0.5 AND params.model = 'svm'" order "metrics.acc DESC", max_results ${maxResults}: median ${r.medianMs.toFixed(1)} ms (${r.hits} runs returned)`,
      );
    }
    await searchClient.close();
    await local.close();

    const searchServer = await startServerProcess(dir, searchDb);
    searchServerChild = searchServer.child;
    const searchRemote = TrackingClient.open({ trackingUri: searchServer.url, maxRetries: 0 });
    for (const maxResults of [100, 1000]) {
      const r = await searchLatency(searchRemote, exp, maxResults);
      console.log(`search over HTTP, same query, max_results ${maxResults}: median ${r.medianMs.toFixed(1)} ms (${r.hits} runs returned)`);
    }
  } finally {
    for (const child of [server, searchServerChild]) {
      if (!child) continue;
      const exited = new Promise((r) => child.on("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
