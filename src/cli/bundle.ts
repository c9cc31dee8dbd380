/**
 * The last step of `npm run build` (`node dist/cli/bundle.js`, after tsc, like dist/ui/build.js;
 * it needs src/ and the dev dependency esbuild, as the image's build stage has): writes the package's bin, dist/cli/main.cjs, the
 * launcher (src/cli/launch.ts, CommonJS), in front of esbuild bundles of the CLI (ESM, and the code-cached CommonJS ones of
 * the pipeline's everyday commands: polarity.cjs, and polarity-status.cjs for `status`), so a command loads a handful of files instead of resolving and
 * reading ~100 modules of ours one by one (whole-process start is a figure users see:
 * bench/cli.ts). Packages stay external (node_modules as installed), except the few pure-JS
 * ones every command loads (BUNDLED_PACKAGES: commander): loading a CommonJS package from ESM
 * costs a module-lexer pass and a resolution, read and wrapper per file (commander is 7 files),
 * more than compiling its code inside a chunk. Their `require("node:…")` calls go through a
 * createRequire banner (esbuild's ESM output has no `require`).
 *
 * Layout: dist/cli/main-esm.js is the ESM entry; each command module imported lazily by main.ts becomes
 * a chunk (`<name>-<hash>.js`, shared code in `chunk-<hash>.js`) beside it, so `status` still
 * loads only what status needs. The worker-thread and cluster entries that the code starts by
 * name next to itself (src/util/module-worker.ts, src/serving/cluster.ts) are bundled as entries
 * of the same folder under the names it asks for; the chunks live in that folder too, so
 * `new URL("./predict-worker.js", import.meta.url)` resolves from any chunk. tsc's own
 * dist/cli/main.js (unbundled, slower to start) works as well: both layouts find their workers.
 */
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CACHED_COMMANDS } from "./cached-commands.js";

/** The package root: this file is src/cli/bundle.ts or dist/cli/bundle.js. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Where the bundle goes: dist/cli, or the folder given as the first argument (tests). */
const out = process.argv[2] ? resolve(process.argv[2]) : join(root, "dist", "cli");

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
for (const f of readdirSync(out)) if (/-[A-Z0-9]{8}\.js$/.test(f)) rmSync(join(out, f));
// Code caches of a previous bundle (their headers would no longer match it anyway).
rmSync(join(out, ".v8-cache"), { recursive: true, force: true });

let esbuild: typeof import("esbuild");
try {
  esbuild = await import("esbuild");
} catch (err) {
  process.stderr.write(`cannot bundle the CLI: esbuild is not installed (${(err as Error).message}); run 'npm run build' in a full install\n`);
  process.exit(1);
}
/**
 * Packages compiled into the bundle instead of loaded from node_modules: pure JS, no native parts, no files read relative to themselves.
 * TypeBox (the tracking endpoints' and params.yaml's schemas): its ESM build is ~100 files, whose resolution and loading cost
 * ~0.2 s where one chunk of it costs ~16 ms (`polarity tune`'s tracking opens on the thread that feeds the fold workers).
 */
const BUNDLED_PACKAGES = new Set(["commander", "@sinclair/typebox"]);

/** Also compiled into the CommonJS bundle: ESM-only packages (require() cannot load them on Node 20). */
const BUNDLED_IN_CJS = new Set([...BUNDLED_PACKAGES, "stemmer"]);

function externalPackages(bundled: ReadonlySet<string>): import("esbuild").Plugin {
  return {
    name: "external-packages",
    setup(build) {
      // Every bare specifier (a package or node:*) stays external unless listed in `bundled`.
      build.onResolve({ filter: /^[^./]/ }, (a) => {
        const name = a.path.startsWith("@") ? a.path.split("/").slice(0, 2).join("/") : a.path.split("/")[0];
        return bundled.has(name) ? undefined : { path: a.path, external: true };
      });
    },
  };
}

/**
 * Built-ins the code-cached commands import but seldom call (crypto for hashing a changed file,
 * child_process for commander's external subcommands and for running stages, os, the stream and
 * promise APIs for copies, module for createRequire of yaml and better-sqlite3): in the
 * CommonJS bundles (and module in the launcher) each becomes a Proxy that requires the real one
 * on first use. A no-op `status` then loads none of them — ~50 of Node's internal modules fewer
 * (crypto alone is 16; node:module brings the ESM loader's and the source maps'), several ms
 * of a start (bench/cli.ts, issue 12). A Proxy rather than a getter per export: defining
 * those (144 in the status bundle, crypto alone 67) was a closure and a property each on
 * every start, and the export names no longer depend on the Node that built the bundle.
 */
