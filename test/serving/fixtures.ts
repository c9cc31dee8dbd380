import { renameSync, writeFileSync } from "node:fs";
import { loadUciSentences } from "../../src/data/builtin.js";
import { SentimentModel } from "../../src/models/sentiment-model.js";
import { LocalFileModelSource, type ModelParser } from "../../src/serving/model-source.js";
import { startServing, type RunningServer } from "../../src/serving/server.js";
import type { ServeConfigInput } from "../../src/serving/config.js";
import { makeTempDir } from "../support/temp-dir.js";

export const parseModel: ModelParser = (json) => SentimentModel.fromJSON(json);

const trained = new Map<number, unknown>();

/**
 * A real model: TF-IDF 1–2-grams + logistic regression trained on the 3,000 built-in UCI
 * sentences (~0.2 s). `variant` changes C, so each variant is a different model version.
 */
export function trainModelJson(variant = 0): unknown {
  let json = trained.get(variant);
  if (!json) {
    const { texts, labels } = loadUciSentences();
    const model = SentimentModel.train(texts, labels, {
      features: { kind: "tfidf", ngramRange: [1, 2] },
      model: { kind: "logreg", C: 1 + variant },
      classNames: { "0": "negative", "1": "positive" },
      metadata: { variant },
    });
    json = model.toJSON();
    trained.set(variant, json);
  }
  return json;
}

export function tempDir(prefix = "polarity-serving-"): { path: string; cleanup(): void } {
  return makeTempDir(prefix);
}

/** Writes JSON atomically (temp file + rename), as a deployment would replace a model file. */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, typeof value === "string" ? value : JSON.stringify(value));
  renameSync(tmp, path);
}

export async function startLocal(modelPath: string, config: ServeConfigInput = {}): Promise<RunningServer> {
  return startServing({
    source: new LocalFileModelSource(modelPath, parseModel),
    host: "127.0.0.1",
    port: 0,
    pollIntervalMs: 0,
    logLevel: "silent",
    handleSignals: false,
    ...config,
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are untyped JSON, checked by the assertions
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
