import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
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

export interface UiAssets {
  "app.js": UiAsset;
  "app.css": UiAsset;
}

/** The package root: this file is src/ui/assets.ts or dist/ui/assets.js. */
const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Entry point of the browser code (bundled by esbuild: ECharts and uPlot from node_modules, no CDN). */
export const UI_ENTRY = join(PACKAGE_ROOT, "src", "ui", "web", "main.ts");
/** Where `npm run build` writes the bundle. */
export const BUILT_ASSETS_DIR = join(PACKAGE_ROOT, "dist", "ui", "assets");

function asset(body: Buffer, contentType: string): UiAsset {
  return { body, gzip: gzipSync(body, { level: 9 }), etag: `"${createHash("sha1").update(body).digest("base64url")}"`, contentType };
}

/** Bundles the browser code in memory (esbuild: ES2020, minified, tree-shaken ECharts). */
export async function bundleUi(): Promise<{ js: Buffer; css: Buffer }> {
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
    outdir: "out",
    entryNames: "app",
    legalComments: "none",
    logLevel: "silent",
  });
  const js = result.outputFiles.find((f) => f.path.endsWith(".js"));
  const css = result.outputFiles.find((f) => f.path.endsWith(".css"));
  if (!js || !css) throw new PolarityError("IO_ERROR", "UI bundle: esbuild produced no app.js/app.css");
  return { js: Buffer.from(js.contents), css: Buffer.from(css.contents) };
}

let cached: Promise<UiAssets> | undefined;

/**
 * The UI bundle: the prebuilt dist/ui/assets files when running compiled, else (running the
 * TypeScript sources, as tests and `npm run polarity` do) bundled from source once per process.
 */
export function loadUiAssets(): Promise<UiAssets> {
  cached ??= (async () => {
    const built = join(BUILT_ASSETS_DIR, "app.js");
    let js: Buffer;
    let css: Buffer;
    if (!import.meta.url.endsWith(".ts") && existsSync(built)) {
      [js, css] = await Promise.all([readFile(built), readFile(join(BUILT_ASSETS_DIR, "app.css"))]);
    } else {
      ({ js, css } = await bundleUi());
    }
    return { "app.js": asset(js, "text/javascript; charset=utf-8"), "app.css": asset(css, "text/css; charset=utf-8") };
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}
