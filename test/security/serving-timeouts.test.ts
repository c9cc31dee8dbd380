import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { join } from "node:path";
import { tempDir, trainModelJson, writeJsonAtomic } from "../serving/fixtures.js";
import { ServeProcess } from "../serving/serve-process.js";

/**
 * Issue 9 item 11, replayed: clients that send headers and then a body byte at a time (or
 * nothing). Before the fix fastify's requestTimeout and connectionTimeout were 0 and such a
 * client held its socket for ever.
 */
describe("slow clients cannot hold sockets: request and idle timeouts", { timeout: 120_000 }, () => {
  const dir = tempDir();
  const model = join(dir.path, "model.json");
  let proc: ServeProcess;
  let port = 0;
  before(async () => {
    writeJsonAtomic(model, trainModelJson());
    proc = new ServeProcess(["--model", model, "--port", "0", "--request-timeout", "1500", "--idle-timeout", "1000"]);
    port = Number(new URL(await proc.url()).port);
  });
  after(() => {
    proc.child.kill("SIGKILL");
    dir.cleanup();
  });

  async function slowClient(trickleMs: number | null): Promise<{ closedAfterMs: number; received: string }> {
    const socket = connect(port, "127.0.0.1");
    await once(socket, "connect");
    let received = "";
    socket.on("data", (d: Buffer) => (received += d.toString()));
    socket.on("error", () => {});
    const started = Date.now();
    socket.write("POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{");
    const timer = trickleMs === null ? null : setInterval(() => socket.write(" "), trickleMs);
    let closed: boolean;
    try {
      // Bounded: a server that never closes fails the test after 15 s instead of hanging.
      // On "close" only: once(socket, "close") would reject on the ECONNRESET a trickled write can
      // meet once the server has answered 408 and closed (a race that shows on a loaded machine).
      let bound: NodeJS.Timeout | undefined;
      closed = await Promise.race([
        new Promise<boolean>((r) => socket.once("close", () => r(true))),
        new Promise<boolean>((r) => (bound = setTimeout(() => r(false), 15_000))),
      ]);
      clearTimeout(bound);
    } finally {
      // Whatever happens, nothing of this client may keep the test process alive.
      if (timer) clearInterval(timer);
      socket.destroy();
    }
    assert.ok(closed, "the server closed the slow client's connection");
    return { closedAfterMs: Date.now() - started, received };
  }

  test("headers and one body byte, then silence: closed by the idle timeout", async () => {
    const { closedAfterMs } = await slowClient(null);
    assert.ok(closedAfterMs < 8000, `closed after ${closedAfterMs} ms`);
  });

  test("a body trickled one byte every 200 ms: cut by the request timeout (408)", async () => {
    const { closedAfterMs, received } = await slowClient(200);
    assert.ok(closedAfterMs < 8000, `closed after ${closedAfterMs} ms`);
    assert.match(received, /^HTTP\/1\.1 408 /);
  });

  test("the server still answers normal clients afterwards", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "lovely" }),
    });
    assert.equal(res.status, 200);
  });
});
