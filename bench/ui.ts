/**
 * Tracking UI benchmark in headless Chromium (Debian's /usr/bin/chromium via playwright-core)
 * against a tracking server on 127.0.0.1 with a seeded store.
 *
 *   npm run bench:ui
 *   npx tsx bench/ui.ts --runs 10000 --metrics 20 --params 10 --history 100000 --repeat 5
 *
 * Figures (median and max of --repeat tries):
 * - runs table, first page: from navigation (about:blank → the experiment's URL, bundle
 *   loaded from the server each time, no cache) to the table's rows visible;
 * - sort: click a metric column header → the table shows the server's new order;
 * - filter: type a filter and press Enter → the filtered table is shown;
 * - history: a run page charting one metric of --history points: fetch (REST) and draw (uPlot);
 * - reference: the same search through the REST API alone (fetch + JSON parse in Node).
 * Targets from issue 14: first page ≤ 1 s, sort/filter ≤ 300 ms, 10^5-point history draws ≤ 500 ms.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { startTrackingServer } from "../src/tracking/server.js";
import { trackingUi } from "../src/ui/plugin.js";
import { loadUiAssets } from "../src/ui/assets.js";
import { chromiumMissing, launchBrowser } from "../test/ui/browser.js";
import { seedLargeStore } from "../test/ui/seed.js";
import { REPO } from "../test/e2e/helpers.js";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const RUNS = arg("runs", 10_000);
const METRICS = arg("metrics", 20);
const PARAMS = arg("params", 10);
const HISTORY = arg("history", 100_000);
const REPEAT = arg("repeat", 5);

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs: number[]) => `median ${median(xs).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms (n=${xs.length})`;

// Page functions run in the browser.
declare const location: { hash: string };
declare const document: {
  querySelector(s: string): { textContent: string | null; getAttribute(n: string): string | null } | null;
  querySelectorAll(s: string): { length: number };
};

const missing = chromiumMissing();
if (missing) {
  console.log(`bench:ui skipped: ${missing}`);
  process.exit(0);
}

console.log(`# tracking UI benchmark — ${cpus()[0]?.model ?? "cpu"} × ${cpus().length}, Node ${process.version}, load ${load()}`);
// The seeded store is kept in .bench/ (gitignored) for the next run: seeding takes minutes on a busy machine.
const dir = join(REPO, ".bench", `ui-store-${RUNS}x${METRICS}x${PARAMS}-h${HISTORY}`);
const seededMark = join(dir, "seeded.json");
{
  let t = performance.now();
  let seeded: { experimentId: string; historyRunId: string };
  if (existsSync(seededMark)) {
    seeded = JSON.parse(await readFile(seededMark, "utf8")) as typeof seeded;
    console.log(`reusing the seeded store in ${dir}`);
  } else {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    seeded = await seedLargeStore(dir, { runs: RUNS, metrics: METRICS, params: PARAMS, historyPoints: HISTORY });
    await writeFile(seededMark, JSON.stringify(seeded));
    console.log(
      `seeded ${RUNS.toLocaleString()} runs × ${METRICS} metrics × ${PARAMS} params + one ${HISTORY.toLocaleString()}-point history in ${((performance.now() - t) / 1000).toFixed(1)} s (kept in ${dir})`,
    );
  }
  const { experimentId, historyRunId } = seeded;

  const assets = await loadUiAssets();
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  const sum = (names: string[], gz: boolean) => kib(names.reduce((a, n) => a + (gz ? assets.get(n)!.gzip : assets.get(n)!.body).length, 0));
  const first = ["app.js", "app.css"];
  console.log(
    `bundle: first load (app.js + app.css) ${sum(first, false)} (gzip ${sum(first, true)}); all ${assets.size} files ${sum([...assets.keys()], false)} (gzip ${sum([...assets.keys()], true)})`,
  );

  const server = await startTrackingServer({
    port: 0,
    backendStoreUri: `sqlite:///${join(dir, "mlruns.db")}`,
    artifactsDestination: join(dir, "mlartifacts"),
    plugins: [trackingUi],
  });
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(60_000);
    const runsUrl = `${server.url}/#/experiments/${experimentId}`;
    const rowsVisible = () => page.waitForSelector("#runs-table tbody tr", { state: "visible" });

    // Reference: the first page's search through the REST API alone.
    const api: number[] = [];
    for (let i = 0; i < REPEAT + 1; i++) {
      t = performance.now();
      const res = await fetch(`${server.url}/api/2.0/mlflow/runs/search`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ experiment_ids: [experimentId], order_by: ["attributes.start_time DESC"], max_results: 50 }),
      });
      await res.json();
      if (i > 0) api.push(performance.now() - t);
    }

    const firstPage: number[] = [];
    for (let i = 0; i < REPEAT + 1; i++) {
      await page.goto("about:blank");
      t = performance.now();
      await page.goto(runsUrl);
      await rowsVisible();
      if (i > 0) firstPage.push(performance.now() - t); // the first try also warms the server's page cache
    }

    const sort: number[] = [];
    const filter: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const column = `m${String(i % METRICS).padStart(2, "0")}`;
      t = performance.now();
      await page.locator("#runs-table thead button.sort", { hasText: new RegExp(`^${column}`) }).click();
      await page.waitForFunction((c) => document.querySelector('th[aria-sort="descending"]')?.textContent?.startsWith(c) === true, column);
      sort.push(performance.now() - t);

      const input = page.getByLabel("Filter runs (MLflow search syntax)");
      await input.fill(`metrics.m01 > ${(0.1 * (i + 1)).toFixed(1)} AND params.p00 != '7'`);
      t = performance.now();
      await input.press("Enter");
      await page.waitForFunction(
        (f) => new URLSearchParams(location.hash.split("?")[1] ?? "").get("filter")?.startsWith(f) === true,
        `metrics.m01 > ${(0.1 * (i + 1)).toFixed(1)}`,
      );
      await rowsVisible();
      filter.push(performance.now() - t);
      await page.goto("about:blank");
      await page.goto(runsUrl);
      await rowsVisible();
    }

    const draw: number[] = [];
    const fetched: number[] = [];
    const total: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      await page.goto("about:blank");
      t = performance.now();
      await page.goto(`${server.url}/#/runs/${historyRunId}?metric=loss`);
      await page.waitForFunction((n) => document.querySelector("#history-chart")?.getAttribute("data-points") === String(n), HISTORY);
      total.push(performance.now() - t);
      const status = (await page.locator("#history-chart").evaluate((el) => el.previousElementSibling?.textContent ?? "")) as string;
      const m = /fetched in (\d+) ms, drawn in (\d+) ms/.exec(status);
      if (m) {
        fetched.push(Number(m[1]));
        draw.push(Number(m[2]));
      }
    }

    console.log(`runs table first page (navigation → rows visible): ${fmt(firstPage)}   [target ≤ 1000 ms]`);
    console.log(`  reference: the same search over REST alone:      ${fmt(api)}`);
    console.log(`sort by a metric column (click → new order shown):  ${fmt(sort)}   [target ≤ 300 ms]`);
    console.log(`filter (Enter → filtered table shown):              ${fmt(filter)}   [target ≤ 300 ms]`);
    console.log(`${HISTORY.toLocaleString()}-point metric history, draw (uPlot):     ${fmt(draw)}   [target ≤ 500 ms]`);
    console.log(`  fetch over REST (in the page):                     ${fmt(fetched)}`);
    console.log(`  run page navigation → chart drawn:                 ${fmt(total)}`);
    console.log(`load average after: ${load()}`);
  } finally {
    await browser.close();
    await server.close();
  }
}
