/**
 * The last step of `npm run build` (`node dist/cli/bundle.js`, after tsc, like dist/ui/build.js;
 * it needs src/ and the dev dependency esbuild, as the image's build stage has): replaces tsc's dist/cli/main.js (the package's bin) with an
 * esbuild bundle of the CLI, so a command loads a handful of files instead of resolving and
 * reading ~100 modules of ours one by one (whole-process start is a figure users see:
 * bench/cli.ts). Packages stay external (node_modules as installed), except the few pure-JS
 * ones every command loads (BUNDLED_PACKAGES: commander): loading a CommonJS package from ESM
 * costs a module-lexer pass and a resolution, read and wrapper per file (commander is 7 files),
 * more than compiling its code inside a chunk. Their `require("node:…")` calls go through a
 * createRequire banner (esbuild's ESM output has no `require`).
 *
 * Layout: dist/cli/main.js is the entry; each command module imported lazily by main.ts becomes
 * a chunk (`<name>-<hash>.js`, shared code in `chunk-<hash>.js`) beside it, so `status` still
 * loads only what status needs. The worker-thread and cluster entries that the code starts by
 * name next to itself (src/util/module-worker.ts, src/serving/cluster.ts) are bundled as entries
 * of the same folder under the names it asks for; the chunks live in that folder too, so
 * `new URL("./predict-worker.js", import.meta.url)` resolves from any chunk. A dist/cli/main.js
 * rebuilt by tsc alone (unbundled) works as well: both layouts find their workers.
 */
import { readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root: this file is src/cli/bundle.ts or dist/cli/bundle.js. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const out = join(root, "dist", "cli");

/** Entries started by name next to the code that starts them: keep in step with startModuleWorker / cluster.setupPrimary callers. */
const WORKER_ENTRIES: Record<string, string> = {
  "predict-worker": "src/models/parallel/predict-worker.ts",
  "predict-file-worker": "src/cli/predict-file-worker.ts",
  "fold-worker": "src/tuning/fold-worker.ts",
  "count-worker": "src/features/count-worker.ts",
  "validate-worker": "src/serving/validate-worker.ts",
  "worker-entry": "src/serving/worker-entry.ts",
};

// Chunks of a previous bundle (hashed names) would pile up; tsc's own outputs have no hash.
// tsc's source map of main.js would describe the file this replaces.
for (const f of readdirSync(out)) if (/-[A-Z0-9]{8}\.js$/.test(f) || f === "main.js.map") rmSync(join(out, f));

let esbuild: typeof import("esbuild");
try {
  esbuild = await import("esbuild");
} catch (err) {
  process.stderr.write(`cannot bundle the CLI: esbuild is not installed (${(err as Error).message}); run 'npm run build' in a full install\n`);
  process.exit(1);
}
/** Packages compiled into the bundle instead of loaded from node_modules: pure JS, no native parts, no files read relative to themselves. */
const BUNDLED_PACKAGES = new Set(["commander"]);

const t0 = performance.now();
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { main: "src/cli/main.ts", ...WORKER_ENTRIES },
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  plugins: [
    {
      name: "external-packages",
      setup(build) {
        // Every bare specifier (a package or node:*) stays external unless listed in BUNDLED_PACKAGES.
        build.onResolve({ filter: /^[^./]/ }, (a) => {
          const name = a.path.startsWith("@") ? a.path.split("/").slice(0, 2).join("/") : a.path.split("/")[0];
          return BUNDLED_PACKAGES.has(name) ? undefined : { path: a.path, external: true };
        });
      },
    },
  ],
  banner: { js: 'import { createRequire as __polarityCreateRequire } from "node:module"; const require = __polarityCreateRequire(import.meta.url);' },
  logLevel: "warning",
  metafile: true,
});
const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith(".js")).length;
console.log(`bundled the CLI into dist/cli/main.js (+${files - 1} chunks and worker entries) in ${Math.round(performance.now() - t0)} ms`);
