import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { PolarityError, errorMessage } from "../util/errors.js";

/** One served file of the UI bundle, with its gzipped copy and an ETag. */
export interface UiAsset {
  body: Buffer;
  gzip: Buffer;
  etag: string;
  contentType: string;
}

/** The bundle's files by name: app.js (the entry), app.css, and the chunks pages load on demand. */
export type UiAssets = Map<string, UiAsset>;

/** Names the bundle's files may have (the only names /ui/ serves). */
export const ASSET_NAME = /^[A-Za-z0-9_-]+\.(js|css)$/;

/** The package root: this file is src/ui/assets.ts or dist/ui/assets.js. */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Entry point of the browser code (bundled by esbuild: ECharts and uPlot from node_modules, no CDN). */
export const UI_ENTRY = join(PACKAGE_ROOT, "src", "ui", "web", "main.ts");
/** Where `npm run build` writes the bundle. */
export const BUILT_ASSETS_DIR = join(PACKAGE_ROOT, "dist", "ui", "assets");

function asset(body: Buffer, contentType: string): UiAsset {
  return { body, gzip: gzipSync(body, { level: 9 }), etag: `"${createHash("sha1").update(body).digest("base64url")}"`, contentType };
}

/** Bundles the browser code in memory (esbuild: ES2020, minified, tree-shaken ECharts, split so pages load their charts on demand). */
export async function bundleUi(): Promise<Map<string, Buffer>> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch (err) {
    throw new PolarityError("IO_ERROR", `cannot bundle the UI: esbuild is not installed (${errorMessage(err)}); run 'npm run build' in a full install`);
  }
  const result = await esbuild.build({
    entryPoints: [UI_ENTRY],
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2020", "chrome100", "firefox100", "safari15"],
    write: false,
    splitting: true,
    outdir: "out",
    entryNames: "app",
    chunkNames: "chunk-[hash]",
    legalComments: "none",
    logLevel: "silent",
  });
  const files = new Map(result.outputFiles.map((f) => [basename(f.path), Buffer.from(f.contents)]));
  if (!files.has("app.js") || !files.has("app.css")) throw new PolarityError("IO_ERROR", "UI bundle: esbuild produced no app.js/app.css");
  return files;
}

let cached: Promise<UiAssets> | undefined;

/**
 * The UI bundle: the prebuilt dist/ui/assets files when running compiled, else (running the
 * TypeScript sources, as tests and `npm run polarity` do) bundled from source once per process.
 */
export function loadUiAssets(): Promise<UiAssets> {
  cached ??= (async () => {
    let files: Map<string, Buffer>;
    if (!import.meta.url.endsWith(".ts") && existsSync(join(BUILT_ASSETS_DIR, "app.js"))) {
      const names = (await readdir(BUILT_ASSETS_DIR)).filter((n) => ASSET_NAME.test(n));
      files = new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(BUILT_ASSETS_DIR, n))] as const)));
    } else {
      files = await bundleUi();
    }
    return new Map([...files].map(([name, body]) => [name, asset(body, name.endsWith(".css") ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8")]));
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}
