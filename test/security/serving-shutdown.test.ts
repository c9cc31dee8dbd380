import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { Agent, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { tempDir, trainModelJson, writeJsonAtomic } from "../serving/fixtures.js";
import { ServeProcess, get } from "../serving/serve-process.js";

/**
 * Issue 9 item 8, replayed against `polarity serve` as a real process on 127.0.0.1: SIGTERM
 * under load with kept-alive connections and a large response being read slowly. Before the
 * fix every kept-alive connection lost its next request (ECONNRESET), /readyz never showed
 * 503 (the listener closed at once), the large response was cut and the exit code was 0.
 */
function requestOn(agent: Agent, url: string, body: string): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/predict`, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("SIGTERM: unready at once, keep serving for the pre-stop delay, drain without cutting anything", { timeout: 240_000 }, () => {
  const dir = tempDir();
  const model = join(dir.path, "model.json");
  before(() => writeJsonAtomic(model, trainModelJson()));
  after(() => dir.cleanup());

  test("kept-alive clients get Connection: close instead of ECONNRESET, /readyz is 503, a multi-MB response arrives whole, exit 0", async () => {
    const proc = new ServeProcess([
      "--model",
      model,
      "--port",
      "0",
      "--pre-stop-delay",
      "1500",
      "--shutdown-timeout",
      "60000",
      "--max-batch-chars",
      "20000000",
      "--max-explain-texts",
      "200",
    ]);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    try {
      const url = await proc.url();
      const CONNECTIONS = 16;
      const warm = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => requestOn(agent, url, JSON.stringify({ text: `good film number ${i}` }))));
      assert.ok(warm.every((r) => r.status === 200));

      // A large response (explanations of 150 texts of ~6,000 characters: several MB of JSON),
      // read one chunk and then not at all until shutdown has begun.
      const { port } = new URL(url);
      const text = "The acting was wonderful but the plot was terribly slow and boring. ".repeat(90);
      const bigBody = JSON.stringify({ texts: Array.from({ length: 150 }, () => text), explain: true });
      const big = connect(Number(port), "127.0.0.1");
      await once(big, "connect");
      const chunks: Buffer[] = [];
      const firstChunk = once(big, "data").then(([d]) => chunks.push(d as Buffer));
      big.write(
        `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(bigBody)}\r\n\r\n${bigBody}`,
      );
      await firstChunk;
      big.pause();

      proc.child.kill("SIGTERM");
      await proc.waitForLog((l) => typeof l.msg === "string" && l.msg.startsWith("received SIGTERM"));
      // Unready at once, while still accepting connections during the pre-stop delay.
      const ready = await get(`${url}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(JSON.parse(ready.body).status, "draining");

      // Every kept-alive connection is still answered, and told to close.
      const during = await Promise.all(
        Array.from({ length: CONNECTIONS }, () =>
          requestOn(agent, url, JSON.stringify({ text: "still there?" })).catch((err: NodeJS.ErrnoException) => ({
            status: 0,
            connection: err.code,
            body: "",
          })),
        ),
      );
      assert.deepEqual(
        during.map((r) => r.status),
        Array(CONNECTIONS).fill(200),
        `statuses during the pre-stop delay: ${during.map((r) => r.connection).join(",")}`,
      );
      assert.ok(
        during.every((r) => r.connection === "close"),
        "responses during shutdown carry Connection: close",
      );

      // The slow reader now reads: the whole response arrives.
      big.on("data", (d: Buffer) => chunks.push(d));
      big.resume();
      await once(big, "close");
      const raw = Buffer.concat(chunks);
      const headerEnd = raw.indexOf("\r\n\r\n");
      const head = raw.subarray(0, headerEnd).toString();
      assert.match(head, /^HTTP\/1\.1 200 /);
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
      assert.ok(length > 4_000_000, `response is ${length} bytes`);
      assert.equal(raw.length - headerEnd - 4, length, "the large response arrived whole");
      assert.equal(JSON.parse(raw.subarray(headerEnd + 4).toString()).predictions.length, 150);

      assert.equal(await proc.exited, 0);
      await proc.waitForLog((l) => l.msg === "server closed: all in-flight requests finished");
    } finally {
      agent.destroy();
      proc.child.kill("SIGKILL");
    }
  });
});
