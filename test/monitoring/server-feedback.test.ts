import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import { JsonlLog } from "../../src/monitoring/jsonl-log.js";
import { resolveMonitoringConfig } from "../../src/monitoring/config.js";
import { LocalFileModelSource } from "../../src/serving/model-source.js";
import { startServing, type RunningServer } from "../../src/serving/server.js";
import type { MonitoringInput } from "../../src/monitoring/config.js";
import { profiledModel } from "./fixtures.js";

/** The monitoring hooks of the real model server over HTTP: ids, POST /feedback, metrics, off switch. */
const fixture = profiledModel("imdb");

async function start(dir: string, monitoring: MonitoringInput): Promise<RunningServer> {
  const file = join(dir, `model-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(fixture.json));
  return startServing({
    source: new LocalFileModelSource(file, (j) => SentimentModel.fromJSON(j)),
    host: "127.0.0.1",
    port: 0,
    pollIntervalMs: 0,
    logLevel: "silent",
    handleSignals: false,
    monitoring,
  });
}

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function metric(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

describe("monitoring in the model server", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "polarity-monitor-server-"));
  let server: RunningServer;
  before(async () => {
    server = await start(dir, { intervalMs: 0 });
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("every /predict prediction carries a distinct id naming its predicted class", async () => {
    const one = await post(`${server.url}/predict`, { text: "I love it" });
    assert.match(String(one.body.id), /^[0-9a-f]{8}-[0-9a-z]+-1$/);
    const many = await post(`${server.url}/predict`, { texts: ["great", "terrible, awful", "fine"] });
    const ids = (many.body.predictions as { id: string; label: number }[]).map((p) => p.id);
    assert.equal(new Set([...ids, one.body.id]).size, 4);
    (many.body.predictions as { id: string; label: number }[]).forEach((p) => assert.ok(p.id.endsWith(`-${fixture.model.classes.indexOf(p.label)}`)));
    const explained = await post(`${server.url}/predict`, { text: "not good at all", explain: true });
    assert.ok(typeof explained.body.id === "string");
  });

  test("POST /feedback records labels, counts duplicates once, and live accuracy follows", async () => {
    const res = await post(`${server.url}/predict`, { texts: fixture.stream.texts.slice(0, 40) });
    const preds = res.body.predictions as { id: string; label: number }[];
    const items = preds.map((p, i) => ({ id: p.id, label: fixture.stream.labels[i] }));
    const first = await post(`${server.url}/feedback`, { feedback: items });
    assert.deepEqual(first, { status: 200, body: { recorded: 40, duplicates: 0 } });
    const again = await post(`${server.url}/feedback`, items[0]);
    assert.deepEqual(again, { status: 200, body: { recorded: 0, duplicates: 1 } });
    const correct = preds.filter((p, i) => p.label === fixture.stream.labels[i]).length;
    const monitor = (server.app.polarity.predictor as unknown as { monitor: { tick(): Promise<void> } }).monitor;
    await monitor.tick();
    assert.equal(await metric(server.url, "model_feedback_labelled_total"), 40);
    assert.equal(await metric(server.url, "model_feedback_correct_total"), correct);
    assert.equal(await metric(server.url, "model_live_accuracy"), correct / 40);
    assert.equal(await metric(server.url, "model_live_window_labelled"), 40);
    assert.equal(await metric(server.url, "model_reference_profile_loaded"), 1);
    assert.equal(await metric(server.url, "model_reference_accuracy"), (fixture.json.metadata.referenceProfile as { accuracy: number }).accuracy);
  });

  test("MLflow /invocations answers prediction_ids beside predictions (JSON and CSV), and /feedback scores them", async () => {
    const texts = fixture.stream.texts.slice(200, 206);
    const json = await post(`${server.url}/invocations`, { dataframe_split: { columns: ["text"], data: texts.map((t) => [t]) } });
    assert.equal(json.status, 200);
    const labels = json.body.predictions as number[];
    const ids = json.body.prediction_ids as string[];
    assert.deepEqual(Object.keys(json.body), ["predictions", "prediction_ids"]);
    assert.equal(ids.length, texts.length);
    ids.forEach((id, i) => assert.match(id, new RegExp(`^[0-9a-f]{8}-[0-9a-z]+-${fixture.model.classes.indexOf(labels[i])}$`)));
    const csv = await fetch(`${server.url}/invocations`, {
      method: "POST",
      headers: { "content-type": "text/csv" },
      body: `text\n"${texts[0].replaceAll('"', '""')}"\n`,
    });
    const csvBody = (await csv.json()) as { predictions: number[]; prediction_ids: string[] };
    assert.equal(csvBody.prediction_ids.length, 1);
    assert.notEqual(csvBody.prediction_ids[0], ids[0], "every prediction gets its own id");

    const before = (await metric(server.url, "model_feedback_labelled_total")) ?? 0;
    const fb = await post(`${server.url}/feedback`, { feedback: ids.map((id, i) => ({ id, label: fixture.stream.labels[200 + i] })) });
    assert.deepEqual(fb, { status: 200, body: { recorded: texts.length, duplicates: 0 } });
    assert.equal(await metric(server.url, "model_feedback_labelled_total"), before + texts.length);
  });

  test("V2 infer has a prediction_id output (listed in the model metadata) that /feedback scores; asked-for outputs only", async () => {
    const name = server.app.polarity.holder.current!.name;
    const meta = (await (await fetch(`${server.url}/v2/models/${name}`)).json()) as { outputs: { name: string; datatype: string; shape: number[] }[] };
    assert.deepEqual(meta.outputs.at(-1), { name: "prediction_id", datatype: "BYTES", shape: [-1] });
    const texts = fixture.stream.texts.slice(210, 214);
    const infer = await post(`${server.url}/v2/models/${name}/infer`, {
      id: "r1",
      inputs: [{ name: "text", shape: [texts.length], datatype: "BYTES", data: texts }],
    });
    assert.equal(infer.status, 200);
    const outputs = infer.body.outputs as { name: string; shape: number[]; datatype: string; data: (string | number)[] }[];
    assert.deepEqual(
      outputs.map((o) => o.name),
      ["label", "class_name", "probabilities", "prediction_id"],
    );
    const idTensor = outputs[3];
    assert.deepEqual([idTensor.datatype, idTensor.shape], ["BYTES", [texts.length]]);
    const labels = outputs[0].data.map(Number);
    idTensor.data.forEach((id, i) => assert.match(String(id), new RegExp(`-${fixture.model.classes.indexOf(labels[i])}$`)));

    const onlyIds = await post(`${server.url}/v2/models/${name}/infer`, {
      inputs: [{ name: "text", shape: [1], datatype: "BYTES", data: [texts[0]] }],
      outputs: [{ name: "prediction_id" }],
    });
    assert.deepEqual(
      (onlyIds.body.outputs as { name: string }[]).map((o) => o.name),
      ["prediction_id"],
    );
    const onlyLabel = await post(`${server.url}/v2/models/${name}/infer`, {
      inputs: [{ name: "text", shape: [1], datatype: "BYTES", data: [texts[0]] }],
      outputs: [{ name: "label" }],
    });
    assert.deepEqual(
      (onlyLabel.body.outputs as { name: string }[]).map((o) => o.name),
      ["label"],
    );

    const fb = await post(`${server.url}/feedback`, { feedback: idTensor.data.map((id, i) => ({ id: String(id), label: fixture.stream.labels[210 + i] })) });
    assert.deepEqual(fb, { status: 200, body: { recorded: texts.length, duplicates: 0 } });
  });

  test("bad feedback is a 4xx naming the item, and nothing of the batch is recorded", async () => {
    const before = await metric(server.url, "model_feedback_labelled_total");
    const { body } = await post(`${server.url}/predict`, { text: "good" });
    const cases: [unknown, RegExp, number?][] = [
      [{ id: "../../etc/passwd", label: 1 }, /is not a prediction id/],
      [{ id: body.id, label: "maybe" }, /label "maybe" is not one of the model's classes \[0,1\]/],
      [{ id: "0123abcd-1-7", label: 1 }, /names class 7 but the model has 2 classes/],
      [
        {
          feedback: [
            { id: body.id, label: 1 },
            { id: "nope", label: 1 },
          ],
        },
        /feedback\[1\]: id "nope"/,
      ],
      [{ id: body.id }, /label/],
      [{ feedback: [] }, /feedback|fewer|must/i],
      // Over the batch limit is a 413, like every other limit of the server.
      [{ feedback: Array.from({ length: 1001 }, () => ({ id: body.id, label: 1 })) }, /1000|more/, 413],
      [{ id: body.id, label: 1, extra: true }, /additional|extra|must/i],
      ["{not json", /JSON|json/],
    ];
    for (const [payload, message, status = 400] of cases) {
      const r = await post(`${server.url}/feedback`, payload);
      assert.equal(r.status, status, JSON.stringify(payload).slice(0, 80));
      assert.equal(typeof r.body.error_code, "string");
      assert.match(String(r.body.message), message);
    }
    assert.equal(await metric(server.url, "model_feedback_labelled_total"), before);
  });

  test("drift gauges appear once the window holds 100 predictions, with their thresholds", async () => {
    const monitor = (server.app.polarity.predictor as unknown as { monitor: { tick(): Promise<void> } }).monitor;
    await post(`${server.url}/predict`, { texts: fixture.stream.texts.slice(0, 150) });
    await monitor.tick();
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const s of ["score_psi", "score_js", "length_psi", "length_js", "class_mix_tv", "oov_shift", "top_terms_chi2"]) {
      assert.match(text, new RegExp(`^model_drift\\{statistic="${s}"\\} [0-9.e-]+$`, "m"), s);
      assert.match(text, new RegExp(`^model_drift_threshold\\{statistic="${s}"\\} `, "m"));
    }
  });

  test("POLARITY_MONITORING=off: no ids, no /feedback route, no drift series", async () => {
    const off = await start(dir, resolveMonitoringConfig({}, { POLARITY_MONITORING: "off" }));
    try {
      const r = await post(`${off.url}/predict`, { text: "nice" });
      assert.equal(r.status, 200);
      assert.equal("id" in r.body, false);
      assert.equal((await post(`${off.url}/feedback`, { id: "x", label: 1 })).status, 404);
      const inv = await post(`${off.url}/invocations`, { inputs: ["nice"] });
      assert.deepEqual(Object.keys(inv.body), ["predictions"]);
      const name = off.app.polarity.holder.current!.name;
      const meta = (await (await fetch(`${off.url}/v2/models/${name}`)).json()) as { outputs: { name: string }[] };
      assert.deepEqual(
        meta.outputs.map((o) => o.name),
        ["label", "class_name", "probabilities"],
      );
      const infer = await post(`${off.url}/v2/models/${name}/infer`, { inputs: [{ name: "text", shape: [1], datatype: "BYTES", data: ["nice"] }] });
      assert.deepEqual(
        (infer.body.outputs as { name: string }[]).map((o) => o.name),
        ["label", "class_name", "probabilities"],
      );
      const asked = await post(`${off.url}/v2/models/${name}/infer`, {
        inputs: [{ name: "text", shape: [1], datatype: "BYTES", data: ["nice"] }],
        outputs: [{ name: "prediction_id" }],
      });
      assert.equal(asked.status, 400);
      assert.match(String(asked.body.message ?? asked.body.error), /prediction ids come with monitoring on/);
      assert.doesNotMatch(await (await fetch(`${off.url}/metrics`)).text(), /model_drift/);
    } finally {
      await off.close();
    }
  });

  test("a bundle without a reference profile is served, with model_reference_profile_loaded 0 and no drift", async () => {
    const bare = { ...fixture.json, metadata: {} };
    const file = join(dir, "bare.json");
    writeFileSync(file, JSON.stringify(bare));
    const s = await startServing({
      source: new LocalFileModelSource(file, (j) => SentimentModel.fromJSON(j)),
      host: "127.0.0.1",
      port: 0,
      pollIntervalMs: 0,
      logLevel: "silent",
      handleSignals: false,
      monitoring: { intervalMs: 0 },
    });
    try {
      const r = await post(`${s.url}/predict`, { texts: fixture.stream.texts.slice(0, 120) });
      assert.equal(r.status, 200);
      await (s.app.polarity.predictor as unknown as { monitor: { tick(): Promise<void> } }).monitor.tick();
      assert.equal(await metric(s.url, "model_reference_profile_loaded"), 0);
      assert.doesNotMatch(await (await fetch(`${s.url}/metrics`)).text(), /^model_drift\{/m);
    } finally {
      await s.close();
    }
  });
});

