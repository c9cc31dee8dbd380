import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { createModelSource } from "../../src/serving/index.js";
import { chromiumMissing, launchBrowser, type Browser, type PageDocument, type PageWindow } from "./browser.js";
import { goto, settled, shot, startWorld, type UiWorld } from "./harness.js";

// Page functions (page.evaluate, waitForFunction) run in the browser.
declare const document: PageDocument;
declare const window: PageWindow;

const missing = chromiumMissing();
if (missing) console.log(`# skipping the UI browser tests: ${missing}`);

describe("tracking UI in a real browser against polarity server", { skip: missing, timeout: 240_000 }, () => {
  let world: UiWorld;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    world = await startWorld();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.setDefaultTimeout(30_000);
    page.on("pageerror", (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    await world?.close();
  });

  const runsUrl = () => `${world.url}/#/experiments/${world.store.experimentId}`;
  const rowNames = () => page.$$eval("#runs-table tbody tr td.name a", (as) => as.map((a) => a.textContent ?? ""));

  test("the page is served at / with its bundle and security headers, without a CDN", async () => {
    const res = await fetch(`${world.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    const html = await res.text();
    assert.doesNotMatch(html, /https?:\/\//, "no external asset");
    // app.js's static imports are preloaded with it; content-hashed chunks may be cached for good.
    const preloads = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]);
    assert.ok(preloads.length > 0, "modulepreload links");
    for (const href of preloads) {
      const chunk = await fetch(world.url + href);
      assert.equal(chunk.status, 200, href);
      assert.match(chunk.headers.get("cache-control") ?? "", /immutable/, href);
    }
    assert.equal((await fetch(`${world.url}/ui/app.js`)).headers.get("cache-control"), "no-cache", "the entry is revalidated");
    const js = await fetch(`${world.url}/ui/app.js`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(js.status, 200);
    assert.equal(js.headers.get("content-encoding"), "gzip");
  });

  test("UI endpoints refuse traversal, and with auth on only the static shell is served without credentials", async () => {
    for (const path of ["/ui/..%2Fpackage.json", "/ui/..%2F..%2Fsrc%2Fui%2Fplugin.ts", "/ui/nope.js"])
      assert.equal((await fetch(world.url + path)).status, 404, path);
    const run = world.store.runIds[0];
    for (const p of ["../../../etc/passwd", "/etc/passwd", "reports/%2e%2e/%2e%2e/x"]) {
      const res = await fetch(`${world.url}/get-artifact?run_id=${run}&path=${encodeURIComponent(p)}`);
      assert.equal(res.status, 400, p);
      assert.match(((await res.json()) as { message: string }).message, /Invalid (artifact )?path/);
    }
    const text = await fetch(`${world.url}/get-artifact?run_id=${run}&path=reports/notes.txt`);
    assert.equal(text.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.match(text.headers.get("content-security-policy") ?? "", /sandbox/);
    assert.equal((await fetch(`${world.authUrl}/`)).status, 200);
    assert.equal((await fetch(`${world.authUrl}/ui/app.js`)).status, 200);
    for (const path of [
      "/ui-api/pipeline",
      "/ui-api/pipeline/metrics-diff?rev=HEAD",
      `/get-artifact?run_id=${run}&path=reports/notes.txt`,
      "/api/2.0/mlflow/experiments/search",
      `/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids=${run}&metric_key=loss`,
    ]) {
      assert.equal((await fetch(world.authUrl + path)).status, 401, path);
    }
  });

  test("runs table: nested runs under their parent, sorting, and an MLflow filter (errors inline)", async () => {
    await goto(page, runsUrl());
    await page.waitForSelector("#runs-table tbody tr");
    const names = await rowNames();
    assert.equal(names.length, 16);
    const parentAt = names.indexOf("tune-C");
    assert.deepEqual(names.slice(parentAt + 1, parentAt + 4).sort(), ["tune-C-0.5", "tune-C-2", "tune-C-8"], "children follow their parent");
    assert.equal(
      await page
        .locator("#runs-table tbody tr")
        .nth(parentAt + 1)
        .locator("td.name")
        .getAttribute("style"),
      "padding-left:1.75rem",
    );

    // Sort by accuracy, descending: the server orders, the first row has the largest value.
    await page.getByRole("button", { name: "accuracy", exact: true }).click();
    await page.waitForSelector('th[aria-sort="descending"] >> text=accuracy');
    // Top-level rows are in the server's order (child runs stay under their parent).
    const acc = await page.$$eval("#runs-table tbody tr", (trs) =>
      trs.filter((tr) => !tr.querySelector("td.name")?.getAttribute("style")).map((tr) => tr.querySelectorAll("td")[6]?.textContent ?? ""),
    );
    const values = acc.filter((v) => v !== "").map(Number);
    assert.equal(values.length, 12);
    assert.deepEqual(
      values,
      [...values].sort((a, b) => b - a),
    );
    assert.match(page.url(), /order=metrics\.%60accuracy%60\+DESC|order=metrics.*accuracy/);

    const filter = page.getByLabel("Filter runs (MLflow search syntax)");
    await filter.fill("params.model = 'svm' AND metrics.accuracy > 0");
    await filter.press("Enter");
    await page.waitForFunction(() => document.querySelectorAll("#runs-table tbody tr").length === 4);
    assert.ok((await rowNames()).every((n) => n.startsWith("svm-")));
    assert.match(page.url(), /filter=params\.model/, "the filter is in the shareable URL");
    await shot(page, "runs-filtered");

    await filter.fill("metrics.accuracy >>> 1");
    await filter.press("Enter");
    const alert = page.locator("#filter-error");
    await alert.waitFor({ state: "visible" });
    assert.match((await alert.textContent()) ?? "", /Invalid filter/);
    assert.equal(await filter.getAttribute("aria-invalid"), "true");
    await shot(page, "runs-filter-error");
  });

  test("the column chooser hides and shows a column", async () => {
    await goto(page, runsUrl());
    await page.waitForSelector("#runs-table tbody tr");
    await page.locator("details.chooser summary").click();
    const f1 = page.locator("details.chooser label", { hasText: "f1" }).locator("input");
    await f1.uncheck();
    assert.equal(await page.locator("#runs-table thead button.sort", { hasText: /^f1$/ }).count(), 0);
    await f1.check();
    assert.equal(await page.locator("#runs-table thead button.sort", { hasText: /^f1$/ }).count(), 1);
  });

  test("run page: params, metrics history, inputs with digest, and artifact previews (text, CSV, JSON plots, image)", async () => {
    const id = world.store.runIds[0];
    await goto(page, `${world.url}/#/runs/${id}`);
    await page.waitForSelector("#history-chart canvas");
    assert.equal(await page.locator("#history-chart").getAttribute("data-points"), "50", "the loss history has 50 steps");
    assert.ok(await page.locator("text=3f2a9c1e").first().isVisible(), "dataset digest shown");
    assert.ok(await page.locator("text=c0ffee00d15ea5e").first().isVisible(), "git commit shown");

    await page.getByRole("button", { name: "▸ reports/" }).click();
    await page.getByRole("button", { name: "predictions.csv" }).click();
    await page.waitForSelector("#artifact-preview table.csv");
    assert.equal(await page.locator("#artifact-preview table.csv tbody tr").count(), 3);
    assert.equal(await page.locator("#artifact-preview table.csv tbody tr").first().locator("td").first().textContent(), "I love this, really");

    await page.getByRole("button", { name: "notes.txt" }).click();
    await page.waitForSelector("#artifact-preview pre");
    assert.match((await page.locator("#artifact-preview pre").textContent()) ?? "", /<script>alert\(1\)<\/script>/, "HTML in a text artifact is shown as text");

    await page.getByRole("button", { name: "confusion.png" }).click();
    await page.waitForSelector("#artifact-preview img");
    await page.waitForFunction(() => document.querySelector("#artifact-preview img")?.naturalWidth === 1);

    await page.getByRole("button", { name: "▸ plots/" }).click();
    await page.getByRole("button", { name: "roc.json" }).click();
    await page.waitForSelector('#artifact-preview [data-plot="roc"] canvas');
    await page.getByRole("button", { name: "confusion.json" }).click();
    await page.waitForSelector('#artifact-preview [data-plot="confusion"] canvas');
    assert.equal(await page.locator('#artifact-preview [data-plot="confusion"]').getAttribute("data-cells"), "4");
    assert.match(page.url(), /artifact=reports%2Fplots%2Fconfusion\.json/, "the open artifact is in the URL");
    await shot(page, "run-page");

    // The deep link reopens the same artifact.
    await goto(page, page.url());
    await page.waitForSelector('#artifact-preview [data-plot="confusion"] canvas');
  });

  test("metric history: the chart draws MLflow's sampled history, full resolution on demand, every point downloadable as CSV", async () => {
    const id = world.store.runIds[1];
    const requests: string[] = [];
    const onRequest = (r: { url(): string }) => void requests.push(r.url());
    page.on("request", onRequest);
    try {
      await goto(page, `${world.url}/#/runs/${id}?metric=loss`);
      await page.waitForFunction(() => document.querySelector("#history-chart")?.getAttribute("data-resolution") === "sampled");
      assert.equal(await page.locator("#history-chart").getAttribute("data-points"), "50");
      assert.ok(
        requests.some((u) => u.includes("/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?") && u.includes(`run_ids=${id}`)),
        "the chart reads get-history-bulk-interval",
      );
      assert.ok(!requests.some((u) => u.includes("metrics/get-history?")), "not the full history");
      await page.getByRole("button", { name: "Full resolution" }).click();
      await page.waitForFunction(() => document.querySelector("#history-chart")?.getAttribute("data-resolution") === "full");
      assert.ok(
        requests.some((u) => u.includes("metrics/get-history?")),
        "full resolution reads every point",
      );
      assert.match(page.url(), /full=1/, "the resolution is in the URL");
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download CSV" }).click()]);
      assert.equal(download.suggestedFilename(), `${id}-loss.csv`);
      const csv = (await readFile((await download.path())!, "utf8")).trim().split("\n");
      assert.equal(csv[0], "step,timestamp,value");
      assert.equal(csv.length, 51, "a header and all 50 points");
      assert.match(csv[1], /^0,\d+,0\.\d+$/);
    } finally {
      page.off("request", onRequest);
    }
  });

  test("compare three runs: one parallel-coordinates line per run, one axis per chosen param plus the metric, differences highlighted", async () => {
    await goto(page, runsUrl());
    await page.waitForSelector("#runs-table tbody tr");
    for (const name of ["logreg-C0.1-1-2", "nb-C0.1-1-1", "svm-C1-1-1"]) await page.getByLabel(`Select run ${name}`).check();
    await page.getByRole("button", { name: "Compare selected (3)" }).click();
    await page.waitForSelector("#parallel-coordinates canvas");
    await settled(page);
    const pc = page.locator("#parallel-coordinates");
    assert.equal(await pc.getAttribute("data-lines"), "3");
    const chosen = await page.locator("fieldset.inline input:checked").count();
    assert.equal(chosen, 3, "C, model and ngram_range differ; features does not");
    assert.equal(await pc.getAttribute("data-axes"), String(chosen + 1));
    await page.locator("fieldset.inline label", { hasText: "features" }).locator("input").check();
    assert.equal(await pc.getAttribute("data-axes"), String(chosen + 2));
    assert.ok((await page.locator("#diff-table tr.differs").count()) >= 4);
    await page.waitForSelector("#overlaid-history canvas");
    await shot(page, "compare");
  });

  test("registry: setting an alias from the page moves what the model server's registry source resolves", async () => {
    const source = await createModelSource({ modelUri: `models:/${world.store.modelName}@production`, trackingUri: world.url }, () => ({}) as never);
    try {
      assert.equal((await source.resolve()).version, "1");
      await goto(page, `${world.url}/#/models/${world.store.modelName}`);
      assert.ok(await page.locator("#versions-table").getByText("refused (staging → production, v3)").isVisible(), "gate results of promote are shown");
      await page.getByLabel("Alias", { exact: true }).fill("production");
      await page.getByLabel("Version", { exact: true }).selectOption("3");
      await page.getByRole("button", { name: "Set alias" }).click();
      await page.waitForSelector("text=Alias @production now points to version 3.");
      assert.equal((await source.resolve()).version, "3");

      await page.getByLabel("Stage for version 3").selectOption("Staging");
      await page.locator('tr[data-version="3"]').getByRole("button", { name: "Transition" }).click();
      await page.waitForSelector("text=Version 3 moved to Staging.");
      await shot(page, "registry");
    } finally {
      await source.close?.();
    }
  });

  test("with auth on: the page loads, reads and writes without credentials are refused, signing in allows them", async () => {
    await goto(page, `${world.authUrl}/#/models/${world.store.modelName}`);
    await page.locator("main .error", { hasText: /not authenticated/i }).waitFor();
    const refused = await page.evaluate(async (name) => {
      const r = await fetch("/api/2.0/mlflow/registered-models/alias", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name, alias: "production", version: "2" }),
      });
      return r.status;
    }, world.store.modelName);
    assert.equal(refused, 401);
    await shot(page, "auth-refused");

    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByLabel("Token").fill(world.token);
    await page.getByRole("button", { name: "Sign in", exact: true }).last().click();
    await page.waitForSelector("#versions-table");
    await page.getByLabel("Alias", { exact: true }).fill("champion");
    await page.getByLabel("Version", { exact: true }).selectOption("2");
    await page.getByRole("button", { name: "Set alias" }).click();
    await page.waitForSelector("text=Alias @champion now points to version 2.");
    const check = await fetch(`${world.authUrl}/api/2.0/mlflow/registered-models/alias?name=${world.store.modelName}&alias=champion`, {
      headers: { authorization: `Bearer ${world.token}` },
    });
    assert.equal(((await check.json()) as { model_version: { version: string } }).model_version.version, "2");
    await page.getByRole("button", { name: "Sign out" }).click();
  });

  test("pipeline page: the DAG and status of the project the server started in, and metrics diff against a git revision", async () => {
    await goto(page, `${world.url}/#/pipeline`);
    await page.waitForSelector("#pipeline-dag canvas");
    assert.equal(await page.locator("#pipeline-dag").getAttribute("data-stages"), "2");
    assert.equal(await page.locator("#pipeline-dag").getAttribute("data-edges"), "1");
    assert.match((await page.locator('tr[data-stage="prepare"]').textContent()) ?? "", /changed/);
    await page.waitForSelector("#metrics-diff table");
    const accuracy = page.locator("#metrics-diff tr", { hasText: "accuracy" });
    assert.match((await accuracy.textContent()) ?? "", /0\.8.*0\.85.*\+0\.05/);
    await shot(page, "pipeline");

    await page.getByLabel("Git revision").fill("no-such-rev");
    await page.getByRole("button", { name: "Compare" }).click();
    await page.waitForSelector("text=git revision 'no-such-rev' not found");
    await page.getByLabel("Git revision").fill("--output=/tmp/x");
    await page.getByRole("button", { name: "Compare" }).click();
    await page.waitForSelector("text=Invalid git revision");
  });

  test("experiments: search, create, rename, delete and restore", async () => {
    await goto(page, `${world.url}/#/experiments`);
    await page.getByLabel("New experiment").fill("ui-made");
    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForSelector("a >> text=ui-made");
    page.once("dialog", (d) => void d.accept("ui-renamed"));
    await page.getByRole("button", { name: "Rename experiment ui-made" }).click();
    await page.waitForSelector("a >> text=ui-renamed");
    await page.getByLabel("Search experiments").fill("renamed");
    await page.waitForFunction(() => document.querySelectorAll("main tbody tr").length === 1);
    page.once("dialog", (d) => void d.accept());
    await page.getByRole("button", { name: "Delete experiment ui-renamed" }).click();
    await page.waitForSelector("text=No experiments match.");
    await page.getByLabel("Show").selectOption("DELETED_ONLY");
    await page.getByRole("button", { name: "Restore experiment ui-renamed" }).click();
    await page.waitForSelector("text=No experiments match.");
    await page.getByLabel("Show").selectOption("ACTIVE_ONLY");
    await page.waitForSelector("a >> text=ui-renamed");
    await shot(page, "experiments");
  });

  test("keyboard and narrow screens: the filter works from the keyboard, and a 390 px wide page does not scroll sideways", async () => {
    await goto(page, runsUrl());
    await page.waitForSelector("#runs-table tbody tr");
    // After a navigation the page's heading has focus; the filter box is the next stop.
    let focused = "";
    for (let i = 0; i < 12; i++) {
      focused = await page.evaluate(() => (document.activeElement?.getAttribute("type") === "search" ? "filter" : (document.activeElement?.tagName ?? "")));
      if (focused === "filter") break;
      await page.keyboard.press("Tab");
    }
    assert.equal(focused, "filter", "the filter box is reachable with Tab");
    await page.keyboard.type("params.model = 'nb'");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelectorAll("#runs-table tbody tr").length === 4);

    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const hash of [`#/experiments/${world.store.experimentId}`, `#/runs/${world.store.runIds[0]}`, "#/models/sentiment"]) {
        await goto(page, `${world.url}/${hash}`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${hash} is ${overflow}px wider than the screen`);
      }
      await shot(page, "narrow-model");
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
    assert.deepEqual(pageErrors, [], "no uncaught errors in the page");
  });
});