const LAZY_BUILTINS = new Set(["crypto", "child_process", "os", "fs/promises", "stream", "stream/promises", "readline", "module"]);

function lazyBuiltins(): import("esbuild").Plugin {
  const namespace = "lazy-builtin";
  return {
    name: namespace,
    setup(build) {
      build.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (a) => {
        const name = a.path.replace(/^node:/, "");
        if (!LAZY_BUILTINS.has(name)) return undefined;
        // The shim's own require of the real module stays a plain require.
        return a.namespace === namespace ? { path: `node:${name}`, external: true } : { path: `node:${name}`, namespace };
      });
      // Reads, `in`, and listing or describing the exports all go to the real module (a
      // namespace made by __toESM below has the Proxy as its prototype, so its reads do too).
      build.onLoad({ filter: /.*/, namespace }, (a) => ({
        contents:
          `let real;\nconst load = () => (real ??= require(${JSON.stringify(a.path)}));\n` +
          "module.exports = new Proxy({}, {\n" +
          "  get: (_, name) => load()[name],\n" +
          "  has: (_, name) => name in load(),\n" +
          "  ownKeys: () => Reflect.ownKeys(load()),\n" +
          "  getOwnPropertyDescriptor: (_, name) => {\n" +
          "    const d = Object.getOwnPropertyDescriptor(load(), name);\n" +
          "    return d && { ...d, configurable: true };\n" +
          "  },\n" +
          "});\n",
        loader: "js",
      }));
    },
  };
}

/**
 * `text` with every non-ASCII character as a \uXXXX escape. esbuild escapes them in strings,
 * regexes and identifiers but keeps the comments it preserves (class members' doc comments) as
 * written, and one "→" there makes V8 hold the whole file as a two-byte string: twice the
 * memory and a UTF-8 decoding pass on every start. An escape means the same in every place
 * JavaScript allows one, and in a comment it is just text.
 */
function asciiOnly(text: string): string {
  return text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * import.meta.url in the CommonJS files: this file's URL, computed when first read (the worker
 * entries and createRequire calls that read it are off the everyday paths); pathToFileURL on every
 * start was ~0.3 ms of `polarity status` (bench/cli.ts, issue 12).
 */
const LAZY_IMPORT_META_URL = {
  banner: 'var __polarityMeta = { get url() { return require("node:url").pathToFileURL(__filename).href; } };',
  define: "__polarityMeta.url",
};