describe("monitoring settings and the JSONL log", () => {
  test("settings come from the environment and bad values are clear errors", () => {
    const c = resolveMonitoringConfig({}, { POLARITY_MONITOR_WINDOW: "2000", POLARITY_MONITOR_LOG_SAMPLE: "0.5", POLARITY_MONITOR_LOG_TEXT: "1" });
    assert.equal(c.windowSize, 2000);
    assert.equal(c.logSampleRate, 0.5);
    assert.equal(c.logText, true);
    assert.equal(c.enabled, true);
    assert.throws(() => resolveMonitoringConfig({}, { POLARITY_MONITOR_WINDOW: "lots" }), /POLARITY_MONITOR_WINDOW.*integer/);
    assert.throws(() => resolveMonitoringConfig({}, { POLARITY_MONITOR_LOG_SAMPLE: "2" }), /\[0, 1\]/);
    assert.throws(() => resolveMonitoringConfig({}, { POLARITY_MONITORING: "maybe" }), /on or off/);
  });

  test("the log rotates by size and keeps `keep` old files; every line survives until it is rotated out", async () => {
    const dir = mkdtempSync(join(tmpdir(), "polarity-jsonl-"));
    try {
      const log = new JsonlLog(dir, "predictions", 2048, 2);
      for (let i = 0; i < 200; i++) {
        log.push(JSON.stringify({ i, pad: "x".repeat(40) }));
        if (i % 20 === 19) await log.flush();
      }
      await log.flush();
      const files = readdirSync(dir).sort();
      assert.deepEqual(files, ["predictions.1.jsonl", "predictions.2.jsonl", "predictions.jsonl"]);
      const lines = ["predictions.2.jsonl", "predictions.1.jsonl", "predictions.jsonl"].flatMap((f) => readFileSync(join(dir, f), "utf8").trim().split("\n"));
      const seq = lines.map((l) => (JSON.parse(l) as { i: number }).i);
      assert.equal(seq[seq.length - 1], 199);
      for (let k = 1; k < seq.length; k++) assert.equal(seq[k], seq[k - 1] + 1, "contiguous, in order");
      for (const f of files) assert.ok(readFileSync(join(dir, f)).length <= 2048 + 20 * 60);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a full queue drops lines and counts them instead of growing without bound", async () => {
    const dir = mkdtempSync(join(tmpdir(), "polarity-jsonl-"));
    try {
      const log = new JsonlLog(dir, "p", 1 << 20, 1, 10);
      for (let i = 0; i < 15; i++) log.push(`{"i":${i}}`);
      assert.equal(log.dropped, 5);
      await log.flush();
      assert.equal(readFileSync(join(dir, "p.jsonl"), "utf8").trim().split("\n").length, 10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
