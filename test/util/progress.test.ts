import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { createReporter } from "../../src/util/progress.js";

/** A stream that records what is written; `tty` makes it look like a terminal to cli-progress. */
function capture(tty = false): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  if (tty) Object.assign(w, { isTTY: true, columns: 120 });
  return { stream: w as unknown as NodeJS.WriteStream, text: () => chunks.join("") };
}

describe("stage reporter", () => {
  test("off a TTY, progress is plain lines with percent and counts (interval 0: every report after the first)", () => {
    const out = capture();
    const r = createReporter({ stream: out.stream, tty: false, intervalMs: 0, prefix: "[train] " });
    r.progress("fitting", 0, 4);
    r.progress("fitting", 2, 4);
    r.progress("fitting", 4, 4);
    r.log("done");
    assert.equal(out.text(), "[train] fitting: 50% (2/4)\n[train] fitting: 100% (4/4)\n[train] done\n");
  });

  test("off a TTY with the default interval, a quick step prints no progress lines at all", () => {
    const out = capture();
    const r = createReporter({ stream: out.stream, tty: false });
    for (let i = 0; i <= 100; i++) r.progress("vectorizing", i, 100);
    r.log("vocabulary 10 terms");
    assert.equal(out.text(), "vocabulary 10 terms\n");
  });

  test("on a TTY, progress draws a bar that ends at 100% before the next log line", () => {
    const out = capture(true);
    const r = createReporter({ stream: out.stream, tty: true });
    r.progress("cross-validating (folds)", 1, 5);
    r.progress("cross-validating (folds)", 5, 5);
    r.log("5-fold CV done");
    const text = out.text();
    assert.match(text, /cross-validating \(folds\) \[.*\] 100% \| 5\/5/);
    assert.ok(text.endsWith("5-fold CV done\n"));
  });

  test("quiet prints nothing", () => {
    const out = capture();
    const r = createReporter({ stream: out.stream, quiet: true });
    r.log("x");
    r.progress("p", 1, 2);
    assert.equal(out.text(), "");
  });
});
