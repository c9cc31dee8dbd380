import { join } from "node:path";
import assert from "node:assert/strict";
import { TrackingClient } from "../../src/tracking/client.js";
import { startTrackingServer, type RunningServer, type ServerAuth } from "../../src/tracking/server.js";
import { PolarityError } from "../../src/util/errors.js";
import { testStoreUri } from "../support/postgres.js";
import { makeTempDir } from "../support/temp-dir.js";

export function tempDir(prefix = "polarity-tracking-"): { dir: string; cleanup: () => void } {
  return makeTempDir(prefix);
}

export interface Harness {
  client: TrackingClient;
  dir: string;
  server?: RunningServer;
  close(): Promise<void>;
}

/**
 * A client on a fresh store: a SQLite file in a temp directory, or a fresh PostgreSQL database
 * when POLARITY_TEST_STORE=postgresql (test/support/postgres.ts).
 */
export async function inProcessHarness(): Promise<Harness> {
  const { dir, cleanup } = tempDir();
  const store = await testStoreUri(join(dir, "mlruns.db"));
  const client = TrackingClient.open({ trackingUri: store.uri, artifactsDir: join(dir, "mlartifacts") });
  return {
    client,
    dir,
    close: async () => {
      await client.close();
      await store.drop();
      cleanup();
    },
  };
}

/** A real server on 127.0.0.1 (free port) over a fresh store, and a client talking HTTP to it. */
export async function httpHarness(auth?: ServerAuth): Promise<Harness> {
  const { dir, cleanup } = tempDir();
  const store = await testStoreUri(join(dir, "server.db"));
  const server = await startTrackingServer({ host: "127.0.0.1", port: 0, backendStoreUri: store.uri, artifactsDestination: join(dir, "artifacts"), auth });
  const client = TrackingClient.open({ trackingUri: server.url, maxRetries: 0, token: auth?.token, username: auth?.username, password: auth?.password });
  return {
    client,
    dir,
    server,
    close: async () => {
      await client.close();
      await server.close();
      await store.drop();
      cleanup();
    },
  };
}

export async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp): Promise<PolarityError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof PolarityError, `expected a PolarityError with code ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}

export interface JsonReply {
  status: number;
  /** The body parsed as JSON; `{}` when it is empty or not JSON (see `text`). */
  json: Record<string, unknown>;
  text: string;
  headers: Headers;
}

/**
 * One HTTP call to a test server: a JSON body (strings and bytes are sent as they are), query
 * values appended in order (arrays repeat the key), and the reply read whole.
 */
export async function requestJson(
  baseUrl: string,
  method: string,
  path: string,
  opts: { body?: unknown; query?: Record<string, string | string[]>; headers?: Record<string, string> } = {},
): Promise<JsonReply> {
  const url = new URL(baseUrl + path);
  for (const [k, v] of Object.entries(opts.query ?? {})) for (const item of Array.isArray(v) ? v : [v]) url.searchParams.append(k, item);
  const { body } = opts;
  const res = await fetch(url, {
    method,
    headers: body === undefined ? (opts.headers ?? {}) : { "content-type": "application/json", ...opts.headers },
    body: body === undefined ? undefined : typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = {};
  }
  return { status: res.status, json, text, headers: res.headers };
}
