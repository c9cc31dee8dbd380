/**
 * The UI tests' world: a seeded store, a small DVC project in git (the pipeline page's
 * project), and real `polarity server` processes started in it, one open and one with auth.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { REPO, spawnCliUntil, stop } from "../e2e/helpers.js";
import { seedDemoStore, type SeededStore } from "./seed.js";
import type { PageDocument } from "./browser.js";

declare const document: PageDocument; // in page functions

/** Screenshots of every test land here (gitignored). */
export const SHOTS_DIR = join(REPO, "artifacts", "ui");

export interface UiWorld {
  dir: string;
  project: string;
  store: SeededStore;
  url: string;
  authUrl: string;
  token: string;
  close(): Promise<void>;
}

const DVC_YAML = `stages:
  prepare:
    cmd: echo prepare > data.txt
    outs:
      - data.txt
  evaluate:
    cmd: echo evaluate
    deps:
      - data.txt
    metrics:
      - metrics.json:
          cache: false
`;

function git(cwd: string, ...args: string[]): void {
  execFileSync("git", ["-c", "user.name=Polarity Test", "-c", "user.email=test@polarity.invalid", "-c", "commit.gpgsign=false", ...args], {
    cwd,
    stdio: "ignore",
  });
}

/** A two-stage project committed with accuracy 0.80, then the workspace moved to 0.85. */
async function makeProject(dir: string): Promise<string> {
  const project = join(dir, "project");
  await mkdir(join(project, ".dvc"), { recursive: true });
  await writeFile(join(project, ".dvc", "config"), "");
  await writeFile(join(project, "dvc.yaml"), DVC_YAML);
  await writeFile(join(project, "metrics.json"), JSON.stringify({ accuracy: 0.8, f1: 0.79 }));
  git(project, "init", "-q");
  git(project, "add", "-A");
  git(project, "commit", "-q", "-m", "first");
  await writeFile(join(project, "metrics.json"), JSON.stringify({ accuracy: 0.85, f1: 0.79 }));
  return project;
}

async function startServer(project: string, store: SeededStore, extra: string[]): Promise<{ child: ChildProcess; url: string }> {
  const { child, match } = await spawnCliUntil(
    ["server", "--port", "0", "--backend-store-uri", `sqlite:///${store.dbPath}`, "--artifacts-destination", store.artifactsDir, ...extra],
    project,
    /listening on (http:\/\/\S+)/,
  );
  return { child, url: match[1] };
}

export async function startWorld(): Promise<UiWorld> {
  const dir = await mkdtemp(join(tmpdir(), "polarity-ui-"));
  const store = await seedDemoStore(dir);
  const project = await makeProject(dir);
  const token = "ui-test-token-5f1c";
  const [open, withAuth] = await Promise.all([startServer(project, store, []), startServer(project, store, ["--auth-token", token])]);
  // The first request bundles the UI from source (tsx); do it before any timed wait.
  await fetch(`${open.url}/ui/app.js`).then((r) => r.arrayBuffer());
  await fetch(`${withAuth.url}/ui/app.js`).then((r) => r.arrayBuffer());
  await mkdir(SHOTS_DIR, { recursive: true });
  return {
    dir,
    project,
    store,
    url: open.url,
    authUrl: withAuth.url,
    token,
    close: async () => {
      await Promise.all([stop(open.child), stop(withAuth.child)]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the routed page finished rendering (main[aria-busy=false]). */
export async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => document.querySelector("main")?.getAttribute("aria-busy") === "false");
}

/** A fresh load of `url` (through about:blank, so a hash-only change is a real navigation too). */
export async function goto(page: Page, url: string): Promise<void> {
  await page.goto("about:blank");
  await page.goto(url);
  await settled(page);
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS_DIR, `${name}.png`), fullPage: true });
}
