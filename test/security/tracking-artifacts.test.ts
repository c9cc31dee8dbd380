// Issue 9 items 2, 3 and 5 (artifact size cap): the artifact proxy and client-chosen artifact
// locations must never reach the root itself or anything outside it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { attackTarget } from "./tracking-helpers.js";

const ART = "/api/2.0/mlflow-artifacts/artifacts";

test(
  "DELETE and PUT of '.', '%2e', '/./.', './' never touch the artifact root, leave no temp file outside it and leak no server path",
  { timeout: 60_000 },
  async () => {
    const t = await attackTarget();
    try {
      mkdirSync(join(t.artifactRoot, "0"), { recursive: true });
      writeFileSync(join(t.artifactRoot, "0", "keep.txt"), "precious");
      for (const p of [".", "%2e", "./.", "%2e/%2e", "./", "a/..%2f..", "%2E"]) {
        const del = await fetch(`${t.url}${ART}/${p}`, { method: "DELETE" });
        const delBody = await del.text();
        assert.ok(del.status === 400 || del.status === 404, `DELETE ${p}: ${del.status} ${delBody}`);
        assert.ok(!delBody.includes(t.dir), `DELETE ${p} leaked a server path: ${delBody}`);
        assert.ok(existsSync(join(t.artifactRoot, "0", "keep.txt")), `DELETE ${p} removed the store`);
        const put = await fetch(`${t.url}${ART}/${p}`, { method: "PUT", body: "x", headers: { "content-type": "application/octet-stream" } });
        const putBody = await put.text();
        assert.ok(put.status === 400 || put.status === 404, `PUT ${p}: ${put.status} ${putBody}`);
        assert.ok(!putBody.includes(t.dir), `PUT ${p} leaked a server path: ${putBody}`);
      }
      // nothing was written beside the root (the old temp file landed in its parent)
      assert.deepEqual(
        readdirSync(t.dir).sort(),
        ["artifacts", "mlruns.db", "mlruns.db-shm", "mlruns.db-wal"].filter((f) => existsSync(join(t.dir, f))).sort(),
      );
      // PUT onto an existing directory is a clear 400, not a 500 with EISDIR and a path
      const dir = await fetch(`${t.url}${ART}/0`, { method: "PUT", body: "x" });
      const dirBody = await dir.text();
      assert.equal(dir.status, 400, dirBody);
      assert.ok(!dirBody.includes(t.dir) && !dirBody.includes("EISDIR"), dirBody);
      // ordinary use still works
      assert.equal((await fetch(`${t.url}${ART}/0/new.txt`, { method: "PUT", body: "hello" })).status, 200);
      assert.equal(await (await fetch(`${t.url}${ART}/0/new.txt`)).text(), "hello");
      assert.equal((await fetch(`${t.url}${ART}/0/new.txt`, { method: "DELETE" })).status, 200);
    } finally {
      await t.close();
    }
  },
);

test("an experiment artifact_location outside the artifact root is refused; relative ones are stored absolute", { timeout: 60_000 }, async () => {
  const t = await attackTarget();
  try {
    const outside = join(t.dir, "outside");
    for (const location of [
      `file://${outside}`,
      outside,
      `${t.artifactRoot}/../outside`,
      "file:///tmp/polarity-attack-anywhere",
      "mlflow-artifacts:/../../outside",
    ]) {
      const r = await t.api("/api/2.0/mlflow/experiments/create", { name: `x-${location}`, artifact_location: location });
      assert.equal(r.status, 400, `${location}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error_code, "INVALID_PARAMETER_VALUE");
    }
    assert.equal(existsSync(outside), false);
    // inside the root is fine, and stored as an absolute file: URI
    const inside = await t.api("/api/2.0/mlflow/experiments/create", { name: "inside", artifact_location: join(t.artifactRoot, "custom") });
    assert.equal(inside.status, 200, JSON.stringify(inside.json));
    const got = await t.api(`/api/2.0/mlflow/experiments/get?experiment_id=${inside.json.experiment_id}`);
    assert.equal((got.json.experiment as { artifact_location: string }).artifact_location, `file://${join(t.artifactRoot, "custom")}`);
    // a run in it lists its (empty) artifacts without touching anything outside
    const run = await t.api("/api/2.0/mlflow/runs/create", { experiment_id: inside.json.experiment_id });
    assert.equal(run.status, 200);
    const list = await t.api(`/api/2.0/mlflow/artifacts/list?run_id=${(run.json.run as { info: { run_id: string } }).info.run_id}`);
    assert.equal(list.status, 200);
  } finally {
    await t.close();
  }
});

test("uploads above the configured artifact size cap are refused (413) and leave nothing behind", { timeout: 60_000 }, async () => {
  const t = await attackTarget({ maxArtifactBytes: 1000 });
  try {
    const declared = await fetch(`${t.url}${ART}/0/big.bin`, { method: "PUT", body: Buffer.alloc(2000) });
    assert.equal(declared.status, 413);
    assert.equal(((await declared.json()) as { error_code: string }).error_code, "PAYLOAD_TOO_LARGE");
    // a chunked body (no Content-Length) is cut off while streaming
    const chunks = async function* () {
      for (let i = 0; i < 10; i++) yield Buffer.alloc(300);
    };
    const streamed = await fetch(`${t.url}${ART}/0/stream.bin`, { method: "PUT", body: ReadableStream.from(chunks()), duplex: "half" } as RequestInit);
    assert.equal(streamed.status, 413);
    assert.equal(existsSync(join(t.artifactRoot, "0", "stream.bin")), false);
    assert.deepEqual(existsSync(join(t.artifactRoot, "0")) ? readdirSync(join(t.artifactRoot, "0")) : [], []);
    assert.equal((await fetch(`${t.url}${ART}/0/small.bin`, { method: "PUT", body: Buffer.alloc(1000) })).status, 200);
  } finally {
    await t.close();
  }
});
