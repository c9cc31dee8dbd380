import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openSqliteStores } from "../../src/tracking/store/open.js";
import { tempDir } from "./helpers.js";

const WORKER = fileURLToPath(new URL("./fixtures/log-metrics-worker.ts", import.meta.url));
const PROCESSES = 8;
const PER_PROCESS = 1000;

function runWorker(dbPath: string, runId: string, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", WORKER, dbPath, runId, String(index), String(PER_PROCESS)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`worker ${index} exited ${code}: ${stderr}`))));
  });
}

test(`${PROCESSES} processes logging ${PER_PROCESS} metrics each to one run lose nothing`, async () => {
  const { dir, cleanup } = tempDir();
  try {
    const dbPath = join(dir, "shared.db");
    const stores = openSqliteStores(dbPath);
    const runId = (await stores.tracking.createRun({ experimentId: "0" })).info.run_id;
    await stores.close();

    await Promise.all(Array.from({ length: PROCESSES }, (_, k) => runWorker(dbPath, runId, k)));

    const check = openSqliteStores(dbPath);
    try {
      const total = check.driver.db.prepare("SELECT COUNT(*) AS n FROM metrics WHERE run_uuid = ?").get(runId) as { n: number };
      assert.equal(total.n, PROCESSES * PER_PROCESS);
      for (let k = 0; k < PROCESSES; k++) {
        const history = (await check.tracking.getMetricHistory(runId, `worker_${k}`)).items;
        assert.equal(history.length, PER_PROCESS, `worker ${k}`);
        for (let i = 0; i < PER_PROCESS; i++) {
          const m = history[i];
          assert.equal(m.step, i);
          assert.equal(m.value, k * 100_000 + i * 0.5);
          assert.equal(m.timestamp, 1_000 + i);
        }
      }
      const latest = (await check.tracking.getRun(runId)).data.metrics;
      assert.equal(latest.length, PROCESSES);
      for (const m of latest) assert.equal(m.step, PER_PROCESS - 1, m.key);
    } finally {
      await check.close();
    }
  } finally {
    cleanup();
  }
});
