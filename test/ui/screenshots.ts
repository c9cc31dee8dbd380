/**
 * `npm run screenshots`: the README's pictures of the UI — docs/img/runs-table.png (an
 * experiment's runs table) and docs/img/compare.png (three runs compared) — taken in headless
 * Chromium at 1280×800 from a tracking server on a seeded store.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTrackingServer } from "../../src/tracking/server.js";
import { trackingUi } from "../../src/ui/plugin.js";
import { REPO } from "../e2e/helpers.js";
import { chromiumMissing, launchBrowser, type PageDocument } from "./browser.js";
import { seedDemoStore } from "./seed.js";

declare const document: PageDocument; // in page functions

const missing = chromiumMissing();
if (missing) {
  console.log(`screenshots skipped: ${missing}`);
  process.exit(0);
}
const out = join(REPO, "docs", "img");
await mkdir(out, { recursive: true });
const dir = await mkdtemp(join(tmpdir(), "polarity-shots-"));
const store = await seedDemoStore(dir);
const server = await startTrackingServer({
  port: 0,
  backendStoreUri: `sqlite:///${store.dbPath}`,
  artifactsDestination: store.artifactsDir,
  plugins: [trackingUi],
});
const browser = await launchBrowser({ width: 1280, height: 800 });
try {
  const page = await browser.context.newPage();
  const settled = () => page.waitForFunction(() => document.querySelector("main")?.getAttribute("aria-busy") === "false");
  await page.goto(`${server.url}/#/experiments/${store.experimentId}?order=${encodeURIComponent("metrics.`accuracy` DESC")}`);
  await settled();
  await page.waitForSelector("#runs-table tbody tr");
  for (const name of ["svm-C1-1-1", "svm-C10-1-2", "nb-C100-1-2"]) await page.getByLabel(`Select run ${name}`).check();
  await page.screenshot({ path: join(out, "runs-table.png") });
  await page.getByRole("button", { name: "Compare selected (3)" }).click();
  await page.waitForSelector("#parallel-coordinates canvas");
  await page.waitForSelector("#overlaid-history canvas");
  await settled();
  await page.screenshot({ path: join(out, "compare.png") });
  console.log(`wrote ${join(out, "runs-table.png")} and ${join(out, "compare.png")}`);
} finally {
  await browser.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
}
