import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { LocalArtifactStore, assertSafeArtifactPath } from "../../src/tracking/artifact-store.js";
import { startTrackingServer } from "../../src/tracking/server.js";
import { PolarityError } from "../../src/util/errors.js";
import { tempDir } from "./helpers.js";

const isInvalid = (err: unknown) => err instanceof PolarityError && err.code === "INVALID_PARAMETER_VALUE";

test("unsafe artifact paths are refused before touching the disk", () => {
  for (const p of ["..", "../x", "a/../../x", "a/..", "/etc/passwd", "C:/windows", "a\\..\\b", "%2e%2e/x", "a/%2E%2E/x", "x\0y", "a#b"]) {
    assert.throws(() => assertSafeArtifactPath(p), isInvalid, p);
  }
  assert.equal(assertSafeArtifactPath("model/weights.json"), "model/weights.json");
  assert.equal(assertSafeArtifactPath("./a/b/"), "a/b");
  assert.equal(assertSafeArtifactPath("a..b/c"), "a..b/c");
});

test("symlinks that point outside the root are refused for read, write, list and delete", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const root = join(dir, "root");
    const outside = join(dir, "outside");
    mkdirSync(root, { recursive: true });
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, "secret.txt"), "secret");
    symlinkSync(outside, join(root, "escape"));
    symlinkSync(join(outside, "secret.txt"), join(root, "secret-link"));
    symlinkSync(join(dir, "does-not-exist"), join(root, "dangling"));
    const store = new LocalArtifactStore(root);
    await assert.rejects(store.openRead("escape/secret.txt"), isInvalid);
    await assert.rejects(store.openRead("secret-link"), isInvalid);
    await assert.rejects(store.write("escape/new.txt", Buffer.from("x")), isInvalid);
    await assert.rejects(store.write("dangling", Buffer.from("x")), isInvalid);
    await assert.rejects(store.list("escape"), isInvalid);
    await assert.rejects(store.delete("escape/secret.txt"), isInvalid);
    assert.equal(readFileSync(join(outside, "secret.txt"), "utf8"), "secret");
    assert.ok(!existsSync(join(outside, "new.txt")));
    assert.ok(!existsSync(join(dir, "does-not-exist")));

    // a symlink that stays inside the root is fine
    mkdirSync(join(root, "real"));
    writeFileSync(join(root, "real", "f.txt"), "ok");
    symlinkSync(join(root, "real"), join(root, "alias"));
    const { stream } = await store.openRead("alias/f.txt");
    let text = "";
    for await (const chunk of stream) text += chunk;
    assert.equal(text, "ok");
  } finally {
    cleanup();
  }
});

test("the server refuses a symlink escape through the artifacts proxy", async () => {
  const { dir, cleanup } = tempDir();
  const art = join(dir, "art");
  mkdirSync(art, { recursive: true });
  mkdirSync(join(dir, "outside"));
  writeFileSync(join(dir, "outside", "secret.txt"), "secret");
  symlinkSync(join(dir, "outside"), join(art, "link"));
  const server = await startTrackingServer({ port: 0, backendStoreUri: `sqlite:///${join(dir, "s.db")}`, artifactsDestination: art });
  try {
    const base = `${server.url}/api/2.0/mlflow-artifacts/artifacts`;
    const read = await fetch(`${base}/link/secret.txt`);
    assert.equal(read.status, 400);
    assert.equal(((await read.json()) as { error_code: string }).error_code, "INVALID_PARAMETER_VALUE");
    const write = await fetch(`${base}/link/planted.txt`, { method: "PUT", body: "x" });
    assert.equal(write.status, 400);
    await write.body?.cancel();
    assert.ok(!existsSync(join(dir, "outside", "planted.txt")));

    // MLflow's Python client uploads with no Content-Type at all; chunked bodies work too
    const url = new URL(server.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method: "PUT",
          path: "/api/2.0/mlflow-artifacts/artifacts/plain/raw.bin",
          headers: { "transfer-encoding": "chunked" },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode!));
        },
      );
      req.on("error", reject);
      req.write("raw ");
      req.end("bytes");
    });
    assert.equal(status, 200);
    assert.equal(readFileSync(join(art, "plain", "raw.bin"), "utf8"), "raw bytes");
  } finally {
    await server.close();
    cleanup();
  }
});

test("writes are atomic: no temp files are left and listings never show them", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const store = new LocalArtifactStore(join(dir, "root"));
    await store.write("a/b.txt", Buffer.from("one"));
    await store.write("a/b.txt", Buffer.from("two"));
    assert.deepEqual(await store.list("a"), [{ path: "a/b.txt", is_dir: false, file_size: 3 }]);
    assert.equal(readFileSync(join(dir, "root", "a", "b.txt"), "utf8"), "two");
  } finally {
    cleanup();
  }
});
