import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { RunningServer } from "../../src/serving/server.js";
import { sentimentOf } from "../../src/serving/predictor.js";
import { postJson, startLocal, tempDir, trainModelJson, writeJsonAtomic } from "./fixtures.js";

const POSITIVE = "I love this! It is a great, wonderful product and I am very happy with it.";
const NEGATIVE = "This is terrible. I hate it, the worst waste of money, very bad and disappointing.";

describe("model server routes (real server on 127.0.0.1, real trained model)", () => {
  const dir = tempDir();
  let server: RunningServer;
  let base: string;
  let modelName: string;

  before(async () => {
    const file = join(dir.path, "sentiment.json");
    writeJsonAtomic(file, trainModelJson());
    server = await startLocal(file);
    base = server.url;
    modelName = server.app.polarity.holder.current!.name;
  });
  after(async () => {
    await server.close();
    dir.cleanup();
  });

  test("POST /predict with one text returns label, probability per class and the model version", async () => {
    const res = await postJson(`${base}/predict`, { text: POSITIVE });
    assert.equal(res.status, 200);
    assert.equal(sentimentOf(res.body.label), "positive");
    const probs = Object.values(res.body.probabilities as Record<string, number>);
    assert.equal(probs.length, 2);
    assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    assert.equal(res.body.score, res.body.probabilities[String(res.body.label)]);
    assert.equal(res.body.class_name, "positive", "the bundle's class name comes with the numeric id");
    assert.equal(res.body.model.name, modelName);
    assert.equal(res.body.model.version, server.app.polarity.holder.current!.version);
    assert.equal(res.body.contributions, undefined);
    assert.ok(res.headers.get("x-request-id"));
  });

  test("POST /predict with texts returns one prediction per text, in order", async () => {
    const res = await postJson(`${base}/predict`, { texts: [NEGATIVE, POSITIVE, NEGATIVE] });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.predictions.map((p: { label: string | number }) => sentimentOf(p.label)),
      ["negative", "positive", "negative"],
    );
  });

  test("explain: true adds the words that pushed the decision (offsets into the original text) and the top terms", async () => {
    const res = await postJson(`${base}/predict`, { text: POSITIVE, explain: true, top_k: 5 });
    assert.equal(res.status, 200);
    const words = res.body.contributions as Array<{ token: string; start: number; end: number; weight: number }>;
    assert.ok(words.length > 0);
    let previousStart = -1;
    for (const w of words) {
      assert.equal(POSITIVE.slice(w.start, w.end), w.token);
      assert.ok(w.start > previousStart, "words in order of appearance");
      previousStart = w.start;
      assert.ok(Number.isFinite(w.weight) && w.weight !== 0);
    }
    // The word pushing hardest towards "positive" is one of the text's positive words.
    assert.equal(sentimentOf(res.body.towards), "positive");
    const top = [...words].sort((a, b) => b.weight - a.weight)[0];
    assert.match(top.token.toLowerCase(), /love|great|wonderful|happy/);
    const terms = res.body.terms as Array<{ term: string; weight: number }>;
    assert.ok(terms.length > 0 && terms.length <= 5);
    for (let i = 1; i < terms.length; i++) assert.ok(Math.abs(terms[i - 1].weight) >= Math.abs(terms[i].weight));
  });

  test("GET / serves the page titled Sentiment Analysis with a form and the model version", async () => {
    const res = await fetch(`${base}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/);
    const html = await res.text();
    assert.match(html, /<title>Sentiment Analysis<\/title>/);
    assert.match(html, /<textarea[^>]*name="text"/);
    assert.match(html, /<form method="post" action="\/predict"/);
    assert.ok(html.includes(server.app.polarity.holder.current!.version));
    assert.doesNotMatch(html, /<(script|link)[^>]+(src|href)="https?:/, "no external assets");
  });

  test("the no-JavaScript form post answers with the page, the sentiment and the probability", async () => {
    for (const [text, expected] of [
      [POSITIVE, "Positive Sentiment"],
      [NEGATIVE, "Negative Sentiment"],
    ] as const) {
      const res = await fetch(`${base}/predict`, { method: "POST", body: new URLSearchParams({ text }) });
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /text\/html/);
      const html = await res.text();
      assert.match(html, /<title>Sentiment Analysis<\/title>/);
      assert.ok(html.includes(expected), `expected ${expected}`);
      assert.match(html, /Probability <b id="probability">\d+(\.\d)?%<\/b>/);
      assert.match(html, /<mark class="(up|down)"/, "words highlighted");
    }
  });

  test("the form post escapes the user's text (no HTML injection)", async () => {
    const res = await fetch(`${base}/predict`, { method: "POST", body: new URLSearchParams({ text: '<script>alert(1)</script> I love it "quoted"' }) });
    const html = await res.text();
    assert.ok(!html.includes("<script>alert(1)</script>"));
    assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  });

  test("MLflow /invocations accepts dataframe_split, dataframe_records, instances, inputs and text/csv", async () => {
    const want = ["positive", "negative"];
    const payloads = [
      { dataframe_split: { columns: ["text"], data: [[POSITIVE], [NEGATIVE]] } },
      {
        dataframe_split: {
          columns: ["id", "review"],
          data: [
            [1, POSITIVE],
            [2, NEGATIVE],
          ],
        },
      },
      { dataframe_records: [{ text: POSITIVE }, { text: NEGATIVE }] },
      { instances: [POSITIVE, NEGATIVE] },
      { instances: [{ text: POSITIVE }, { text: NEGATIVE }] },
      { inputs: [POSITIVE, NEGATIVE] },
      { inputs: { text: [POSITIVE, NEGATIVE] } },
    ];
    for (const payload of payloads) {
      const res = await postJson(`${base}/invocations`, payload);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.predictions.map(sentimentOf), want, JSON.stringify(payload).slice(0, 60));
    }
    const csv = await fetch(`${base}/invocations`, { method: "POST", headers: { "content-type": "text/csv" }, body: `text\n"${POSITIVE}"\n"${NEGATIVE}"\n` });
    assert.equal(csv.status, 200);
    assert.deepEqual(
      ((await csv.json()) as { predictions: unknown[] }).predictions.map((l) => sentimentOf(l as string)),
      want,
    );
  });

  test("MLflow /invocations refuses ambiguous or malformed payloads with 400 BAD_REQUEST", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ inputs: [POSITIVE], instances: [POSITIVE] }, /exactly one of/],
      [{ foo: 1 }, /exactly one of/],
      [{ inputs: [1, 2] }, /inputs\[0\] must be a string/],
      [{ dataframe_split: { columns: ["a", "b"], data: [["x", "y"]] } }, /no text column/],
      [{ dataframe_records: [{ text: POSITIVE }, { text: null }] }, /dataframe_records\[1\]\.text must be a string/],
    ];
    for (const [payload, message] of cases) {
      const res = await postJson(`${base}/invocations`, payload);
      assert.equal(res.status, 400, JSON.stringify(payload));
      assert.equal(res.body.error_code, "BAD_REQUEST");
      assert.match(res.body.message, message);
    }
    const xml = await fetch(`${base}/invocations`, { method: "POST", headers: { "content-type": "application/xml" }, body: "<a/>" });
    assert.equal(xml.status, 415);
  });

  test("MLflow /ping, /health and /version", async () => {
    for (const path of ["/ping", "/health"]) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "\n");
    }
    const version = await fetch(`${base}/version`);
    assert.equal(version.status, 200);
    assert.match(await version.text(), /^\d+\.\d+\.\d+/);
  });

  test("Open Inference Protocol V2: health, server and model metadata, infer", async () => {
    assert.deepEqual(await (await fetch(`${base}/v2/health/live`)).json(), { live: true });
    assert.deepEqual(await (await fetch(`${base}/v2/health/ready`)).json(), { ready: true });
    const meta = (await (await fetch(`${base}/v2`)).json()) as { name: string };
    assert.equal(meta.name, "polarity");
    const model = (await (await fetch(`${base}/v2/models/${modelName}`)).json()) as {
      name: string;
      versions: string[];
      inputs: Array<{ datatype: string }>;
      outputs: Array<{ name: string; shape: number[] }>;
    };
    assert.equal(model.name, modelName);
    assert.deepEqual(model.versions, [server.app.polarity.holder.current!.version]);
    assert.equal(model.inputs[0].datatype, "BYTES");
    assert.deepEqual(
      model.outputs.map((o) => o.name),
      ["label", "class_name", "probabilities", "prediction_id"], // prediction_id: monitoring's ids for POST /feedback
    );
    assert.equal((await fetch(`${base}/v2/models/${modelName}/ready`)).status, 200);

    const infer = await postJson(`${base}/v2/models/${modelName}/infer`, {
      id: "req-7",
      inputs: [{ name: "text", shape: [2, 1], datatype: "BYTES", data: [[POSITIVE], [NEGATIVE]] }],
    });
    assert.equal(infer.status, 200, JSON.stringify(infer.body));
    assert.equal(infer.body.model_name, modelName);
    assert.equal(infer.body.id, "req-7");
    const [label, names, probs] = infer.body.outputs;
    // Numeric ids stay in `label` (V2 clients compare them); `class_name` says what they mean.
    assert.deepEqual(names.data, ["positive", "negative"]);
    assert.deepEqual(label.shape, [2]);
    assert.equal(label.datatype, "BYTES");
    assert.deepEqual(label.data.map(sentimentOf), ["positive", "negative"]);
    assert.deepEqual(probs.shape, [2, 2]);
    assert.equal(probs.datatype, "FP64");
    assert.ok(Math.abs(probs.data[0] + probs.data[1] - 1) < 1e-9);

    const onlyLabel = await postJson(`${base}/v2/models/${modelName}/infer`, {
      inputs: [{ name: "text", shape: [1], datatype: "BYTES", data: [POSITIVE] }],
      outputs: [{ name: "label" }],
    });
    assert.deepEqual(
      onlyLabel.body.outputs.map((o: { name: string }) => o.name),
      ["label"],
    );

    const version = server.app.polarity.holder.current!.version;
    const pinned = await postJson(`${base}/v2/models/${modelName}/versions/${version}/infer`, {
      inputs: [{ name: "text", shape: [1], datatype: "BYTES", data: [POSITIVE] }],
    });
    assert.equal(pinned.status, 200);
    assert.equal(pinned.body.model_version, version);
    const otherVersion = await postJson(`${base}/v2/models/${modelName}/versions/0/infer`, {
      inputs: [{ name: "text", shape: [1], datatype: "BYTES", data: [POSITIVE] }],
    });
    assert.equal(otherVersion.status, 404);
    assert.match(otherVersion.body.error, /version "0" is not served here/);

    const unknown = await postJson(`${base}/v2/models/other/infer`, { inputs: [{ name: "text", shape: [1], datatype: "BYTES", data: ["x"] }] });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.error, /not served here/);
    const badType = await postJson(`${base}/v2/models/${modelName}/infer`, { inputs: [{ name: "text", shape: [1], datatype: "FP32", data: [1] }] });
    assert.equal(badType.status, 400);
    assert.match(badType.body.error, /BYTES/);
    const badShape = await postJson(`${base}/v2/models/${modelName}/infer`, { inputs: [{ name: "text", shape: [3], datatype: "BYTES", data: ["a", "b"] }] });
    assert.equal(badShape.status, 400);
    assert.match(badShape.body.message, /shape \[3\]/);
  });

  test("GET /healthz and /readyz report the process and the loaded model", async () => {
    const health = (await (await fetch(`${base}/healthz`)).json()) as { status: string; pid: number };
    assert.equal(health.status, "ok");
    assert.equal(health.pid, process.pid);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { status: string; model: { name: string; version: string } };
    assert.equal(body.status, "ready");
    assert.equal(body.model.name, modelName);
  });

  test("GET /metrics keeps the seed's metric names and labels routes by pattern", async () => {
    await postJson(`${base}/predict`, { text: POSITIVE });
    await postJson(`${base}/v2/models/${modelName}/infer`, { inputs: [{ name: "text", shape: [1], datatype: "BYTES", data: [NEGATIVE] }] });
    await fetch(`${base}/no/such/route/${Math.random()}`);
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    const text = await res.text();
    assert.match(text, /^app_request_count_total\{method="POST",endpoint="\/predict"\} \d+/m);
    assert.match(text, /^app_request_count_total\{method="POST",endpoint="\/v2\/models\/:name\/infer"\} \d+/m);
    assert.match(text, /^app_request_count_total\{method="GET",endpoint="<unmatched>"\} \d+/m);
    assert.doesNotMatch(text, /endpoint="\/no\/such/, "raw URLs never become labels");
    assert.match(text, /^app_request_latency_seconds_bucket\{le="0.005",endpoint="\/predict"\} \d+/m);
    assert.match(text, /^model_prediction_count_total\{prediction="[^"]+"\} \d+/m);
    assert.match(text, /^model_prediction_probability_bucket\{le="0.9"\} \d+/m);
    assert.match(text, /^model_input_length_chars_count \d+/m);
    assert.match(text, /^app_error_count_total\{status_code="404"\} \d+/m);
    assert.match(text, /^model_reload_total\{result="success"\} 1$/m);
    const current = server.app.polarity.holder.current!;
    assert.ok(text.includes(`model_info{name="${current.name}",version="${current.version}",alias=""} 1`));
    assert.match(text, /^process_cpu_user_seconds_total /m);
  });

  test("GET /docs serves a self-contained page and /docs/json an OpenAPI document covering every route", async () => {
    const page = await fetch(`${base}/docs`);
    assert.equal(page.status, 200);
    assert.doesNotMatch(await page.text(), /(src|href)="https?:/);
    const doc = (await (await fetch(`${base}/docs/json`)).json()) as { openapi: string; paths: Record<string, Record<string, { requestBody?: unknown }>> };
    assert.match(doc.openapi, /^3\./);
    for (const path of [
      "/",
      "/predict",
      "/invocations",
      "/ping",
      "/health",
      "/version",
      "/v2/health/live",
      "/v2/health/ready",
      "/v2/models/{name}",
      "/v2/models/{name}/infer",
      "/healthz",
      "/readyz",
      "/metrics",
    ]) {
      assert.ok(doc.paths[path], `OpenAPI document lists ${path}`);
    }
    assert.ok(doc.paths["/predict"].post.requestBody, "request schema documented");
  });
});
