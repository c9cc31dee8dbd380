import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningServer } from "../../src/serving/server.js";
import { postJson, startLocal, tempDir, trainModelJson, writeJsonAtomic } from "./fixtures.js";
import { skipUnless, systemBinary } from "../support/system-binaries.js";
import { freePort } from "../support/free-port.js";

/**
 * A real Prometheus (Debian's `prometheus`, installed by .ci/run) scrapes the server and
 * the seed's dashboard query works through Prometheus's HTTP API.
 */
const PROMETHEUS = systemBinary("prometheus") ?? "";

interface QueryResult {
  status: string;
  data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

describe("Prometheus scrapes the model server", { timeout: 120_000, skip: skipUnless("prometheus") }, () => {
  const dir = tempDir("polarity-prometheus-");
  let server: RunningServer;
  let prometheus: ChildProcess;
  let promUrl: string;
  let promLog = "";

  before(async () => {
    const file = join(dir.path, "model.json");
    writeJsonAtomic(file, trainModelJson());
    server = await startLocal(file);
    const target = new URL(server.url).host;
    writeFileSync(
      join(dir.path, "prometheus.yml"),
      `global:\n  scrape_interval: 200ms\n  scrape_timeout: 150ms\nscrape_configs:\n  - job_name: polarity\n    static_configs:\n      - targets: ["${target}"]\n`,
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      PROMETHEUS,
      [`--config.file=${join(dir.path, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir.path, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    prometheus.stderr!.on("data", (d: Buffer) => (promLog += d.toString()));
  });
  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill("SIGTERM");
      await once(prometheus, "exit");
    }
    await server?.close();
    dir.cleanup();
  });

  /** Asks Prometheus until `accept` holds; Prometheus scrapes on its own clock, so this waits for it (bounded). */
  async function queryUntil(expr: string, accept: (r: QueryResult) => boolean, timeoutMs = 30_000): Promise<QueryResult> {
    const deadline = Date.now() + timeoutMs;
    let last: QueryResult | string = "no answer";
    while (Date.now() < deadline) {
      if (prometheus.exitCode !== null) throw new Error(`prometheus exited (${prometheus.exitCode}): ${promLog.slice(-2000)}`);
      try {
        const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
        if (res.ok) {
          const body = (await res.json()) as QueryResult;
          last = body;
          if (accept(body)) return body;
        }
      } catch {
        // Prometheus is still starting
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no acceptable answer to ${expr} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
  }

  test("app_request_count_total is queryable with the route pattern as endpoint label", async () => {
    const n = 7;
    for (let i = 0; i < n; i++) assert.equal((await postJson(`${server.url}/predict`, { text: i % 2 ? "I love it" : "awful" })).status, 200);
    const up = await queryUntil('up{job="polarity"}', (r) => r.data.result.length === 1 && r.data.result[0].value[1] === "1");
    assert.equal(up.status, "success");
    const count = await queryUntil(
      'app_request_count_total{job="polarity",endpoint="/predict"}',
      (r) => r.data.result.length === 1 && r.data.result[0].value[1] === String(n),
    );
    assert.equal(count.data.result[0].metric.method, "POST");
    // The seed's second dashboard panel: predictions by class.
    const byClass = await queryUntil("sum(model_prediction_count_total)", (r) => r.data.result.length === 1 && r.data.result[0].value[1] === String(n));
    assert.equal(byClass.status, "success");
  });
});
