/**
 * The CLI compiled from the current source tree, for benchmarks that run `polarity` as a
 * subprocess: a stale dist/ would time yesterday's code, and tsx would add its transpiling to
 * every start-up. esbuild transpiles src/**\/*.ts file by file (no bundling, no type check:
 * ~1 s) into .bench/cli-build-<pid>/dist/ (one per benchmark process), next to a copy of package.json, so the layout is dist/'s
 * (import.meta.url-relative lookups such as ../../package.json and the worker entry files
 * resolve the same) and node_modules is found by walking up to the repository's.
 * `POLARITY_BENCH_CLI=<path to main.js>` uses another build instead (e.g. dist/cli/main.cjs).
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { build } from "esbuild";

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      // The UI's browser code is built by src/ui/build.ts, not run by node.
      if (relative("src", p) !== join("ui", "web")) tsFiles(p, out);
    } else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

export interface CurrentCli {
  /** Absolute path of the CLI's main.js. */
  main: string;
  label: string;
}

export async function currentCli(root = process.cwd()): Promise<CurrentCli> {
  const given = process.env.POLARITY_BENCH_CLI;
  if (given) return { main: resolve(given), label: `node ${given} (POLARITY_BENCH_CLI)` };
  // One build directory per benchmark process, removed when it exits: two benchmarks started
  // together would otherwise delete and rewrite each other's build mid-run.
  const out = join(root, ".bench", `cli-build-${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  process.once("exit", () => rmSync(out, { recursive: true, force: true }));
  copyFileSync(join(root, "package.json"), join(out, "package.json"));
  const t0 = performance.now();
  await build({
    entryPoints: tsFiles(join(root, "src")),
    outdir: join(out, "dist"),
    outbase: join(root, "src"),
    format: "esm",
    platform: "node",
    target: "node20",
    bundle: false,
    logLevel: "error",
  });
  return {
    main: join(out, "dist", "cli", "main.js"),
    label: `node ${relative(root, join(out, "dist", "cli", "main.js"))} (the current src/, transpiled by esbuild in ${Math.round(performance.now() - t0)} ms)`,
  };
}
