import { test } from "node:test";
import assert from "node:assert/strict";
import { TrackingClient } from "../../src/tracking/client.js";
import { resolveServerAuth } from "../../src/tracking/server.js";
import { httpHarness, rejectsWith } from "./helpers.js";

test("a server started with a token requires Authorization: Bearer on every request", async () => {
  const h = await httpHarness({ token: "s3cret" });
  try {
    const url = `${h.server!.url}/api/2.0/mlflow/experiments/search`;
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: "Bearer wrong" },
      { authorization: "Basic " + Buffer.from("u:s3cret").toString("base64") },
    ];
    for (const headers of attempts) {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: "{}" });
      assert.equal(res.status, 401);
      assert.match(res.headers.get("www-authenticate") ?? "", /Bearer/);
      assert.deepEqual(((await res.json()) as { error_code: string }).error_code, "UNAUTHENTICATED");
    }
    // unknown endpoints and the artifact proxy are behind the same gate
    assert.equal((await fetch(`${h.server!.url}/api/2.0/mlflow-artifacts/artifacts/x`)).status, 401);
    assert.equal((await fetch(`${h.server!.url}/nope`)).status, 401);
    const ok = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer s3cret" }, body: "{}" });
    assert.equal(ok.status, 200);
    // the client sends the token it was given (MLFLOW_TRACKING_TOKEN by default)
    const id = await h.client.createExperiment("authed");
    assert.equal((await h.client.getExperiment(id)).name, "authed");
    const anonymous = TrackingClient.open({ trackingUri: h.server!.url, maxRetries: 0 });
    await rejectsWith(anonymous.getExperiment(id), "UNAUTHENTICATED");
  } finally {
    await h.close();
  }
});

test("a server started with user:password accepts Basic credentials, as MLflow's clients send them", async () => {
  const h = await httpHarness({ username: "ada", password: "pa:ss" });
  try {
    const url = `${h.server!.url}/api/2.0/mlflow/experiments/get?experiment_id=0`;
    const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}` });
    assert.equal((await fetch(url, { headers: basic("ada", "pa:ss") })).status, 200);
    const wrong = await fetch(url, { headers: basic("ada", "nope") });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get("www-authenticate") ?? "", /Basic realm="polarity"/);
    assert.equal((await fetch(url)).status, 401);
    assert.equal((await h.client.getExperiment("0")).name, "Default");
  } finally {
    await h.close();
  }
});

test("server credentials come from flags, else from POLARITY_SERVER_* environment variables", () => {
  assert.deepEqual(resolveServerAuth({ auth: "u:p:q" }, {}), { username: "u", password: "p:q" });
  assert.deepEqual(resolveServerAuth({ authToken: "t" }, {}), { token: "t" });
  assert.deepEqual(resolveServerAuth({}, { POLARITY_SERVER_USERNAME: "a", POLARITY_SERVER_PASSWORD: "b", POLARITY_SERVER_TOKEN: "c" }), {
    username: "a",
    password: "b",
    token: "c",
  });
  assert.equal(resolveServerAuth({}, {}), undefined);
  assert.throws(() => resolveServerAuth({ auth: "nocolon" }, {}), /user:password/);
  assert.throws(() => resolveServerAuth({}, { POLARITY_SERVER_USERNAME: "a" }), /POLARITY_SERVER_PASSWORD/);
});
