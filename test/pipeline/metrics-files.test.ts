import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { diffMetrics, diffParams, showMetrics } from "../../src/pipeline/metrics-files.js";
import { renderPlotsHtml } from "../../src/pipeline/plots.js";
import { cli, git, makeProject, writeFiles } from "./helpers.js";

const PIPELINE = `stages:
  evaluate:
    cmd: 'true'
    params: [model.C, model.penalty]
    metrics:
      - scores.json:
          cache: false
    plots:
      - roc.csv:
          x: fpr
          y: tpr
          title: ROC
      - confusion.csv:
          template: confusion
          x: actual
          y: predicted
metrics:
  - extra/summary.yaml
plots:
  - Learning curves:
      x: epoch
      y:
        history.json: [train_loss, val_loss]
`;

function project(): string {
  const dir = makeProject({
    "dvc.yaml": PIPELINE,
    "params.yaml": "model:\n  C: 1.0\n  penalty: l2\n  unused: 3\n",
    "scores.json": JSON.stringify({ accuracy: 0.8, f1: 0.75, nested: { auc: 0.9 } }),
    "extra/summary.yaml": "n_test: 200\n",
    "roc.csv": "fpr,tpr\n0,0\n0.1,0.6\n0.3,0.85\n1,1\n",
    "confusion.csv": "actual,predicted\npos,pos\npos,neg\nneg,neg\nneg,neg\n",
    "history.json": JSON.stringify([
      { epoch: 1, train_loss: 0.9, val_loss: 1.0 },
      { epoch: 2, train_loss: 0.5, val_loss: 0.7 },
    ]),
  });
  git(dir, "init", "-q");
  git(dir, "add", ".");
  git(dir, "commit", "-qm", "baseline");
  return dir;
}

describe("metrics and params", () => {
  it("shows metrics files declared by stages and at the top level, flattened", () => {
    const dir = project();
    assert.deepEqual(showMetrics(dir), {
      "scores.json": { data: { accuracy: 0.8, f1: 0.75, "nested.auc": 0.9 } },
      "extra/summary.yaml": { data: { n_test: 200 } },
    });
  });

  it("diffs metrics and params against a git revision", () => {
    const dir = project();
    writeFiles(dir, {
      "scores.json": JSON.stringify({ accuracy: 0.85, f1: 0.75, nested: { auc: 0.9 } }),
      "params.yaml": "model:\n  C: 0.5\n  penalty: l2\n  unused: 4\n",
    });
    assert.deepEqual(
      diffMetrics(dir, "HEAD").map((r) => [r.path, r.key, r.old, r.new, Number(r.diff!.toFixed(6))]),
      [["scores.json", "accuracy", 0.8, 0.85, 0.05]],
    );
    // only tracked params files are compared; every changed key of the file is listed
    // values keep YAML's float form (1.0 is a float, 3 an int), as DVC shows them
    assert.deepEqual(
      diffParams(dir, "HEAD").map((r) => [r.path, r.key, String(r.old), String(r.new)]),
      [
        ["params.yaml", "model.C", "1.0", "0.5"],
        ["params.yaml", "model.unused", "3", "4"],
      ],
    );
    assert.equal(diffParams(dir, "HEAD", true).length, 3);
  });

  it("polarity metrics diff prints a table and --json; an unknown revision is one clear error", () => {
    const dir = project();
    writeFiles(dir, { "scores.json": JSON.stringify({ accuracy: 0.85, f1: 0.75, nested: { auc: 0.9 } }) });
    const table = cli(dir, ["metrics", "diff"]);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(table.stdout, "Path         Metric    HEAD  workspace  Change\nscores.json  accuracy  0.8   0.85       0.05\n");
    const bad = cli(dir, ["params", "diff", "no-such-rev"]);
    assert.equal(bad.code, 3);
    assert.equal(bad.stderr.trim(), `error: git revision 'no-such-rev' not found in ${fs.realpathSync(dir)}`.replace(fs.realpathSync(dir), dir));
  });
});

describe("plots show", () => {
  it("renders declared plots into one self-contained HTML page with SVG charts and a confusion matrix", () => {
    const dir = project();
    const out = path.join(dir, "dvc_plots/index.html");
    const res = renderPlotsHtml(dir, out);
    assert.deepEqual(res.plots, ["roc.csv", "confusion.csv", "Learning curves"]);
    const html = fs.readFileSync(out, "utf8");
    assert.equal((html.match(/<svg /g) ?? []).length, 2, "ROC and learning curves are charts");
    assert.match(html, /<h2>ROC<\/h2>/);
    assert.match(html, /<h2>Learning curves<\/h2>[\s\S]*>epoch<\/text>[\s\S]*>train_loss<\/text>[\s\S]*>val_loss<\/text>/);
    assert.match(html, /<polyline [^>]*points="[\d., ]+"/);
    // confusion: actual pos → predicted pos 1, neg 1; actual neg → neg 2
    assert.match(html, /<tr><th>neg<\/th><td[^>]*>2<\/td><td[^>]*>0<\/td><\/tr><tr><th>pos<\/th><td[^>]*>1<\/td><td[^>]*>1<\/td><\/tr>/);
    assert.doesNotMatch(html, /<script src|https?:\/\/(?!www\.w3\.org)/, "no external assets");
  });
});
