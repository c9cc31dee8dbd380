import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ensurePolarityOnPath } from "../../src/stages/self-command.js";
import { makeProject } from "./helpers.js";

describe("the polarity shim a repro puts on its stages' PATH", () => {
  it("is written once, left alone while identical (a no-op repro writes nothing), rewritten when changed or not executable", async () => {
    const dir = makeProject({});
    const savedPath = process.env.PATH;
    try {
      await ensurePolarityOnPath(dir);
      const shim = path.join(dir, ".dvc", "tmp", "bin", "polarity");
      const first = fs.statSync(shim);
      assert.ok(first.mode & 0o100, "executable");
      const script = fs.readFileSync(shim, "utf8");
      assert.match(script, /^#!\/bin\/sh\n/);

      await ensurePolarityOnPath(dir);
      assert.equal(fs.statSync(shim).ino, first.ino, "an identical shim is not rewritten (an atomic rewrite would change its inode)");

      fs.writeFileSync(shim, "#!/bin/sh\nexit 1\n");
      await ensurePolarityOnPath(dir);
      assert.equal(fs.readFileSync(shim, "utf8"), script, "a changed shim is rewritten");

      fs.chmodSync(shim, 0o644);
      await ensurePolarityOnPath(dir);
      assert.ok(fs.statSync(shim).mode & 0o100, "a non-executable shim is rewritten executable");
      assert.equal(process.env.PATH?.split(path.delimiter)[0], path.join(dir, ".dvc", "tmp", "bin"));
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
