import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import S3rver from "s3rver";
import { addData, checkoutData, fetchData, gcCache, pullData, pushData } from "../../src/pipeline/data-versioning.js";
import { reproduce } from "../../src/pipeline/repro.js";
import { cli, makeProject, memoryLogger, read, tempDir, writeFiles } from "./helpers.js";

function listTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else out[r] = fs.readFileSync(path.join(d, e.name), "utf8");
    }
  };
  walk(dir, "");
  return out;
}

const DATASET = {
  "corpus/train/pos.txt": "good movie\n",
  "corpus/train/neg.txt": "bad movie\n",
  "corpus/test/all.txt": "fine\nawful\n",
  "corpus/README": "toy corpus\n",
};

function withRemote(dir: string, url: string, extra = ""): void {
  writeFiles(dir, { ".dvc/config": `[core]\n    remote = storage\n['remote "storage"']\n    url = ${url}\n${extra}` });
}

describe("data versioning: add, push, pull, checkout, gc", () => {
  it("add writes a DVC-style .dvc pointer, caches the directory and ignores it in git", async () => {
    const dir = makeProject(DATASET);
    const r = cli(dir, ["add", "corpus", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const [res] = JSON.parse(r.stdout);
    assert.equal(res.nfiles, 4);
    assert.equal(read(dir, "corpus.dvc"), `outs:\n- md5: ${res.md5}\n  size: ${res.size}\n  nfiles: 4\n  hash: md5\n  path: corpus\n`);
    assert.match(res.md5, /^[0-9a-f]{32}\.dir$/);
    assert.equal(read(dir, ".gitignore"), "/corpus\n");
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, ".dvc/cache/files/md5", res.md5.slice(0, 2), res.md5.slice(2)), "utf8"));
    assert.deepEqual(
      manifest.map((e: { relpath: string }) => e.relpath),
      ["README", "test/all.txt", "train/neg.txt", "train/pos.txt"],
    );
  });

  it("round-trips a directory through a local remote: push, lose everything, pull", async () => {
    const dir = makeProject(DATASET);
    const remote = tempDir("polarity-remote-");
    withRemote(dir, remote);
    await addData({ root: dir, targets: [path.join(dir, "corpus")] });
    const pushed = await pushData({ root: dir });
    assert.deepEqual([pushed.transferred, pushed.alreadyPresent, pushed.missing], [5, 0, []]); // 4 files + the manifest
    assert.equal((await pushData({ root: dir })).transferred, 0);
    fs.rmSync(path.join(dir, "corpus"), { recursive: true });
    fs.rmSync(path.join(dir, ".dvc/cache"), { recursive: true });
    const pulled = await pullData({ root: dir });
    assert.equal(pulled.transferred, 5);
    assert.deepEqual(pulled.checkout.added, ["corpus"]);
    assert.deepEqual(listTree(path.join(dir, "corpus")), Object.fromEntries(Object.entries(DATASET).map(([k, v]) => [k.slice("corpus/".length), v])));
  });

  it("a relative local remote url is resolved from .dvc/, as in DVC", async () => {
    const dir = makeProject({ "f.txt": "x\n" });
    withRemote(dir, "../remote-store");
    await addData({ root: dir, targets: [path.join(dir, "f.txt")] });
    await pushData({ root: dir });
    assert.ok(fs.existsSync(path.join(dir, "remote-store/files/md5/40/1b30e3b8b5d629635a5c613cdb7919")));
  });

  it("a corrupted cache file is detected on checkout and the file is not restored", async () => {
    const dir = makeProject(DATASET);
    const [added] = await addData({ root: dir, targets: [path.join(dir, "corpus")] });
    fs.rmSync(path.join(dir, "corpus"), { recursive: true });
    const id = "43c9d41e2765e94aa7fa0a5c3dcd2e71"; // md5 of "good movie\n"
    const obj = path.join(dir, ".dvc/cache/files/md5", id.slice(0, 2), id.slice(2));
    assert.ok(fs.existsSync(obj), "the cache holds the file under its md5");
    fs.chmodSync(obj, 0o644);
    fs.writeFileSync(obj, "evil movie\n");
    await assert.rejects(checkoutData({ root: dir }), (err: Error) => {
      assert.match(err.message, new RegExp(`corpus: corrupted cache object ${id}: its content hashes to [0-9a-f]{32}`));
      return true;
    });
    assert.equal(fs.existsSync(path.join(dir, "corpus")), false);
    assert.ok(added.md5.endsWith(".dir"));
  });

  it("fetch rejects an object whose content on the remote does not match its hash", async () => {
    const dir = makeProject({ "f.txt": "payload\n" });
    const remote = tempDir("polarity-remote-");
    withRemote(dir, remote);
    const [added] = await addData({ root: dir, targets: [path.join(dir, "f.txt")] });
    await pushData({ root: dir });
    const onRemote = path.join(remote, "files/md5", added.md5.slice(0, 2), added.md5.slice(2));
    fs.chmodSync(onRemote, 0o644);
    fs.writeFileSync(onRemote, "tampered\n");
    fs.rmSync(path.join(dir, ".dvc/cache"), { recursive: true });
    await assert.rejects(fetchData({ root: dir }), new RegExp(`object ${added.md5} downloaded from remote 'storage' is corrupted`));
    assert.equal(fs.existsSync(path.join(dir, ".dvc/cache/files/md5", added.md5.slice(0, 2), added.md5.slice(2))), false);
  });

  it("checkout restores pipeline outputs recorded in dvc.lock and refuses to discard uncached edits", async () => {
    const dir = makeProject({ "dvc.yaml": "stages:\n  s:\n    cmd: mkdir -p out && echo one > out/a.txt\n    outs: [out]\n" });
    await reproduce({ root: dir, log: memoryLogger() });
    fs.rmSync(path.join(dir, "out"), { recursive: true });
    assert.deepEqual((await checkoutData({ root: dir })).added, ["out"]);
    assert.equal(read(dir, "out/a.txt"), "one\n");
    fs.writeFileSync(path.join(dir, "out/a.txt"), "local edit\n");
    await assert.rejects(checkoutData({ root: dir }), /'out' was modified in the workspace and that version is not in the cache/);
    assert.deepEqual((await checkoutData({ root: dir, force: true })).modified, ["out"]);
    assert.equal(read(dir, "out/a.txt"), "one\n");
  });

  it("gc removes cache entries nothing references any more", async () => {
    const dir = makeProject({ "f.txt": "v1\n" });
    await addData({ root: dir, targets: [path.join(dir, "f.txt")] });
    fs.writeFileSync(path.join(dir, "f.txt"), "v2\n");
    await addData({ root: dir, targets: [path.join(dir, "f.txt")] });
    const dry = await gcCache({ root: dir, dry: true });
    assert.deepEqual([dry.removed, dry.kept], [1, 1]);
    const res = await gcCache({ root: dir });
    assert.deepEqual([res.removed, res.kept, res.bytes], [1, 1, 3]);
    assert.equal((await gcCache({ root: dir })).removed, 0);
    fs.rmSync(path.join(dir, "f.txt"));
    await checkoutData({ root: dir });
    assert.equal(read(dir, "f.txt"), "v2\n");
  });

  it("push without a configured remote says how to configure one", async () => {
    const dir = makeProject({ "f.txt": "x\n" });
    await assert.rejects(pushData({ root: dir }), /no remote given and no default remote set/);
    withRemote(dir, "/tmp/x");
    await assert.rejects(pushData({ root: dir, remote: "nope" }), /remote 'nope' is not configured in \.dvc\/config \(configured: storage\)/);
  });
});

