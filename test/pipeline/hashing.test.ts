import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { Hasher, StateDb, hashFileMd5, manifestHash, serializeManifest } from "../../src/pipeline/objects/hashing.js";
import { makeProject } from "./helpers.js";

describe("hashing", () => {
  it("hashes file bytes with md5 (no dos2unix: CRLF is hashed as is)", async () => {
    const dir = makeProject({ "a.txt": "hello\r\nworld\n" });
    const h = await hashFileMd5(path.join(dir, "a.txt"));
    assert.equal(h.md5, createHash("md5").update("hello\r\nworld\n").digest("hex"));
    assert.equal(h.size, 13);
  });

  it("streams files larger than its read buffer", async () => {
    const dir = makeProject({});
    const big = Buffer.alloc(9 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
    fs.writeFileSync(path.join(dir, "big.bin"), big);
    const h = await hashFileMd5(path.join(dir, "big.bin"));
    assert.equal(h.md5, createHash("md5").update(big).digest("hex"));
    assert.equal(h.size, big.length);
  });

  it("serialises a directory manifest byte for byte as Python's json.dumps(sort_keys=True)", () => {
    const entries = [
      { relpath: "a b/x.txt", md5: "0cc175b9c0f1b6a831c399e269772661" },
      { relpath: "caf\u00e9.txt", md5: "92eb5ffee6ae2fec3ad71c777531578f" },
    ];
    // json.dumps([{"md5": ..., "relpath": ...}], sort_keys=True) with ensure_ascii escaping é
    assert.equal(
      serializeManifest(entries),
      '[{"md5": "0cc175b9c0f1b6a831c399e269772661", "relpath": "a b/x.txt"}, {"md5": "92eb5ffee6ae2fec3ad71c777531578f", "relpath": "caf\\u00e9.txt"}]',
    );
    assert.equal(manifestHash(entries), createHash("md5").update(serializeManifest(entries)).digest("hex") + ".dir");
  });

  it("hashes a directory to DVC's .dir hash (value cross-checked with Python)", async () => {
    const dir = makeProject({ "data/a.txt": "1 2 3\n", "data/b.txt": "4 5\n" });
    const h = await new Hasher(null).hashPath(path.join(dir, "data"));
    // python: md5(json.dumps(sorted([{md5, relpath}]), sort_keys=True)) for the same two files
    assert.equal(h.md5, "14009e6cb73f8f2af131ea3aa88ece02.dir");
    assert.equal(h.nfiles, 2);
    assert.equal(h.size, 10);
  });

  it("the state database answers for an unchanged file without reading it again", async () => {
    const dir = makeProject({ "f.txt": "original" });
    const file = path.join(dir, "f.txt");
    const state = new StateDb(path.join(dir, ".dvc/tmp/state.db"));
    const hasher = new Hasher(state);
    const t = 1_700_000_000; // whole seconds, so the mtime can be restored exactly
    fs.utimesSync(file, t, t);
    const first = await hasher.hashPath(file);
    // Same size, same inode, same mtime, different bytes: only a state lookup can return the old hash.
    fs.writeFileSync(file, "ORIGINAL");
    fs.utimesSync(file, t, t);
    assert.equal((await hasher.hashPath(file)).md5, first.md5);
    // Touching the mtime invalidates the entry.
    fs.utimesSync(file, t, t + 5);
    assert.equal((await hasher.hashPath(file)).md5, createHash("md5").update("ORIGINAL").digest("hex"));
    state.close();
  });

  it("a file rewritten with the same size within its timestamp tick is hashed again, not served from the state", async () => {
    const dir = makeProject({ "f.txt": "original", "d/a.txt": "aaaa", "d/b.txt": "bbbb" });
    const file = path.join(dir, "f.txt");
    const state = new StateDb(path.join(dir, ".dvc/tmp/state.db"));
    const hasher = new Hasher(state);
    // The current second, in whole seconds: a timestamp as a coarse filesystem would keep it,
    // within the racy window of now, and restorable exactly after the rewrite.
    const t = Math.floor(Date.now() / 1000);
    for (const f of [file, path.join(dir, "d/a.txt")]) fs.utimesSync(f, t, t);
    assert.equal((await hasher.hashPath(file)).md5, createHash("md5").update("original").digest("hex"));
    const dirBefore = await hasher.hashPath(path.join(dir, "d"));
    // Rewritten in place: same inode, same size, and (as on a coarse clock) the same mtime.
    fs.writeFileSync(file, "ORIGINAL");
    fs.writeFileSync(path.join(dir, "d/a.txt"), "AAAA");
    for (const f of [file, path.join(dir, "d/a.txt")]) fs.utimesSync(f, t, t);
    assert.equal((await hasher.hashPath(file)).md5, createHash("md5").update("ORIGINAL").digest("hex"));
    const dirAfter = await hasher.hashPath(path.join(dir, "d"));
    assert.notEqual(dirAfter.md5, dirBefore.md5);
    assert.equal(dirAfter.manifest?.find((e) => e.relpath === "a.txt")?.md5, createHash("md5").update("AAAA").digest("hex"));
    state.close();
  });
});
