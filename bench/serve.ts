/**
 * Load benchmark of the model server (`npm run bench:serve`).
 *
 * Trains the default model (TF-IDF 1–2-grams + logistic regression on the 3,000 built-in UCI
 * sentences), writes it to a temp file, and for 1 process and for `--workers 2`:
 *   - starts `polarity serve` as a real subprocess and times start → first /readyz 200;
 *   - single texts: POST /predict {"text"} at 32 connections → requests/s, p50, p99;
 *   - batches: POST /predict {"texts": [1,000 texts]} → texts/s.
 * The load generator is Debian's `wrk` when installed (a C client: it takes less CPU from
 * the server on a 2-core machine), else autocannon in-process. Options:
 *   --duration <s> (default 10)  --connections <n> (default 32)  --batch-connections <n> (default 4)
 *   --tool wrk|autocannon        --workers 1,2                   --json
 * Run `npm run build` first to time the compiled CLI (dist/); otherwise the CLI runs via tsx,
 * whose start-up transpiles TypeScript and so is slower.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { loadUciSentences } from "../src/data/builtin.js";
import { SentimentModel } from "../src/models/sentiment-model.js";
import { freePort } from "../test/support/free-port.js";

interface Args {
  duration: number;
  connections: number;
  batchConnections: number;
  tool: "wrk" | "autocannon";
  workers: number[];
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const hasWrk = spawnSync("wrk", ["--version"]).error === undefined;
  const tool = (get("tool") ?? (hasWrk ? "wrk" : "autocannon")) as Args["tool"];
  if (tool !== "wrk" && tool !== "autocannon") throw new Error(`--tool must be wrk or autocannon, got ${tool}`);
  if (tool === "wrk" && !hasWrk) throw new Error("wrk is not installed (apt-get install -y wrk), use --tool autocannon");
  return {
    duration: Number(get("duration") ?? 10),
    connections: Number(get("connections") ?? 32),
    batchConnections: Number(get("batch-connections") ?? 4),
    tool,
    workers: (get("workers") ?? "1,2").split(",").map(Number),
    json: argv.includes("--json"),
  };
}

const SENTENCES = [
  "I love this phone, the screen is great and the battery is excellent.",
  "Terrible service, the food was cold and I hated every minute.",
  "Not bad at all, I would buy it again.",
  "The worst movie I have ever seen, boring and far too long.",
  "Works as described, good value for the money.",
  "It broke after two days and support never answered.",
  "Absolutely wonderful experience, friendly staff.",
  "Meh. It is okay I guess, nothing special.",
];

function cliCommand(): { cmd: string; args: string[]; label: string } {
  if (existsSync("dist/cli/main.js") && existsSync("dist/serving/server.js"))
    return { cmd: process.execPath, args: ["dist/cli/main.js"], label: "node dist/cli/main.js" };
  return {
    cmd: process.execPath,
    args: ["--import", "tsx", "src/cli/main.ts"],
    label: "node --import tsx src/cli/main.ts (run `npm run build` for the compiled CLI)",
  };
}

async function startServer(model: string, workers: number): Promise<{ child: ChildProcess; url: string; readyMs: number; allWorkersReadyMs: number }> {
  const port = await freePort();
  const { cmd, args } = cliCommand();
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = spawn(
    cmd,
    [...args, "serve", "--model", model, "--port", String(port), "--workers", String(workers), "--log-level", "warn", "--poll-interval", "0"],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  let exited = false;
  child.on("exit", () => (exited = true));
  // Poll readiness every 5 ms: this is a measurement, not a synchronisation.
  for (;;) {
    if (exited) throw new Error("the server exited during start-up");
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) {
        const readyMs = performance.now() - t0;
        // In cluster mode /readyz answers as soon as one worker is up; wait for all by pid.
        if (workers > 1) {
          const pids = new Set<number>();
          for (let i = 0; i < 50 && pids.size < workers; i++) {
            pids.add(await healthzPid(`${url}/healthz`));
          }
        }
        return { child, url, readyMs, allWorkersReadyMs: performance.now() - t0 };
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** GET /healthz on a fresh connection (so the cluster may route it to another worker). */
/**
 * This machine's ceiling for one request per text: a bare node:http server (a cluster of
 * `workers`) that reads the body, JSON.parses it and answers a fixed JSON body. Polarity's
 * single-text figure is reported as a share of it, measured in the same run (issue 12).
 */
