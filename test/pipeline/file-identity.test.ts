/**
 * statIdentities (src/pipeline/objects/file-identity.ts) reads a directory's files' inode, mtime
 * (ns) and size from Node's fs binding: the state matches files by exactly these values, so they
 * must be the ones fs.statSync(…, {bigint: true}) gives, in this process and in one where the
 * binding is not used.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, it } from "node:test";
import { identityOfStats, statIdentities } from "../../src/pipeline/objects/file-identity.js";
import { tempDir } from "./helpers.js";

const TSX = import.meta.resolve("tsx");
const MODULE = path.resolve(import.meta.dirname, "../../src/pipeline/objects/file-identity.ts");

function filesWithVariedTimes(n: number): string[] {
  const dir = tempDir("polarity-file-identity-");
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = path.join(dir, `f-${i}.txt`);
    fs.writeFileSync(f, "x".repeat(i));
    files.push(f);
  }
  // mtimes with nanosecond parts of every width (a leading-zero nsec is the case to get right), and whole seconds.
  fs.utimesSync(files[1], 1_700_000_000.000_001, 1_700_000_000.000_001);
  fs.utimesSync(files[2], 1_700_000_000, 1_700_000_000);
  fs.utimesSync(files[3], 1_000_000_000.5, 1_000_000_000.5);
  return files;
}

describe("statIdentities", () => {
  it("gives every file's inode, mtime in ns and size exactly as fs.statSync with bigint does", () => {
    const files = filesWithVariedTimes(40);
    const got = statIdentities(files);
    assert.deepEqual(
      got,
      files.map((f) => identityOfStats(fs.statSync(f, { bigint: true }))),
    );
    assert.equal(got[2].mtime, "1700000000000000000");
    assert.equal(got[5].size, 5);
  });

  it("throws ENOENT for a missing file, as fs.statSync does", () => {
    const [a] = filesWithVariedTimes(4);
    assert.throws(
      () => statIdentities([a, `${a}.missing`]),
      (err: NodeJS.ErrnoException) => err.code === "ENOENT",
    );
  });

  it("gives the same identities, and prints no warning, where process.binding would warn (--pending-deprecation)", () => {
    const files = filesWithVariedTimes(5);
    const script = `import { statIdentities } from ${JSON.stringify(pathToFileURL(MODULE).href)};
process.stdout.write(JSON.stringify(statIdentities(${JSON.stringify(files)})));`;
    const r = spawnSync(process.execPath, ["--pending-deprecation", "--import", TSX, "--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /DEP0111|process\.binding/);
    assert.deepEqual(
      JSON.parse(r.stdout),
      files.map((f) => identityOfStats(fs.statSync(f, { bigint: true }))),
    );
  });
});
