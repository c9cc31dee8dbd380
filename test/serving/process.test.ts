import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { request as httpRequest } from "node:http";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { tempDir, trainModelJson, writeJsonAtomic } from "./fixtures.js";
import { ServeProcess, get } from "./serve-process.js";

/** Opens a connection and sends a /predict request whose body is cut short: the request stays in flight. */
async function startSlowRequest(url: string, requestId: string): Promise<{ socket: Socket; finish(): void; response: Promise<string> }> {
  const { hostname, port } = new URL(url);
  const body = JSON.stringify({ text: "I love this wonderful film" });
  const socket = connect(Number(port), hostname);
  await once(socket, "connect");
  let received = "";
  socket.on("data", (d: Buffer) => (received += d.toString()));
  const response = once(socket, "close").then(() => received);
  socket.write(
    `POST /predict HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nX-Request-Id: ${requestId}\r\n\r\n${body.slice(0, 5)}`,
  );
  return { socket, response, finish: () => socket.write(body.slice(5)) };
}

describe("the serve process: graceful shutdown and cluster mode", { timeout: 300_000 }, () => {
  const dir = tempDir();
  const model = join(dir.path, "model.json");
  before(() => writeJsonAtomic(model, trainModelJson()));
  after(() => dir.cleanup());

  test("SIGTERM stops accepting, lets the in-flight request finish, and exits 0", async () => {
    const proc = new ServeProcess(["--model", model, "--port", "0", "--access-log", "--shutdown-timeout", "20000"]);
    try {
      const url = await proc.url();
      const slow = await startSlowRequest(url, "in-flight-1");
      // The server has the request (headers parsed, body pending) once it logs it.
      await proc.waitForLog((l) => l.reqId === "in-flight-1" && l.msg === "incoming request");
      proc.child.kill("SIGTERM");
      await proc.waitForLog((l) => typeof l.msg === "string" && l.msg.startsWith("received SIGTERM"));

      // New requests are no longer served: refused, or 503 on the way out.
      const fresh = await get(`${url}/predict`).catch((err: NodeJS.ErrnoException) => ({ status: 0, body: err.code ?? "" }));
      assert.ok(fresh.status === 0 || fresh.status === 503, `new request after SIGTERM got ${fresh.status}`);
      assert.notEqual(await Promise.race([proc.exited.then(() => "exited"), Promise.resolve("running")]), "exited");

      slow.finish();
      const raw = await slow.response;
      assert.match(raw, /^HTTP\/1\.1 200 /);
      assert.match(raw, /"label":/);
      assert.equal(await proc.exited, 0);
      await proc.waitForLog((l) => l.msg === "server closed: all in-flight requests finished");
      // The access log has the request (with its id) but never its body.
      const logged = await proc.waitForLog((l) => l.reqId === "in-flight-1" && l.msg === "request completed");
      assert.equal((logged.res as { statusCode: number }).statusCode, 200);
      assert.ok(!proc.allLogText().includes("wonderful film"), "request bodies are not logged");
    } finally {
      proc.child.kill("SIGKILL");
    }
  });

  test("a request that never finishes cannot hold shutdown past --shutdown-timeout (exit 1)", async () => {
    const proc = new ServeProcess(["--model", model, "--port", "0", "--access-log", "--shutdown-timeout", "300"]);
    try {
      const url = await proc.url();
      const stuck = await startSlowRequest(url, "stuck-1");
      await proc.waitForLog((l) => l.reqId === "stuck-1" && l.msg === "incoming request");
      proc.child.kill("SIGTERM");
      assert.equal(await proc.exited, 1);
      await proc.waitForLog((l) => typeof l.msg === "string" && l.msg.includes("shutdown did not finish cleanly"));
      stuck.socket.destroy();
    } finally {
      proc.child.kill("SIGKILL");
    }
  });

  test("a model that cannot be loaded fails at startup with one clear line and a non-zero exit", async () => {
    const proc = new ServeProcess(["--model", join(dir.path, "missing.json"), "--port", "0"]);
    const code = await proc.exited;
    assert.notEqual(code, 0);
    assert.match(proc.stderr, /^error: cannot load a model from file .*missing\.json: model path .* does not exist\n$/);
  });

  test("--workers 2 with a model that cannot be loaded: one clear line, non-zero exit, no restart loop", async () => {
    const bad = join(dir.path, "bad.json");
    writeJsonAtomic(bad, { format: "polarity.sentiment-model", version: 1 });
    const proc = new ServeProcess(["--model", bad, "--port", "0", "--workers", "2", "--log-level", "silent"]);
    assert.notEqual(await proc.exited, 0);
    assert.match(proc.stderr, /^error: cannot load a model from file .*bad\.json: model file .*bad\.json is not a valid model: .*\n$/);
  });

  test("a port already in use fails with one clear line", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const proc = new ServeProcess(["--model", model, "--port", String(port)]);
      assert.notEqual(await proc.exited, 0);
      assert.match(
        proc.stderr,
        new RegExp(`^error: cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use \\(choose another with --port / PORT\\)\\n$`),
      );
    } finally {
      blocker.close();
    }
  });

  test("--workers 2: both workers serve one port, /metrics on any worker reports the cluster-wide sum, a dead worker is replaced", async () => {
    const proc = new ServeProcess(["--model", model, "--port", "0", "--workers", "2"]);
    try {
      const line = await proc.waitForLog((l) => typeof l.msg === "string" && /^serving on http.* with 2 workers$/.test(l.msg));
      const url = String(line.url);
      const pids = new Set<number>();
      for (let i = 0; i < 20 && pids.size < 2; i++) pids.add((JSON.parse((await get(`${url}/healthz`)).body) as { pid: number }).pid);
      assert.equal(pids.size, 2, "new connections are spread over both workers");

      const n = 24;
      for (let i = 0; i < n; i++) {
        const res = await new Promise<number>((resolve, reject) => {
          const req = httpRequest(`${url}/predict`, { method: "POST", agent: false, headers: { "content-type": "application/json" } }, (r) => {
            r.resume();
            r.on("end", () => resolve(r.statusCode ?? 0));
          });
          req.on("error", reject);
          req.end(JSON.stringify({ text: i % 2 ? "great, I love it" : "awful and boring" }));
        });
        assert.equal(res, 200);
      }
      for (let i = 0; i < 2; i++) {
        const metrics = (await get(`${url}/metrics`)).body;
        assert.match(metrics, new RegExp(`^app_request_count_total\\{method="POST",endpoint="/predict"\\} ${n}$`, "m"));
        const predictions = [...metrics.matchAll(/^model_prediction_count_total\{prediction="[^"]+"\} (\d+)$/gm)].reduce((s, m) => s + Number(m[1]), 0);
        assert.equal(predictions, n);
        assert.match(metrics, /^model_info\{name="model",version="[0-9a-f]{12}",alias=""\} 1$/m);
      }

      // A worker that dies is replaced; the port keeps serving.
      const victim = [...pids][0];
      process.kill(victim, "SIGKILL");
      await proc.waitForLog((l) => l.msg === "replacement worker ready");
      const after = new Set<number>();
      for (let i = 0; i < 20 && after.size < 2; i++) after.add((JSON.parse((await get(`${url}/healthz`)).body) as { pid: number }).pid);
      assert.equal(after.size, 2);
      assert.ok(!after.has(victim), "the killed worker is gone");

      proc.child.kill("SIGTERM");
      assert.equal(await proc.exited, 0);
    } finally {
      proc.child.kill("SIGKILL");
    }
  });
});