const BARE_SERVER = `
const cluster = require("node:cluster"), http = require("node:http");
const workers = Number(process.argv[1]), port = Number(process.argv[2]);
const answer = JSON.stringify({ label: 1, class_name: "positive", score: 0.9, probabilities: { "0": 0.1, "1": 0.9 }, model: { name: "m", version: "1" } });
if (workers > 1 && cluster.isPrimary) { for (let i = 0; i < workers; i++) cluster.fork(); }
else http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    if (req.url === "/readyz") { res.writeHead(200, { "content-type": "application/json" }); res.end("{}"); return; }
    try { JSON.parse(Buffer.concat(chunks).toString("utf8")); } catch { res.writeHead(400); res.end(); return; }
    res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(answer) });
    res.end(answer);
  });
}).listen(port, "127.0.0.1");
`;

async function startBareServer(workers: number): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["-e", BARE_SERVER, String(workers), String(port)], { stdio: ["ignore", "ignore", "inherit"] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) =>
      httpGet(`${url}/readyz`, (res) => (res.resume(), resolve(res.statusCode === 200))).on("error", () => resolve(false)),
    );
    if (ok) return { child, url };
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill("SIGKILL");
  throw new Error("the bare node:http ceiling server did not start");
}

function healthzPid(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve((JSON.parse(body) as { pid: number }).pid));
    }).on("error", reject);
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  const done = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await done;
}

interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
}

function wrkRun(url: string, bodies: string[], connections: number, duration: number, dir: string): LoadResult {
  const script = join(dir, `bodies-${bodies.length}-${bodies[0].length}.lua`);
  writeFileSync(
    script,
    `local bodies = {${bodies.map((b) => `[==[${b}]==]`).join(",")}}
local i = 0
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[i])
end
local non2xx = 0
response = function(status) if status >= 300 then non2xx = non2xx + 1 end end
done = function() io.write(string.format("NON2XX %d\\n", non2xx)) end
`,
  );
  const threads = Math.min(2, connections);
  const out = spawnSync("wrk", [`-t${threads}`, `-c${connections}`, `-d${duration}s`, "--latency", "-s", script, `${url}/predict`], { encoding: "utf8" });
  if (out.status !== 0) throw new Error(`wrk failed: ${out.stderr}`);
  const text = out.stdout;
  const unit = (v: string, u: string) => Number(v) * (u === "us" ? 0.001 : u === "s" ? 1000 : 1);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(text);
    return m ? unit(m[1], m[2]) : NaN;
  };
  // wrk's response() hook runs per thread; only one thread's count reaches done(), so also read "Non-2xx".
  const non2xxLine = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    requestsPerSec: Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]),
    p50Ms: pct("50"),
    p99Ms: pct("99"),
    non2xx: non2xxLine ? Number(non2xxLine[1]) : 0,
  };
}