describe("S3 remote", () => {
  let server: S3rver;
  let endpoint = "";
  const storage = tempDir("polarity-s3rver-");

  before(async () => {
    server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: storage, configureBuckets: [{ name: "polarity-test" }] });
    const { port } = await server.run();
    endpoint = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await server.close();
  });

  it("pushes to and pulls from an S3-compatible server (s3rver) with the DVC layout", async () => {
    const dir = makeProject(DATASET);
    withRemote(dir, "s3://polarity-test/project/cache", `    endpointurl = ${endpoint}\n    access_key_id = S3RVER\n    secret_access_key = S3RVER\n`);
    await addData({ root: dir, targets: [path.join(dir, "corpus")] });
    assert.equal((await pushData({ root: dir })).transferred, 5);
    assert.equal((await pushData({ root: dir })).alreadyPresent, 5);
    const keysOnDisk = fs.readdirSync(path.join(storage, "polarity-test", "project", "cache", "files", "md5"));
    assert.ok(keysOnDisk.includes("43"), "objects are stored under files/md5/<2 hex>/");
    fs.rmSync(path.join(dir, "corpus"), { recursive: true });
    fs.rmSync(path.join(dir, ".dvc/cache"), { recursive: true });
    const pulled = await pullData({ root: dir });
    assert.equal(pulled.transferred, 5);
    assert.equal(read(dir, "corpus/train/pos.txt"), "good movie\n");
  });

  it("reports an unreachable or wrong S3 endpoint as one clear error", async () => {
    const dir = makeProject({ "f.txt": "x\n" });
    withRemote(dir, "s3://no-such-bucket/p", `    endpointurl = ${endpoint}\n    access_key_id = S3RVER\n    secret_access_key = S3RVER\n`);
    await addData({ root: dir, targets: [path.join(dir, "f.txt")] });
    await assert.rejects(
      pushData({ root: dir }),
      /remote 'storage' \(s3:\/\/no-such-bucket\/p at http:\/\/127\.0\.0\.1:\d+\): listing objects failed: NoSuchBucket/,
    );
  });
});

// Live check against a real S3-compatible service, only when one is configured:
// POLARITY_TEST_S3_ENDPOINT, POLARITY_TEST_S3_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
if (process.env.POLARITY_TEST_S3_ENDPOINT && process.env.POLARITY_TEST_S3_BUCKET) {
  describe("S3 remote (live service from POLARITY_TEST_S3_ENDPOINT)", () => {
    it("round-trips a directory", async () => {
      const dir = makeProject(DATASET);
      const prefix = `polarity-test-${process.pid}-${Date.now()}`;
      withRemote(dir, `s3://${process.env.POLARITY_TEST_S3_BUCKET}/${prefix}`, `    endpointurl = ${process.env.POLARITY_TEST_S3_ENDPOINT}\n`);
      await addData({ root: dir, targets: [path.join(dir, "corpus")] });
      await pushData({ root: dir });
      fs.rmSync(path.join(dir, "corpus"), { recursive: true });
      fs.rmSync(path.join(dir, ".dvc/cache"), { recursive: true });
      await pullData({ root: dir });
      assert.equal(read(dir, "corpus/test/all.txt"), "fine\nawful\n");
    });
  });
}
