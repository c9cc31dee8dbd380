import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { checkDependencyPolicy, licenseAllowed, ALLOWED_LICENSES } from "../../tools/deps-policy.js";

const ROOT = resolve(import.meta.dirname, "../..");
const INTEGRITY = `sha512-${"A".repeat(86)}==`;

/** A tree with package.json and package-lock.json only (nothing installed), one prod dependency. */
function tree(entry: Record<string, unknown>, manifest: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "polarity-deps-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "x", dependencies: { dep: "1.0.0" }, ...manifest }));
  const lock = {
    lockfileVersion: 3,
    packages: {
      "": { name: "x", dependencies: { dep: "1.0.0" } },
      "node_modules/dep": { version: "1.0.0", integrity: INTEGRITY, license: "MIT", ...entry },
    },
  };
  writeFileSync(join(dir, "package-lock.json"), JSON.stringify(lock));
  return dir;
}

function violationsOf(entry: Record<string, unknown>, manifest?: Record<string, unknown>): string[] {
  const dir = tree(entry, manifest);
  try {
    return checkDependencyPolicy(dir).violations;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("offline dependency policy", () => {
  test("this repository's tree passes (lock, licences, scripts, engines for Node 20/22/24)", () => {
    const report = checkDependencyPolicy(ROOT);
    assert.deepEqual(report.violations, []);
    assert.ok(report.production.packages > 0);
  });

  test("a clean fixture passes", () => assert.deepEqual(violationsOf({}), []));

  test("a production dependency whose engines exclude Node 20 is refused (the cookie@2 case)", () => {
    const v = violationsOf({ engines: { node: ">=22" } });
    assert.equal(v.length, 1);
    assert.match(v[0], /dep@1.0.0: engines.node >=22 excludes Node 20/);
  });

  test("an install script not in allowScripts is refused; an allowed one passes", () => {
    assert.match(violationsOf({ hasInstallScript: true }).join("\n"), /install script and is not in package.json allowScripts/);
    assert.deepEqual(violationsOf({ hasInstallScript: true }, { allowScripts: { dep: true } }), []);
  });

  test("a copyleft licence in production is refused, allowed for a dev-only tool", () => {
    assert.match(violationsOf({ license: "GPL-3.0-only" }).join("\n"), /licence GPL-3.0-only is not on the allow-list/);
    assert.deepEqual(violationsOf({ license: "GPL-3.0-only", dev: true }), []);
    assert.match(violationsOf({ license: undefined }).join("\n"), /declares no licence/);
  });

  test("missing integrity, git or plain-http sources and a stale lock are refused", () => {
    assert.match(violationsOf({ integrity: undefined }).join("\n"), /no sha512 integrity/);
    assert.match(violationsOf({ resolved: "git+ssh://git@example.invalid/x.git" }).join("\n"), /not a registry tarball over https/);
    assert.match(violationsOf({ resolved: "http://example.invalid/dep-1.0.0.tgz" }).join("\n"), /not a registry tarball over https/);
    assert.match(violationsOf({}, { dependencies: { dep: "2.0.0" } }).join("\n"), /package-lock.json is out of date: dependencies.dep/);
  });

  test("SPDX expressions: OR needs one allowed term, AND needs all", () => {
    assert.ok(licenseAllowed("(MIT OR WTFPL)", ALLOWED_LICENSES));
    assert.ok(licenseAllowed("(BSD-2-Clause OR MIT OR Apache-2.0)", ALLOWED_LICENSES));
    assert.ok(!licenseAllowed("(MIT AND Zlib)", ALLOWED_LICENSES));
    assert.ok(!licenseAllowed("GPL-3.0-only OR AGPL-3.0-only", ALLOWED_LICENSES));
  });
});
