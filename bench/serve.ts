/**
 * Load benchmark of the model server (`npm run bench:serve`).
 *
 * Trains the default model (TF-IDF 1–2-grams + logistic regression on the 3,000 built-in UCI
 * sentences) and writes it to a temp file, with a synthetic 2M-feature model beside it, then:
 *   - start-up: spawns `polarity serve` (1 process and --workers 2) on each model (JSON and
 *     model.bin) and times spawn → first /readyz 200 (with the server's CPU time by then, from
 *     /proc), and → every worker answering; --rounds alternated rounds, medians;
 *   - for 1 process and for `--workers 2`, rounds alternated with the bare node:http ceiling
 *     (same process count, parses the same JSON, fixed answer): single texts, POST /predict
 *     {"text"} at 32 connections → requests/s, p50, p99 and Polarity's share of the ceiling;
 *     batches of 1,000 texts → texts/s, beside what scoring the same texts in process costs
 *     (predictProba, texts per CPU-second: the bound HTTP cannot exceed), the server's CPU per
 *     1,000-text request and the HTTP side's share of it (that CPU less scoring's);
 *   - the seed's stack (gunicorn, 2 sync workers, a Flask + scikit-learn app equivalent to the
 *     seed's: TF-IDF 1–2-grams + liblinear LR on the same sentences, JSON in and out, the
 *     seed's three Prometheus metrics when prometheus_client is installed), with the same
 *     load, when Debian's gunicorn, python3-sklearn and python3-flask are installed.
 *   - the monitoring overhead (issue 16): bench/monitoring.ts's A/B/A run, shorter.
 * Each single-text round also reads every server's CPU time from /proc (primary and workers),
 * so the figures include server CPU per request: on a shared machine the steadier measure,
 * where req/s moves with whatever else runs. `--baseline <tree or main.js>` adds a second
 * `polarity serve` to the same alternated rounds (a source tree such as a `git worktree` of an
 * older commit, transpiled like the current one, or a built main.js): an A/B in one run.
 * The CLI is the current src/ transpiled by esbuild (bench/lib/current-cli.ts), never a stale
 * dist/ (POLARITY_BENCH_CLI=dist/cli/main.cjs times the built one). The load generator is
 * Debian's `wrk` when installed (a C client: it takes less CPU from the server on a 2-core
 * machine), else autocannon in-process. Options:
 *   --duration <s> (default 5)  --rounds <n> (default 2)  --connections <n> (default 32)
 *   --batch-connections <n> (default 4)  --tool wrk|autocannon  --workers 1,2
 *   --big-features <n> (default 2000000; 0 skips the big model)  --only start|load  --no-seed  --json
 *   --no-monitoring (skips the monitoring A/B/A section)  --baseline <dir|main.js|main.cjs|main.mjs>  --gc (servers run with --trace-gc: collections per 10^4 requests
 *   and their pauses, per server, in the single-text rounds)
 * Every single-text round also reports its p99 beside the ceiling's p99 in the same round, and the
 * CPU that processes outside the benchmark (not the servers, wrk or this process) took from the
 * machine during it (/proc/stat): a round where others ran is visible as such, not averaged in.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get as httpGet } from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import autocannon from "autocannon";
import { loadUciSentences } from "../src/data/builtin.js";
import { SentimentModel, type SentimentModelJSON } from "../src/models/sentiment-model.js";
import { freePort } from "../test/support/free-port.js";
import { currentCli } from "./lib/current-cli.js";
import { runMonitoringAB, statCpuSeconds } from "./monitoring.js";

interface Args {
  duration: number;
  rounds: number;
  connections: number;
  batchConnections: number;
  tool: "wrk" | "autocannon";
  workers: number[];
  bigFeatures: number;
  only: "start" | "load" | null;
  seed: boolean;
  json: boolean;
  baseline: string | null;
  gc: boolean;
  monitoring: boolean;
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
  const only = get("only") ?? null;
  if (only !== null && only !== "start" && only !== "load") throw new Error(`--only must be start or load, got ${only}`);
  return {
    duration: Number(get("duration") ?? 5),
    rounds: Number(get("rounds") ?? 2),
    connections: Number(get("connections") ?? 32),
    batchConnections: Number(get("batch-connections") ?? 4),
    tool,
    workers: (get("workers") ?? "1,2").split(",").map(Number),
    bigFeatures: Number(get("big-features") ?? 2_000_000),
    only,
    seed: !argv.includes("--no-seed"),
    json: argv.includes("--json"),
    baseline: get("baseline") ?? null,
    gc: argv.includes("--gc"),
    monitoring: !argv.includes("--no-monitoring"),
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

const load1 = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

async function waitReady(url: string, isExited: () => boolean, what: string): Promise<void> {
  // Polled every 5 ms: this is a measurement, not a synchronisation.
  for (;;) {
    if (isExited()) throw new Error(`${what} exited during start-up`);
    const ok = await new Promise<boolean>((resolve) =>
      httpGet(`${url}/readyz`, { agent: false }, (res) => (res.resume(), resolve(res.statusCode === 200))).on("error", () => resolve(false)),
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function startServer(
  cli: string,
  model: string,
  workers: number,
  gc: GcTrace | null = null,
): Promise<{ child: ChildProcess; url: string; readyMs: number; readyCpuMs: number | null; allWorkersReadyMs: number; gc: GcTrace | null }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = spawn(
    ...withGcTrace(gc, [cli, "serve", "--model", model, "--port", String(port), "--workers", String(workers), "--log-level", "warn", "--poll-interval", "0"]),
    { stdio: ["ignore", gc ? "pipe" : "ignore", "inherit"] },
  );
  gc?.follow(child);
  let exited = false;
  child.on("exit", () => (exited = true));
  await waitReady(url, () => exited, "the server");
  const readyMs = performance.now() - t0;
  const readyCpuMs = processTreeCpuMs(child.pid);
  // In cluster mode /readyz answers as soon as one worker is up; wait for all by pid.
  if (workers > 1) {
    const pids = new Set<number>();
    for (let i = 0; i < 200 && pids.size < workers; i++) pids.add(await healthzPid(`${url}/healthz`));
  }
  return { child, url, readyMs, readyCpuMs, allWorkersReadyMs: performance.now() - t0, gc };
}

/**
 * Collections of a server and its workers as `--trace-gc` prints them (one line per collection:
 * `[pid:isolate]  8286 ms: Scavenge 38.6 (79.8) -> 13.0 (79.8) MB, 2.15 / 0.00 ms …`): how many
 * young-generation scavenges and full mark-compacts, and their pauses, so a round's count per
 * request shows whether collections can make its tail.
 */
