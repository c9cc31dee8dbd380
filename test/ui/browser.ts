/**
 * Headless Chromium for the UI tests, the screenshot script and bench/ui.ts: Debian's
 * /usr/bin/chromium driven by playwright-core (no browser download), a fresh profile each launch.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { skipUnless, systemBinary } from "../support/system-binaries.js";

export const CHROMIUM_PATH = process.env.POLARITY_CHROMIUM ?? systemBinary("chromium") ?? "/usr/bin/chromium";

/** Why browser tests cannot run here (one line, naming the install), or undefined when they can (test/support/system-binaries.ts). */
export function chromiumMissing(): string | undefined {
  return skipUnless("chromium") || undefined;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(
  opts: { width?: number; height?: number; httpCredentials?: { username: string; password: string } } = {},
): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), "polarity-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    ...(opts.httpCredentials ? { httpCredentials: opts.httpCredentials } : {}),
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The little of the DOM that functions evaluated in the page touch. This Node program has no DOM
 * types: test files declare `document`/`window` with these, module-local, for page functions only.
 */
export interface PageElement {
  textContent: string | null;
  tagName: string;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
}
export interface PageDocument {
  querySelector(selector: string): (PageElement & { naturalWidth?: number }) | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  activeElement: PageElement | null;
  documentElement: { scrollWidth: number };
}
export interface PageWindow {
  innerWidth: number;
}
