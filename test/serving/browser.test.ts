import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium, type Browser } from "playwright-core";
import type { RunningServer } from "../../src/serving/server.js";
import { startLocal, tempDir, trainModelJson, writeJsonAtomic } from "./fixtures.js";
import { skipUnless, systemBinary } from "../support/system-binaries.js";

/**
 * The page in a real browser: Debian's Chromium (installed by .ci/run) driven by
 * playwright-core. Playwright gives each launch a fresh temporary profile
 * (user-data-dir); it refuses a --user-data-dir argument with chromium.launch.
 */
const CHROMIUM = systemBinary("chromium") ?? "";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SCREENSHOTS = resolve("artifacts", "screenshots");

describe("the web page in Chromium", { timeout: 120_000, skip: skipUnless("chromium") }, () => {
  const dir = tempDir();
  let server: RunningServer;
  let browser: Browser;

  before(async () => {
    const file = join(dir.path, "sentiment.json");
    writeJsonAtomic(file, trainModelJson());
    server = await startLocal(file);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
    mkdirSync(SCREENSHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    dir.cleanup();
  });

  test("typing a sentence and clicking Predict shows the label, the probability bar and the highlighted words", async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 820 } });
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(`${server.url}/`);
    assert.equal(await page.title(), "Sentiment Analysis");
    assert.ok((await page.textContent("#model"))!.includes(server.app.polarity.holder.current!.version));

    const sentence = "I love this phone, the screen is great and the battery is excellent.";
    await page.fill("#text", sentence);
    await page.click("#predict");
    await page.waitForSelector("#label");
    assert.equal(await page.textContent("#label"), "Positive Sentiment");
    const probability = (await page.textContent("#probability"))!;
    const pct = Number(probability.replace("%", ""));
    assert.ok(pct > 50 && pct <= 100, probability);
    const barWidth = await page.$eval("#bar span", (el) => (el as unknown as { style: { width: string } }).style.width);
    assert.equal(barWidth, `${pct}%`);
    // The text is shown whole, with the words that pushed the decision highlighted.
    assert.equal(await page.textContent("#highlight"), sentence);
    const upWords = await page.$$eval("#highlight mark.up", (els) => els.map((e) => e.textContent));
    assert.ok(
      upWords.some((w) => /love|great|excellent/i.test(w ?? "")),
      `highlighted: ${upWords.join(", ")}`,
    );
    assert.ok((await page.$$("table.contrib tbody tr")).length > 0);
    // Everything the page needed came from this server: no external assets.
    assert.ok(
      requests.every((u) => u.startsWith(server.url)),
      requests.join(" "),
    );
    await page.screenshot({ path: join(SCREENSHOTS, "serving-page-positive.png"), fullPage: true });

    await page.fill("#text", "Terrible service, the food was cold and I hated every minute.");
    await page.click("#predict");
    // A selector, not a page function: the page's CSP forbids eval, which a string
    // predicate for waitForFunction needs; selector engines run in Playwright's own world.
    await page.waitForSelector('#label:text-is("Negative Sentiment")');
    assert.ok((await page.$$("#highlight mark.down")).length > 0);
    await page.screenshot({ path: join(SCREENSHOTS, "serving-page-negative.png"), fullPage: true });
    await page.close();
  });

  test("with JavaScript disabled the form posts and the server renders the result", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.fill("#text", "The worst movie I have ever seen, boring and awful.");
    await Promise.all([page.waitForURL(`${server.url}/predict`), page.click("#predict")]);
    assert.equal(await page.title(), "Sentiment Analysis");
    assert.equal(await page.textContent("#label"), "Negative Sentiment");
    assert.match((await page.textContent("#probability"))!, /^\d+(\.\d)?%$/);
    assert.ok((await page.$$("#highlight mark")).length > 0);
    // The textarea keeps what was typed, so the user can edit and resubmit.
    assert.equal(await page.inputValue("#text"), "The worst movie I have ever seen, boring and awful.");
    await page.screenshot({ path: join(SCREENSHOTS, "serving-page-no-js.png"), fullPage: true });
    await context.close();
  });
});