class GcTrace {
  scavenges = 0;
  scavengeMs = 0;
  maxScavengeMs = 0;
  markCompacts = 0;
  markCompactMs = 0;
  private rest = "";

  follow(child: ChildProcess): void {
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      const lines = (this.rest + chunk).split("\n");
      this.rest = lines.pop() ?? "";
      for (const line of lines) this.count(line);
    });
  }

  private count(line: string): void {
    const m = /: (Scavenge|Mark-Compact)\b.*? MB, ([\d.]+) \/ [\d.]+ ms/.exec(line);
    if (m === null) return;
    const ms = Number(m[2]);
    if (m[1] === "Scavenge") {
      this.scavenges++;
      this.scavengeMs += ms;
      this.maxScavengeMs = Math.max(this.maxScavengeMs, ms);
    } else {
      this.markCompacts++;
      this.markCompactMs += ms;
    }
  }

  snapshot(): GcCounts {
    return { scavenges: this.scavenges, scavengeMs: this.scavengeMs, markCompacts: this.markCompacts, markCompactMs: this.markCompactMs };
  }
}

/**
 * The command for `node <args>`, with `--trace-gc` when collections are counted. V8 prints those
 * lines through C stdio, which a pipe makes block-buffered (a line would reach us up to ~27
 * collections late): `stdbuf -oL` (coreutils) makes the server and its workers flush each line.
 */
function withGcTrace(gc: GcTrace | null, args: string[]): [string, string[]] {
  return gc === null ? [process.execPath, args] : ["stdbuf", ["-oL", process.execPath, "--trace-gc", ...args]];
}

interface GcCounts {
  scavenges: number;
  scavengeMs: number;
  markCompacts: number;
  markCompactMs: number;
}

/** Busy CPU time of the whole machine so far (all cores, seconds): /proc/stat's user, nice, system, irq, softirq and steal. */
function machineBusySeconds(): number | null {
  if (!existsSync("/proc/stat")) return null;
  const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0].trim().split(/\s+/).slice(1).map(Number);
  return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) / 100;
}

