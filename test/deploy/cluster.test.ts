import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { findKustomize, K8S_DIR, OVERLAYS } from "./support.js";

/**
 * Optional: with KUBECONFIG pointing at a live cluster, the API server itself validates both
 * rendered overlays (server-side dry run: admission, schemas, Pod Security "restricted").
 * Nothing is created; the overlays' namespaces (polarity-dev, polarity) must exist.
 */
const kubectl = findKustomize()?.command.endsWith("kubectl") ? findKustomize()!.command : "kubectl";
const skip = process.env.KUBECONFIG ? false : "set KUBECONFIG to check the overlays against a live cluster (server-side dry run)";

describe("live cluster", { skip, timeout: 180_000 }, () => {
  for (const overlay of OVERLAYS) {
    test(`overlay ${overlay} passes a server-side dry run`, () => {
      const dir = join(K8S_DIR, "overlays", overlay);
      const res = spawnSync(kubectl, ["apply", "--dry-run=server", "-k", dir], { encoding: "utf8", timeout: 120_000 });
      assert.equal(res.status, 0, `${res.stdout}\n${res.stderr}`);
    });
  }
});