async function autocannonRun(url: string, bodies: string[], connections: number, duration: number): Promise<LoadResult> {
  const result = await autocannon({
    url: `${url}/predict`,
    connections,
    duration,
    requests: bodies.map((body) => ({ method: "POST" as const, headers: { "content-type": "application/json" }, body })),
  });
  return { requestsPerSec: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, non2xx: result.non2xx };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), "polarity-bench-serve-"));
  try {
    const { texts, labels } = loadUciSentences();
    const t0 = performance.now();
    const model = SentimentModel.train(texts, labels, { features: { kind: "tfidf", ngramRange: [1, 2] }, model: { kind: "logreg", C: 1 } });
    const trainMs = performance.now() - t0;
    const modelFile = join(dir, "model.json");
    const json = JSON.stringify(model.toJSON());
    writeFileSync(modelFile, json);

    const singleBodies = SENTENCES.map((text) => JSON.stringify({ text }));
    const batchBodies = [0, 1].map((offset) => JSON.stringify({ texts: Array.from({ length: 1000 }, (_, i) => texts[(offset * 1000 + i) % texts.length]) }));
    const load = (url: string, bodies: string[], c: number) =>
      args.tool === "wrk" ? Promise.resolve(wrkRun(url, bodies, c, args.duration, dir)) : autocannonRun(url, bodies, c, args.duration);

    const info = {
      machine: `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), node ${process.version}`,
      loadAverageAtStart: loadavg()
        .map((l) => l.toFixed(2))
        .join(" "),
      tool: args.tool,
      cli: cliCommand().label,
      model: `TF-IDF 1-2-grams + logistic regression, ${model.nFeatures} features, ${(json.length / 1e6).toFixed(2)} MB JSON, trained on ${texts.length} sentences in ${trainMs.toFixed(0)} ms`,
      durationSec: args.duration,
    };
    if (!args.json) {
      console.log("Polarity model server benchmark");
      for (const [k, v] of Object.entries(info)) console.log(`  ${k}: ${v}`);
      console.log("  note: the load generator runs on the same machine and shares its cores with the server.");
    }

    const rows = [];
    for (const workers of args.workers) {
      const { child, url, readyMs, allWorkersReadyMs } = await startServer(modelFile, workers);
      try {
        await load(url, singleBodies, args.connections).then(
          () => undefined,
          () => undefined,
        ); // warm-up (JIT), discarded
        const single = await load(url, singleBodies, args.connections);
        const batch = await load(url, batchBodies, args.batchConnections);
        // The ceiling, measured right after Polarity with the same load (side by side, same run).
        const bare = await startBareServer(workers);
        let ceiling: LoadResult;
        try {
          await load(bare.url, singleBodies, args.connections).then(
            () => undefined,
            () => undefined,
          );
          ceiling = await load(bare.url, singleBodies, args.connections);
        } finally {
          await stopServer(bare.child);
        }
        const row = {
          workers,
          bareNodeReqPerSec: Math.round(ceiling.requestsPerSec),
          shareOfBareNode: Number((single.requestsPerSec / ceiling.requestsPerSec).toFixed(3)),
          readyMs: Math.round(readyMs),
          allWorkersReadyMs: Math.round(allWorkersReadyMs),
          singleReqPerSec: Math.round(single.requestsPerSec),
          singleP50Ms: single.p50Ms,
          singleP99Ms: single.p99Ms,
          batchTextsPerSec: Math.round(batch.requestsPerSec * 1000),
          batchP50Ms: batch.p50Ms,
          non2xx: single.non2xx + batch.non2xx,
        };
        rows.push(row);
        if (!args.json) {
          console.log(`\n== ${workers} process${workers > 1 ? `es (--workers ${workers})` : ""}`);
          console.log(
            `  ready (spawn → first /readyz 200): ${row.readyMs} ms${workers > 1 ? `; all ${workers} workers answering: ${row.allWorkersReadyMs} ms` : ""}`,
          );
          console.log(`  single text, ${args.connections} connections: ${row.singleReqPerSec} req/s, p50 ${row.singleP50Ms} ms, p99 ${row.singleP99Ms} ms`);
          console.log(
            `  bare node:http ceiling (${workers} process${workers > 1 ? "es" : ""}, parse JSON + fixed answer): ${row.bareNodeReqPerSec} req/s → Polarity at ${(row.shareOfBareNode * 100).toFixed(1)} % of it`,
          );
          console.log(`  batches of 1,000, ${args.batchConnections} connections: ${row.batchTextsPerSec} texts/s (p50 ${row.batchP50Ms} ms per batch)`);
          console.log(`  non-2xx responses: ${row.non2xx}`);
        }
      } finally {
        await stopServer(child);
      }
    }
    if (args.json)
      console.log(
        JSON.stringify(
          {
            ...info,
            loadAverageAtEnd: loadavg()
              .map((l) => l.toFixed(2))
              .join(" "),
            results: rows,
          },
          null,
          2,
        ),
      );
    else
      console.log(
        `\n  load average at end: ${loadavg()
          .map((l) => l.toFixed(2))
          .join(" ")}`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
