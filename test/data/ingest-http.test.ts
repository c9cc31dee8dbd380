import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fetchDataFile } from "../../src/data/fetch.js";
import { ingestDataset, type IngestOptions } from "../../src/data/ingest.js";
import { DataError, NotFoundError } from "../../src/util/errors.js";

/** A real HTTP server on 127.0.0.1 serving the fixtures and a few failure modes. */
describe("ingest from http(s) URLs", () => {
  let server: Server;
  let base: string;
  let csv: Buffer;
  const hanging: ServerResponse[] = [];

  before(async () => {
    csv = await readFile(join(import.meta.dirname, "..", "fixtures", "seed-reviews.csv"));
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (path === "/reviews.csv") {
        res.writeHead(200, { "content-type": "text/csv" }).end(csv);
      } else if (path === "/download") {
        // No extension: the format must come from the Content-Type.
        res.writeHead(200, { "content-type": "text/csv; charset=utf-8" }).end(csv);
      } else if (path === "/login.csv") {
        res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><html><head><title>Sign in</title></head><body>Please log in</body></html>");
      } else if (path === "/big.csv") {
        res.writeHead(200, { "content-type": "text/csv" });
        res.end(Buffer.alloc(64 * 1024, 0x61));
      } else if (path === "/slow.csv") {
        // Sends headers, then never finishes the body: only the client's timeout ends it.
        res.writeHead(200, { "content-type": "text/csv" });
        res.write("text,label\n");
        hanging.push(res);
      } else if (path === "/error") {
        res.writeHead(503, "Service Unavailable").end("down");
      } else {
        res.writeHead(404, "Not Found").end("no such file");
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const opts = (source: string, http: Partial<IngestOptions["http"]> = {}): IngestOptions => ({
    source,
    format: "auto",
    header: true,
    encoding: "utf-8",
    http: { timeoutMs: 5000, maxBytes: 1024 * 1024, sha256: null, ...http },
    baseDir: ".",
    textColumn: "review",
    labelColumn: "sentiment",
    labelMap: { positive: 1, negative: 0 },
    testSize: 0.25,
    seed: 42,
    minRows: 10,
  });

  test("a CSV served over HTTP ingests like the local file, with its sha256 recorded", async () => {
    const r = await ingestDataset(opts(`${base}/reviews.csv`));
    assert.equal(r.report.rowsKept, 40);
    assert.equal(r.source.type, "http");
    assert.equal(r.source.sha256, createHash("sha256").update(csv).digest("hex"));
  });

  test("without an extension the Content-Type picks the format", async () => {
    const r = await ingestDataset(opts(`${base}/download`));
    assert.equal(r.source.format, "csv");
  });

  test("a matching expected sha256 passes; a different one fails naming both digests", async () => {
    const good = createHash("sha256").update(csv).digest("hex");
    await ingestDataset(opts(`${base}/reviews.csv`, { sha256: good }));
    const wrong = "0".repeat(64);
    await assert.rejects(
      ingestDataset(opts(`${base}/reviews.csv`, { sha256: wrong })),
      (err: unknown) => err instanceof DataError && err.message.includes(`expected sha256 ${wrong}, got ${good}`),
    );
  });

  test("404 is a NotFoundError naming the URL and status", async () => {
    await assert.rejects(
      fetchDataFile(`${base}/missing.csv`, { timeoutMs: 5000, maxBytes: 1000 }),
      (err: unknown) => err instanceof NotFoundError && err.message.includes(`${base}/missing.csv returned HTTP 404 Not Found`),
    );
  });

  test("other HTTP errors name the status", async () => {
    await assert.rejects(fetchDataFile(`${base}/error`, { timeoutMs: 5000, maxBytes: 1000 }), /returned HTTP 503 Service Unavailable/);
  });

  test("an HTML page where CSV was expected is refused", async () => {
    await assert.rejects(ingestDataset(opts(`${base}/login.csv`)), /got an HTML page, not CSV data/);
  });

  test("a body over the size cap is stopped with the cap in the message", async () => {
    await assert.rejects(fetchDataFile(`${base}/big.csv`, { timeoutMs: 5000, maxBytes: 1024 }), /exceeded the 1\.0 KiB cap \(raise ingest\.http\.max_bytes\)/);
  });

  test("a server that stops sending times out with a clear message", async () => {
    await assert.rejects(
      fetchDataFile(`${base}/slow.csv`, { timeoutMs: 300, maxBytes: 1024 }),
      /download timed out: no complete response from .*slow\.csv within 300 ms/,
    );
  });

  test("a refused connection names the address", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await assert.rejects(
      fetchDataFile(`http://127.0.0.1:${port}/x.csv`, { timeoutMs: 5000, maxBytes: 1024 }),
      /cannot reach http:\/\/127\.0\.0\.1:\d+\/x\.csv \(ECONNREFUSED\)/,
    );
  });

  test("non-http schemes are rejected before any request", async () => {
    await assert.rejects(fetchDataFile("ftp://example.com/x.csv", { timeoutMs: 100, maxBytes: 10 }), /only http:\/\/ and https:\/\/ URLs/);
  });
});
