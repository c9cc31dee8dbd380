#!/usr/bin/env node
/**
 * The package's bin as built (`npm run build` bundles this file into dist/cli/main.cjs, see
 * src/cli/bundle.ts): answers `--version` itself; runs `status` from the CommonJS bundle
 * polarity-status.cjs (status.ts alone: the launcher parses its command line with
 * parseStatusArgs, so commander is not loaded) and the other pipeline commands a user types
 * most (CACHED_COMMANDS) from polarity.cjs, each with a V8 code cache (src/cli/code-cache.ts),
 * so they skip compiling the CLI's code and Node's ESM loader; every other command (servers,
 * training, workers), and a `status` command line parseStatusArgs leaves to commander (--help,
 * errors), goes to the ESM bundle main-esm.js. The same code runs either way: the bundles are
 * built from src/cli/main.ts and src/cli/status.ts. The launcher itself is CommonJS (hence no
 * top-level await): an ES module as the entry costs Node's ESM loader on every start, ~10 ms
 * of `polarity status` here (bench/cli.ts, issue 12).
 */
import module from "node:module";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CACHED_COMMANDS } from "./cached-commands.js";
import { cacheFileFor, runCached } from "./code-cache.js";
import { parseStatusArgs } from "./status-args.js";
import { exitWhenWritten } from "./stdout.js";
import { VERSION } from "./version.js";

const first = process.argv[2];
// import.meta.dirname is __dirname once bundled (bundle.ts); tsc's unbundled ESM copy computes it.
const here = import.meta.dirname ?? dirname(fileURLToPath(import.meta.url));
const bundle = join(here, "polarity.cjs");
const statusBundle = join(here, "polarity-status.cjs");
const statusArgs = first === "status" ? parseStatusArgs(process.argv.slice(3)) : null;

/**
 * Runs a code-cached bundle beside this file (src/cli/code-cache.ts). It lives beside this
 * file, so this file's own require resolves as the bundle's would (createRequire would load
 * node:module, and with it Node's ESM loader: bundle.ts makes it lazy).
 */
function runBundle(file: string, command: string): unknown {
  const run = runCached(file, cacheFileFor(file, command), typeof require === "function" ? require : undefined);
  if (process.env.POLARITY_DEBUG_CODE_CACHE === "1") process.stderr.write(`polarity: code cache ${run.outcome}\n`);
  process.once("exit", () => run.save());
  return run.exports;
}

if (process.argv.length === 3 && (first === "--version" || first === "-V")) exitWhenWritten(`${VERSION}\n`);
else if (statusArgs !== null && existsSync(statusBundle)) {
  const { statusAction } = runBundle(statusBundle, "status") as typeof import("./status.js");
  void statusAction(statusArgs.targets, statusArgs.options);
} else if (first !== undefined && CACHED_COMMANDS.has(first) && existsSync(bundle)) runBundle(bundle, first);
else {
  // Node >= 22.1 keeps compiled ESM on disk between runs (the main-esm.js path only).
  (module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  // Beside this file once bundled (not a source module: hence a specifier the type checker does not resolve).
  const esm: string = "./main-esm.js";
  // main-esm.js reports its own errors; only a bundle that cannot be loaded ends up here.
  import(esm).catch((err: unknown) => {
    process.stderr.write(`polarity: cannot load ${esm} beside the launcher (run 'npm run build'): ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
