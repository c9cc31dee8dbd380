// Issue 9 items 6 and 7: credentials in the tracking URI, secrets never printed, strict Basic parsing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseAuthorization } from "../../src/http/auth.js";
import { TrackingClient } from "../../src/tracking/client.js";
import { isRetryableNetworkError } from "../../src/tracking/transport.js";
import { PolarityError } from "../../src/util/errors.js";
import { attackTarget } from "./tracking-helpers.js";

const CLI = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const PASSWORD = "pa55-w0rd-XYZ";

test("Basic auth is parsed strictly: trailing junk, a second credential or non-canonical base64 are 401", { timeout: 60_000 }, async () => {
  const t = await attackTarget({ auth: { username: "ada", password: PASSWORD, token: "tok-123" } });
  try {
    const b64 = Buffer.from(`ada:${PASSWORD}`).toString("base64");
    const url = `${t.url}/api/2.0/mlflow/experiments/get?experiment_id=0`;
    const status = async (authorization: string) => (await fetch(url, { headers: { authorization } })).status;
    assert.equal(await status(`Basic ${b64}`), 200);
    assert.equal(await status("Bearer tok-123"), 200);
    for (const bad of [
      `Basic ${b64} junk`,
      `Basic ${b64}junk`,
      `Basic ${b64}==`,
      `Basic  ${b64}`,
      `Basic ${b64}\tx`,
      `Bearer tok-123 junk`,
      `Bearer tok-123, Basic ${b64}`,
      `Basic ${b64.slice(0, -1)}`,
    ]) {
      assert.equal(await status(bad), 401, bad);
    }
    assert.equal(parseAuthorization(`Basic ${b64} junk`), undefined);
    assert.deepEqual(parseAuthorization(`basic ${b64}`), { scheme: "basic", username: "ada", password: PASSWORD });
  } finally {
    await t.close();
  }
});

test("http://user:password@host tracking URIs authenticate with Basic, and the password appears in no message", { timeout: 60_000 }, async () => {
  const t = await attackTarget({ auth: { username: "ada", password: PASSWORD } });
  try {
    const withCreds = t.url.replace("http://", `http://ada:${PASSWORD}@`);
    const client = TrackingClient.open({ trackingUri: withCreds, maxRetries: 5, backoffMs: 2_000 });
    try {
      assert.equal((await client.getExperiment("0")).name, "Default");
      assert.ok(!client.trackingUri.includes(PASSWORD), client.trackingUri);
    } finally {
      await client.close();
    }
    // a wrong password is an immediate UNAUTHENTICATED (not retried with 2 s backoffs), with no secret in it
    const wrong = TrackingClient.open({ trackingUri: t.url.replace("http://", "http://ada:WRONG-secret@"), maxRetries: 5, backoffMs: 2_000 });
    const started = performance.now();
    await assert.rejects(wrong.getExperiment("0"), (err: PolarityError) => err.code === "UNAUTHENTICATED" && !err.message.includes("WRONG-secret"));
    assert.ok(performance.now() - started < 1_500, "not retried");
    await wrong.close();
  } finally {
    await t.close();
  }
});

test("the CLI never prints a tracking URI's password, and does not retry what cannot succeed", { timeout: 60_000 }, () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", CLI, "runs", "list", "--tracking-uri", `http://ada:${PASSWORD}@127.0.0.1:1`], {
    encoding: "utf8",
    env: { ...process.env, MLFLOW_HTTP_REQUEST_MAX_RETRIES: "1", MLFLOW_HTTP_REQUEST_TIMEOUT: "5" },
    timeout: 50_000,
  });
  assert.notEqual(r.status, 0);
  assert.ok(!`${r.stdout}${r.stderr}`.includes(PASSWORD), `${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /127\.0\.0\.1:1/);
  // only connection failures and timeouts are retried
  assert.equal(isRetryableNetworkError(new TypeError("Request cannot be constructed from a URL that includes credentials")), false);
  assert.equal(isRetryableNetworkError(Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } })), true);
  assert.equal(isRetryableNetworkError(Object.assign(new Error("The operation was aborted due to timeout"), { name: "TimeoutError" })), true);
});