/** CPU time of this process and of its waited-for children (wrk, pgrep), seconds, from /proc/self/stat. */
function selfAndChildrenSeconds(): number | null {
  if (!existsSync("/proc/self/stat")) return null;
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

/**
 * CPU time (user + system, ms) used so far by `pid` and its child processes (cluster workers),
 * from /proc: start-up work measured apart from waiting for a core on a loaded machine. Null
 * where /proc is not there.
 */
function processTreeCpuMs(pid: number | undefined): number | null {
  if (pid === undefined || !existsSync(`/proc/${pid}/stat`)) return null;
  const children =
    spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" })
      .stdout?.split("\n")
      .filter(Boolean)
      .map(Number) ?? [];
  let seconds = 0;
  for (const p of [pid, ...children]) {
    try {
      seconds += statCpuSeconds(p);
    } catch {
      // exited meanwhile
    }
  }
  return seconds * 1000;
}

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

async function startBareServer(workers: number, gc: GcTrace | null = null): Promise<{ child: ChildProcess; url: string; gc: GcTrace | null }> {
  const port = await freePort();
  const child = spawn(...withGcTrace(gc, ["-e", BARE_SERVER, String(workers), String(port)]), {
    stdio: ["ignore", gc ? "pipe" : "ignore", "inherit"],
  });
  gc?.follow(child);
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  child.on("exit", () => (exited = true));
  await waitReady(url, () => exited, "the bare node:http ceiling server");
  return { child, url, gc };
}

/**
 * The seed's serving stack: Flask under gunicorn (sync workers, as its Dockerfile ran it),
 * scikit-learn's TF-IDF 1–2-grams + liblinear LogisticRegression fitted on the same sentences,
 * the seed's cleaning (URLs, digits, lowercase, punctuation; no NLTK stop words/lemmas, which
 * Debian's python3 lacks) and its three Prometheus metrics when prometheus_client is there.
 * JSON in and out, like Polarity's route, so the two answer the same requests.
 */
const SEED_APP = `
import json, os, re, time
from flask import Flask, request, jsonify
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
data = json.load(open(os.environ["SEED_DATA"]))
def clean(t):
    t = re.sub(r"https?://\\\\S+|www\\\\.\\\\S+", "", t)
    t = "".join(c for c in t if not c.isdigit()).lower()
    t = re.sub(r"[^\\\\w\\\\s]", " ", t)
    return re.sub(r"\\\\s+", " ", t).strip()
vec = TfidfVectorizer(ngram_range=(1, 2))
clf = LogisticRegression(C=1, solver="liblinear").fit(vec.fit_transform([clean(t) for t in data["texts"]]), data["labels"])
try:
    from prometheus_client import CollectorRegistry, Counter, Histogram
    reg = CollectorRegistry()
    REQS = Counter("app_request_count", "requests", ["method", "endpoint"], registry=reg)
    LAT = Histogram("app_request_latency_seconds", "latency", ["endpoint"], registry=reg)
    PREDS = Counter("model_prediction_count", "predictions", ["prediction"], registry=reg)
except ImportError:
    REQS = None
app = Flask(__name__)
@app.route("/readyz")
def ready():
    return "ok"
@app.route("/predict", methods=["POST"])
def predict():
    start = time.time()
    text = request.get_json(force=True)["text"]
    p = clf.predict_proba(vec.transform([clean(text)]))[0]
    best = int(p.argmax())
    label = int(clf.classes_[best])
    if REQS is not None:
        REQS.labels("POST", "/predict").inc()
        PREDS.labels(str(label)).inc()
        LAT.labels("/predict").observe(time.time() - start)
    return jsonify({"label": label, "score": float(p[best]), "probabilities": {str(c): float(x) for c, x in zip(clf.classes_, p)}})
`;

/** Why the seed stack cannot run here, or null when gunicorn, Flask and scikit-learn are installed. */
function seedStackMissing(): string | null {
  if (!existsSync("/usr/bin/gunicorn")) return "gunicorn is not installed";
  const py = spawnSync("/usr/bin/python3", ["-c", "import sklearn, flask"], { encoding: "utf8" });
  if (py.status !== 0) return "Debian's python3 lacks scikit-learn or Flask";
  return null;
}

async function startSeedStack(dir: string, texts: string[], labels: (string | number)[]): Promise<{ child: ChildProcess; url: string }> {
  writeFileSync(join(dir, "seed_app.py"), SEED_APP);
  writeFileSync(join(dir, "seed-data.json"), JSON.stringify({ texts, labels }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    "/usr/bin/gunicorn",
    ["--workers", "2", "--bind", `127.0.0.1:${port}`, "--chdir", dir, "--preload", "--log-level", "warning", "seed_app:app"],
    {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, SEED_DATA: join(dir, "seed-data.json") },
    },
  );
  let exited = false;
  child.on("exit", () => (exited = true));
  await waitReady(url, () => exited, "gunicorn");
  return { child, url };
}

/** GET /healthz on a fresh connection (so the cluster may route it to another worker). */
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
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await done;
}

/** One server's single-text rounds: wrk's figures, server CPU per request (µs), the rest of the machine's CPU share, collections. */
interface SideRounds {
  results: LoadResult[];
  cpu: number[];
  otherCpuShare: number[];
  gc: Array<{ scavengesPer10k: number; meanScavengeMs: number; markCompacts: number }>;
}

const newSide = (): SideRounds => ({ results: [], cpu: [], otherCpuShare: [], gc: [] });

interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
}

/** wrk, run asynchronously: the event loop keeps reading the servers' --trace-gc pipes meanwhile (a full pipe would stall a server). */
async function wrkRun(url: string, bodies: string[], connections: number, duration: number, dir: string): Promise<LoadResult> {
  const script = join(dir, `bodies-${bodies.length}-${bodies[0].length}.lua`);
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
  const threads = Math.min(2, connections);
  const text = await new Promise<string>((resolve, reject) => {
    const child = spawn("wrk", [`-t${threads}`, `-c${connections}`, `-d${duration}s`, "--latency", "-s", script, `${url}/predict`]);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`wrk failed: ${stderr}`))));
  });
  const unit = (v: string, u: string) => Number(v) * (u === "us" ? 0.001 : u === "s" ? 1000 : 1);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(text);
    return m ? unit(m[1], m[2]) : NaN;
  };
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