const t0 = performance.now();
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { "main-esm": "src/cli/main.ts", ...WORKER_ENTRIES },
  outdir: out,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  plugins: [externalPackages(BUNDLED_PACKAGES)],
  banner: { js: 'import { createRequire as __polarityCreateRequire } from "node:module"; const require = __polarityCreateRequire(import.meta.url);' },
  logLevel: "warning",
  metafile: true,
});
// The same CLI as one CommonJS file, for the code-cached commands (src/cli/code-cache.ts): lazy
// imports become lazily run module bodies inside it; import.meta.url is this file's URL, so
// worker entries and package lookups resolve from the same folder as the ESM chunks'. Only the
// command modules the launcher sends here are kept (main.ts's table is filtered as it is read):
// a smaller file to read and a smaller cache to load on every start.
const onlyCachedCommands: import("esbuild").Plugin = {
  name: "only-cached-commands",
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]cli[\\/]main\.ts$/ }, (a) => {
      const lines = readFileSync(a.path, "utf8").split("\n");
      const kept = lines.filter((line) => {
        const m = /^\s*\[\[([^\]]*)\], \(\) => import\("\.\/[\w-]+\.js"\)\],\s*$/.exec(line);
        return m === null || [...m[1].matchAll(/"([\w-]+)"/g)].some((n) => CACHED_COMMANDS.has(n[1]));
      });
      if (lines.length - kept.length < 5) throw new Error("src/cli/bundle.ts: main.ts's command table no longer has the expected shape");
      return { contents: kept.join("\n"), loader: "ts" };
    });
  },
};
/** What the code-cached CommonJS bundles share (polarity.cjs, polarity-status.cjs). */
const CACHED_BUNDLE_OPTIONS = {
  absWorkingDir: root,
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  plugins: [lazyBuiltins(), externalPackages(BUNDLED_IN_CJS)],
  define: { "import.meta.url": LAZY_IMPORT_META_URL.define },
  banner: { js: LAZY_IMPORT_META_URL.banner },
  // import.meta.resolve / dirname appear only on paths taken under tsx (.ts files), never in a bundle.
  logOverride: { "empty-import-meta": "silent" },
  logLevel: "warning",
} satisfies import("esbuild").BuildOptions;
await esbuild.build({
  ...CACHED_BUNDLE_OPTIONS,
  entryPoints: ["src/cli/main.ts"],
  outfile: join(out, "polarity.cjs"),
  plugins: [onlyCachedCommands, ...CACHED_BUNDLE_OPTIONS.plugins],
  // Statements labelled ESM_ENTRY (main.ts's enableCompileCache) concern Node's own compile cache, not this bundle's.
  dropLabels: ["ESM_ENTRY"],
});
// `status` alone, without commander (the launcher parses its everyday command lines itself:
// src/cli/status-args.ts) and without main.ts's command table: a third of polarity.cjs's code,
// so less to read, deserialise from the code cache and run on every start (bench/cli.ts, issue 12).
// Its module.exports is src/cli/status.ts's, whose statusAction the launcher calls.
await esbuild.build({ ...CACHED_BUNDLE_OPTIONS, entryPoints: ["src/cli/status.ts"], outfile: join(out, "polarity-status.cjs") });
// esbuild's __toESM copies every property of a CommonJS module into a fresh namespace object, as
// a getter, at each module that imports it (16 modules import node:fs, 16 node:path, and each lazy
// built-in above has its getters copied again). Every import here is in node mode (`__toESM(x, 1)`:
// `default` is module.exports) and only ever reads members of the namespace, so a namespace whose
// prototype is the module reads the same values, live, without a copy: one object per import.
// Then minified (whitespace and syntax, names kept): a third less to read and parse on every start.
const TO_ESM = "var __toESM = (mod, isNodeMode, target) => (";
async function finishCommonJs(file: string): Promise<void> {
  const text = readFileSync(file, "utf8");
  if (text.split(TO_ESM).length !== 2) throw new Error(`src/cli/bundle.ts: esbuild's __toESM helper in ${file} no longer has the expected shape`);
  if (/__toESM\([^()]*(\([^()]*\))?\)/.test(text))
    throw new Error(`src/cli/bundle.ts: an import in ${file} not in node mode (__toESM without its second argument) needs esbuild's own copy`);
  const patched = text.replace(
    TO_ESM,
    'var __toESM = (mod, isNodeMode, target) => isNodeMode && mod != null && (typeof mod === "object" || typeof mod === "function") ' +
      "? __create(mod, { default: { value: mod, enumerable: true } }) : __toESMCopy(mod, isNodeMode, target), __toESMCopy = (mod, isNodeMode, target) => (",
  );
  const minified = await esbuild.transform(patched, { minifyWhitespace: true, minifySyntax: true, platform: "node", target: "node20", sourcefile: file });
  writeFileSync(file, asciiOnly(minified.code));
}
await finishCommonJs(join(out, "polarity.cjs"));
await finishCommonJs(join(out, "polarity-status.cjs"));
// The bin: a launcher that picks one of the two (src/cli/launch.ts), as CommonJS: an ES module
// entry costs Node's ESM loader (~10 ms) on every start, even for `--version`.
await esbuild.build({
  absWorkingDir: root,
  entryPoints: ["src/cli/launch.ts"],
  outfile: join(out, "main.cjs"),
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  external: ["./main-esm.js"],
  plugins: [lazyBuiltins(), externalPackages(new Set())],
  // The launcher finds polarity.cjs from its own folder (__dirname), without building a URL.
  define: { "import.meta.url": LAZY_IMPORT_META_URL.define, "import.meta.dirname": "__dirname" },
  banner: { js: LAZY_IMPORT_META_URL.banner },
  logLevel: "warning",
});
// Compiled from source on every start (it is what reads the code cache): the less text, the less to parse.
await finishCommonJs(join(out, "main.cjs"));
// The bin is run directly (npm's link, the image's /usr/local/bin/polarity): keep it executable.
chmodSync(join(out, "main.cjs"), 0o755);
const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith(".js")).length;
console.log(
  `bundled the CLI into ${out}: main.cjs (the launcher, the bin), polarity.cjs and polarity-status.cjs (code-cached commands), main-esm.js (+${files - 1} chunks and worker entries) in ${Math.round(performance.now() - t0)} ms`,
);
