import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { createHash } from "node:crypto";
import { Hasher, StateDb, hashFileMd5, manifestHash, serializeManifest } from "../../src/pipeline/objects/hashing.js";
import { comparePython, sortPython } from "../../src/pipeline/objects/fsutil.js";
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

  it("escapes in a manifest exactly the characters Python's json.dumps(ensure_ascii=True) escapes, whatever the mix", () => {
    // Python's escaping: JSON's (quote, backslash, controls) plus DEL and every non-ASCII unit as \uXXXX.
    const python = (s: string) => JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    const names = ["plain.txt", 'a"b', "back\\slash", "tab\there", "del\u007f", "~tilde ok", "caf\u00e9", "\ud83d\ude00.txt", "lone\ud800", "nl\n", ""];
    const entries = names.map((relpath, i) => ({ relpath, md5: i % 2 ? "0cc175b9c0f1b6a831c399e269772661" : 'odd"md5' }));
    const expected = `[${entries.map((e) => `{"md5": ${python(e.md5)}, "relpath": ${python(e.relpath)}}`).join(", ")}]`;
    assert.equal(serializeManifest(entries), expected);
    assert.equal(serializeManifest([]), "[]");
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
  it("a run whose files all match the hot set does not open SQLite; a changed file goes to SQLite and is hashed anew", async () => {
    const dir = makeProject({ "f.txt": "one", "d/a.txt": "aaaa", "d/b.txt": "bbbb" });
    const t = 1_700_000_000; // old enough to be trusted, restorable exactly
    for (const f of ["f.txt", "d/a.txt", "d/b.txt"]) fs.utimesSync(path.join(dir, f), t, t);
    const db = path.join(dir, ".dvc/tmp/state.db");
    const md5 = (s: string): string => createHash("md5").update(s).digest("hex");
    const first = new StateDb(db);
    const h1 = new Hasher(first);
    const dirHash = (await h1.hashPath(path.join(dir, "d"))).md5;
    assert.equal((await h1.hashPath(path.join(dir, "f.txt"))).md5, md5("one"));
    assert.equal(first.opened, true, "the first run records into SQLite");
    first.close();
    assert.ok(fs.existsSync(`${db}.hot2.json`), "closing a run that opened SQLite writes the hot set");

    // Same bytes and stats: served by the hot set, SQLite untouched.
    const second = new StateDb(db);
    const h2 = new Hasher(second);
    assert.equal((await h2.hashPath(path.join(dir, "d"))).md5, dirHash);
    assert.equal((await h2.hashPath(path.join(dir, "f.txt"))).md5, md5("one"));
    assert.equal(second.opened, false, "an up-to-date run never opens SQLite");
    second.close();

    // Same size, inode and mtime but other bytes: only a state entry could return the old hash,
    // so this shows the hot set is what answers (as SQLite would, DVC's semantics).
    fs.writeFileSync(path.join(dir, "f.txt"), "ONE");
    fs.utimesSync(path.join(dir, "f.txt"), t, t);
    const third = new StateDb(db);
    assert.equal((await new Hasher(third).hashPath(path.join(dir, "f.txt"))).md5, md5("one"));
    assert.equal(third.opened, false);
    third.close();

    // A new mtime: no hot entry matches, the file is hashed again (and SQLite opened to record it).
    fs.utimesSync(path.join(dir, "f.txt"), t, t + 5);
    fs.writeFileSync(path.join(dir, "d/b.txt"), "BBBBB");
    fs.utimesSync(path.join(dir, "d/b.txt"), t, t + 5);
    const fourth = new StateDb(db);
    const h4 = new Hasher(fourth);
    assert.equal((await h4.hashPath(path.join(dir, "f.txt"))).md5, md5("ONE"));
    const d4 = await h4.hashPath(path.join(dir, "d"));
    assert.equal(d4.manifest?.find((e) => e.relpath === "b.txt")?.md5, md5("BBBBB"));
    assert.equal(d4.manifest?.find((e) => e.relpath === "a.txt")?.md5, md5("aaaa"));
    assert.equal(fourth.opened, true);
    fourth.close();

    // A corrupt hot set is ignored: everything comes from SQLite, still right.
    fs.writeFileSync(`${db}.hot2.json`, "{not json");
    const fifth = new StateDb(db);
    assert.equal((await new Hasher(fifth).hashPath(path.join(dir, "d"))).md5, d4.md5);
    assert.equal(fifth.opened, true);
    fifth.close();
    const sixth = new StateDb(db);
    assert.equal((await new Hasher(sixth).hashPath(path.join(dir, "d"))).md5, d4.md5);
    assert.equal(sixth.opened, false, "the corrupt hot set was replaced");
    sixth.close();
  });
  it("a directory's .dir hash comes from the hot set only for the exact same manifest; a new manifest is hashed and kept without SQLite", async () => {
    const dir = makeProject({ "d/a.txt": "aaaa", "d/b.txt": "bbbb", "d/c.txt": "cccc" });
    const t = 1_700_000_000;
    for (const f of ["d/a.txt", "d/b.txt", "d/c.txt"]) fs.utimesSync(path.join(dir, f), t, t);
    const db = path.join(dir, ".dvc/tmp/state.db");
    const hot = `${db}.hot2.json`;
    const md5 = (s: string): string => createHash("md5").update(s).digest("hex");
    const entries = (names: string[]) => names.map((n) => ({ relpath: `${n}.txt`, md5: md5(n.repeat(4)) }));
    const first = new StateDb(db);
    const full = await new Hasher(first).hashPath(path.join(dir, "d"));
    first.close();
    assert.equal(full.md5, manifestHash(entries(["a", "b", "c"])));
    const saved = JSON.parse(fs.readFileSync(hot, "utf8")) as { manifests: [string, string, string][] };
    assert.deepEqual(saved.manifests, [[path.join(dir, "d"), full.md5, serializeManifest(entries(["a", "b", "c"]))]]);

    // A stand-in hash under the same manifest is what a run returns: the hot set answered.
    fs.writeFileSync(hot, JSON.stringify({ ...saved, manifests: [[path.join(dir, "d"), "f".repeat(32) + ".dir", saved.manifests[0][2]]] }));
    const second = new StateDb(db);
    assert.equal((await new Hasher(second).hashPath(path.join(dir, "d"))).md5, "f".repeat(32) + ".dir");
    second.close();

    // One file fewer: every remaining file matches the hot set, but the manifest is another one.
    fs.rmSync(path.join(dir, "d/c.txt"));
    const third = new StateDb(db);
    assert.equal((await new Hasher(third).hashPath(path.join(dir, "d"))).md5, manifestHash(entries(["a", "b"])));
    assert.equal(third.opened, false, "no file needed hashing");
    third.close();
    const fourth = new StateDb(db);
    assert.equal((await new Hasher(fourth).hashPath(path.join(dir, "d"))).md5, manifestHash(entries(["a", "b"])));
    fourth.close();
    const kept = (JSON.parse(fs.readFileSync(hot, "utf8")) as { manifests: [string, string, string][] }).manifests;
    assert.deepEqual(
      kept,
      [[path.join(dir, "d"), manifestHash(entries(["a", "b"])), serializeManifest(entries(["a", "b"]))]],
      "the run that hashed the new manifest wrote it to the hot set, in place of the directory's previous one",
    );
  });
  it("the hot set keeps one manifest per directory, whatever the number of edits; each directory its own", async () => {
    const dir = makeProject({ "d/a.txt": "a", "e/a.txt": "a" });
    const t = 1_700_000_000;
    const db = path.join(dir, ".dvc/tmp/state.db");
    const md5OfFile = (f: string): string => createHash("md5").update(fs.readFileSync(f)).digest("hex");
    const hashBoth = async (i: number): Promise<void> => {
      // Old enough to be recorded (not racily clean), and a new mtime for each version.
      for (const f of ["d/a.txt", "e/a.txt"]) fs.utimesSync(path.join(dir, f), t + i, t + i);
      const state = new StateDb(db);
      const hasher = new Hasher(state);
      for (const d of ["d", "e"])
        assert.equal((await hasher.hashPath(path.join(dir, d))).md5, manifestHash([{ relpath: "a.txt", md5: md5OfFile(path.join(dir, d, "a.txt")) }]));
      state.close();
    };
    for (let i = 0; i < 5; i++) {
      fs.writeFileSync(path.join(dir, "d/a.txt"), `version ${i}`);
      await hashBoth(i);
    }
    const kept = (JSON.parse(fs.readFileSync(`${db}.hot2.json`, "utf8")) as { manifests: [string, string, string][] }).manifests;
    assert.deepEqual(kept.map(([d]) => d).sort(), [path.join(dir, "d"), path.join(dir, "e")]);
    assert.match(kept.find(([d]) => d === path.join(dir, "d"))![2], new RegExp(createHash("md5").update("version 4").digest("hex")));
  });
  it("comparePython orders strings by code point, as Python's sorted() does", () => {
    const byCodePoint = (a: string, b: string): number => {
      const x = [...a].map((c) => c.codePointAt(0)!);
      const y = [...b].map((c) => c.codePointAt(0)!);
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
      return x.length - y.length;
    };
    // Seeded strings over ASCII, BMP above the surrogates, astral pairs and lone surrogates.
    const alphabet = ["a", "b", "/", "-", "\u00e9", "\uff5e", "\ufffd", "\u{1f600}", "\u{10000}", "\ud800", "\udfff"];
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const strings = Array.from({ length: 400 }, () =>
      Array.from({ length: Math.floor(next() * 5) }, () => alphabet[Math.floor(next() * alphabet.length)]).join(""),
    );
    for (let i = 0; i + 1 < strings.length; i += 2) {
      const [a, b] = [strings[i], strings[i + 1]];
      assert.equal(Math.sign(comparePython(a, b)), Math.sign(byCodePoint(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
    assert.ok(comparePython("\uff5e", "\u{1f600}") < 0, "U+FF5E sorts before U+1F600 (UTF-16 order would put it after)");
  });

  it("sortPython sorts as comparePython does, with and without surrogates among the names", () => {
    const plain = ["doc-10.txt", "doc-2.txt", "B.txt", "a/b.txt", "a-b.txt", "\u00e9t\u00e9", "\uff5e", "~", ""];
    assert.deepEqual(sortPython([...plain]), [...plain].sort(comparePython));
    const astral = [...plain, "\u{1f600}", "\ud800lone"];
    const sorted = sortPython([...astral]);
    assert.deepEqual(sorted, [...astral].sort(comparePython));
    assert.ok(sorted.indexOf("\uff5e") < sorted.indexOf("\u{1f600}"), "code point order, not UTF-16 order");
  });
});
