import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import S3rver from "s3rver";
import { S3ArtifactStore, PART_BYTES, parseS3Uri } from "../../src/tracking/s3-artifact-store.js";
import { PolarityError } from "../../src/util/errors.js";
import { startTrackingServer } from "../../src/tracking/server.js";
import { TrackingClient } from "../../src/tracking/client.js";
import { join } from "node:path";
import { writeFileSync, readFileSync } from "node:fs";
import { tempDir } from "./helpers.js";

/** The S3 artifact store against a real S3-compatible server (s3rver) on 127.0.0.1. */
describe("S3 artifact store", { timeout: 180_000 }, () => {
  const storage = tempDir("polarity-s3-art-");
  let server: S3rver;
  let endpoint: string;
  const open = (uri = "s3://polarity-art/team/mlartifacts", maxFileBytes?: number) =>
    new S3ArtifactStore(uri, {
      endpoint,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      maxFileBytes,
    });

  before(async () => {
    server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: storage.dir, configureBuckets: [{ name: "polarity-art" }] });
    const { port } = await server.run();
    endpoint = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await server.close();
    storage.cleanup();
  });

  test("write, list, read back and delete, with paths checked as for the local store", async () => {
    const store = open();
    await store.write("1/run/artifacts/model/model.json", Buffer.from('{"ok":true}'));
    await store.write("1/run/artifacts/metrics.csv", Readable.from(["a,b\n", "1,2\n"]));
    assert.deepEqual(await store.list("1/run/artifacts"), [
      { path: "1/run/artifacts/metrics.csv", is_dir: false, file_size: 8 },
      { path: "1/run/artifacts/model", is_dir: true },
    ]);
    assert.deepEqual(await store.list("1/run/artifacts/model", "model"), [{ path: "model/model.json", is_dir: false, file_size: 11 }]);
    const { stream, size } = await store.openRead("1/run/artifacts/metrics.csv");
    assert.equal(size, 8);
    assert.equal(await text(stream), "a,b\n1,2\n");
    assert.equal(await store.isDirectory("1/run/artifacts/model"), true);
    await assert.rejects(store.write("../outside", Buffer.from("x")), /Invalid/);
    await assert.rejects(store.delete("."), /Invalid/);
    await store.delete("1/run/artifacts/model");
    assert.deepEqual(
      (await store.list("1/run/artifacts")).map((e) => e.path),
      ["1/run/artifacts/metrics.csv"],
    );
    await assert.rejects(store.openRead("1/run/artifacts/model/model.json"), (e: PolarityError) => e.code === "RESOURCE_DOES_NOT_EXIST");
  });

  test("a file larger than one part streams as a multipart upload and reads back byte for byte", async () => {
    const store = open();
    const size = PART_BYTES * 2 + 12345;
    const pattern = (i: number) => Buffer.alloc(64 * 1024, i % 251);
    const chunks = Math.ceil(size / (64 * 1024));
    async function* body() {
      for (let i = 0; i < chunks; i++) yield i === chunks - 1 ? pattern(i).subarray(0, size - i * 64 * 1024) : pattern(i);
    }
    await store.write("big/blob.bin", Readable.from(body()));
    const { stream, size: got } = await store.openRead("big/blob.bin");
    assert.equal(got, size);
    let offset = 0;
    for await (const piece of stream as AsyncIterable<Buffer>) {
      for (let j = 0; j < piece.length; j += 4096) assert.equal(piece[j], Math.floor((offset + j) / (64 * 1024)) % 251);
      offset += piece.length;
    }
    assert.equal(offset, size);
  });

  test("an upload that breaks off or exceeds the cap leaves no partial object", async () => {
    const capped = open(undefined, PART_BYTES + 10);
    async function* tooBig() {
      for (let i = 0; i < 20; i++) yield Buffer.alloc(1024 * 1024, 1);
    }
    await assert.rejects(capped.write("partial/too-big.bin", Readable.from(tooBig())), /too large|exceeds|limit/i);
    async function* broken() {
      yield Buffer.alloc(PART_BYTES + 1, 2);
      throw new Error("client went away");
    }
    await assert.rejects(open().write("partial/broken.bin", Readable.from(broken())));
    assert.deepEqual(await open().list("partial"), []);
  });

  test("listing and deleting page through ListObjects (7 keys a page here, S3's 1,000 by default)", async () => {
    const store = new S3ArtifactStore("s3://polarity-art/paging", {
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      pageSize: 7,
    });
    const n = 23;
    for (let i = 0; i < n; i++) await store.write(`many/f${String(i).padStart(3, "0")}.txt`, Buffer.from("x"));
    await store.write("many/sub/inner.txt", Buffer.from("y"));
    const entries = await store.list("many");
    assert.equal(entries.length, n + 1);
    assert.deepEqual(
      entries.filter((e) => e.is_dir),
      [{ path: "many/sub", is_dir: true }],
    );
    assert.equal(entries[n - 1].path, `many/f${String(n - 1).padStart(3, "0")}.txt`);
    await store.delete("many");
    assert.deepEqual(await store.list("many"), []);
  });

  test("an unreachable S3 endpoint is a retryable 503 in MLflow's error shape, without credentials", async () => {
    const store = new S3ArtifactStore("s3://polarity-art/x", {
      endpoint: "http://127.0.0.1:1",
      forcePathStyle: true,
      credentials: { accessKeyId: "K", secretAccessKey: "topsecret" },
    });
    await assert.rejects(
      store.write("a.txt", Buffer.from("x")),
      (e: PolarityError) => e.code === "TEMPORARILY_UNAVAILABLE" && e.httpStatus === 503 && !e.message.includes("topsecret"),
    );
  });

  test("polarity server with --artifacts-destination s3://…: MLflow's proxied artifact routes stream to and from the bucket", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { MLFLOW_S3_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1" });
    const server = await startTrackingServer({
      host: "127.0.0.1",
      port: 0,
      backendStoreUri: `sqlite:///${join(storage.dir, "srv.db")}`,
      artifactsDestination: "s3://polarity-art/server",
    });
    const client = TrackingClient.open({ trackingUri: server.url, maxRetries: 0 });
    try {
      const exp = await client.createExperiment("s3");
      const run = await client.createRun(exp);
      const file = join(storage.dir, "model.json");
      writeFileSync(file, '{"weights":[1,2,3]}');
      await client.logArtifact(run.info.run_id, file, "model");
      const listed = (await fetch(`${server.url}/api/2.0/mlflow/artifacts/list?run_id=${run.info.run_id}&path=model`).then((r) => r.json())) as {
        files: unknown[];
      };
      assert.deepEqual(listed.files, [{ path: "model/model.json", is_dir: false, file_size: 19 }]);
      const out = join(storage.dir, "download");
      await client.downloadArtifacts(`runs:/${run.info.run_id}/model/model.json`, out);
      assert.equal(readFileSync(join(out, "model.json"), "utf8"), '{"weights":[1,2,3]}');
      // The object really is in the bucket, under the destination's prefix.
      const direct = open("s3://polarity-art/server");
      const runPath = `${exp}/${run.info.run_id}/artifacts/model/model.json`;
      assert.equal(await text((await direct.openRead(runPath)).stream), '{"weights":[1,2,3]}');
      // A client-supplied local artifact location is refused when artifacts live in S3.
      await assert.rejects(client.createExperiment("local", { artifactLocation: "/tmp/elsewhere" }), /Invalid artifact location/);
    } finally {
      await client.close();
      await server.close();
      process.env = saved;
    }
  });

  test("destinations are parsed strictly", () => {
    assert.deepEqual(parseS3Uri("s3://bucket-1/a/b/"), { bucket: "bucket-1", prefix: "a/b" });
    assert.throws(() => parseS3Uri("s3://b"), /Invalid S3 artifact destination/);
    assert.throws(() => parseS3Uri("s3://bucket/../x"), /Invalid/);
  });
});
