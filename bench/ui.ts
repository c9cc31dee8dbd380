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
 * - history: a run page charting one metric of --history points — the chart's sampled fetch
 *   (MLflow's get-history-bulk-interval) and draw, then "Full resolution": every point fetched
 *   (get-history) and drawn (uPlot);
 * - reference: the same search, and both history fetches, through the REST API alone (Node).
 * Runs-table figures are given twice: measured in the page (the UI writes data-answered-ms on
 * #runs-table once the table it drew is painted, from navigation start or the click/submit
 * event) and from Playwright (which adds its CDP round trips and polling).
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
  querySelector(s: string): { textContent: string | null; getAttribute(n: string): string | null; removeAttribute(n: string): void } | null;
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

    // References: the searches the page sends (first page, sort, filter) through the REST API alone.
    const search = async (body: object) => {
      const t0 = performance.now();
      const res = await fetch(`${server.url}/api/2.0/mlflow/runs/search`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ experiment_ids: [experimentId], max_results: 50, ...body }),
      });
      await res.json();
      return performance.now() - t0;
    };
    const api: number[] = [];
    const apiSort: number[] = [];
    const apiFilter: number[] = [];
    for (let i = 0; i < REPEAT + 1; i++) {
      const first = await search({ order_by: ["attributes.start_time DESC"] });
      const sorted = await search({ order_by: [`metrics.\`m${String(i % METRICS).padStart(2, "0")}\` DESC`] });
      const filtered = await search({
        filter: `metrics.m01 > ${(0.1 * ((i % REPEAT) + 1)).toFixed(1)} AND params.p00 != '7'`,
        order_by: ["attributes.start_time DESC"],
      });
      if (i > 0) {
        api.push(first);
        apiSort.push(sorted);
        apiFilter.push(filtered);
      }
    }

    // In-page figures: the page writes data-answered-ms on #runs-table once the table it drew
    // is painted — from navigation start (first page) or from the click/submit event (sort,
    // filter). The outside figures add Playwright's own latency (CDP round trips, polling).
    const answered = async () => {
      await page.waitForSelector("#runs-table[data-answered-ms]", { state: "attached" });
      return Number(await page.locator("#runs-table").getAttribute("data-answered-ms"));
    };
    const resetAnswered = () => page.evaluate(() => document.querySelector("#runs-table")?.removeAttribute("data-answered-ms"));

    const firstPage: number[] = [];
    const firstPageIn: number[] = [];
    for (let i = 0; i < REPEAT + 1; i++) {
      await page.goto("about:blank");
      t = performance.now();
      await page.goto(runsUrl);
      await rowsVisible();
      const outside = performance.now() - t;
      const inside = await answered();
      if (i > 0) {
        // the first try also warms the server's page cache and the browser's chunk cache
        firstPage.push(outside);
        firstPageIn.push(inside);
      }
    }

    const sort: number[] = [];
    const sortIn: number[] = [];
    const filter: number[] = [];
    const filterIn: number[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const column = `m${String(i % METRICS).padStart(2, "0")}`;
      await resetAnswered();
      t = performance.now();
      await page.locator("#runs-table thead button.sort", { hasText: new RegExp(`^${column}`) }).click();
      await page.waitForFunction((c) => document.querySelector('th[aria-sort="descending"]')?.textContent?.startsWith(c) === true, column);
      sort.push(performance.now() - t);
      sortIn.push(await answered());

      const input = page.getByLabel("Filter runs (MLflow search syntax)");
      await input.fill(`metrics.m01 > ${(0.1 * (i + 1)).toFixed(1)} AND params.p00 != '7'`);
      await resetAnswered();
      t = performance.now();
      await input.press("Enter");
      await page.waitForFunction(
        (f) => new URLSearchParams(location.hash.split("?")[1] ?? "").get("filter")?.startsWith(f) === true,
        `metrics.m01 > ${(0.1 * (i + 1)).toFixed(1)}`,
      );
      await rowsVisible();
      filter.push(performance.now() - t);
      filterIn.push(await answered());
      await page.goto("about:blank");
      await page.goto(runsUrl);
      await rowsVisible();
    }

    // History: the chart draws MLflow's sampled history (get-history-bulk-interval); "Full
    // resolution" fetches and draws all --history points (the draw target is about those).
    const chartStatus = async () => {
      const text = (await page.locator("#history-chart").evaluate((el) => el.previousElementSibling?.textContent ?? "")) as string;
      const m = /fetched in (\d+) ms, drawn in (\d+) ms/.exec(text);
      return m ? { fetched: Number(m[1]), drawn: Number(m[2]) } : undefined;
    };
    const sampledTotal: number[] = [];
    const sampledFetch: number[] = [];
    const sampledDraw: number[] = [];
    const fullFetch: number[] = [];
    const fullDraw: number[] = [];
    let sampledPoints = 0;
    for (let i = 0; i < REPEAT; i++) {
      await page.goto("about:blank");
      t = performance.now();
      await page.goto(`${server.url}/#/runs/${historyRunId}?metric=loss`);
      await page.waitForFunction(() => document.querySelector("#history-chart")?.getAttribute("data-resolution") === "sampled");
      sampledTotal.push(performance.now() - t);
      sampledPoints = Number(await page.locator("#history-chart").getAttribute("data-points"));
      const s1 = await chartStatus();
      if (s1) {
        sampledFetch.push(s1.fetched);
        sampledDraw.push(s1.drawn);
      }
      await page.locator("#history-full").click();
      await page.waitForFunction(
        (n) =>
          document.querySelector("#history-chart")?.getAttribute("data-resolution") === "full" &&
          document.querySelector("#history-chart")?.getAttribute("data-points") === String(n),
        HISTORY,
        { timeout: 120_000 },
      );
      const s2 = await chartStatus();
      if (s2) {
        fullFetch.push(s2.fetched);
        fullDraw.push(s2.drawn);
      }
    }

    // REST references for the history: the sampled endpoint and the full get-history, in Node.
    const restSampled: number[] = [];
    const restFull: number[] = [];
    let sampledBytes = 0;
    let fullBytes = 0;
    for (let i = 0; i < REPEAT; i++) {
      t = performance.now();
      const a = await (
        await fetch(`${server.url}/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids=${historyRunId}&metric_key=loss&max_results=1000`)
      ).text();
      restSampled.push(performance.now() - t);
      sampledBytes = a.length;
      if (i < 2) {
        t = performance.now();
        const b = await (await fetch(`${server.url}/api/2.0/mlflow/metrics/get-history?run_id=${historyRunId}&metric_key=loss&max_results=1000000`)).text();
        restFull.push(performance.now() - t);
        fullBytes = b.length;
      }
    }

    console.log(`runs table first page, in page (navigation start → table painted): ${fmt(firstPageIn)}   [target ≤ 1000 ms]`);
    console.log(`  from Playwright (goto → rows visible):                        ${fmt(firstPage)}`);
    console.log(`  reference: the same search over REST alone:                   ${fmt(api)}`);
    console.log(`sort by a metric column, in page (click → table painted):       ${fmt(sortIn)}   [target ≤ 300 ms]`);
    console.log(`  from Playwright (click → new order seen):                     ${fmt(sort)}`);
    console.log(`  reference: a metric-sorted search over REST alone:            ${fmt(apiSort)}`);
    console.log(`filter, in page (Enter → table painted):                        ${fmt(filterIn)}   [target ≤ 300 ms]`);
    console.log(`  from Playwright (Enter → filtered rows seen):                 ${fmt(filter)}`);
    console.log(`  reference: the filtered search over REST alone:               ${fmt(apiFilter)}`);
    console.log(`metric history of ${HISTORY.toLocaleString()} points:`);
    console.log(`  chart (sampled to ${sampledPoints.toLocaleString()} points): run page navigation → drawn ${fmt(sampledTotal)}`);
    console.log(`    fetch (get-history-bulk-interval, in page):                ${fmt(sampledFetch)}`);
    console.log(`    draw (uPlot):                                              ${fmt(sampledDraw)}`);
    console.log(`  full resolution: fetch (get-history, in page):               ${fmt(fullFetch)}`);
    console.log(`    draw of all ${HISTORY.toLocaleString()} points (uPlot):                  ${fmt(fullDraw)}   [target ≤ 500 ms]`);
    console.log(`  REST in Node: sampled ${fmt(restSampled)}, ${(sampledBytes / 1024).toFixed(0)} KiB`);
    console.log(`                full    ${fmt(restFull)}, ${(fullBytes / 1024).toFixed(0)} KiB`);
    console.log(`load average after: ${load()}`);
  } finally {
    await browser.close();
    await server.close();
  }
}
