/**
 * The launcher's V8 code cache (src/cli/code-cache.ts) and the built launcher (src/cli/launch.ts
 * via src/cli/bundle.ts): a cache is a speed-up only — a missing, stale, corrupt, truncated,
 * foreign or untrusted cache file must be ignored (and replaced when it is ours to replace),
 * never break a start or change what a command prints.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";
import { cacheFileFor, checksum, writeCache } from "../../src/cli/code-cache.js";
import { makeTempDir } from "../support/temp-dir.js";

const ROOT = resolve(import.meta.dirname, "../..");
const TSX = import.meta.resolve("tsx");
const CODE_CACHE = join(ROOT, "src/cli/code-cache.ts");

/** A driver file run in fresh processes (V8's in-memory compilation cache would otherwise hide the file cache); one file, so every child has the same execArgv, which is part of the key. */
let driverFile = "";
function child(args: string[]): string {
  if (!driverFile) {
    driverFile = join(makeTempDir("polarity-code-cache-driver-").dir, "driver.mjs");
    writeFileSync(
      driverFile,
      `import { cacheKey, runCached } from ${JSON.stringify(pathToFileURL(CODE_CACHE).href)};
const [mode, bundle, cacheFile] = process.argv.slice(2);
if (mode === "key") process.stdout.write(cacheKey(bundle));
else {
  const run = runCached(bundle, cacheFile);
  process.once("exit", () => run.save());
  process.stdout.write(JSON.stringify({ outcome: run.outcome, exports: run.exports }));
}
`,
    );
  }
  const r = spawnSync(process.execPath, ["--import", TSX, driverFile, ...args], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** Runs `bundle` through runCached in a fresh process, saving the cache at exit. */
function runInChild(bundle: string, cacheFile: string): { outcome: string; exports: unknown } {
  return JSON.parse(child(["run", bundle, cacheFile])) as { outcome: string; exports: unknown };
}

/** cacheKey as the children compute it. */
function runKey(bundle: string): string {
  return child(["key", bundle]);
}

/** A CommonJS "bundle" with enough functions that its cached data is not trivial. */
function writeBundle(file: string, answer: number): void {
  const fns = Array.from({ length: 60 }, (_, i) => `function f${i}(x) { return x * ${i + 1} + ${answer}; }`).join("\n");
  const calls = Array.from({ length: 60 }, (_, i) => `f${i}(1)`).join(" + ");
  writeFileSync(
    file,
    `#!/usr/bin/env node\n"use strict";\n${fns}\nmodule.exports = { answer: ${answer}, sum: ${calls}, dir: __dirname === require("node:path").dirname(__filename) };\n`,
  );
}

describe("code cache (src/cli/code-cache.ts)", { timeout: 180_000 }, () => {
  let dir = "";
  let bundle = "";
  let cache = "";
  const expected = (answer: number) => ({ answer, sum: (60 * 61) / 2 + 60 * answer, dir: true });

  before(() => {
    dir = makeTempDir("polarity-code-cache-").dir;
    bundle = join(dir, "bundle.cjs");
    cache = join(dir, "cache", "x.v8cache");
    writeBundle(bundle, 7);
  });

  test("first run misses and writes the cache, the next one uses it; the result is the same", () => {
    const first = runInChild(bundle, cache);
    assert.equal(first.outcome, "miss");
    assert.deepEqual(first.exports, expected(7));
    assert.ok(existsSync(cache), "the cache file was written at exit");
    assert.equal(statSync(cache).mode & 0o077, 0, "the cache is private to its owner");
    const second = runInChild(bundle, cache);
    assert.equal(second.outcome, "hit");
    assert.deepEqual(second.exports, expected(7));
  });

  test("a flipped payload byte is caught by the checksum, ignored and replaced", () => {
    const bytes = readFileSync(cache);
    bytes[bytes.length - 100] ^= 0x5a;
    writeFileSync(cache, bytes);
    const r = runInChild(bundle, cache);
    assert.equal(r.outcome, "corrupt");
    assert.deepEqual(r.exports, expected(7));
    assert.equal(runInChild(bundle, cache).outcome, "hit", "the next run finds the rewritten cache");
  });

  test("truncated and garbage cache files are ignored", () => {
    const bytes = readFileSync(cache);
    for (const broken of [bytes.subarray(0, 10), bytes.subarray(0, bytes.length - 1), Buffer.alloc(4096, 0x41), Buffer.alloc(0)]) {
      writeFileSync(cache, broken);
      const r = runInChild(bundle, cache);
      assert.equal(r.outcome, "corrupt");
      assert.deepEqual(r.exports, expected(7));
    }
    assert.equal(runInChild(bundle, cache).outcome, "hit");
  });

  test("a bundle rebuilt with the same length is not run with the old cache (V8 alone checks only the length)", () => {
    const before = statSync(bundle);
    writeBundle(bundle, 8); // same length as with 7
    assert.equal(statSync(bundle).size, before.size);
    utimesSync(bundle, before.atime, new Date(before.mtimeMs + 5000));
    const r = runInChild(bundle, cache);
    assert.equal(r.outcome, "stale");
    assert.deepEqual(r.exports, expected(8));
    assert.equal(runInChild(bundle, cache).outcome, "hit");
  });

  test("a well-formed cache of another script (V8 rejects it) is ignored and replaced", () => {
    const other = join(dir, "other.cjs");
    writeFileSync(other, `module.exports = ${"1 + ".repeat(50)}1;\n`);
    const otherCache = join(dir, "cache", "other.v8cache");
    assert.equal(runInChild(other, otherCache).outcome, "miss");
    // Its payload under this bundle's key: header and checksum are right, the code is not.
    const payload = readFileSync(otherCache).subarray(-readFileSync(otherCache).readUInt32LE(12));
    writeCache(cache, runKey(bundle), payload);
    const r = runInChild(bundle, cache);
    assert.equal(r.outcome, "rejected");
    assert.deepEqual(r.exports, expected(8));
    assert.equal(runInChild(bundle, cache).outcome, "hit");
  });

  test("a verified cache is stamped; rewritten in place with its old size and mtime, it is checked again (the ctime moved)", () => {
    const t = 1_700_000_000; // whole seconds: restorable exactly
    utimesSync(cache, t, t);
    assert.equal(runInChild(bundle, cache).outcome, "hit");
    assert.ok(existsSync(`${cache}.ok`), "the run that verified the checksum stamped the file");
    const before = statSync(cache, { bigint: true });
    const bytes = readFileSync(cache);
    bytes[bytes.length - 100] ^= 0x5a;
    writeFileSync(cache, bytes);
    utimesSync(cache, t, t);
    const after = statSync(cache, { bigint: true });
    assert.deepEqual([after.ino, after.size, after.mtimeNs], [before.ino, before.size, before.mtimeNs]);
    const r = runInChild(bundle, cache);
    assert.equal(r.outcome, "corrupt");
    assert.deepEqual(r.exports, expected(8));
    assert.equal(runInChild(bundle, cache).outcome, "hit");
  });

  test("a stamp naming the file as it is skips the checksum (V8's own header check remains); one others can write is ignored", () => {
    const bytes = readFileSync(cache);
    bytes[bytes.length - bytes.readUInt32LE(12)] ^= 0xff; // the first byte of V8's magic number
    writeFileSync(cache, bytes);
    const st = statSync(cache, { bigint: true });
    const stamp = `3 ${st.ino} ${st.size} ${st.mtimeNs} ${st.ctimeNs}`;
    writeFileSync(`${cache}.ok`, stamp, { mode: 0o600 });
    chmodSync(`${cache}.ok`, 0o666);
    assert.equal(runInChild(bundle, cache).outcome, "corrupt", "a stamp others could have written is not believed");
    writeFileSync(cache, bytes);
    const again = statSync(cache, { bigint: true });
    writeFileSync(`${cache}.ok`, `3 ${again.ino} ${again.size} ${again.mtimeNs} ${again.ctimeNs}`);
    chmodSync(`${cache}.ok`, 0o600);
    const r = runInChild(bundle, cache);
    assert.equal(r.outcome, "rejected", "our own stamp is believed: the checksum is skipped and V8 refuses the bytes itself");
    assert.deepEqual(r.exports, expected(8));
    assert.equal(runInChild(bundle, cache).outcome, "hit");
  });

  test("a cache file others can write is never used nor overwritten", () => {
    chmodSync(cache, 0o666);
    const planted = readFileSync(cache);
    const r = runInChild(bundle, cache);
    assert.equal(r.outcome, "untrusted");
    assert.deepEqual(r.exports, expected(8));
    assert.deepEqual(readFileSync(cache), planted, "left as it was");
    chmodSync(cache, 0o600);
    chmodSync(join(dir, "cache"), 0o777);
    assert.equal(runInChild(bundle, cache).outcome, "untrusted", "nor one in a folder others can write");
    chmodSync(join(dir, "cache"), 0o700);
  });

  test("an unwritable cache location only costs the speed-up", () => {
    const blocked = join(dir, "file-not-folder");
    writeFileSync(blocked, "");
    const r = runInChild(bundle, join(blocked, "x.v8cache"));
    assert.equal(r.outcome, "miss");
    assert.deepEqual(r.exports, expected(8));
  });

  test("checksum: every byte counts, at any alignment", () => {
    const a = Buffer.from("the quick brown fox jumps over the lazy dog!");
    const base = checksum(a);
    for (let i = 0; i < a.length; i++) {
      const b = Buffer.from(a);
      b[i] ^= 1;
      assert.notEqual(checksum(b), base, `byte ${i}`);
    }
    const unaligned = Buffer.concat([Buffer.from([0]), a]).subarray(1);
    assert.equal(checksum(unaligned), base);
  });

  test("cacheFileFor: off switch, command names allow-listed, a per-install folder under the user's cache", () => {
    assert.equal(cacheFileFor(bundle, "status", { POLARITY_CODE_CACHE: "off", HOME: dir }), null);
    const beside = cacheFileFor(bundle, "status", { HOME: dir });
    assert.equal(beside, join(dir, ".v8-cache", "status.v8cache"));
    assert.equal(cacheFileFor(bundle, "../../etc/x", { HOME: dir }), join(dir, ".v8-cache", "other.v8cache"));
    // A folder not ours to write (as for a root-owned install run by a user): the user's cache folder.
    const shared = join(dir, "shared");
    mkdirSync(shared, { mode: 0o777 });
    chmodSync(shared, 0o777);
    const file = cacheFileFor(join(shared, "polarity.cjs"), "repro", { HOME: dir, XDG_CACHE_HOME: "" });
    assert.match(file ?? "", new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/\\.cache/polarity/v8-cache/[0-9a-f]{8}/repro\\.v8cache$`));
  });
});

describe("the built launcher (src/cli/bundle.ts into a temp folder)", { timeout: 240_000 }, () => {
  let out = "";
  let project = "";
  const env = { ...process.env, NODE_NO_WARNINGS: "1", POLARITY_DEBUG_CODE_CACHE: "1" };
  const polarity = (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(process.execPath, [join(out, "main.cjs"), ...args], { cwd: project, encoding: "utf8", env: { ...env, ...extra }, timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  before(() => {
    // Inside the repository, so the bundle's external packages resolve from its node_modules.
    mkdirSync(join(ROOT, "node_modules", ".cache"), { recursive: true });
    out = mkdtempSync(join(ROOT, "node_modules", ".cache", "polarity-launcher-test-"));
    const r = spawnSync(process.execPath, ["--import", TSX, join(ROOT, "src/cli/bundle.ts"), out], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    project = makeTempDir("polarity-launcher-project-").dir;
    mkdirSync(join(project, ".dvc"));
    writeFileSync(join(project, "in.txt"), "hello\n");
    writeFileSync(join(project, "params.yaml"), "n: 3\n");
    writeFileSync(join(project, "dvc.yaml"), "stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    params: [n]\n    outs: [out.txt]\n");
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  test("--version, then status / repro from the cached bundle: same output as the source CLI, miss then hit", () => {
    assert.equal(polarity(["--version"]).stdout, "0.1.0\n");
    const dirty = polarity(["status"]);
    assert.equal(dirty.code, 0, dirty.stderr);
    assert.match(dirty.stderr, /code cache miss/);
    assert.match(dirty.stdout, /copy:/);
    const source = spawnSync(process.execPath, ["--import", TSX, join(ROOT, "src/cli/main.ts"), "status"], {
      cwd: project,
      encoding: "utf8",
      env,
      timeout: 60_000,
    });
    assert.equal(dirty.stdout, source.stdout, "the bundle prints what the source prints");
    const repro = polarity(["repro"]);
    assert.equal(repro.code, 0, repro.stderr);
    assert.equal(readFileSync(join(project, "out.txt"), "utf8"), "hello\n");
    const clean = polarity(["status"]);
    assert.match(clean.stderr, /code cache hit/);
    assert.equal(clean.stdout, "Data and pipelines are up to date.\n");
  });

  test("a corrupted cache file does not change a start", () => {
    const file = join(out, ".v8-cache", "status.v8cache");
    const bytes = readFileSync(file);
    for (let i = 200; i < bytes.length; i += 997) bytes[i] ^= 0xff;
    writeFileSync(file, bytes);
    const r = polarity(["status"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /code cache corrupt/);
    assert.equal(r.stdout, "Data and pipelines are up to date.\n");
    assert.match(polarity(["status"]).stderr, /code cache hit/);
  });

  test("status: --json and -q from the status bundle as the source CLI prints them; --help is commander's", () => {
    const source = (args: string[]) =>
      spawnSync(process.execPath, ["--import", TSX, join(ROOT, "src/cli/main.ts"), ...args], { cwd: project, encoding: "utf8", env, timeout: 60_000 });
    writeFileSync(join(project, "params.yaml"), "n: 4\n");
    try {
      for (const args of [
        ["status", "--json"],
        ["status", "copy", "-q"],
        ["status", "-s", "copy"],
      ]) {
        const r = polarity(args);
        const want = source(args);
        assert.match(r.stderr, /code cache (hit|miss)/, `${args.join(" ")} runs from a code-cached bundle`);
        assert.equal(r.stdout, want.stdout, args.join(" "));
        assert.equal(r.code, want.status, args.join(" "));
      }
      assert.equal(polarity(["status", "copy", "-q"]).code, 1, "-q: exit 1 when something changed");
    } finally {
      writeFileSync(join(project, "params.yaml"), "n: 3\n");
    }
    const help = polarity(["status", "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: polarity status \[options\] \[targets\.\.\.\]/);
    assert.match(help.stdout, /-s, --single-item/);
  });

  test("errors and other commands: exit codes as before; POLARITY_CODE_CACHE=off runs without a cache", () => {
    const unknown = polarity(["status", "--no-such-flag"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown option/);
    const bogus = polarity(["bogus"]);
    assert.equal(bogus.code, 2, "unknown commands go to the ESM bundle");
    const off = polarity(["dag"], { POLARITY_CODE_CACHE: "off" });
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stderr, /code cache off/);
    assert.match(off.stdout, /copy/);
  });
});