/** A server's collections over its rounds: medians of the per-round rates and pauses, mark-compacts summed. */
function gcSummary(side: SideRounds): { scavengesPer10k: number; meanScavengeMs: number; markCompacts: number } {
  return {
    scavengesPer10k: Number(mid(side.gc.map((g) => g.scavengesPer10k)).toFixed(2)),
    meanScavengeMs: Number(mid(side.gc.map((g) => g.meanScavengeMs)).toFixed(2)),
    markCompacts: side.gc.reduce((a, g) => a + g.markCompacts, 0),
  };
}

/** The median of xs. */
function mid(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Median of each field over rounds (requests/s, p50, p99); non-2xx summed. */
function median(results: LoadResult[]): LoadResult {
  return {
    requestsPerSec: mid(results.map((r) => r.requestsPerSec)),
    p50Ms: Math.round(mid(results.map((r) => r.p50Ms)) * 100) / 100,
    p99Ms: Math.round(mid(results.map((r) => r.p99Ms)) * 100) / 100,
    non2xx: results.reduce((a, r) => a + r.non2xx, 0),
  };
}

/**
 * A model with `n` features in the format training writes (TF-IDF 1–2-grams + logistic
 * regression): a real small model's JSON with its vocabulary, idf and coefficients replaced
 * by n synthetic terms (50,000 words and bigrams of them, sorted), streamed to `file`.
 */
async function writeSyntheticModel(file: string, n: number, texts: string[], labels: (string | number)[]): Promise<number> {
  const small = SentimentModel.train(texts.slice(0, 300), labels.slice(0, 300), {
    features: { kind: "tfidf", ngramRange: [1, 2] },
    model: { kind: "logreg", C: 1 },
  });
  const json = small.toJSON() as SentimentModelJSON & { vectorizer: Record<string, unknown>; classifier: Record<string, unknown> };
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const words = Array.from({ length: Math.min(50_000, n) }, (_, i) => `w${i.toString(36)}`);
  const seen = new Set(words);
  const vocab = words.slice();
  while (vocab.length < n) {
    const t = `${words[(rnd() * words.length) | 0]} ${words[(rnd() * words.length) | 0]}`;
    if (!seen.has(t)) {
      seen.add(t);
      vocab.push(t);
    }
  }
  vocab.sort();
  // Streamed: one JSON.stringify of 2M-entry arrays would hold several copies in memory.
  const out = createWriteStream(file);
  const write = (s: string) => (out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once("drain", () => r())));
  const array = async (len: number, item: (i: number) => string) => {
    await write("[");
    for (let i = 0; i < len; i += 10_000) {
      const part: string[] = [];
      for (let j = i; j < Math.min(len, i + 10_000); j++) part.push(item(j));
      await write((i > 0 ? "," : "") + part.join(","));
    }
    await write("]");
  };
  const { vocabulary: _v, idf: _i, ...vectorizer } = json.vectorizer;
  const { coef: _c, nFeatures: _n, ...classifier } = json.classifier;
  const { vectorizer: _vz, classifier: _cl, ...rest } = json;
  await write(`${JSON.stringify(rest).slice(0, -1)},"vectorizer":${JSON.stringify(vectorizer).slice(0, -1)},"vocabulary":`);
  await array(n, (i) => JSON.stringify(vocab[i]));
  await write(',"idf":');
  await array(n, () => String(1 + rnd() * 8));
  await write(`},"classifier":${JSON.stringify(classifier).slice(0, -1)},"nFeatures":${n},"coef":`);
  await array(n, () => String((rnd() - 0.5) * 2));
  await write("}}");
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return out.bytesWritten;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), "polarity-bench-serve-"));
  const children = new Set<ChildProcess>();
  const track = <T extends { child: ChildProcess }>(x: T): T => (children.add(x.child), x);
  try {
    const cli = await currentCli();
    const baselineCli =
      args.baseline === null
        ? null
        : /\.[cm]?js$/.test(args.baseline)
          ? { main: resolve(args.baseline), label: args.baseline }
          : { main: (await currentCli(resolve(args.baseline))).main, label: `${args.baseline}'s src/, transpiled by esbuild` };
    const { texts, labels } = loadUciSentences();
    const t0 = performance.now();
    const model = SentimentModel.train(texts, labels, { features: { kind: "tfidf", ngramRange: [1, 2] }, model: { kind: "logreg", C: 1 } });
    const trainMs = performance.now() - t0;
    const modelFile = join(dir, "model.json");
    const json = JSON.stringify(model.toJSON());
    writeFileSync(modelFile, json);

    const info = {
      machine: `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), node ${process.version}`,
      loadAverageAtStart: load1(),
      tool: args.tool,
      cli: cli.label,
      ...(baselineCli ? { baseline: baselineCli.label } : {}),
      model: `TF-IDF 1-2-grams + logistic regression, ${model.nFeatures} features, ${(json.length / 1e6).toFixed(2)} MB JSON, trained on ${texts.length} sentences in ${trainMs.toFixed(0)} ms`,
      durationSec: args.duration,
      rounds: args.rounds,
    };
    if (!args.json) {
      console.log("Polarity model server benchmark");
      for (const [k, v] of Object.entries(info)) console.log(`  ${k}: ${v}`);
      console.log("  note: the load generator runs on the same machine and shares its cores with the server.");
    }

    // ---- start → ready ------------------------------------------------------------------
    const startRows: Array<{
      model: string;
      workers: number;
      readyMs: number;
      roundsReadyMs: number[];
      readyCpuMs: number | null;
      allWorkersReadyMs: number;
    }> = [];
    if (args.only !== "load") {
      // Each model as the JSON bundle and as model.bin (the binary file the evaluate stage also
      // logs, docs/features.md), which servers load without parsing or re-hashing.
      const binaryOf = (from: SentimentModel, file: string) => {
        const bytes = from.toBinary();
        writeFileSync(file, bytes);
        return bytes.byteLength;
      };
      const builtinBin = join(dir, "model.bin");
      binaryOf(model, builtinBin);
      const models: Array<{ label: string; file: string }> = [
        { label: `built-in (${model.nFeatures} features), JSON`, file: modelFile },
        { label: `built-in (${model.nFeatures} features), model.bin`, file: builtinBin },
      ];
      if (args.bigFeatures > 0) {
        const bigFile = join(dir, "big-model.json");
        const bytes = await writeSyntheticModel(bigFile, args.bigFeatures, texts, labels);
        models.push({ label: `synthetic ${args.bigFeatures.toLocaleString("en")} features (${(bytes / 1e6).toFixed(0)} MB JSON)`, file: bigFile });
        const bigBin = join(dir, "big-model.bin");
        const binBytes = binaryOf(SentimentModel.fromJSON(JSON.parse(readFileSync(bigFile, "utf8")) as SentimentModelJSON), bigBin);
        models.push({ label: `synthetic ${args.bigFeatures.toLocaleString("en")} features (${(binBytes / 1e6).toFixed(0)} MB model.bin)`, file: bigBin });
      }
      if (!args.json)
        console.log(
          `\n== start → ready (spawn → first /readyz 200, the server's CPU by then; → every worker answering), median of ${args.rounds} alternated rounds`,
        );
      const samples = new Map<string, Array<{ readyMs: number; readyCpuMs: number | null; allWorkersReadyMs: number }>>();
      // Rounds alternate over every model and process count, so each sees the same machine load.
      for (let r = 0; r < args.rounds; r++)
        for (const m of models)
          for (const workers of args.workers) {
            const s = track(await startServer(cli.main, m.file, workers));
            await stopServer(s.child);
            const key = `${m.label}\u0000${workers}`;
            samples.set(key, [...(samples.get(key) ?? []), { readyMs: s.readyMs, readyCpuMs: s.readyCpuMs, allWorkersReadyMs: s.allWorkersReadyMs }]);
          }
      for (const m of models)
        for (const workers of args.workers) {
          const xs = samples.get(`${m.label}\u0000${workers}`) ?? [];
          const cpu = xs.map((x) => x.readyCpuMs).filter((x): x is number => x !== null);
          const row = {
            model: m.label,
            workers,
            readyMs: Math.round(mid(xs.map((x) => x.readyMs))),
            roundsReadyMs: xs.map((x) => Math.round(x.readyMs)),
            readyCpuMs: cpu.length > 0 ? Math.round(mid(cpu)) : null,
            allWorkersReadyMs: Math.round(mid(xs.map((x) => x.allWorkersReadyMs))),
          };
          startRows.push(row);
          if (!args.json)
            console.log(
              `  ${m.label}, ${workers} process${workers > 1 ? "es" : ""}: ${row.readyMs} ms (rounds ${row.roundsReadyMs.join(", ")} ms)${row.readyCpuMs === null ? "" : `, server CPU ${row.readyCpuMs} ms`}${workers > 1 ? `; all ${workers} workers: ${row.allWorkersReadyMs} ms` : ""}`,
            );
        }
    }

    // ---- load -----------------------------------------------------------------------------
    const singleBodies = SENTENCES.map((text) => JSON.stringify({ text }));
    const batchTexts = [0, 1].map((offset) => Array.from({ length: 1000 }, (_, i) => texts[(offset * 1000 + i) % texts.length]));
    const batchBodies = batchTexts.map((t) => JSON.stringify({ texts: t }));
    // What the batch figure is bounded by: scoring the same texts in this process on one thread
    // (SentimentModel.predictProba, the server's own call), measured between the HTTP runs.
    const scoringTextsPerSec = (): number => {
      const cpu0 = process.cpuUsage();
      let n = 0;
      for (const t0 = performance.now(); performance.now() - t0 < 1000; n += 1000) model.predictProba(batchTexts[(n / 1000) % 2]);
      const cpu = process.cpuUsage(cpu0);
      return Math.round(n / ((cpu.user + cpu.system) / 1e6));
    };
    const loadRun = (url: string, bodies: string[], c: number) =>
      args.tool === "wrk" ? wrkRun(url, bodies, c, args.duration, dir) : autocannonRun(url, bodies, c, args.duration);
    const warm = (url: string, bodies: string[], c: number) =>
      (args.tool === "wrk" ? wrkRun(url, bodies, c, 2, dir) : autocannonRun(url, bodies, c, 2)).then(
        () => undefined,
        () => undefined,
      );

    const rows = [];
    if (args.only !== "start") {
      for (const workers of args.workers) {
        const polarity = track(await startServer(cli.main, modelFile, workers, args.gc ? new GcTrace() : null));
        const bare = track(await startBareServer(workers, args.gc ? new GcTrace() : null));
        const baseline = baselineCli ? track(await startServer(baselineCli.main, modelFile, workers, args.gc ? new GcTrace() : null)) : null;
        try {
          await warm(polarity.url, singleBodies, args.connections);
          await warm(bare.url, singleBodies, args.connections);
          if (baseline) await warm(baseline.url, singleBodies, args.connections);
          // Alternated rounds: all see the same machine load. Each round also takes the server's
          // CPU time (primary and workers, from /proc) per request answered, the CPU the rest of
          // the machine used meanwhile (busy time less the server's, wrk's and this process's,
          // as a share of every core), and with --gc the collections of the server's processes.
          const measured = async (server: { url: string; child: ChildProcess; gc: GcTrace | null }, side: SideRounds) => {
            const busy0 = machineBusySeconds();
            const self0 = selfAndChildrenSeconds();
            const gc0 = server.gc?.snapshot();
            const before = processTreeCpuMs(server.child.pid);
            const t0 = performance.now();
            const result = await loadRun(server.url, singleBodies, args.connections);
            const wallSeconds = (performance.now() - t0) / 1000;
            const after = processTreeCpuMs(server.child.pid);
            const self1 = selfAndChildrenSeconds();
            const busy1 = machineBusySeconds();
            // The last lines of --trace-gc are a pipe read away.
            if (server.gc) await new Promise((r) => setTimeout(r, 100));
            const gc1 = server.gc?.snapshot();
            side.results.push(result);
            const requests = result.requestsPerSec * args.duration;
            if (before !== null && after !== null) {
              side.cpu.push(((after - before) * 1000) / requests);
              if (busy0 !== null && busy1 !== null && self0 !== null && self1 !== null) {
                const others = busy1 - busy0 - (after - before) / 1000 - (self1 - self0);
                side.otherCpuShare.push(Math.max(0, others) / (cpus().length * wallSeconds));
              }
            }
            if (gc0 && gc1)
              side.gc.push({
                scavengesPer10k: ((gc1.scavenges - gc0.scavenges) * 1e4) / requests,
                meanScavengeMs: gc1.scavenges > gc0.scavenges ? (gc1.scavengeMs - gc0.scavengeMs) / (gc1.scavenges - gc0.scavenges) : 0,
                markCompacts: gc1.markCompacts - gc0.markCompacts,
              });
          };
          const sides = { ours: newSide(), ceilings: newSide(), baselines: newSide() };
          // The order within a round rotates (each server opens a round in turn):
          // a server always measured first would always take the first seconds after the warm-up,
          // or after the other servers' runs.
          const order: Array<[{ url: string; child: ChildProcess; gc: GcTrace | null }, SideRounds]> = [
            [polarity, sides.ours],
            ...(baseline ? [[baseline, sides.baselines] as [typeof baseline, SideRounds]] : []),
            [bare, sides.ceilings],
          ];
          for (let r = 0; r < args.rounds; r++)
            for (let i = 0; i < order.length; i++) {
              const [server, side] = order[(i + r) % order.length];
              await measured(server, side);
            }
          const { results: ours, cpu: oursCpu } = sides.ours;
          const { results: ceilings, cpu: ceilingsCpu } = sides.ceilings;
          const { results: baselines, cpu: baselinesCpu } = sides.baselines;
          const single = median(ours);
          const ceiling = median(ceilings);
          await stopServer(bare.child);
          if (baseline) await stopServer(baseline.child);
          const cpuUs = (xs: number[]) => (xs.length > 0 ? Number(mid(xs).toFixed(1)) : null);
          const baselineRow =
            baseline === null
              ? null
              : {
                  reqPerSec: Math.round(median(baselines).requestsPerSec),
                  p99Ms: median(baselines).p99Ms,
                  shareOfBareNode: Number((median(baselines).requestsPerSec / ceiling.requestsPerSec).toFixed(3)),
                  roundShares: baselines.map((o, i) => Number((o.requestsPerSec / ceilings[i].requestsPerSec).toFixed(3))),
                  cpuUsPerReq: cpuUs(baselinesCpu),
                  // This tree against the baseline, round by round (req/s; CPU per request as baseline / this tree: > 1 means this tree uses less).
                  roundRatios: ours.map((o, i) => Number((o.requestsPerSec / baselines[i].requestsPerSec).toFixed(3))),
                  roundCpuRatios: oursCpu.map((c, i) => Number((baselinesCpu[i] / c).toFixed(3))),
                  non2xx: baselines.reduce((a, r) => a + r.non2xx, 0),
                  roundP99Ms: baselines.map((b) => b.p99Ms),
                  gc: args.gc ? gcSummary(sides.baselines) : null,
                };
          const cpuBefore = processTreeCpuMs(polarity.child.pid);
          const batch = await loadRun(polarity.url, batchBodies, args.batchConnections);
          const cpuAfter = processTreeCpuMs(polarity.child.pid);
          const scoring = scoringTextsPerSec();
          // The server's CPU per 1,000-text request, less what scoring them costs: the HTTP side's share
          // (reading, parsing and checking the body, ids, metrics, the answer, node:http).
          const batchCpuMs = cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / (batch.requestsPerSec * args.duration);
          const httpOverheadMs = batchCpuMs === null ? null : batchCpuMs - 1e6 / scoring;
          const row = {
            workers,
            singleReqPerSec: Math.round(single.requestsPerSec),
            singleP50Ms: single.p50Ms,
            singleP99Ms: single.p99Ms,
            singleCpuUsPerReq: cpuUs(oursCpu),
            bareNodeReqPerSec: Math.round(ceiling.requestsPerSec),
            bareNodeP99Ms: ceiling.p99Ms,
            // p99 round by round beside the ceiling's in the same round, and their ratio (> 1: Polarity's tail is longer).
            roundP99Ms: ours.map((o) => o.p99Ms),
            roundBareP99Ms: ceilings.map((c) => c.p99Ms),
            p99RatioToBare: Number(mid(ours.map((o, i) => o.p99Ms / ceilings[i].p99Ms)).toFixed(2)),
            // The CPU other processes took from the machine during each round (share of all cores): rounds where others ran.
            roundOtherCpuShare: [sides.ours, sides.ceilings].map((side) => side.otherCpuShare.map((x) => Number(x.toFixed(3)))),
            gc: args.gc ? { polarity: gcSummary(sides.ours), bare: gcSummary(sides.ceilings) } : null,
            bareNodeCpuUsPerReq: cpuUs(ceilingsCpu),
            shareOfBareNode: Number((single.requestsPerSec / ceiling.requestsPerSec).toFixed(3)),
            roundShares: ours.map((o, i) => Number((o.requestsPerSec / ceilings[i].requestsPerSec).toFixed(3))),
            batchTextsPerSec: Math.round(batch.requestsPerSec * 1000),
            scoringTextsPerCpuSec: scoring,
            batchP50Ms: batch.p50Ms,
            batchServerCpuMsPer1000: batchCpuMs === null ? null : Number(batchCpuMs.toFixed(2)),
            httpOverheadMsPer1000: httpOverheadMs === null ? null : Number(httpOverheadMs.toFixed(2)),
            shareOfScoringBound: Number(((batch.requestsPerSec * 1000) / (scoring * workers)).toFixed(3)),
            non2xx: single.non2xx + batch.non2xx,
            baseline: baselineRow,
          };
          rows.push(row);
          if (!args.json) {
            const target = workers > 1 ? 80 : 60;
            console.log(`\n== ${workers} process${workers > 1 ? `es (--workers ${workers})` : ""}, median of ${args.rounds} alternated rounds`);
            console.log(`  single text, ${args.connections} connections: ${row.singleReqPerSec} req/s, p50 ${row.singleP50Ms} ms, p99 ${row.singleP99Ms} ms`);
            console.log(
              `  bare node:http ceiling (${workers} process${workers > 1 ? "es" : ""}, parse JSON + fixed answer): ${row.bareNodeReqPerSec} req/s, p99 ${row.bareNodeP99Ms} ms`,
            );
            console.log(
              `  → Polarity at ${(row.shareOfBareNode * 100).toFixed(1)} % of the ceiling (rounds: ${row.roundShares.map((x) => `${(x * 100).toFixed(1)} %`).join(", ")}; target ≥ ${target} %)`,
            );
            const ms = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(" / ");
            const overFive = row.roundBareP99Ms.filter((x) => x > 5).length;
            console.log(
              `  p99 round by round: Polarity ${ms(row.roundP99Ms)} ms, bare ${ms(row.roundBareP99Ms)} ms; Polarity / bare ${row.p99RatioToBare} (median of rounds; target p99 ≤ 5 ms, which the bare server itself missed in ${overFive} of ${args.rounds} rounds)`,
            );
            if (row.roundOtherCpuShare[0].length > 0) {
              const pcts = (xs: number[]) => xs.map((x) => `${(x * 100).toFixed(0)} %`).join(" / ");
              console.log(
                `  CPU taken by other processes during the rounds (share of all cores): Polarity's rounds ${pcts(row.roundOtherCpuShare[0])}, bare's ${pcts(row.roundOtherCpuShare[1])}`,
              );
            }
            if (row.gc)
              console.log(
                `  collections (--trace-gc): Polarity ${row.gc.polarity.scavengesPer10k} scavenges per 10^4 requests, mean pause ${row.gc.polarity.meanScavengeMs} ms, ${row.gc.polarity.markCompacts} mark-compacts; bare ${row.gc.bare.scavengesPer10k}, ${row.gc.bare.meanScavengeMs} ms, ${row.gc.bare.markCompacts} (medians of rounds; mark-compacts summed)`,
              );
            if (row.singleCpuUsPerReq !== null)
              console.log(
                `  server CPU per request (primary and workers, median of rounds): Polarity ${row.singleCpuUsPerReq} µs, bare ${row.bareNodeCpuUsPerReq} µs`,
              );
            if (baselineRow) {
              const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
              console.log(
                `  baseline (${baselineCli!.label}): ${baselineRow.reqPerSec} req/s, p99 ${baselineRow.p99Ms} ms, ${pct(baselineRow.shareOfBareNode)} of the ceiling (rounds: ${baselineRow.roundShares.map(pct).join(", ")}), CPU ${baselineRow.cpuUsPerReq} µs per request`,
              );
              console.log(
                `  → this tree / baseline, round by round: req/s ${baselineRow.roundRatios.join(", ")}; CPU per request (baseline / this tree) ${baselineRow.roundCpuRatios.join(", ")}; non-2xx ${baselineRow.non2xx}`,
              );
              console.log(
                `  baseline p99 round by round: ${ms(baselineRow.roundP99Ms)} ms${baselineRow.gc ? `; collections: ${baselineRow.gc.scavengesPer10k} scavenges per 10^4 requests, mean pause ${baselineRow.gc.meanScavengeMs} ms, ${baselineRow.gc.markCompacts} mark-compacts` : ""}`,
              );
            }
            console.log(
              `  batches of 1,000, ${args.batchConnections} connections: ${row.batchTextsPerSec} texts/s (p50 ${row.batchP50Ms} ms per batch; target ≥ 500,000 with --workers 2)`,
            );
            console.log(
              `  scoring alone, in process (predictProba on the same batches): ${row.scoringTextsPerCpuSec} texts per CPU-second → at most ${(row.scoringTextsPerCpuSec * workers).toLocaleString("en")} texts/s on ${workers} core${workers > 1 ? "s" : ""} before any HTTP`,
            );
            if (row.batchServerCpuMsPer1000 !== null)
              console.log(
                `  server CPU per 1,000-text request: ${row.batchServerCpuMsPer1000} ms, of which HTTP (all but scoring) ≈ ${row.httpOverheadMsPer1000} ms; batches reach ${(row.shareOfScoringBound * 100).toFixed(1)} % of the scoring bound`,
              );
            console.log(`  non-2xx responses: ${row.non2xx}`);
          }
        } finally {
          await stopServer(polarity.child);
          await stopServer(bare.child);
          if (baseline) await stopServer(baseline.child);
        }
      }

      if (args.seed) {
        const missing = seedStackMissing();
        if (missing !== null) {
          if (!args.json) console.log(`\n== seed stack: skipped (${missing}; apt-get install -y gunicorn python3-sklearn python3-flask)`);
        } else {
          const seed = track(await startSeedStack(dir, texts, labels));
          try {
            await warm(seed.url, singleBodies, args.connections);
            const result = median(await Promise.all([loadRun(seed.url, singleBodies, args.connections)]));
            const two = rows.find((r) => r.workers === 2);
            const seedRow = { seedReqPerSec: Math.round(result.requestsPerSec), seedP99Ms: result.p99Ms, non2xx: result.non2xx };
            rows.push({ seed: seedRow });
            if (!args.json) {
              console.log(`\n== seed stack (gunicorn --workers 2, Flask + scikit-learn, JSON), ${args.connections} connections`);
              console.log(`  ${seedRow.seedReqPerSec} req/s, p99 ${seedRow.seedP99Ms} ms, non-2xx ${seedRow.non2xx}`);
              if (two) console.log(`  → Polarity --workers 2 at ${(two.singleReqPerSec / result.requestsPerSec).toFixed(1)}× it (target ≥ 10×)`);
            }
          } finally {
            await stopServer(seed.child);
          }
        }
      }
    }
    // Issue 16: monitoring on within 5 % of off (bench/monitoring.ts, a shorter run; npm run bench:monitoring for the full one).
    if (!args.json && args.only !== "start" && args.monitoring) {
      console.log("\n== monitoring overhead (issue 16)");
      await runMonitoringAB({ cli: cli.main, rounds: 12, pacedRounds: 8 });
    }
    if (args.json) console.log(JSON.stringify({ ...info, loadAverageAtEnd: load1(), start: startRows, results: rows }, null, 2));
    else console.log(`\n  load average at end: ${load1()}`);
  } finally {
    for (const c of children) await stopServer(c);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
