import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { TrackingClient } from "../../src/tracking/client.js";
import { startTrackingServer, type RunningServer, type ServerAuth } from "../../src/tracking/server.js";
import { PolarityError } from "../../src/util/errors.js";

export function tempDir(prefix = "polarity-tracking-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Harness {
  client: TrackingClient;
  dir: string;
  server?: RunningServer;
  close(): Promise<void>;
}

/** A client on a fresh embedded store (SQLite file + artifact dir in a temp directory). */
export async function inProcessHarness(): Promise<Harness> {
  const { dir, cleanup } = tempDir();
  const client = TrackingClient.open({ trackingUri: `sqlite:///${join(dir, "mlruns.db")}` });
  return {
    client,
    dir,
    close: async () => {
      await client.close();
      cleanup();
    },
  };
}

/** A real server on 127.0.0.1 (free port) over a fresh store, and a client talking HTTP to it. */
export async function httpHarness(auth?: ServerAuth): Promise<Harness> {
  const { dir, cleanup } = tempDir();
  const server = await startTrackingServer({ host: "127.0.0.1", port: 0, backendStoreUri: `sqlite:///${join(dir, "server.db")}`, artifactsDestination: join(dir, "artifacts"), auth });
  const client = TrackingClient.open({ trackingUri: server.url, maxRetries: 0, token: auth?.token, username: auth?.username, password: auth?.password });
  return {
    client,
    dir,
    server,
    close: async () => {
      await client.close();
      await server.close();
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
